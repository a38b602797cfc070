//! A person's sign-in with a tenant's authorization server, kept in this
//! browser so that a second authorization asks only for consent, and the
//! consents they asked to be remembered, so that a third asks nothing.
//!
//! The sign-in is a random cookie bound to the tenant (its path), stored
//! only as a hash with the account's stamp; it lasts [`SESSION_SECONDS`],
//! ends when the person signs out, and stops holding as soon as the
//! account's password changes or the account is removed or made anew.
//! It is `SameSite=Lax` because an authorization arrives as a top-level
//! navigation from the application's site; every form it answers is still
//! checked for its CSRF token.
//!
//! A remembered consent is per person, application and MCP server, for
//! the scopes they allowed; a request for anything more asks again, and
//! revoking the application's access (on the account page or by an
//! administrator) forgets it.

use super::accounts::{self, Account};
use super::form::cookie;
use super::records::{load_sealed, store_sealed};
use super::{Ctx, OAuthError, random_token, token_hash};
use serde::{Deserialize, Serialize};

pub(crate) const PERSON_COOKIE: &str = "smcp_oauth_person";
/// How long a browser's sign-in lasts.
pub(crate) const SESSION_SECONDS: u32 = 12 * 3600;

#[derive(Serialize, Deserialize)]
struct Session {
    username: String,
    stamp: String,
    expires_ms: u64,
}

#[derive(Serialize, Deserialize)]
struct Remembered {
    /// What was allowed, `openid` among them when it was.
    scopes: Vec<String>,
    stamp: String,
    at_ms: u64,
}

fn session_path(ctx: &Ctx<'_>, token: &str) -> String {
    format!("oauth/{}/people/{}", ctx.tenant, token_hash(&ctx.hash_key(), token))
}

fn consent_path(ctx: &Ctx<'_>, username: &str, client_id: &str, resource: &str) -> String {
    let which = blake3::hash([client_id, resource].join("\n").as_bytes()).to_hex();
    format!("oauth/{}/consents/{username}/{}", ctx.tenant, &which[..32])
}

fn cookie_header(ctx: &Ctx<'_>, value: &str, max_age: u32) -> (String, String) {
    let secure = if ctx.servers.public_url.starts_with("https:") { "; Secure" } else { "" };
    let header = format!(
        "{PERSON_COOKIE}={value}; Path=/oauth/{}/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        ctx.tenant
    );
    ("set-cookie".into(), header)
}

/// Starts a sign-in for `account` in this browser: its cookie header.
pub(crate) async fn start(ctx: &Ctx<'_>, account: &Account) -> Result<(String, String), OAuthError> {
    let token = random_token(ctx.backends.random);
    let session = Session {
        username: account.username.clone(),
        stamp: account.stamp(),
        expires_ms: ctx.now_ms() + u64::from(SESSION_SECONDS) * 1000,
    };
    store_sealed(ctx, &session_path(ctx, &token), &session, Some(SESSION_SECONDS)).await?;
    Ok(cookie_header(ctx, &token, SESSION_SECONDS))
}

/// The account this browser is signed in as, if its sign-in still holds.
pub(crate) async fn current(ctx: &Ctx<'_>) -> Option<Account> {
    let token = cookie(ctx.request, PERSON_COOKIE).filter(|t| t.len() == 43)?;
    let session: Session = load_sealed(ctx, &session_path(ctx, token)).await.ok()??;
    if session.expires_ms <= ctx.now_ms() {
        return None;
    }
    let account = accounts::get(ctx.backends, ctx.tenant, &session.username).await.ok()??;
    (account.stamp() == session.stamp).then_some(account)
}

/// Ends this browser's sign-in: its cookie header, clearing it.
pub(crate) async fn end(ctx: &Ctx<'_>) -> (String, String) {
    if let Some(token) = cookie(ctx.request, PERSON_COOKIE).filter(|t| t.len() == 43) {
        // A sign-in that outlives a failed delete still ends with its TTL.
        let _ = ctx.backends.kv.delete(&session_path(ctx, token)).await;
    }
    cookie_header(ctx, "", 0)
}

/// Remembers that `account` allowed `scopes` to `client_id` at `resource`.
pub(crate) async fn remember(
    ctx: &Ctx<'_>,
    account: &Account,
    client_id: &str,
    resource: &str,
    scopes: &[String],
) -> Result<(), OAuthError> {
    let remembered = Remembered { scopes: scopes.to_vec(), stamp: account.stamp(), at_ms: ctx.now_ms() };
    let path = consent_path(ctx, &account.username, client_id, resource);
    store_sealed(ctx, &path, &remembered, None).await
}

/// Whether `account` is remembered to have allowed `client_id` at
/// `resource` every one of `scopes`.
pub(crate) async fn remembered(
    ctx: &Ctx<'_>,
    account: &Account,
    client_id: &str,
    resource: &str,
    scopes: &[String],
) -> bool {
    let path = consent_path(ctx, &account.username, client_id, resource);
    let Ok(Some(remembered)) = super::records::load_sealed::<Remembered>(ctx, &path).await else { return false };
    remembered.stamp == account.stamp() && scopes.iter().all(|s| remembered.scopes.contains(s))
}

/// Forgets what `username` allowed `client_id` at `resource`.
pub(crate) async fn forget(ctx: &Ctx<'_>, username: &str, client_id: &str, resource: &str) -> Result<(), OAuthError> {
    let path = consent_path(ctx, username, client_id, resource);
    ctx.backends.kv.delete(&path).await.map_err(OAuthError::storage)
}
