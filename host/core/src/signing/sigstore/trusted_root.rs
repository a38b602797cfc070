//! The operator's trusted root: which certificate authorities issue
//! signing certificates, and which transparency and certificate-
//! transparency logs vouch for them, in Sigstore's `TrustedRoot` JSON
//! (what `sigstore-go`, `cosign` and sigstore-js read; the public-good
//! instance's is at `tuf-repo-cdn.sigstore.dev`, `trusted_root.json`).

use super::keys::Key;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;
use x509_cert::Certificate;
use x509_cert::der::Decode as _;

/// The most a trusted root file may hold.
pub const MAX_ROOT_BYTES: usize = 1 << 20;

/// A parsed trusted root.
#[derive(Debug)]
pub struct TrustedRoot {
    pub(super) authorities: Vec<Authority>,
    pub(super) tlogs: Vec<Log>,
    pub(super) ctlogs: Vec<Log>,
}

/// A certificate authority: its chain, leaf-most first, the anchor last.
#[derive(Debug)]
pub(super) struct Authority {
    pub chain: Vec<Certificate>,
    pub valid: Validity,
}

/// A log's key, by the id entries and timestamps name it with.
#[derive(Debug)]
pub(super) struct Log {
    /// What entries name the log by: for a Rekor v1 log and a CT log, the
    /// SHA-256 of its key.
    pub key_id: Vec<u8>,
    pub key: Key,
    pub valid: Validity,
}

/// When something in the root may be relied on, in seconds since the epoch.
#[derive(Debug, Clone, Copy)]
pub(super) struct Validity {
    pub start: i64,
    pub end: Option<i64>,
}

impl Validity {
    pub fn contains(&self, at: i64) -> bool {
        self.start <= at && self.end.is_none_or(|end| at <= end)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RootJson {
    media_type: String,
    #[serde(default)]
    tlogs: Vec<LogJson>,
    #[serde(default)]
    certificate_authorities: Vec<AuthorityJson>,
    #[serde(default)]
    ctlogs: Vec<LogJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogJson {
    public_key: PublicKeyJson,
    log_id: LogIdJson,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PublicKeyJson {
    raw_bytes: String,
    valid_for: Option<ValidForJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogIdJson {
    key_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthorityJson {
    cert_chain: ChainJson,
    valid_for: Option<ValidForJson>,
}

#[derive(Deserialize)]
struct ChainJson {
    certificates: Vec<RawJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawJson {
    raw_bytes: String,
}

#[derive(Deserialize)]
struct ValidForJson {
    start: Option<String>,
    end: Option<String>,
}

const MEDIA_TYPE: &str = "application/vnd.dev.sigstore.trustedroot";

fn seconds(text: &str) -> Result<i64, String> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| format!("`{text}` is not an RFC 3339 time"))
}

fn validity(json: Option<&ValidForJson>) -> Result<Validity, String> {
    let Some(json) = json else { return Ok(Validity { start: i64::MIN, end: None }) };
    Ok(Validity {
        start: json.start.as_deref().map(seconds).transpose()?.unwrap_or(i64::MIN),
        end: json.end.as_deref().map(seconds).transpose()?,
    })
}

fn decode(what: &str, text: &str) -> Result<Vec<u8>, String> {
    B64.decode(text.trim()).map_err(|_| format!("{what} is not base64"))
}

impl TrustedRoot {
    /// Parses a `TrustedRoot` JSON file. Every certificate in it must
    /// parse; a log whose key is of a kind this host does not verify is
    /// left out (see [`Key`]).
    pub fn parse(bytes: &[u8]) -> Result<TrustedRoot, String> {
        if bytes.len() > MAX_ROOT_BYTES {
            return Err(format!("over {MAX_ROOT_BYTES} bytes"));
        }
        let json: RootJson = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if !json.media_type.starts_with(MEDIA_TYPE) {
            return Err(format!("media type `{}` is not a trusted root's", json.media_type));
        }
        // A log whose key this host cannot verify with (an RSA CT log, say)
        // is left out: nothing it signed can verify here, which fails closed.
        let logs = |list: &[LogJson], what: &str| -> Result<Vec<Log>, String> {
            let mut logs = Vec::new();
            for (i, log) in list.iter().enumerate() {
                let at = |why: String| format!("{what}[{i}]: {why}");
                let der = decode("the public key", &log.public_key.raw_bytes).map_err(at)?;
                let key_id = decode("the log id", &log.log_id.key_id).map_err(at)?;
                let valid = validity(log.public_key.valid_for.as_ref()).map_err(at)?;
                if let Ok(key) = Key::from_spki_der(&der) {
                    logs.push(Log { key_id, key, valid });
                }
            }
            Ok(logs)
        };
        let authorities = json
            .certificate_authorities
            .iter()
            .enumerate()
            .map(|(i, ca)| {
                let at = |why: String| format!("certificateAuthorities[{i}]: {why}");
                let chain = ca
                    .cert_chain
                    .certificates
                    .iter()
                    .map(|c| {
                        let der = decode("a certificate", &c.raw_bytes)?;
                        Certificate::from_der(&der).map_err(|e| format!("a certificate does not parse: {e}"))
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(at)?;
                if chain.is_empty() {
                    return Err(at("an empty certificate chain".into()));
                }
                Ok(Authority { chain, valid: validity(ca.valid_for.as_ref()).map_err(at)? })
            })
            .collect::<Result<Vec<_>, String>>()?;
        if authorities.is_empty() || json.tlogs.is_empty() {
            return Err("a trusted root for keyless signatures names at least one certificate authority and one transparency log".into());
        }
        Ok(TrustedRoot { authorities, tlogs: logs(&json.tlogs, "tlogs")?, ctlogs: logs(&json.ctlogs, "ctlogs")? })
    }

    /// The log with `key_id`, in force at `at` (seconds).
    pub(super) fn tlog(&self, key_id: &[u8], at: i64) -> Option<&Log> {
        self.tlogs.iter().find(|log| log.key_id == key_id && log.valid.contains(at))
    }
}
