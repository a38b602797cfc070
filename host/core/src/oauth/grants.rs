//! What a person's consent leaves behind, all under `oauth/{tenant}/`:
//!
//! - `codes/{hash}`: an authorization code, single use, encrypted;
//! - `grants/{user}/{id}`: a grant (client, server, scopes, the current
//!   refresh token's hash), encrypted with the path as associated data;
//! - `refresh/{hash}`: which grant a refresh token belongs to. Old ones
//!   are kept until they expire: presenting one that is no longer the
//!   grant's current token is a reuse, and revokes the grant.
//!
//! Codes and tokens are stored only as keyed hashes.

use super::records::{load_sealed, store_sealed};
use super::{Ctx, OAuthError};
use crate::names::TenantId;
use serde::{Deserialize, Serialize};

/// An authorization code's record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Code {
    pub client_id: String,
    pub redirect_uri: String,
    /// The authorization request named `redirect_uri`, so the token
    /// request must too (OAuth 2.1 §4.1.3).
    #[serde(default = "sent")]
    pub redirect_uri_sent: bool,
    pub code_challenge: String,
    pub resource: String,
    pub scopes: Vec<String>,
    pub user: String,
    /// The grant the first redemption creates, so a second one can
    /// revoke it (OAuth 2.1 §4.1.3).
    pub grant_id: String,
    /// The OpenID `nonce`, for the ID token.
    #[serde(default)]
    pub nonce: Option<String>,
    pub expires_ms: u64,
    pub redeemed: bool,
}

fn sent() -> bool {
    true
}

/// A grant: one user's consent to one client for one server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grant {
    pub id: String,
    pub user: String,
    pub client_id: String,
    pub client_name: Option<String>,
    /// The MCP server URL its tokens are bound to.
    pub resource: String,
    pub scopes: Vec<String>,
    pub created_ms: u64,
    pub refreshed_ms: Option<u64>,
    pub revoked_ms: Option<u64>,
    pub revoked_reason: Option<String>,
    /// Hash of the one refresh token that is valid now.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub(crate) refresh: String,
}

/// A refresh token's record (plain: it holds no secret).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RefreshRecord {
    pub user: String,
    pub grant: String,
}

pub(crate) fn code_path(tenant: &TenantId, hash: &str) -> String {
    format!("oauth/{tenant}/codes/{hash}")
}

fn grant_path(tenant: &TenantId, user: &str, id: &str) -> String {
    format!("oauth/{tenant}/grants/{user}/{id}")
}

/// A grant's revocation, kept apart from the grant: no later save of the
/// grant (a refresh that loaded it before the revocation) can undo it.
fn revoked_path(tenant: &TenantId, user: &str, id: &str) -> String {
    format!("oauth/{tenant}/revoked/{user}/{id}")
}

/// What [`revoked_path`] holds.
#[derive(Serialize, Deserialize)]
struct Revocation {
    at_ms: u64,
    reason: String,
}

pub(crate) fn refresh_path(tenant: &TenantId, hash: &str) -> String {
    format!("oauth/{tenant}/refresh/{hash}")
}

pub(crate) async fn load(ctx: &Ctx<'_>, user: &str, id: &str) -> Result<Option<Grant>, OAuthError> {
    match load_sealed::<Grant>(ctx, &grant_path(ctx.tenant, user, id)).await? {
        Some(grant) => with_revocation(ctx, grant).await.map(Some),
        None => Ok(None),
    }
}

/// `grant` as revoked when a revocation of it is recorded, whatever the
/// grant record itself says.
async fn with_revocation(ctx: &Ctx<'_>, mut grant: Grant) -> Result<Grant, OAuthError> {
    if grant.revoked_ms.is_none()
        && let Some(bytes) =
            ctx.backends.kv.get(&revoked_path(ctx.tenant, &grant.user, &grant.id)).await.map_err(OAuthError::storage)?
    {
        // Unreadable, it still says revoked.
        let revocation =
            serde_json::from_slice::<Revocation>(&bytes).unwrap_or(Revocation { at_ms: 0, reason: "revoked".into() });
        grant.revoked_ms = Some(revocation.at_ms);
        grant.revoked_reason = Some(revocation.reason);
    }
    Ok(grant)
}

pub(crate) async fn save(ctx: &Ctx<'_>, grant: &Grant) -> Result<(), OAuthError> {
    // A grant outlives its last refresh token by nothing: it ends with it.
    let ttl = ctx.settings().refresh_ttl_seconds;
    store_sealed(ctx, &grant_path(ctx.tenant, &grant.user, &grant.id), grant, Some(ttl)).await
}

/// Marks `grant` revoked for `reason` (its tokens stop working at once:
/// the resource side checks the grant), forgets the consent its person
/// may have asked to be remembered, and records it.
pub(crate) async fn revoke(
    ctx: &Ctx<'_>,
    grant: &mut Grant,
    reason: &str,
    by: Option<String>,
) -> Result<(), OAuthError> {
    if grant.revoked_ms.is_some() {
        return Ok(());
    }
    grant.revoked_ms = Some(ctx.now_ms());
    grant.revoked_reason = Some(reason.to_owned());
    // The revocation first: once it is stored, the grant is dead whatever
    // else is written to its record.
    let revocation = serde_json::to_vec(&Revocation { at_ms: ctx.now_ms(), reason: reason.to_owned() })
        .map_err(OAuthError::storage)?;
    let ttl = ctx.settings().refresh_ttl_seconds;
    ctx.backends
        .kv
        .set(&revoked_path(ctx.tenant, &grant.user, &grant.id), revocation, Some(ttl))
        .await
        .map_err(OAuthError::storage)?;
    save(ctx, grant).await?;
    // Revoked access is asked for again, never given back unasked.
    super::person::forget(ctx, &grant.user, &grant.client_id, &grant.resource).await?;
    let detail =
        serde_json::json!({ "grant": grant.id, "user": grant.user, "client_id": grant.client_id, "reason": reason });
    ctx.audit("oauth.grant_revoked", by, detail);
    Ok(())
}

/// Revokes `user`'s live grants (only grant `only`, when given) for
/// `reason`; how many it revoked.
pub(crate) async fn revoke_live(
    ctx: &Ctx<'_>,
    user: &str,
    only: Option<&str>,
    reason: &str,
    by: &str,
) -> Result<usize, OAuthError> {
    let mut revoked = 0;
    for mut grant in list(ctx, user).await? {
        if grant.revoked_ms.is_none() && only.is_none_or(|id| id == grant.id) {
            revoke(ctx, &mut grant, reason, Some(by.to_owned())).await?;
            revoked += 1;
        }
    }
    Ok(revoked)
}

/// `user`'s grants, newest first.
pub(crate) async fn list(ctx: &Ctx<'_>, user: &str) -> Result<Vec<Grant>, OAuthError> {
    let prefix = format!("oauth/{}/grants/{user}/", ctx.tenant);
    let mut grants = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = ctx.backends.kv.list(&prefix, cursor.as_deref(), 1000).await.map_err(OAuthError::storage)?;
        for key in &page.keys {
            if let Some(grant) = load_sealed::<Grant>(ctx, key).await? {
                grants.push(with_revocation(ctx, grant).await?);
            }
        }
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    grants.sort_by_key(|g| std::cmp::Reverse(g.created_ms));
    Ok(grants)
}

/// True when grant `id` of `user` exists and is not revoked: what the
/// resource side asks of every token this host issued.
pub(crate) async fn is_live(ctx: &Ctx<'_>, user: &str, id: &str) -> Result<bool, OAuthError> {
    if !super::accounts::valid_username(user) || id.is_empty() || id.contains('/') {
        return Ok(false);
    }
    Ok(load(ctx, user, id).await?.is_some_and(|g| g.revoked_ms.is_none()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Request;
    use crate::platform::memory::InMemory;
    use futures::executor::block_on;

    #[test]
    fn a_refresh_racing_a_revocation_never_undoes_it() {
        let (engine, memory, request) = (crate::engine::tests::engine(), InMemory::new(), Request::default());
        let ctx = Ctx {
            servers: &engine.oauth,
            backends: memory.backends(),
            request: &request,
            tenant: &TenantId::from_static("acme"),
        };
        let grant = Grant {
            id: "g1".into(),
            user: "alice".into(),
            client_id: "c".into(),
            client_name: None,
            resource: "http://localhost/t/acme/s/notes/mcp".into(),
            scopes: vec![],
            created_ms: 0,
            refreshed_ms: None,
            revoked_ms: None,
            revoked_reason: None,
            refresh: "h1".into(),
        };
        block_on(save(&ctx, &grant)).unwrap();
        // A refresh loads the grant; an admin revokes it; the refresh then
        // saves what it loaded, with a new refresh token.
        let mut refreshing = block_on(load(&ctx, "alice", "g1")).unwrap().unwrap();
        assert_eq!(block_on(revoke_live(&ctx, "alice", None, "admin", "key:x")).unwrap(), 1);
        refreshing.refresh = "h2".into();
        block_on(save(&ctx, &refreshing)).unwrap();
        assert!(!block_on(is_live(&ctx, "alice", "g1")).unwrap(), "the revocation stands");
        let listed = block_on(list(&ctx, "alice")).unwrap();
        assert_eq!(listed[0].revoked_reason.as_deref(), Some("admin"));
        assert_eq!(block_on(revoke_live(&ctx, "alice", None, "again", "key:x")).unwrap(), 0, "nothing left to revoke");
    }
}
