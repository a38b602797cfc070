//! Records of the authorization server that hold what must stay secret at
//! rest (codes' and grants' details, sign-ins, pending upstream logins):
//! serialized, then sealed with AES-256-GCM under the tenant's record key,
//! with their storage path as associated data so that none can be moved
//! to stand for another.

use super::{Ctx, OAuthError};
use crate::platform::Backends;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Nonce ‖ AES-256-GCM ciphertext, bound to `path`.
fn seal(backends: Backends<'_>, key: &[u8; 32], path: &str, value: &impl Serialize) -> Result<Vec<u8>, OAuthError> {
    let plain = zeroize::Zeroizing::new(serde_json::to_vec(value).map_err(OAuthError::storage)?);
    let mut nonce = [0u8; 12];
    backends.random.fill(&mut nonce);
    Ok([nonce.as_slice(), &crate::sealing::seal(key, &nonce, &plain, path.as_bytes())].concat())
}

fn open<T: DeserializeOwned>(key: &[u8; 32], path: &str, bytes: &[u8]) -> Result<T, OAuthError> {
    let corrupt = || OAuthError::unavailable("a stored authorization record failed authentication");
    let (nonce, sealed) = bytes.split_at_checked(12).ok_or_else(corrupt)?;
    let plain = crate::sealing::open(key, nonce, sealed, path.as_bytes()).ok_or_else(corrupt)?;
    serde_json::from_slice(&plain).map_err(|_| corrupt())
}

pub(crate) async fn load_sealed<T: DeserializeOwned>(ctx: &Ctx<'_>, path: &str) -> Result<Option<T>, OAuthError> {
    match ctx.backends.kv.get(path).await.map_err(OAuthError::storage)? {
        Some(bytes) => open(&ctx.record_key(), path, &bytes).map(Some),
        None => Ok(None),
    }
}

pub(crate) async fn store_sealed(
    ctx: &Ctx<'_>,
    path: &str,
    value: &impl Serialize,
    ttl_seconds: Option<u32>,
) -> Result<(), OAuthError> {
    let bytes = seal(ctx.backends, &ctx.record_key(), path, value)?;
    ctx.backends.kv.set(path, bytes, ttl_seconds).await.map_err(OAuthError::storage)
}
