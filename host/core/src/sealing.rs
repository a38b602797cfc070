//! AES-256-GCM with associated data, for what the host keeps encrypted at
//! rest (tenants' secrets, authorization records). The associated data is
//! where a value is stored, so a sealed value moved elsewhere fails to open.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use zeroize::Zeroizing;

/// `plaintext` encrypted under `key` with `nonce`, bound to `aad`.
pub fn seal(key: &[u8; 32], nonce: &[u8; 12], plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
    let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key));
    // Encryption fails only for inputs over ~64 GiB.
    cipher.encrypt(&Nonce::from(*nonce), Payload { msg: plaintext, aad }).unwrap_or_default()
}

/// The plaintext of `ciphertext`; `None` when the nonce is not 12 bytes or
/// the value fails authentication (wrong key, place or bytes).
pub fn open(key: &[u8; 32], nonce: &[u8], ciphertext: &[u8], aad: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let nonce: [u8; 12] = nonce.try_into().ok()?;
    let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key));
    cipher.decrypt(&Nonce::from(nonce), Payload { msg: ciphertext, aad }).ok().map(Zeroizing::new)
}

#[cfg(test)]
mod tests {
    use super::{open, seal};

    #[test]
    fn a_sealed_value_opens_only_with_its_key_nonce_and_place() {
        let (key, nonce) = ([7u8; 32], [1u8; 12]);
        let sealed = seal(&key, &nonce, b"secret", b"here");
        assert_eq!(open(&key, &nonce, &sealed, b"here").as_deref().map(Vec::as_slice), Some(&b"secret"[..]));
        assert!(open(&key, &nonce, &sealed, b"elsewhere").is_none());
        assert!(open(&[8u8; 32], &nonce, &sealed, b"here").is_none());
        assert!(open(&key, &[1u8; 11], &sealed, b"here").is_none());
        let mut flipped = sealed.clone();
        flipped[0] ^= 1;
        assert!(open(&key, &nonce, &flipped, b"here").is_none());
    }
}
