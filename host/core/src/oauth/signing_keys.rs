//! The ES256 keys a tenant's authorization server signs access tokens
//! with. The private scalar lives only in the secrets store (encrypted
//! under the tenant's data key); the KV record `oauth/{tenant}/keys`
//! holds the public halves, by key id, newest last. Rotation adds a key
//! and retires the previous one, which stays in the JWKS so the tokens it
//! signed verify until they expire.

use super::{OAuthError, SCOPES, base64url};
use crate::auth::jwt::Issuer;
use crate::names::TenantId;
use crate::platform::Backends;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::ecdsa::SigningKey;
use p256::pkcs8::EncodePrivateKey;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use zeroize::Zeroizing;

/// Keys listed in the JWKS: the current one and the two before it.
const KEEP: usize = 3;
/// The secrets-store "server" the private keys are kept under; server
/// names cannot start with `_`, so no guest can ever be granted it.
const SECRETS_SCOPE: &str = "_oauth";

/// A signing key's public record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyInfo {
    pub kid: String,
    pub created_ms: u64,
    /// When a newer key replaced it; it still verifies.
    pub retired_ms: Option<u64>,
    /// The public key as a JWK.
    pub jwk: Value,
}

fn path(tenant: &TenantId) -> String {
    format!("oauth/{tenant}/keys")
}

fn secret_name(kid: &str) -> String {
    format!("signing-{kid}")
}

/// The tenant's signing keys, oldest first.
pub async fn list(backends: Backends<'_>, tenant: &TenantId) -> Result<Vec<KeyInfo>, OAuthError> {
    Ok(stored(backends, tenant).await?.1)
}

/// The key record's bytes as stored, and the keys they hold.
async fn stored(backends: Backends<'_>, tenant: &TenantId) -> Result<(Option<Vec<u8>>, Vec<KeyInfo>), OAuthError> {
    let bytes = backends.kv.get(&path(tenant)).await.map_err(OAuthError::storage)?;
    let keys = match &bytes {
        Some(bytes) => {
            serde_json::from_slice(bytes).map_err(|_| OAuthError::unavailable("the signing key record is corrupt"))?
        }
        None => Vec::new(),
    };
    Ok((bytes, keys))
}

/// Attempts at adding a key while other writers change the record.
const ATTEMPTS: usize = 8;

/// A new P-256 key from the platform's random source: its scalar and
/// public JWK.
fn generate(backends: Backends<'_>) -> (Zeroizing<[u8; 32]>, String, Value) {
    let mut scalar = Zeroizing::new([0u8; 32]);
    let key = loop {
        backends.random.fill(&mut *scalar);
        // Fails only for zero or a value above the group order.
        if let Ok(key) = SigningKey::from_slice(&*scalar) {
            break key;
        }
    };
    let point = key.verifying_key().to_encoded_point(false);
    let (x, y) =
        (point.x().map(|x| base64url(x)).unwrap_or_default(), point.y().map(|y| base64url(y)).unwrap_or_default());
    let kid = blake3::hash(point.as_bytes()).to_hex()[..16].to_owned();
    let jwk = json!({ "kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid, "alg": "ES256", "use": "sig" });
    (scalar, kid, jwk)
}

/// Adds a new current key, retiring the previous one; keys beyond the
/// last [`KEEP`] are dropped with their private halves.
pub async fn rotate(backends: Backends<'_>, tenant: &TenantId) -> Result<KeyInfo, OAuthError> {
    add_key(backends, tenant, true).await
}

/// Adds a key, or with `replace` false, the first one: when another writer
/// has made a current key meanwhile (two threads signing a tenant's first
/// token at once), that one is used and this one dropped. The record is
/// written only over what was read, so no writer's key goes missing from
/// the JWKS while tokens signed with it are out.
async fn add_key(backends: Backends<'_>, tenant: &TenantId, replace: bool) -> Result<KeyInfo, OAuthError> {
    let (scalar, kid, jwk) = generate(backends);
    let drop_secret = |kid: String| async move {
        let _ = backends.secrets.delete(tenant, SECRETS_SCOPE, &secret_name(&kid)).await;
    };
    backends
        .secrets
        .put(tenant, SECRETS_SCOPE, &secret_name(&kid), &B64.encode(*scalar))
        .await
        .map_err(|e| OAuthError::unavailable(format!("the secrets store cannot keep a signing key: {e}")))?;
    for _ in 0..ATTEMPTS {
        let (bytes, mut keys) = stored(backends, tenant).await?;
        if !replace && let Some(current) = keys.iter().rev().find(|k| k.retired_ms.is_none()) {
            drop_secret(kid).await;
            return Ok(current.clone());
        }
        let now = backends.clock.now_ms();
        for key in keys.iter_mut().filter(|k| k.retired_ms.is_none()) {
            key.retired_ms = Some(now);
        }
        let info = KeyInfo { kid: kid.clone(), created_ms: now, retired_ms: None, jwk: jwk.clone() };
        keys.push(info.clone());
        let dropped: Vec<KeyInfo> = keys.drain(..keys.len().saturating_sub(KEEP)).collect();
        let new = serde_json::to_vec(&keys).map_err(OAuthError::storage)?;
        let swapped = backends.kv.compare_and_swap(&path(tenant), bytes.as_deref(), new, None).await;
        if swapped.map_err(OAuthError::storage)? {
            for old in dropped {
                drop_secret(old.kid).await;
            }
            return Ok(info);
        }
    }
    drop_secret(kid).await;
    Err(OAuthError::unavailable("the signing keys kept changing while a key was added"))
}

/// The current key's id and its private half, making the first key when
/// there is none.
async fn current(backends: Backends<'_>, tenant: &TenantId) -> Result<(String, EncodingKey), OAuthError> {
    let keys = list(backends, tenant).await?;
    let info = match keys.into_iter().rev().find(|k| k.retired_ms.is_none()) {
        Some(info) => info,
        None => add_key(backends, tenant, false).await?,
    };
    let unusable = || OAuthError::unavailable("the current signing key cannot be read from the secrets store");
    let encoded = backends
        .secrets
        .get(tenant, SECRETS_SCOPE, &secret_name(&info.kid))
        .await
        .map_err(|_| unusable())?
        .ok_or_else(unusable)?;
    let scalar = Zeroizing::new(B64.decode(encoded.as_bytes()).map_err(|_| unusable())?);
    let key = SigningKey::from_slice(&scalar).map_err(|_| unusable())?;
    let der = key.to_pkcs8_der().map_err(|_| unusable())?;
    Ok((info.kid, EncodingKey::from_ec_der(der.as_bytes())))
}

/// `claims` as a JWT of type `typ` (`at+jwt` for access tokens, RFC
/// 9068; `JWT` for ID tokens) signed by `tenant`'s current key.
pub async fn sign(backends: Backends<'_>, tenant: &TenantId, typ: &str, claims: &Value) -> Result<String, OAuthError> {
    let (kid, key) = current(backends, tenant).await?;
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid);
    header.typ = Some(typ.into());
    jsonwebtoken::encode(&header, claims, &key).map_err(|_| OAuthError::unavailable("signing the token failed"))
}

/// Signs and keeps a checkpoint of `tenant`'s audit trail as it is now
/// ([`crate::audit::checkpoint`]), issued as `issuer`: the token and what
/// it states, or `None` while the trail is empty.
pub async fn checkpoint_audit(
    backends: Backends<'_>,
    tenant: &TenantId,
    issuer: &str,
) -> Result<Option<(String, crate::audit::checkpoint::Checkpoint)>, OAuthError> {
    use crate::audit::checkpoint;
    let storage = |e: crate::audit::AuditError| OAuthError::unavailable(format!("the audit trail: {e}"));
    let Some(now) = checkpoint::current(backends.kv, tenant, backends.clock.now_ms()).await.map_err(storage)? else {
        return Ok(None);
    };
    let token = sign(backends, tenant, checkpoint::TOKEN_TYPE, &checkpoint::claims(&now, issuer)).await?;
    checkpoint::store(backends.kv, tenant, &token).await.map_err(storage)?;
    Ok(Some((token, now)))
}

/// The JWKS document of `tenant`'s keys.
pub async fn jwks(backends: Backends<'_>, tenant: &TenantId) -> Result<Value, OAuthError> {
    let keys = list(backends, tenant).await?;
    Ok(json!({ "keys": keys.into_iter().map(|k| k.jwk).collect::<Vec<_>>() }))
}

/// The host's own issuer for `tenant`, as the resource side trusts it;
/// `None` before the first key exists (no token can have been issued).
pub async fn trusted_issuer(
    backends: Backends<'_>,
    issuer: String,
    tenant: &TenantId,
) -> Result<Option<Issuer>, OAuthError> {
    let keys = list(backends, tenant).await?;
    if keys.is_empty() {
        return Ok(None);
    }
    let keys: JwkSet = serde_json::from_value(json!({ "keys": keys.into_iter().map(|k| k.jwk).collect::<Vec<_>>() }))
        .map_err(|_| OAuthError::unavailable("the signing key record is corrupt"))?;
    Ok(Some(Issuer {
        issuer,
        algorithms: vec![Algorithm::ES256],
        keys,
        jwks_uri: None,
        scopes: SCOPES.iter().map(|(scope, role)| (scope.to_string(), *role)).collect(),
        // One host signs and checks: no clock skew to allow for.
        leeway_seconds: 0,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::memory::{InMemory, Interleaving};
    use futures::executor::block_on;

    /// Two requests signing a tenant's first tokens at once (two serving
    /// threads) both sign with a key the JWKS lists.
    #[test]
    fn first_tokens_signed_at_once_both_verify_against_the_jwks() {
        let memory = InMemory::new();
        let kv = Interleaving(&memory.kv);
        let backends = Backends { kv: &kv, ..memory.backends() };
        let tenant = TenantId::from_static("acme");
        let claims = json!({ "sub": "x" });
        let (a, b) = block_on(futures::future::join(
            sign(backends, &tenant, "JWT", &claims),
            sign(backends, &tenant, "JWT", &claims),
        ));
        let jwks = block_on(jwks(backends, &tenant)).unwrap();
        let listed: Vec<&str> = jwks["keys"].as_array().unwrap().iter().filter_map(|k| k["kid"].as_str()).collect();
        for token in [a.unwrap(), b.unwrap()] {
            let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
            assert!(listed.contains(&kid.as_str()), "{kid} signed a token but is not in {jwks}");
        }
        assert_eq!(block_on(list(backends, &tenant)).unwrap().iter().filter(|k| k.retired_ms.is_none()).count(), 1);
    }
}
