//! Fulcio signing certificates: the chain to a certificate authority of
//! the trusted root at the time the log saw the signature, the
//! certificate's fitness for signing code, the identity it names, and its
//! embedded certificate-transparency timestamps (SCTs).

use super::keys::{Hash, Key, sha256};
use super::trusted_root::{Authority, Log, TrustedRoot};
use x509_cert::Certificate;
use x509_cert::der::asn1::{Ia5String, OctetString, Utf8StringRef};
use x509_cert::der::{Decode as _, Encode as _};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAltName};
use x509_cert::spki::ObjectIdentifier;

const KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const SUBJECT_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
const BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const EXTENDED_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
/// Fulcio's OIDC issuer, as a DER UTF8String (and, deprecated, as raw text).
const ISSUER_V2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");
const ISSUER_V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1");
/// RFC 6962's embedded SCT list, and the precertificate poison.
const SCT_LIST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
const PRECERT_POISON: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.3");

/// Who a certificate says signed: its subject alternative name (a URI or
/// an email address) and the OIDC issuer that vouched for it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Identity {
    pub subject: String,
    pub issuer: String,
}

fn extension(cert: &Certificate, oid: ObjectIdentifier) -> Option<&Extension> {
    cert.tbs_certificate.extensions.as_deref().unwrap_or_default().iter().find(|e| e.extn_id == oid)
}

fn decode_extension<'a, T: x509_cert::der::Decode<'a>>(
    cert: &'a Certificate,
    oid: ObjectIdentifier,
) -> Result<Option<T>, String> {
    extension(cert, oid)
        .map(|e| T::from_der(e.extn_value.as_bytes()).map_err(|err| format!("extension {oid}: {err}")))
        .transpose()
}

fn valid_at(cert: &Certificate, at: i64) -> bool {
    let validity = &cert.tbs_certificate.validity;
    let (from, to) =
        (validity.not_before.to_unix_duration().as_secs(), validity.not_after.to_unix_duration().as_secs());
    u64::try_from(at).is_ok_and(|at| from <= at && at <= to)
}

fn key_of(cert: &Certificate) -> Result<Key, String> {
    Key::from_spki(&cert.tbs_certificate.subject_public_key_info)
}

/// Whether `issuer`'s key signed `cert`, and `cert` names it as issuer.
fn signed_by(cert: &Certificate, issuer: &Certificate) -> Result<(), String> {
    if cert.tbs_certificate.issuer != issuer.tbs_certificate.subject {
        return Err("its issuer is not the authority's subject".into());
    }
    let hash = Hash::of_algorithm(&cert.signature_algorithm.oid)?;
    let tbs = cert.tbs_certificate.to_der().map_err(|e| e.to_string())?;
    let signature = cert.signature.as_bytes().ok_or("a signature that is not whole bytes")?;
    if !key_of(issuer)?.verifies(hash, &tbs, signature) {
        return Err("its signature does not verify under the authority's key".into());
    }
    Ok(())
}

/// Whether `cert` may issue certificates.
fn is_authority(cert: &Certificate) -> Result<(), String> {
    let constraints: Option<BasicConstraints> = decode_extension(cert, BASIC_CONSTRAINTS)?;
    if !constraints.is_some_and(|c| c.ca) {
        return Err("an authority certificate without basicConstraints cA".into());
    }
    let usage: Option<KeyUsage> = decode_extension(cert, KEY_USAGE)?;
    if usage.is_some_and(|u| !u.key_cert_sign()) {
        return Err("an authority certificate whose key usage excludes keyCertSign".into());
    }
    Ok(())
}

/// Whether `leaf` is a certificate for signing code, and nothing else a
/// verifier would have to understand.
fn fit_for_signing(leaf: &Certificate) -> Result<(), String> {
    let known = [KEY_USAGE, SUBJECT_ALT_NAME, BASIC_CONSTRAINTS, EXTENDED_KEY_USAGE];
    for ext in leaf.tbs_certificate.extensions.as_deref().unwrap_or_default() {
        if ext.extn_id == PRECERT_POISON {
            return Err("a precertificate, not a certificate".into());
        }
        if ext.critical && !known.contains(&ext.extn_id) {
            return Err(format!("a critical extension {} this host does not understand", ext.extn_id));
        }
    }
    if decode_extension::<BasicConstraints>(leaf, BASIC_CONSTRAINTS)?.is_some_and(|c| c.ca) {
        return Err("the signing certificate is an authority's".into());
    }
    let usage: Option<KeyUsage> = decode_extension(leaf, KEY_USAGE)?;
    if !usage.is_some_and(|u| u.digital_signature()) {
        return Err("the signing certificate's key usage lacks digitalSignature".into());
    }
    let extended: Option<ExtendedKeyUsage> = decode_extension(leaf, EXTENDED_KEY_USAGE)?;
    if !extended.is_some_and(|e| e.0.contains(&CODE_SIGNING)) {
        return Err("the signing certificate's extended key usage lacks codeSigning".into());
    }
    Ok(())
}

/// The authority of `root` whose chain issued `leaf`, every certificate of
/// it valid at `at` (seconds): the time the transparency log recorded the
/// signature, since a Fulcio certificate lives ten minutes.
pub(super) fn verify_chain<'r>(root: &'r TrustedRoot, leaf: &Certificate, at: i64) -> Result<&'r Authority, String> {
    fit_for_signing(leaf)?;
    if !valid_at(leaf, at) {
        return Err(format!("the signing certificate was not valid when the log recorded the signature ({at})"));
    }
    let mut why = String::from("no certificate authority of the trusted root is in force at that time");
    for authority in root.authorities.iter().filter(|a| a.valid.contains(at)) {
        let attempt = (|| {
            let mut child = leaf;
            for (i, cert) in authority.chain.iter().enumerate() {
                signed_by(child, cert)?;
                if !valid_at(cert, at) {
                    return Err("an authority certificate was not valid at that time".to_string());
                }
                is_authority(cert)?;
                // The anchor is trusted as configured; its self-signature
                // adds nothing.
                if i + 1 < authority.chain.len() {
                    child = cert;
                }
            }
            Ok(())
        })();
        match attempt {
            Ok(()) => return Ok(authority),
            Err(e) => why = format!("not issued by a certificate authority of the trusted root ({e})"),
        }
    }
    Err(why)
}

/// The identity `leaf` was issued to.
pub(super) fn identity(leaf: &Certificate) -> Result<Identity, String> {
    let names: SubjectAltName =
        decode_extension(leaf, SUBJECT_ALT_NAME)?.ok_or("the signing certificate names no subject")?;
    let text = |s: &Ia5String| s.to_string();
    let subject = names
        .0
        .iter()
        .find_map(|name| match name {
            GeneralName::UniformResourceIdentifier(uri) => Some(text(uri)),
            GeneralName::Rfc822Name(email) => Some(text(email)),
            _ => None,
        })
        .ok_or("the signing certificate names neither a URI nor an email address")?;
    let issuer = if let Some(ext) = extension(leaf, ISSUER_V2) {
        Utf8StringRef::from_der(ext.extn_value.as_bytes())
            .map_err(|_| "the OIDC issuer extension is not a UTF8String")?
            .as_str()
            .to_owned()
    } else if let Some(ext) = extension(leaf, ISSUER_V1) {
        String::from_utf8(ext.extn_value.as_bytes().to_vec()).map_err(|_| "the OIDC issuer is not text")?
    } else {
        return Err("the signing certificate names no OIDC issuer".into());
    };
    Ok(Identity { subject, issuer })
}

/// Checks `leaf`'s embedded SCTs: at least one by a certificate-
/// transparency log of the root, when it lists any, and every SCT by a
/// listed log must verify (an SCT by an unlisted log proves nothing and is
/// passed over).
pub(super) fn verify_scts(root: &TrustedRoot, leaf: &Certificate, authority: &Authority) -> Result<(), String> {
    if root.ctlogs.is_empty() {
        return Ok(());
    }
    let Some(ext) = extension(leaf, SCT_LIST) else {
        return Err("the signing certificate carries no certificate-transparency timestamp (SCT)".into());
    };
    let list = OctetString::from_der(ext.extn_value.as_bytes()).map_err(|_| "the SCT list is not an OCTET STRING")?;
    let scts = sct_list(list.as_bytes()).ok_or("the SCT list does not parse")?;
    // What a log signed: the certificate as it was before its SCTs were
    // added, and the key of the authority that issued it.
    let mut precert = leaf.tbs_certificate.clone();
    if let Some(extensions) = precert.extensions.as_mut() {
        extensions.retain(|e| e.extn_id != SCT_LIST);
    }
    let tbs = precert.to_der().map_err(|e| e.to_string())?;
    let issuer_spki = authority.chain[0].tbs_certificate.subject_public_key_info.to_der().map_err(|e| e.to_string())?;
    let issuer_key_hash = sha256(&issuer_spki);
    let mut verified = 0;
    for sct in scts {
        let Some(log) = root.ctlogs.iter().find(|l: &&Log| l.key_id == sct.log_id) else { continue };
        let mut signed = vec![0u8, 0u8];
        signed.extend_from_slice(&sct.timestamp.to_be_bytes());
        signed.extend_from_slice(&[0, 1]);
        signed.extend_from_slice(&issuer_key_hash);
        let len = u32::try_from(tbs.len()).map_err(|_| "a certificate too large")?;
        signed.extend_from_slice(&len.to_be_bytes()[1..]);
        signed.extend_from_slice(&tbs);
        signed.extend_from_slice(&(sct.extensions.len() as u16).to_be_bytes());
        signed.extend_from_slice(sct.extensions);
        let hash = match sct.hash {
            4 => Some(Hash::Sha256),
            5 => Some(Hash::Sha384),
            _ => return Err(format!("an SCT with hash algorithm {}", sct.hash)),
        };
        if !log.valid.contains((sct.timestamp / 1000) as i64) || !log.key.verifies(hash, &signed, sct.signature) {
            return Err("a certificate-transparency timestamp (SCT) does not verify".into());
        }
        verified += 1;
    }
    if verified == 0 {
        return Err("no certificate-transparency timestamp (SCT) is by a log of the trusted root".into());
    }
    Ok(())
}

struct Sct<'a> {
    log_id: &'a [u8],
    timestamp: u64,
    extensions: &'a [u8],
    hash: u8,
    signature: &'a [u8],
}

/// A TLS-encoded `SignedCertificateTimestampList` (RFC 6962 §3.3).
fn sct_list(bytes: &[u8]) -> Option<Vec<Sct<'_>>> {
    fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, tail) = (bytes.get(..n)?, bytes.get(n..)?);
        *bytes = tail;
        Some(head)
    }
    fn u16_len(bytes: &mut &[u8]) -> Option<usize> {
        take(bytes, 2).map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
    }
    let mut all = bytes;
    let total = u16_len(&mut all)?;
    let mut list = take(&mut all, total)?;
    let mut scts = Vec::new();
    while !list.is_empty() {
        let len = u16_len(&mut list)?;
        let mut sct = take(&mut list, len)?;
        if take(&mut sct, 1)? != [0] {
            continue; // a version this host does not read
        }
        let log_id = take(&mut sct, 32)?;
        let timestamp = u64::from_be_bytes(take(&mut sct, 8)?.try_into().ok()?);
        let ext_len = u16_len(&mut sct)?;
        let extensions = take(&mut sct, ext_len)?;
        let algorithms = take(&mut sct, 2)?;
        let sig_len = u16_len(&mut sct)?;
        let signature = take(&mut sct, sig_len)?;
        scts.push(Sct { log_id, timestamp, extensions, hash: algorithms[0], signature });
    }
    Some(scts)
}
