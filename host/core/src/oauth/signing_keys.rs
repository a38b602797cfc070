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
    match backends.kv.get(&path(tenant)).await.map_err(OAuthError::storage)? {
        Some(bytes) => {
            serde_json::from_slice(&bytes).map_err(|_| OAuthError::unavailable("the signing key record is corrupt"))
        }
        None => Ok(Vec::new()),
    }
}

async fn store(backends: Backends<'_>, tenant: &TenantId, keys: &[KeyInfo]) -> Result<(), OAuthError> {
    let bytes = serde_json::to_vec(keys).map_err(OAuthError::storage)?;
    backends.kv.set(&path(tenant), bytes, None).await.map_err(OAuthError::storage)
}

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
    let now = backends.clock.now_ms();
    let mut keys = list(backends, tenant).await?;
    let (scalar, kid, jwk) = generate(backends);
    backends
        .secrets
        .put(tenant, SECRETS_SCOPE, &secret_name(&kid), &B64.encode(*scalar))
        .await
        .map_err(|e| OAuthError::unavailable(format!("the secrets store cannot keep a signing key: {e}")))?;
    for key in keys.iter_mut().filter(|k| k.retired_ms.is_none()) {
        key.retired_ms = Some(now);
    }
    let info = KeyInfo { kid, created_ms: now, retired_ms: None, jwk };
    keys.push(info.clone());
    let dropped: Vec<KeyInfo> = keys.drain(..keys.len().saturating_sub(KEEP)).collect();
    store(backends, tenant, &keys).await?;
    for old in dropped {
        let _ = backends.secrets.delete(tenant, SECRETS_SCOPE, &secret_name(&old.kid)).await;
    }
    Ok(info)
}

/// The current key's id and its private half, making the first key when
/// there is none.
async fn current(backends: Backends<'_>, tenant: &TenantId) -> Result<(String, EncodingKey), OAuthError> {
    let keys = list(backends, tenant).await?;
    let info = match keys.into_iter().rev().find(|k| k.retired_ms.is_none()) {
        Some(info) => info,
        None => rotate(backends, tenant).await?,
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
