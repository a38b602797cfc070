//! Sigstore bundles signed with a key: what `cosign sign-blob --bundle`
//! (`--new-bundle-format`), `cosign attest-blob` and sigstore-js's bundle
//! builders write when the signer holds its own key. The artifact is the
//! upload's statement ([`super::statement`], what `smcp sign --statement`
//! prints), signed as a blob (a `messageSignature`) or as the payload of a
//! DSSE envelope (`dsseEnvelope`).
//!
//! Trust comes from the tenant's signer keys alone, as for the host's own
//! signature files: a bundle's key hint and any transparency-log entries or
//! timestamps it carries are not what makes it valid, and are not checked.
//! A keyless bundle (a Fulcio certificate) needs a trusted root and an
//! identity policy, which this host does not take: it is refused as such.

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
    certificate: Option<serde_json::Value>,
    x509_certificate_chain: Option<serde_json::Value>,
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

/// The messages and base64 signatures a bundle offers for `statement`,
/// to be tried against the tenant's keys; refused when the bundle is not
/// over exactly `statement` or is not signed with a key.
pub fn signatures(bytes: &[u8], statement: &str) -> Result<Vec<(Vec<u8>, String)>, SignatureError> {
    if bytes.len() > MAX_BUNDLE_BYTES {
        return Err(malformed(format!("over {MAX_BUNDLE_BYTES} bytes")));
    }
    let bundle: Bundle = serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
    if !bundle.media_type.starts_with(MEDIA_TYPE) {
        return Err(malformed(format!("media type `{}`", bundle.media_type)));
    }
    let material = &bundle.verification_material;
    if material.certificate.is_some() || material.x509_certificate_chain.is_some() {
        return Err(malformed(
            "signed with a certificate (keyless): this host verifies bundles against the tenant's signer keys; sign with a key",
        ));
    }
    if material.public_key.is_none() {
        return Err(malformed("no public key hint in its verification material"));
    }
    match (bundle.message_signature, bundle.dsse_envelope) {
        (Some(signed), None) => {
            if signed.message_digest.algorithm != "SHA2_256" {
                return Err(malformed(format!("digest algorithm `{}`", signed.message_digest.algorithm)));
            }
            let stated = B64.decode(signed.message_digest.digest.trim()).map_err(|_| malformed("digest not base64"))?;
            let uploaded = sha2::Sha256::digest(statement.as_bytes());
            if stated != uploaded.as_slice() {
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
