//! Signed uploads: who vouches for a component and the grant it runs under.
//!
//! A signer signs a short text statement naming the component's blake3
//! digest and the grant file's blake3 digest ([`statement`]), with Ed25519
//! or ECDSA P-256 (SHA-256). The signature travels as a small JSON file
//! ([`SignatureFile`], what `smcp sign` writes) beside the component. A
//! tenant lists the public keys it trusts ([`Signer`] in its settings); when
//! it lists any, an upload must carry a signature that verifies under one
//! of them, over exactly the uploaded component and grant.
//!
//! The statement is plain text so that tools other than `smcp` can sign it
//! (`smcp sign --statement` prints it; `openssl pkeyutl -sign -rawin` for
//! Ed25519, `openssl dgst -sha256 -sign` for P-256), and a Sigstore bundle
//! may stand for the signature file ([`sigstore`]): signed with a key, or
//! keyless, by an OIDC identity a tenant's signer names instead of a key.

pub mod sigstore;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

/// The first line of every statement: what it is and its version.
const STATEMENT_HEADER: &str = "smcp-deploy-signature/v1";
/// A signature file's version.
pub const FILE_VERSION: u32 = 1;
/// The most a signature file may hold: a key, a signature, two digests.
pub const MAX_FILE_BYTES: usize = 4096;
/// Signers a tenant may list.
pub const MAX_SIGNERS: usize = 32;

/// The bytes a signer signs for `component` (its bytes' blake3) running
/// under `grant` (the grant file's bytes, empty for none).
pub fn statement(component_digest: &str, grant: &[u8]) -> String {
    format!("{STATEMENT_HEADER}\ncomponent blake3:{component_digest}\ngrant blake3:{}\n", grant_digest(grant))
}

/// blake3 of a grant file's bytes, hex.
pub fn grant_digest(grant: &[u8]) -> String {
    blake3::hash(grant).to_hex().to_string()
}

/// What `smcp sign` writes and an upload's `signature` part carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureFile {
    pub v: u32,
    /// `blake3:<hex>` of the component signed.
    pub component: String,
    /// `blake3:<hex>` of the grant file signed (of nothing, for none).
    pub grant: String,
    /// The signer's public key as tenants list it ([`PublicKey`]'s text);
    /// informative: verification uses the tenant's own list.
    pub public_key: String,
    /// Base64: Ed25519's 64 bytes, or ECDSA's r‖s (64 bytes) or DER.
    pub signature: String,
}

/// A signer a tenant trusts: a public key, or an identity that signs
/// keyless through Sigstore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signer {
    /// Who this is, as the trail shows it (`release-ci`).
    pub name: String,
    /// `ed25519:<base64 of 32 bytes>`, `ecdsa-p256:<base64 of a SEC1
    /// point>`, or either as a PEM `PUBLIC KEY` (SubjectPublicKeyInfo).
    /// Empty for a keyless signer.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub public_key: String,
    /// A keyless signer: the identity its Fulcio certificates name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<SignerIdentity>,
    /// Signatures by this key are refused from this time on (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_ms: Option<u64>,
    /// Set when the key was revoked (ms): its signatures are refused,
    /// whenever they were made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_ms: Option<u64>,
}

/// The identity a keyless signer signs as, matched exactly against the
/// certificate: its subject alternative name (a workflow URI such as
/// `https://github.com/acme/tools/.github/workflows/release.yml@refs/heads/main`,
/// or an email address) and the OIDC issuer that vouched for it
/// (`https://token.actions.githubusercontent.com`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignerIdentity {
    pub subject: String,
    pub issuer: String,
}

impl SignerIdentity {
    /// How deployments record it: `<issuer> <subject>`.
    fn fingerprint(&self) -> String {
        format!("{} {}", self.issuer, self.subject)
    }
}

/// The signer an accepted signature was made by, as deployments record it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedBy {
    pub signer: String,
    /// The key's fingerprint ([`PublicKey::fingerprint`]), or for a keyless
    /// signer the identity's issuer and subject.
    pub key: String,
}

/// A parsed public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    Ed25519(ed25519_dalek::VerifyingKey),
    P256(p256::ecdsa::VerifyingKey),
}

/// Why a signature or a key was refused. Each is a distinct `code` in the
/// admin API (see [`crate::deploy::DeployError`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error(
        "this tenant requires uploads signed by one of its signers ({0}); sign with `smcp sign` and deploy with `--signature`"
    )]
    Required(String),
    #[error("the signature file is not valid: {0}")]
    Malformed(String),
    #[error("the signature is over {what} {signed}, not this upload's {uploaded}")]
    Mismatch { what: &'static str, signed: String, uploaded: String },
    #[error("the signature verifies under none of this tenant's signers")]
    UnknownSigner,
    #[error("the signature is by `{0}`, whose key has expired")]
    Expired(String),
    #[error("the signature is by `{0}`, whose key was revoked")]
    Revoked(String),
    #[error("signer `{name}`: {why}")]
    BadSigner { name: String, why: String },
    #[error("the keyless signature is not trusted: {0}")]
    Untrusted(String),
}

impl PublicKey {
    /// Parses `ed25519:<b64>`, `ecdsa-p256:<b64>` or a PEM public key.
    pub fn parse(text: &str) -> Result<PublicKey, String> {
        let text = text.trim();
        if text.starts_with("-----BEGIN PUBLIC KEY-----") {
            return Self::from_pem(text);
        }
        let (algorithm, encoded) =
            text.split_once(':').ok_or("a key is `ed25519:<base64>` or `ecdsa-p256:<base64>`")?;
        let bytes = B64.decode(encoded.trim()).map_err(|_| "the key is not base64")?;
        match algorithm {
            "ed25519" => {
                let bytes: [u8; 32] = bytes.try_into().map_err(|_| "an Ed25519 key is 32 bytes")?;
                ed25519_dalek::VerifyingKey::from_bytes(&bytes)
                    .map(PublicKey::Ed25519)
                    .map_err(|_| "not an Ed25519 public key".into())
            }
            "ecdsa-p256" => p256::ecdsa::VerifyingKey::from_sec1_bytes(&bytes)
                .map(PublicKey::P256)
                .map_err(|_| "not a P-256 public key (SEC1)".into()),
            other => Err(format!("unknown algorithm `{other}`: use ed25519 or ecdsa-p256")),
        }
    }

    fn from_pem(text: &str) -> Result<PublicKey, String> {
        let der = pem_der(text).ok_or("the PEM key is not base64")?;
        // One trait (the pkcs8 crate's) decodes both kinds.
        use ed25519_dalek::pkcs8::DecodePublicKey as _;
        if let Ok(key) = ed25519_dalek::VerifyingKey::from_public_key_der(&der) {
            return Ok(PublicKey::Ed25519(key));
        }
        p256::PublicKey::from_public_key_der(&der)
            .map(|key| PublicKey::P256(key.into()))
            .map_err(|_| "the PEM key is neither Ed25519 nor P-256".into())
    }

    /// The key as tenants list it.
    pub fn to_text(&self) -> String {
        match self {
            PublicKey::Ed25519(key) => format!("ed25519:{}", B64.encode(key.as_bytes())),
            PublicKey::P256(key) => format!("ecdsa-p256:{}", B64.encode(key.to_encoded_point(true).as_bytes())),
        }
    }

    /// A short, stable name for the key: blake3 of its text form.
    pub fn fingerprint(&self) -> String {
        format!("blake3:{}", &blake3::hash(self.to_text().as_bytes()).to_hex()[..16])
    }

    /// Whether `signature` (base64) signs `message` under this key.
    pub fn verifies(&self, message: &[u8], signature: &str) -> bool {
        let Ok(bytes) = B64.decode(signature.trim()) else { return false };
        match self {
            PublicKey::Ed25519(key) => ed25519_dalek::Signature::from_slice(&bytes)
                .is_ok_and(|s| ed25519_dalek::Verifier::verify(key, message, &s).is_ok()),
            PublicKey::P256(key) => p256::ecdsa::Signature::from_slice(&bytes)
                .or_else(|_| p256::ecdsa::Signature::from_der(&bytes))
                .is_ok_and(|s| p256::ecdsa::signature::Verifier::verify(key, message, &s).is_ok()),
        }
    }
}

/// A signer's private key, as `smcp sign` reads it: PKCS#8 PEM
/// (`PRIVATE KEY`), Ed25519 or P-256, as `smcp sign --new-key` and
/// `openssl genpkey` write them. Only the command line holds one; the host
/// never does.
pub enum SecretKey {
    Ed25519(Box<ed25519_dalek::SigningKey>),
    P256(Box<p256::ecdsa::SigningKey>),
}

impl SecretKey {
    /// An Ed25519 key from 32 random bytes.
    pub fn ed25519_from_seed(seed: &[u8; 32]) -> SecretKey {
        SecretKey::Ed25519(Box::new(ed25519_dalek::SigningKey::from_bytes(seed)))
    }

    /// Reads a PKCS#8 PEM private key.
    pub fn from_pem(text: &str) -> Result<SecretKey, String> {
        let text = text.trim();
        if !text.starts_with("-----BEGIN PRIVATE KEY-----") {
            return Err("not a PKCS#8 PEM private key (-----BEGIN PRIVATE KEY-----)".into());
        }
        let der = zeroize::Zeroizing::new(pem_der(text).ok_or("the PEM key is not base64")?);
        use ed25519_dalek::pkcs8::DecodePrivateKey as _;
        if let Ok(key) = ed25519_dalek::SigningKey::from_pkcs8_der(&der) {
            return Ok(SecretKey::Ed25519(Box::new(key)));
        }
        p256::ecdsa::SigningKey::from_pkcs8_der(&der)
            .map(|key| SecretKey::P256(Box::new(key)))
            .map_err(|_| "the PEM key is neither Ed25519 nor P-256".into())
    }

    /// The key as PKCS#8 PEM.
    pub fn to_pem(&self) -> Result<zeroize::Zeroizing<String>, String> {
        use ed25519_dalek::pkcs8::EncodePrivateKey as _;
        let der = match self {
            SecretKey::Ed25519(key) => key.to_pkcs8_der(),
            SecretKey::P256(key) => key.to_pkcs8_der(),
        }
        .map_err(|e| e.to_string())?;
        let encoded = zeroize::Zeroizing::new(B64.encode(der.as_bytes()));
        let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
        for line in encoded.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END PRIVATE KEY-----\n");
        Ok(zeroize::Zeroizing::new(pem))
    }

    pub fn public_key(&self) -> PublicKey {
        match self {
            SecretKey::Ed25519(key) => PublicKey::Ed25519(key.verifying_key()),
            SecretKey::P256(key) => PublicKey::P256(*key.verifying_key()),
        }
    }

    /// Signs `component_digest` (hex) running under `grant`.
    pub fn sign(&self, component_digest: &str, grant: &[u8]) -> SignatureFile {
        let message = statement(component_digest, grant);
        let signature = match self {
            SecretKey::Ed25519(key) => {
                B64.encode(ed25519_dalek::Signer::sign(key.as_ref(), message.as_bytes()).to_bytes())
            }
            SecretKey::P256(key) => {
                let signature: p256::ecdsa::Signature =
                    p256::ecdsa::signature::Signer::sign(key.as_ref(), message.as_bytes());
                B64.encode(signature.to_bytes())
            }
        };
        SignatureFile {
            v: FILE_VERSION,
            component: format!("blake3:{component_digest}"),
            grant: format!("blake3:{}", grant_digest(grant)),
            public_key: self.public_key().to_text(),
            signature,
        }
    }
}

impl SignatureFile {
    /// Refuses a file over another component or grant than the upload's.
    fn matches(&self, component_digest: &str, grant: &[u8]) -> Result<(), SignatureError> {
        let uploaded_component = format!("blake3:{component_digest}");
        if self.component.to_ascii_lowercase() != uploaded_component {
            return Err(SignatureError::Mismatch {
                what: "component",
                signed: self.component.clone(),
                uploaded: uploaded_component,
            });
        }
        let uploaded_grant = format!("blake3:{}", grant_digest(grant));
        if self.grant.to_ascii_lowercase() != uploaded_grant {
            return Err(SignatureError::Mismatch {
                what: "grant",
                signed: self.grant.clone(),
                uploaded: uploaded_grant,
            });
        }
        Ok(())
    }

    /// Parses a signature file, refusing anything but version 1.
    pub fn parse(bytes: &[u8]) -> Result<SignatureFile, SignatureError> {
        if bytes.len() > MAX_FILE_BYTES {
            return Err(SignatureError::Malformed(format!("over {MAX_FILE_BYTES} bytes")));
        }
        let file: SignatureFile =
            serde_json::from_slice(bytes).map_err(|e| SignatureError::Malformed(e.to_string()))?;
        if file.v != FILE_VERSION {
            return Err(SignatureError::Malformed(format!("version {} (this host reads {FILE_VERSION})", file.v)));
        }
        Ok(file)
    }
}

/// The DER inside one PEM block (keys here, certificates in Sigstore
/// bundles' log entries): its base64 lines decoded.
fn pem_der(pem: &str) -> Option<Vec<u8>> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).map(str::trim).collect();
    B64.decode(body).ok()
}

/// Checks a tenant's signer list: names present and distinct, keys that
/// parse, at most [`MAX_SIGNERS`].
pub fn check_signers(signers: &[Signer]) -> Result<(), SignatureError> {
    if signers.len() > MAX_SIGNERS {
        return Err(SignatureError::BadSigner { name: String::new(), why: format!("at most {MAX_SIGNERS} signers") });
    }
    for (index, signer) in signers.iter().enumerate() {
        let bad = |why: String| SignatureError::BadSigner { name: signer.name.clone(), why };
        let name_ok = !signer.name.is_empty()
            && signer.name.len() <= 64
            && signer.name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b));
        if !name_ok {
            return Err(bad("a name is 1-64 of [A-Za-z0-9-_.@]".into()));
        }
        if signers[..index].iter().any(|s| s.name == signer.name) {
            return Err(bad("listed twice".into()));
        }
        match &signer.identity {
            None => {
                PublicKey::parse(&signer.public_key).map_err(bad)?;
            }
            Some(_) if !signer.public_key.is_empty() => {
                return Err(bad("a signer is a public key or an identity, not both".into()));
            }
            Some(identity) => {
                let fine = |s: &str| !s.trim().is_empty() && s.len() <= 512 && !s.chars().any(char::is_control);
                if !fine(&identity.subject) || !fine(&identity.issuer) {
                    return Err(bad("an identity's subject and issuer are 1-512 characters of text".into()));
                }
            }
        }
    }
    Ok(())
}

/// Checks an upload's signature against the tenant's `signers`: required
/// when the tenant lists any, and then over exactly `component_digest` and
/// `grant`, by a signer whose key is neither expired nor revoked at `now_ms`.
/// Keyless bundles are verified against the operator's Sigstore `root`.
/// `Ok(None)` when the tenant lists no signers and none was sent.
pub fn verify(
    signers: &[Signer],
    signature: Option<&[u8]>,
    component_digest: &str,
    grant: &[u8],
    now_ms: u64,
    root: Option<&sigstore::TrustedRoot>,
) -> Result<Option<SignedBy>, SignatureError> {
    let Some(bytes) = signature else {
        return if signers.is_empty() { Ok(None) } else { Err(required(signers)) };
    };
    let message = statement(component_digest, grant);
    let candidates = if sigstore::is_bundle(bytes) {
        match sigstore::check(bytes, &message, root)? {
            sigstore::Signed::ByKey(candidates) => candidates,
            sigstore::Signed::ByIdentity(identity) => {
                let signer = signers
                    .iter()
                    .find(|s| {
                        s.identity
                            .as_ref()
                            .is_some_and(|i| i.subject == identity.subject && i.issuer == identity.issuer)
                    })
                    .ok_or(SignatureError::UnknownSigner)?;
                signer.in_force(now_ms)?;
                return Ok(Some(SignedBy {
                    signer: signer.name.clone(),
                    key: signer.fingerprint().unwrap_or_default(),
                }));
            }
        }
    } else {
        let file = SignatureFile::parse(bytes)?;
        file.matches(component_digest, grant)?;
        vec![(message.into_bytes(), file.signature)]
    };
    for signer in signers.iter().filter(|s| s.identity.is_none()) {
        let Ok(key) = PublicKey::parse(&signer.public_key) else { continue };
        if !candidates.iter().any(|(message, signature)| key.verifies(message, signature)) {
            continue;
        }
        signer.in_force(now_ms)?;
        return Ok(Some(SignedBy { signer: signer.name.clone(), key: key.fingerprint() }));
    }
    Err(SignatureError::UnknownSigner)
}

/// Whether a deployment signed `by` is still vouched for by `signers` at
/// `now_ms` (activation re-checks: a key revoked since the upload no
/// longer vouches).
pub fn still_vouched(signers: &[Signer], by: Option<&SignedBy>, now_ms: u64) -> Result<(), SignatureError> {
    if signers.is_empty() {
        return Ok(());
    }
    let Some(by) = by else { return Err(required(signers)) };
    signers
        .iter()
        .find(|s| s.name == by.signer && s.fingerprint().is_some_and(|f| f == by.key))
        .ok_or(SignatureError::UnknownSigner)?
        .in_force(now_ms)
}

/// The refusal of an unsigned upload, naming who may sign.
fn required(signers: &[Signer]) -> SignatureError {
    SignatureError::Required(signers.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", "))
}

impl Signer {
    /// What deployments record of this signer ([`SignedBy::key`]); `None`
    /// for a key that does not parse.
    fn fingerprint(&self) -> Option<String> {
        match &self.identity {
            Some(identity) => Some(identity.fingerprint()),
            None => PublicKey::parse(&self.public_key).ok().map(|k| k.fingerprint()),
        }
    }

    /// Whether this signer's key still vouches at `now_ms`.
    fn in_force(&self, now_ms: u64) -> Result<(), SignatureError> {
        if self.revoked_ms.is_some() {
            return Err(SignatureError::Revoked(self.name.clone()));
        }
        if self.expires_ms.is_some_and(|at| now_ms >= at) {
            return Err(SignatureError::Expired(self.name.clone()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ed_key(seed: u8) -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
    }

    fn signer(name: &str, key: &ed25519_dalek::SigningKey) -> Signer {
        Signer {
            name: name.into(),
            public_key: PublicKey::Ed25519(key.verifying_key()).to_text(),
            identity: None,
            expires_ms: None,
            revoked_ms: None,
        }
    }

    fn signed(key: &ed25519_dalek::SigningKey, digest: &str, grant: &[u8]) -> Vec<u8> {
        serde_json::to_vec(&SecretKey::Ed25519(Box::new(key.clone())).sign(digest, grant)).unwrap()
    }

    const DIGEST: &str = "ab";

    #[test]
    fn a_listed_signer_is_accepted_and_named() {
        let key = ed_key(1);
        let by =
            verify(&[signer("ci", &key)], Some(&signed(&key, DIGEST, b"g")), DIGEST, b"g", 0, None).unwrap().unwrap();
        assert_eq!(by.signer, "ci");
        assert_eq!(by.key, PublicKey::Ed25519(key.verifying_key()).fingerprint());
    }

    #[test]
    fn every_refusal_has_its_own_error() {
        let (key, other) = (ed_key(1), ed_key(2));
        let signers = [signer("ci", &key)];
        let check = |sig: Option<&[u8]>, grant: &[u8]| verify(&signers, sig, DIGEST, grant, 10, None).unwrap_err();
        assert!(matches!(check(None, b"g"), SignatureError::Required(names) if names == "ci"));
        assert!(matches!(check(Some(&signed(&other, DIGEST, b"g")), b"g"), SignatureError::UnknownSigner));
        assert!(matches!(
            check(Some(&signed(&key, DIGEST, b"other grant")), b"g"),
            SignatureError::Mismatch { what: "grant", .. }
        ));
        assert!(matches!(
            check(Some(&signed(&key, "cd", b"g")), b"g"),
            SignatureError::Mismatch { what: "component", .. }
        ));
        assert!(matches!(check(Some(b"{"), b"g"), SignatureError::Malformed(_)));
        // The statement fields edited to match, the signature left: it no
        // longer verifies.
        let mut tampered: SignatureFile = serde_json::from_slice(&signed(&key, DIGEST, b"h")).unwrap();
        tampered.grant = format!("blake3:{}", grant_digest(b"g"));
        assert!(matches!(check(Some(&serde_json::to_vec(&tampered).unwrap()), b"g"), SignatureError::UnknownSigner));
        let expired = [Signer { expires_ms: Some(10), ..signer("ci", &key) }];
        let sig = signed(&key, DIGEST, b"g");
        assert!(matches!(verify(&expired, Some(&sig), DIGEST, b"g", 10, None), Err(SignatureError::Expired(_))));
        assert!(verify(&expired, Some(&sig), DIGEST, b"g", 9, None).is_ok());
        let revoked = [Signer { revoked_ms: Some(1), ..signer("ci", &key) }];
        assert!(matches!(verify(&revoked, Some(&sig), DIGEST, b"g", 0, None), Err(SignatureError::Revoked(_))));
        // No signers listed: none required, and one sent cannot be vouched for.
        assert_eq!(verify(&[], None, DIGEST, b"g", 0, None), Ok(None));
        assert!(matches!(verify(&[], Some(&sig), DIGEST, b"g", 0, None), Err(SignatureError::UnknownSigner)));
    }

    #[test]
    fn p256_signatures_verify_raw_and_der() {
        use p256::ecdsa::signature::Signer as _;
        let key = p256::ecdsa::SigningKey::from_slice(&[7; 32]).unwrap();
        let public = PublicKey::P256(*key.verifying_key());
        let message = statement(DIGEST, b"");
        let signature: p256::ecdsa::Signature = key.sign(message.as_bytes());
        assert!(public.verifies(message.as_bytes(), &B64.encode(signature.to_bytes())));
        assert!(public.verifies(message.as_bytes(), &B64.encode(signature.to_der().as_bytes())));
        assert!(!public.verifies(b"something else", &B64.encode(signature.to_bytes())));
        assert_eq!(PublicKey::parse(&public.to_text()).unwrap(), public);
    }

    #[test]
    fn private_keys_round_trip_through_pem_and_sign() {
        for key in [
            SecretKey::ed25519_from_seed(&[5; 32]),
            SecretKey::P256(Box::new(p256::ecdsa::SigningKey::from_slice(&[6; 32]).unwrap())),
        ] {
            let again = SecretKey::from_pem(&key.to_pem().unwrap()).unwrap();
            assert_eq!(again.public_key(), key.public_key());
            let file = again.sign(DIGEST, b"g");
            let signers = [Signer {
                name: "ci".into(),
                public_key: file.public_key.clone(),
                identity: None,
                expires_ms: None,
                revoked_ms: None,
            }];
            let bytes = serde_json::to_vec(&file).unwrap();
            assert_eq!(verify(&signers, Some(&bytes), DIGEST, b"g", 0, None).unwrap().unwrap().signer, "ci");
        }
        assert!(SecretKey::from_pem("ed25519:AAAA").is_err());
    }

    #[test]
    fn pem_keys_parse() {
        use ed25519_dalek::pkcs8::EncodePublicKey as _;
        let key = ed_key(3).verifying_key();
        let der = key.to_public_key_der().unwrap();
        let pem = format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", B64.encode(der.as_bytes()));
        assert_eq!(PublicKey::parse(&pem).unwrap(), PublicKey::Ed25519(key));
        assert!(PublicKey::parse("ed25519:AAAA").is_err());
        assert!(PublicKey::parse("rsa:AAAA").is_err());
    }

    #[test]
    fn signer_lists_are_checked() {
        let key = ed_key(1);
        assert!(check_signers(&[signer("ci", &key)]).is_ok());
        assert!(check_signers(&[signer("ci", &key), signer("ci", &key)]).is_err());
        assert!(check_signers(&[signer("bad name", &key)]).is_err());
        assert!(check_signers(&[Signer { public_key: "ed25519:xx".into(), ..signer("ci", &key) }]).is_err());
    }
}
