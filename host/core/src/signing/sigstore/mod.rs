//! Sigstore bundles: what `cosign sign-blob --bundle`
//! (`--new-bundle-format`), `cosign attest-blob` and sigstore-js write. The
//! artifact is the upload's statement ([`super::statement`], what
//! `smcp sign --statement` prints), signed as a blob (a `messageSignature`)
//! or as the payload of a DSSE envelope (`dsseEnvelope`).
//!
//! A bundle signed **with a key** is trusted by the tenant's signer keys
//! alone, as the host's own signature files are: its key hint, log entries
//! and timestamps are not what makes it valid, and are not checked.
//!
//! A **keyless** bundle (a short-lived Fulcio certificate for an OIDC
//! identity) is trusted through the operator's [`TrustedRoot`]: the
//! transparency log's signed entry timestamp dates the signature, the
//! certificate chains to a listed authority at that time, is fit for
//! signing code and carries SCTs by a listed CT log (when the root lists
//! any), the log's entry records this signature by this certificate (and,
//! when the bundle has one, its inclusion proof leads to a checkpoint the
//! log signed), and the signature verifies under the certificate's key.
//! The identity it names (subject and issuer) is then matched exactly
//! against the tenant's signers.

mod certificate;
mod keys;
mod tlog;
mod trusted_root;

pub use certificate::Identity;
pub use trusted_root::TrustedRoot;

use super::SignatureError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;
use sha2::Digest as _;

/// The most a bundle may hold: with log entries and proofs, more than a
/// signature file's few hundred bytes.
pub const MAX_BUNDLE_BYTES: usize = 64 << 10;

/// What every bundle's media type starts with (v0.1 to v0.3).
const MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle";

/// Signatures one DSSE envelope may carry that are tried.
const MAX_ENVELOPE_SIGNATURES: usize = 8;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bundle {
    media_type: String,
    verification_material: Material,
    message_signature: Option<MessageSignature>,
    dsse_envelope: Option<Envelope>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Material {
    public_key: Option<serde_json::Value>,
    certificate: Option<RawBytes>,
    x509_certificate_chain: Option<Chain>,
    #[serde(default)]
    tlog_entries: Vec<tlog::Entry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBytes {
    raw_bytes: String,
}

#[derive(Deserialize)]
struct Chain {
    certificates: Vec<RawBytes>,
}

/// Log entries of one bundle that are tried.
const MAX_TLOG_ENTRIES: usize = 4;

/// What a bundle's signature stands on.
pub enum Signed {
    /// A key's signatures: each message and base64 signature offered, to
    /// be tried against the tenant's keys.
    ByKey(Vec<(Vec<u8>, String)>),
    /// A certificate's identity, everything about it verified.
    ByIdentity(Identity),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageSignature {
    message_digest: MessageDigest,
    signature: String,
}

#[derive(Deserialize)]
struct MessageDigest {
    algorithm: String,
    digest: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    payload: String,
    payload_type: String,
    signatures: Vec<EnvelopeSignature>,
}

#[derive(Deserialize)]
struct EnvelopeSignature {
    sig: String,
}

/// Whether `bytes` is a Sigstore bundle rather than a signature file
/// (anything over [`MAX_BUNDLE_BYTES`] is neither, and is not parsed).
pub fn is_bundle(bytes: &[u8]) -> bool {
    if bytes.len() > MAX_BUNDLE_BYTES {
        return false;
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Kind {
        media_type: Option<String>,
    }
    serde_json::from_slice::<Kind>(bytes).is_ok_and(|k| k.media_type.is_some_and(|m| m.starts_with(MEDIA_TYPE)))
}

fn malformed(why: impl Into<String>) -> SignatureError {
    SignatureError::Malformed(format!("Sigstore bundle: {}", why.into()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// DSSE's pre-authentication encoding: what an envelope's signatures sign.
fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!("DSSEv1 {} {payload_type} {} ", payload_type.len(), payload.len()).into_bytes();
    out.extend_from_slice(payload);
    out
}

/// What `bytes`, a bundle over exactly `statement`, is signed by: a key's
/// signatures to try, or a certificate's identity verified against `root`
/// (keyless bundles are refused when the operator configured none).
pub fn check(bytes: &[u8], statement: &str, root: Option<&TrustedRoot>) -> Result<Signed, SignatureError> {
    if bytes.len() > MAX_BUNDLE_BYTES {
        return Err(malformed(format!("over {MAX_BUNDLE_BYTES} bytes")));
    }
    let bundle: Bundle = serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
    if !bundle.media_type.starts_with(MEDIA_TYPE) {
        return Err(malformed(format!("media type `{}`", bundle.media_type)));
    }
    let Bundle { verification_material: material, message_signature, dsse_envelope, .. } = bundle;
    let leaf = match (&material.certificate, &material.x509_certificate_chain) {
        (Some(cert), _) => Some(&cert.raw_bytes),
        (None, Some(chain)) => {
            Some(&chain.certificates.first().ok_or_else(|| malformed("an empty certificate chain"))?.raw_bytes)
        }
        (None, None) => None,
    };
    let enveloped = dsse_envelope.is_some();
    let signatures = signatures(message_signature, dsse_envelope, statement)?;
    let Some(leaf) = leaf else {
        if material.public_key.is_none() {
            return Err(malformed("neither a public key hint nor a certificate in its verification material"));
        }
        return Ok(Signed::ByKey(signatures));
    };
    let root = root.ok_or_else(|| {
        SignatureError::Untrusted(
            "signed keyless (a Fulcio certificate), and this host has no Sigstore trusted root to check it against; the operator sets one with `smcp serve --sigstore-trusted-root`".into(),
        )
    })?;
    let leaf = B64.decode(leaf.trim()).map_err(|_| malformed("the certificate is not base64"))?;
    keyless(root, &leaf, &material.tlog_entries, statement, enveloped, &signatures)
        .map(Signed::ByIdentity)
        .map_err(SignatureError::Untrusted)
}

/// Verifies a keyless signature end to end (see the module's docs) and
/// returns the identity it was made by. `signatures` are over `statement`
/// (as a message, or as the payload of an envelope when `enveloped`).
fn keyless(
    root: &TrustedRoot,
    leaf_der: &[u8],
    entries: &[tlog::Entry],
    statement: &str,
    enveloped: bool,
    signatures: &[(Vec<u8>, String)],
) -> Result<Identity, String> {
    use x509_cert::der::Decode as _;
    let leaf =
        x509_cert::Certificate::from_der(leaf_der).map_err(|e| format!("the certificate does not parse: {e}"))?;
    if entries.is_empty() {
        return Err("no transparency-log entry: a keyless signature is dated and witnessed by the log".into());
    }
    let mut why = String::new();
    let (integrated, logged) = entries
        .iter()
        .take(MAX_TLOG_ENTRIES)
        .find_map(|entry| entry.verify(root).map_err(|e| why = e).ok())
        .ok_or(why)?;
    let authority = certificate::verify_chain(root, &leaf, integrated)?;
    certificate::verify_scts(root, &leaf, authority)?;
    let same_certificate = |pem: &str| super::pem_der(pem).is_some_and(|der| der == leaf_der);
    let statement_sha256 = hex(&sha2::Sha256::digest(statement.as_bytes()));
    let decoded: Vec<(&[u8], Vec<u8>)> =
        signatures.iter().filter_map(|(m, s)| Some((m.as_slice(), B64.decode(s.trim()).ok()?))).collect();
    let logged_signature: Vec<u8> = match logged {
        tlog::Logged::Message { sha256, signature, certificate_pem } => {
            if enveloped || sha256 != statement_sha256 {
                return Err("the log's entry records a signature over another artifact".into());
            }
            if !same_certificate(&certificate_pem) {
                return Err("the log's entry records another certificate".into());
            }
            signature
        }
        tlog::Logged::Envelope { payload_sha256, signatures: logged_signatures } => {
            if !enveloped || payload_sha256 != statement_sha256 {
                return Err("the log's entry records another envelope payload".into());
            }
            logged_signatures
                .into_iter()
                .find(|(sig, pem)| same_certificate(pem) && decoded.iter().any(|(_, s)| s == sig))
                .map(|(sig, _)| sig)
                .ok_or("the log's entry records none of the envelope's signatures by this certificate")?
        }
    };
    let key = keys::Key::from_spki(&leaf.tbs_certificate.subject_public_key_info)?;
    // A message signature is over the artifact's SHA-256 whatever the
    // curve (as its digest and the log say); an envelope's, the curve's own.
    let hash = if enveloped { None } else { Some(keys::Hash::Sha256) };
    let verified = decoded.iter().any(|(message, sig)| *sig == logged_signature && key.verifies(hash, message, sig));
    if !verified {
        return Err("the signature does not verify under the certificate's key".into());
    }
    certificate::identity(&leaf)
}

/// The messages and base64 signatures a bundle offers for `statement`;
/// refused when the bundle is not over exactly `statement`.
fn signatures(
    message_signature: Option<MessageSignature>,
    dsse_envelope: Option<Envelope>,
    statement: &str,
) -> Result<Vec<(Vec<u8>, String)>, SignatureError> {
    match (message_signature, dsse_envelope) {
        (Some(signed), None) => {
            if signed.message_digest.algorithm != "SHA2_256" {
                return Err(malformed(format!("digest algorithm `{}`", signed.message_digest.algorithm)));
            }
            let stated = B64.decode(signed.message_digest.digest.trim()).map_err(|_| malformed("digest not base64"))?;
            let uploaded = sha2::Sha256::digest(statement.as_bytes());
            if stated[..] != uploaded[..] {
                return Err(SignatureError::Mismatch {
                    what: "statement",
                    signed: format!("sha256:{}", hex(&stated)),
                    uploaded: format!("sha256:{}", hex(&uploaded)),
                });
            }
            Ok(vec![(statement.as_bytes().to_vec(), signed.signature)])
        }
        (None, Some(envelope)) => {
            let payload = B64.decode(envelope.payload.trim()).map_err(|_| malformed("payload not base64"))?;
            if payload != statement.as_bytes() {
                let signed = String::from_utf8_lossy(&payload);
                let line = |text: &str, what: &str| text.lines().find(|l| l.starts_with(what)).map(str::to_owned);
                let (what, signed, uploaded) = ["component ", "grant "]
                    .into_iter()
                    .find_map(|what| {
                        let (a, b) = (line(&signed, what), line(statement, what));
                        (a != b).then(|| (what.trim(), a.unwrap_or_default(), b.unwrap_or_default()))
                    })
                    .unwrap_or(("statement", signed.into_owned(), statement.to_owned()));
                let value = |l: String| l.split_once(' ').map_or(l.clone(), |(_, v)| v.to_owned());
                return Err(SignatureError::Mismatch { what, signed: value(signed), uploaded: value(uploaded) });
            }
            let message = pae(&envelope.payload_type, &payload);
            Ok(envelope
                .signatures
                .into_iter()
                .take(MAX_ENVELOPE_SIGNATURES)
                .map(|s| (message.clone(), s.sig))
                .collect())
        }
        _ => Err(malformed("exactly one of messageSignature and dsseEnvelope")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_is_dsse_v1() {
        assert_eq!(pae("text/plain", b"hi"), b"DSSEv1 10 text/plain 2 hi");
    }

    #[test]
    fn bundles_are_told_from_signature_files() {
        assert!(is_bundle(br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}"#));
        assert!(!is_bundle(br#"{"v":1,"component":"blake3:ab"}"#));
        assert!(!is_bundle(b"not json"));
    }
}
