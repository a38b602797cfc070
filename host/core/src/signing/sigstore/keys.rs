//! The public keys a trusted root and a certificate carry, and the
//! signatures made with them: ECDSA over P-256 or P-384 (DER signatures,
//! SHA-256 or SHA-384 as the signature's algorithm says) and Ed25519.

use sha2::Digest as _;
use x509_cert::der::Encode as _;
use x509_cert::spki::{DecodePublicKey as _, ObjectIdentifier, SubjectPublicKeyInfoOwned};

/// The digest an ECDSA signature was made over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    Sha256,
    Sha384,
}

impl Hash {
    fn digest(self, message: &[u8]) -> Vec<u8> {
        match self {
            Hash::Sha256 => sha2::Sha256::digest(message).to_vec(),
            Hash::Sha384 => sha2::Sha384::digest(message).to_vec(),
        }
    }

    /// The hash an X.509 signature algorithm names (`None`: Ed25519, which
    /// signs the message itself; `Err`: one this host does not verify).
    pub fn of_algorithm(oid: &ObjectIdentifier) -> Result<Option<Hash>, String> {
        match oid.to_string().as_str() {
            "1.2.840.10045.4.3.2" => Ok(Some(Hash::Sha256)),
            "1.2.840.10045.4.3.3" => Ok(Some(Hash::Sha384)),
            "1.3.101.112" => Ok(None),
            other => Err(format!("signature algorithm {other} (this host verifies ECDSA and Ed25519)")),
        }
    }
}

/// A verifying key.
#[derive(Debug, Clone)]
pub enum Key {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl Key {
    /// A key from its SubjectPublicKeyInfo (DER).
    pub fn from_spki_der(der: &[u8]) -> Result<Key, String> {
        if let Ok(key) = p256::PublicKey::from_public_key_der(der) {
            return Ok(Key::P256(key.into()));
        }
        if let Ok(key) = p384::PublicKey::from_public_key_der(der) {
            return Ok(Key::P384(key.into()));
        }
        ed25519_dalek::VerifyingKey::from_public_key_der(der)
            .map(Key::Ed25519)
            .map_err(|_| "a public key that is not ECDSA P-256 or P-384, or Ed25519".into())
    }

    pub fn from_spki(spki: &SubjectPublicKeyInfoOwned) -> Result<Key, String> {
        Key::from_spki_der(&spki.to_der().map_err(|e| e.to_string())?)
    }

    /// Whether `signature` signs `message`: for ECDSA a DER signature over
    /// its `hash` (when none is named, the curve's own: SHA-256 for P-256,
    /// SHA-384 for P-384), for Ed25519 the 64 bytes.
    pub fn verifies(&self, hash: Option<Hash>, message: &[u8], signature: &[u8]) -> bool {
        use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
        let curve_hash = if matches!(self, Key::P384(_)) { Hash::Sha384 } else { Hash::Sha256 };
        let prehash = || hash.unwrap_or(curve_hash).digest(message);
        match self {
            Key::P256(key) => {
                p256::ecdsa::Signature::from_der(signature).is_ok_and(|s| key.verify_prehash(&prehash(), &s).is_ok())
            }
            Key::P384(key) => {
                p384::ecdsa::Signature::from_der(signature).is_ok_and(|s| key.verify_prehash(&prehash(), &s).is_ok())
            }
            Key::Ed25519(key) => ed25519_dalek::Signature::from_slice(signature)
                .is_ok_and(|s| ed25519_dalek::Verifier::verify(key, message, &s).is_ok()),
        }
    }
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    sha2::Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use p384::ecdsa::signature::hazmat::PrehashSigner as _;
    use p384::pkcs8::EncodePublicKey as _;

    /// sigstore-python signs blobs with P-384 keys over the artifact's
    /// SHA-256, as the bundle's digest says; DSSE with the curve's hash.
    #[test]
    fn p384_verifies_over_the_named_hash_and_by_default_sha384() {
        let signer = p384::ecdsa::SigningKey::from_slice(&[9; 48]).unwrap();
        let der = signer.verifying_key().to_public_key_der().unwrap();
        let key = Key::from_spki_der(der.as_bytes()).unwrap();
        assert!(matches!(key, Key::P384(_)));
        let message = b"statement";
        let over_sha256: p384::ecdsa::Signature = signer.sign_prehash(&Hash::Sha256.digest(message)).unwrap();
        let over_sha384: p384::ecdsa::Signature = signer.sign_prehash(&Hash::Sha384.digest(message)).unwrap();
        let (a, b) = (over_sha256.to_der(), over_sha384.to_der());
        assert!(key.verifies(Some(Hash::Sha256), message, a.as_bytes()));
        assert!(!key.verifies(None, message, a.as_bytes()));
        assert!(key.verifies(None, message, b.as_bytes()));
        assert!(!key.verifies(Some(Hash::Sha256), b"another", a.as_bytes()));
    }
}
