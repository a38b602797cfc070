//! `/oauth/{tenant}/account`: a person's own page. They sign in with their
//! password and see the applications they allowed (for which server, what
//! they may do, since when, when they last refreshed their access), each
//! with a button that revokes it at once.
//!
//! A browser already signed in with the tenant ([`super::person`]) goes
//! straight to the list; a password sign-in here signs the browser in, and
//! "Sign out" ends it. The page's forms carry a ticket, a MAC over the
//! tenant, the username, the account's stamp, an expiry ten minutes on and
//! the browser's CSRF cookie, so a ticket is worthless in another browser,
//! for another person, after it expires or once the password changed.
//! Every form is checked as the consent form is (same origin, the CSRF
//! token bound to the cookie); revocations are audited with the person as
//! their author.

use super::Ctx;
use super::accounts::{self, Account};
use super::authorize::{
    ACCOUNT_PAGE, CSRF_COOKIE, LOGINS, UNAVAILABLE, csrf_cookie, error_page, failed_login, same_origin,
    shown_login_error, site, upstream_sign_in,
};
use super::form::{Params, cookie};
use super::grants::{self, Grant};
use super::page;
use crate::http::Response;
use subtle::ConstantTimeEq;

/// How long a sign-in on this page lasts.
const TICKET_MS: u64 = 10 * 60 * 1000;

fn key(ctx: &Ctx<'_>, purpose: &str) -> [u8; 32] {
    blake3::derive_key(purpose, &ctx.servers.state_key)
}

/// The CSRF token of the page's forms: a MAC of the browser's cookie.
fn csrf_token(ctx: &Ctx<'_>, cookie: &str) -> String {
    let bound = [ctx.tenant.as_str(), cookie].join("\n");
    blake3::keyed_hash(&key(ctx, "smcp 2026-12 oauth account csrf"), bound.as_bytes()).to_hex().to_string()
}

/// The MAC of a ticket: bound to the account's stamp too, so that a
/// password change (or the account removed) ends it.
fn ticket_mac(ctx: &Ctx<'_>, account: &Account, expires_ms: u64, cookie: &str) -> String {
    let bound = [ctx.tenant.as_str(), &account.username, &account.stamp(), &expires_ms.to_string(), cookie].join("\n");
    blake3::keyed_hash(&key(ctx, "smcp 2026-12 oauth account ticket"), bound.as_bytes()).to_hex().to_string()
}

/// `<expiry>.<username>.<mac>` for `account`, bound to `cookie`.
fn ticket(ctx: &Ctx<'_>, account: &Account, cookie: &str) -> String {
    let expires_ms = ctx.now_ms() + TICKET_MS;
    format!("{expires_ms}.{}.{}", account.username, ticket_mac(ctx, account, expires_ms, cookie))
}

/// The account a ticket stands for, if it is this browser's, current, and
/// the account has not changed its password since.
async fn ticket_holder(ctx: &Ctx<'_>, ticket: &str, cookie: &str) -> Option<Account> {
    let (expires, rest) = ticket.split_once('.')?;
    let (username, mac) = rest.rsplit_once('.')?;
    let expires_ms: u64 = expires.parse().ok()?;
    if ctx.now_ms() >= expires_ms || !accounts::valid_username(username) {
        return None;
    }
    let account = accounts::get(ctx.backends, ctx.tenant, username).await.ok()??;
    let genuine = bool::from(ticket_mac(ctx, &account, expires_ms, cookie).as_bytes().ct_eq(mac.as_bytes()));
    genuine.then_some(account)
}

/// `GET /oauth/{tenant}/account`: the sign-in form.
pub(crate) async fn show(ctx: &Ctx<'_>) -> Response {
    let (cookie_value, set_cookie) = csrf_cookie(ctx);
    let csrf = csrf_token(ctx, &cookie_value);
    let mut response = match super::person::current(ctx).await {
        Some(account) => list(ctx, &account, &cookie_value, &csrf, None, 200).await,
        None => page::account_sign_in(&sign_in_page(ctx, &csrf, "", None).await, 200),
    };
    response.headers.push(set_cookie);
    response
}

async fn sign_in_page<'a>(
    ctx: &'a Ctx<'_>,
    csrf: &'a str,
    username: &'a str,
    error: Option<&'a str>,
) -> page::AccountSignIn<'a> {
    let face = super::face::load(ctx).await;
    let upstream = super::upstream::get(ctx).await.ok().flatten().map(|u| u.name);
    page::AccountSignIn { tenant: ctx.tenant, site: site(ctx), face, csrf: csrf.to_owned(), username, error, upstream }
}

/// `POST /oauth/{tenant}/account`: signing in, or revoking an application.
pub(crate) async fn submit(ctx: &Ctx<'_>) -> Response {
    let Ok(params) = Params::body(ctx.request) else {
        return error_page(ctx, 400, "This form was sent malformed. Open the account page again.").await;
    };
    let browser = cookie(ctx.request, CSRF_COOKIE).unwrap_or_default();
    let csrf = params.get("csrf").unwrap_or_default();
    let genuine = !browser.is_empty() && bool::from(csrf_token(ctx, browser).as_bytes().ct_eq(csrf.as_bytes()));
    if !same_origin(ctx) || !genuine {
        ctx.audit("oauth.csrf_refused", None, serde_json::json!({ "page": "account" }));
        return error_page(
            ctx,
            403,
            "This form did not come from this account page (CSRF check failed). Open it again.",
        )
        .await;
    }
    match params.get("action") {
        Some("sign-in") => sign_in(ctx, &params, browser, csrf).await,
        Some("revoke") => revoke(ctx, &params, browser, csrf).await,
        // People whose account has no password sign in where they can.
        Some("upstream") => {
            let (name, value) = ACCOUNT_PAGE;
            upstream_sign_in(ctx, vec![(name.to_owned(), value.to_owned())]).await
        }
        Some("sign-out") => {
            let ended = super::person::end(ctx).await;
            let mut response = page::account_sign_in(&sign_in_page(ctx, csrf, "", None).await, 200);
            response.headers.push(ended);
            response
        }
        _ => error_page(ctx, 400, "The form was sent without an action.").await,
    }
}

async fn sign_in(ctx: &Ctx<'_>, params: &Params, browser: &str, csrf: &str) -> Response {
    let username = params.get("username").unwrap_or_default().trim().to_ascii_lowercase();
    // The name is shown back only when it could be one.
    let shown = if accounts::valid_username(&username) { username.as_str() } else { "" };
    if let Err(e) = ctx.throttle("login", LOGINS).await {
        return page::account_sign_in(&sign_in_page(ctx, csrf, shown, Some(&e.description)).await, 429);
    }
    let login = accounts::login(ctx.backends, ctx.tenant, &username, params.get("password").unwrap_or_default()).await;
    match login {
        Ok(account) => {
            let Ok(signed_in) = super::person::start(ctx, &account).await else {
                return error_page(ctx, 503, UNAVAILABLE).await;
            };
            let mut response = list(ctx, &account, browser, csrf, None, 200).await;
            response.headers.push(signed_in);
            response
        }
        Err(e) => {
            let status = failed_login(ctx, &username, &e, "account");
            page::account_sign_in(&sign_in_page(ctx, csrf, shown, Some(&shown_login_error(&e))).await, status)
        }
    }
}

async fn revoke(ctx: &Ctx<'_>, params: &Params, browser: &str, csrf: &str) -> Response {
    let holder = match params.get("ticket") {
        Some(ticket) => ticket_holder(ctx, ticket, browser).await,
        None => None,
    };
    let Some(account) = holder else {
        let said = "Your sign-in on this page expired. Sign in again.";
        return page::account_sign_in(&sign_in_page(ctx, csrf, "", Some(said)).await, 401);
    };
    let id = params.get("grant").unwrap_or_default();
    let by = format!("user:{}", account.username);
    let reason = "revoked by its user on the account page";
    let notice = match grants::revoke_live(ctx, &account.username, Some(id), reason, &by).await {
        Ok(0) => "That access had already ended.",
        Ok(_) => "Revoked: the application's tokens stopped working.",
        Err(_) => return error_page(ctx, 503, UNAVAILABLE).await,
    };
    list(ctx, &account, browser, csrf, Some(notice), 200).await
}

/// The applications `account` allowed, with a revoke button each.
async fn list(
    ctx: &Ctx<'_>,
    account: &Account,
    browser: &str,
    csrf: &str,
    notice: Option<&str>,
    status: u16,
) -> Response {
    let username = account.username.as_str();
    let allowed: Vec<Grant> = match grants::list(ctx, username).await {
        Ok(all) => all.into_iter().filter(|g| g.revoked_ms.is_none()).collect(),
        Err(_) => return error_page(ctx, 503, UNAVAILABLE).await,
    };
    let public = ctx.servers.public_url.trim_end_matches('/').to_owned();
    let rows: Vec<page::AllowedApp> = allowed
        .iter()
        .map(|g| page::AllowedApp {
            grant: g.id.clone(),
            name: g.client_name.clone().unwrap_or_default(),
            client_id: g.client_id.clone(),
            server: g.resource.strip_prefix(&public).unwrap_or(&g.resource).to_owned(),
            scopes: g.scopes.join(" "),
            since_ms: g.created_ms,
            refreshed_ms: g.refreshed_ms,
        })
        .collect();
    let view = page::Account {
        tenant: ctx.tenant,
        site: site(ctx),
        face: super::face::load(ctx).await,
        username,
        csrf,
        ticket: ticket(ctx, account, browser),
        notice,
        allowed: &rows,
    };
    page::account(&view, status)
}
