//! The authorization endpoint. GET checks the request and shows the
//! login and consent page; its form POSTs back here with the request,
//! the person's credentials and a CSRF token bound to a cookie. On
//! consent the client is sent back with a single-use code and `iss`
//! (RFC 9207).
//!
//! Until the client and its exact redirect URI are known, errors are
//! shown on a page; after, they go back to the client (RFC 6749 §4.1.2.1).

use super::accounts::{self, LoginError};
use super::clients::{self, Client};
use super::form::{Params, cookie};
use super::grants::{self, Code};
use super::page::{self, Consent};
use super::{Ctx, SCOPES, random_token, token_hash};
use crate::http::{Body, Response};
use subtle::ConstantTimeEq;

pub(crate) const CSRF_COOKIE: &str = "smcp_oauth_csrf";
/// What a sign-in through the provider started on the account page comes
/// back with, in place of an authorization request.
pub(crate) const ACCOUNT_PAGE: (&str, &str) = ("smcp_page", "account");
/// Sign-in attempts a tenant takes: 30 at once, then 2 a second.
pub(crate) const LOGINS: crate::auth::rate::Limit = crate::auth::rate::Limit { burst: 30.0, per_second: 2.0 };

/// A checked authorization request.
struct AuthRequest {
    client: Client,
    redirect_uri: String,
    /// The request named its redirect URI (rather than the client's only
    /// one being taken): the token request must name it too.
    redirect_uri_sent: bool,
    state: Option<String>,
    code_challenge: String,
    /// The MCP server URL, or for a sign-in only (`openid` without a
    /// resource) this issuer.
    resource: String,
    /// The server's name; empty for a sign-in only.
    server: String,
    /// The role scopes asked for; empty when none was.
    scopes: Vec<String>,
    /// `openid` was asked for: an ID token comes with the first tokens.
    openid: bool,
    nonce: Option<String>,
}

/// The page's words for a request whose parameters do not parse: it
/// quotes none of them (a repeated parameter's name is the caller's text).
const MALFORMED: &str = "This sign-in request is not valid: a parameter is missing, repeated or malformed. Start again from your application.";
/// The page's words when storage or the provider's settings cannot be read.
pub(crate) const UNAVAILABLE: &str = "Sign-in is unavailable right now. Try again in a moment.";

enum Refusal {
    /// The client cannot be trusted with a redirect: tell the person, in
    /// the host's own words only.
    Page(u16, &'static str),
    /// Send the client back with an error.
    Redirect { redirect_uri: String, state: Option<String>, error: &'static str, description: String },
}

impl Refusal {
    async fn response(self, ctx: &Ctx<'_>) -> Response {
        match self {
            Refusal::Page(status, message) => error_page(ctx, status, message).await,
            Refusal::Redirect { redirect_uri, state, error, description } => {
                let mut pairs = vec![("error", error.to_owned()), ("error_description", description)];
                pairs.extend(state.map(|s| ("state", s)));
                redirect(&redirect_uri, pairs, &ctx.issuer())
            }
        }
    }
}

/// 303 to `uri` with `pairs` and `iss` added to its query.
fn redirect(uri: &str, pairs: Vec<(&str, String)>, issuer: &str) -> Response {
    let location = match url::Url::parse(uri) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(pairs).append_pair("iss", issuer);
            url.to_string()
        }
        Err(_) => return page::bare_error(400, "the redirect URI is not a URL"),
    };
    Response {
        status: 303,
        headers: vec![("location".into(), location), ("cache-control".into(), "no-store".into())],
        body: Body::Empty,
    }
}

/// A code challenge or verifier: 43-128 unreserved characters (RFC 7636 §4.1).
pub(crate) fn is_pkce_value(value: &str) -> bool {
    (43..=128).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

async fn validate(ctx: &Ctx<'_>, params: &Params) -> Result<AuthRequest, Refusal> {
    let client_id = params.get("client_id").ok_or(Refusal::Page(400, "The request names no client (client_id)."))?;
    let client = clients::find(ctx, client_id).await.map_err(|e| {
        // Why, for the operator: it may quote the client's document or the
        // resolver; the page does not.
        ctx.audit("oauth.client_refused", None, serde_json::json!({ "reason": e.description }));
        if e.error == "unauthorized_client" {
            return Refusal::Page(403, "This tenant does not allow the application asking to sign its people in.");
        }
        Refusal::Page(
            400,
            "The application asking cannot be used: its registration or metadata document is missing or not valid.",
        )
    })?;
    let redirect_uri = match params.get("redirect_uri") {
        Some(uri) if client.redirect_uris.iter().any(|r| r == uri) => uri.to_owned(),
        Some(_) => return Err(Refusal::Page(400, "The redirect URI is not one this client registered.")),
        None if client.redirect_uris.len() == 1 => client.redirect_uris[0].clone(),
        None => return Err(Refusal::Page(400, "The request names no redirect URI (redirect_uri).")),
    };
    let state = params.get("state").map(str::to_owned);
    let refuse = |error: &'static str, description: &str| Refusal::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: state.clone(),
        error,
        description: description.to_owned(),
    };
    if params.get("response_type") != Some("code") {
        return Err(refuse("unsupported_response_type", "response_type must be `code`"));
    }
    if params.get("code_challenge_method") != Some("S256") {
        return Err(refuse("invalid_request", "PKCE is required, with code_challenge_method S256"));
    }
    let code_challenge = params
        .get("code_challenge")
        .filter(|c| is_pkce_value(c))
        .ok_or_else(|| refuse("invalid_request", "code_challenge is missing or malformed"))?;
    let asked: Vec<&str> = params.get("scope").unwrap_or_default().split(' ').collect();
    let openid = asked.contains(&"openid");
    let mut scopes: Vec<String> =
        asked.into_iter().filter(|s| SCOPES.iter().any(|(k, _)| k == s)).map(str::to_owned).collect();
    scopes.dedup();
    let (resource, server) = match params.get("resource") {
        Some(resource) => {
            let server = hosted_server(ctx, resource)
                .await
                .ok_or_else(|| refuse("invalid_target", "`resource` is not an MCP server of this tenant"))?;
            (resource.to_owned(), server)
        }
        // An OpenID sign-in for another application: who, not what.
        None if openid => (ctx.issuer(), String::new()),
        None => return Err(refuse("invalid_target", "`resource` must name the MCP server (RFC 8707)")),
    };
    let nonce = params.get("nonce").map(str::to_owned);
    let redirect_uri_sent = params.get("redirect_uri").is_some();
    Ok(AuthRequest {
        client,
        redirect_uri,
        redirect_uri_sent,
        state,
        code_challenge: code_challenge.to_owned(),
        resource,
        server,
        scopes,
        openid,
        nonce,
    })
}

/// The server `resource` names when it is one of this tenant's hosted
/// MCP servers: `{public_url}/t/{tenant}/s/{server}/mcp`.
async fn hosted_server(ctx: &Ctx<'_>, resource: &str) -> Option<String> {
    let public = ctx.servers.public_url.trim_end_matches('/');
    let (tenant, server) = crate::names::parse_endpoint(resource.strip_prefix(public)?)?;
    if tenant != *ctx.tenant {
        return None;
    }
    ctx.servers.deployments.lookup(ctx.backends, &tenant, server).await.ok()??;
    Some(server.to_owned())
}

/// The CSRF token for the form: a MAC of the cookie and the request.
fn csrf_token(ctx: &Ctx<'_>, cookie: &str, request: &AuthRequest) -> String {
    let key = blake3::derive_key("smcp 2026-11 oauth csrf", &ctx.servers.state_key);
    let bound = [cookie, &request.client.client_id, &request.redirect_uri, &request.code_challenge].join("\n");
    blake3::keyed_hash(&key, bound.as_bytes()).to_hex().to_string()
}

fn hidden_fields(params: &Params) -> Vec<(&'static str, String)> {
    [
        "response_type",
        "client_id",
        "redirect_uri",
        "state",
        "code_challenge",
        "code_challenge_method",
        "resource",
        "scope",
        "nonce",
    ]
    .into_iter()
    .filter_map(|name| params.get(name).map(|v| (name, v.to_owned())))
    .collect()
}

/// How the page was reached: the first time, or back from the upstream
/// provider with who the person is and their ticket.
enum Stage<'a> {
    Login {
        upstream: Option<String>,
    },
    /// Who the upstream provider vouched for, and the ticket that proves it.
    SignedIn {
        username: &'a str,
        ticket: &'a str,
        role: crate::auth::Role,
    },
    /// Signed in already in this browser ([`super::person`]).
    Session {
        username: &'a str,
        role: crate::auth::Role,
    },
}

/// `seconds` in the largest whole unit: "30 days", "10 minutes", "2 seconds".
fn span(seconds: u32) -> String {
    let (n, unit) = [(86_400, "day"), (3_600, "hour"), (60, "minute"), (1, "second")]
        .into_iter()
        .find(|(size, _)| seconds >= *size && seconds.is_multiple_of(*size))
        .map_or((seconds, "second"), |(size, unit)| (seconds / size, unit));
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// What a person should know of `scope` before allowing it: who may hold
/// it, or, once the account is known, that this account may not.
fn scope_note(scope: &str, role: Option<crate::auth::Role>) -> Option<String> {
    use crate::auth::Role;
    let needs = SCOPES.iter().find(|(s, _)| *s == scope).map(|(_, r)| *r)?;
    match role {
        None => match needs {
            Role::ReadOnly | Role::Approver => None,
            Role::McpUser => Some("for mcp-user and admin accounts".into()),
            Role::Admin => Some("for admin accounts only".into()),
        },
        Some(role) if role < needs => Some(format!("not for your account ({}): it will not be allowed", role.name())),
        Some(_) => None,
    }
}

async fn render(
    ctx: &Ctx<'_>,
    request: &AuthRequest,
    params: &Params,
    csrf: &str,
    error: Option<&str>,
    status: u16,
    stage: &Stage<'_>,
) -> Response {
    let role = match stage {
        Stage::SignedIn { role, .. } | Stage::Session { role, .. } => Some(*role),
        Stage::Login { .. } => None,
    };
    let mut shown: Vec<(String, Option<String>)> = match (request.server.is_empty(), request.scopes.is_empty()) {
        (true, _) => Vec::new(),
        (false, true) => vec!["mcp:read".into(), "mcp:use".into()],
        (false, false) => request.scopes.clone(),
    }
    .into_iter()
    .map(|scope| {
        let note = scope_note(&scope, role);
        (scope, note)
    })
    .collect();
    if request.openid {
        shown.push(("openid".into(), None));
    }
    let settings = ctx.settings();
    let lasts = format!(
        "Access lasts until it is revoked, or until the application goes {} without using it; each of its \
         tokens lives {}.",
        span(settings.refresh_ttl_seconds),
        span(settings.access_ttl_seconds),
    );
    let host = url::Url::parse(&request.redirect_uri)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| request.redirect_uri.clone());
    // A client ID metadata document's id is the URL the host fetched it
    // from (https, or http where the operator allows it for development).
    let client_host = url::Url::parse(&request.client.client_id)
        .ok()
        .filter(|u| matches!(u.scheme(), "https" | "http"))
        .and_then(|u| u.host_str().map(str::to_owned));
    let site = site(ctx);
    let face = super::face::load(ctx).await;
    let consent = Consent {
        tenant: ctx.tenant,
        client_name: request.client.client_name.as_deref().unwrap_or("(no name)"),
        client_id: &request.client.client_id,
        client_host: client_host.as_deref(),
        site: &site,
        face: &face,
        redirect_host: &host,
        server: &request.server,
        scopes: &shown,
        lasts: &lasts,
        hidden: &hidden_fields(params),
        csrf,
        error,
        username: params.get("username").unwrap_or_default(),
        upstream: match stage {
            Stage::Login { upstream } => upstream.as_deref(),
            Stage::SignedIn { .. } | Stage::Session { .. } => None,
        },
        signed_in: match stage {
            Stage::SignedIn { username, ticket, .. } => Some((username, Some(*ticket))),
            Stage::Session { username, .. } => Some((username, None)),
            Stage::Login { .. } => None,
        },
    };
    page::consent(&consent, status)
}

/// Why a sign-in on the page failed: carried across the redirect after a
/// failed post (post/redirect/get, so that Back and reload never send the
/// form again) in a short-lived cookie, and said by the page it leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Failed {
    Wrong,
    /// This account is locked for so many seconds.
    Locked(u64),
    /// The tenant's sign-ins are throttled for so many seconds.
    Busy(u64),
    Unavailable,
    /// The account's role may allow none of what was asked.
    Role(crate::auth::Role),
    /// The browser's sign-in ended before the consent was sent.
    Ended,
}

const FLASH_COOKIE: &str = "smcp_oauth_flash";

impl Failed {
    fn from_login(e: &LoginError) -> Failed {
        match e {
            LoginError::Wrong => Failed::Wrong,
            LoginError::Throttled(seconds) => Failed::Locked(*seconds),
            LoginError::Unavailable(_) => Failed::Unavailable,
        }
    }

    fn encode(&self) -> String {
        match self {
            Failed::Wrong => "wrong".into(),
            Failed::Locked(s) => format!("locked-{s}"),
            Failed::Busy(s) => format!("busy-{s}"),
            Failed::Unavailable => "unavailable".into(),
            Failed::Role(role) => format!("role-{}", role.name()),
            Failed::Ended => "ended".into(),
        }
    }

    fn decode(text: &str) -> Option<Failed> {
        let seconds = |s: &str| s.parse::<u64>().ok().filter(|s| *s <= 86_400);
        Some(match text {
            "wrong" => Failed::Wrong,
            "unavailable" => Failed::Unavailable,
            "ended" => Failed::Ended,
            _ => match text.split_once('-')? {
                ("locked", s) => Failed::Locked(seconds(s)?),
                ("busy", s) => Failed::Busy(seconds(s)?),
                ("role", role) => Failed::Role(crate::auth::Role::parse(role)?),
                _ => return None,
            },
        })
    }

    fn status(&self) -> u16 {
        match self {
            Failed::Wrong | Failed::Ended => 401,
            Failed::Locked(_) | Failed::Busy(_) => 429,
            Failed::Unavailable => 503,
            Failed::Role(_) => 403,
        }
    }

    /// What the page says: the host's own words, with nothing of the
    /// cookie but a number or a role name.
    fn said(&self) -> String {
        match self {
            Failed::Wrong => LoginError::Wrong.to_string(),
            Failed::Locked(s) => LoginError::Throttled(*s).to_string(),
            Failed::Busy(s) => format!("too many sign-ins here right now: try again in {s} s"),
            Failed::Unavailable => UNAVAILABLE.to_owned(),
            Failed::Role(role) => format!(
                "Your account ({}) may allow none of what this application asks, so nothing was allowed. \
                 Sign in with another account, or deny.",
                role.name()
            ),
            Failed::Ended => "Your sign-in in this browser has ended. Sign in again.".to_owned(),
        }
    }
}

/// The flash cookie's header: `value` for a minute, or cleared.
fn flash_header(ctx: &Ctx<'_>, value: &str) -> (String, String) {
    let secure = if ctx.servers.public_url.starts_with("https:") { "; Secure" } else { "" };
    let age = if value.is_empty() { 0 } else { 60 };
    let header = format!(
        "{FLASH_COOKIE}={value}; Path=/oauth/{}/; HttpOnly; SameSite=Strict; Max-Age={age}{secure}",
        ctx.tenant
    );
    ("set-cookie".into(), header)
}

/// After a failed post: back to the page for the same request, by GET,
/// with why and the name typed (only when it could be one) to show there.
fn again(ctx: &Ctx<'_>, params: &Params, request: &AuthRequest, failed: Failed, username: &str) -> Response {
    let username = if accounts::valid_username(username) { username } else { "" };
    // Bound to this request: another one's page does not show it.
    let value = format!("{}:{username}:{}", failed.encode(), &request.code_challenge[..16]);
    let query = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(hidden_fields(params)).finish();
    Response {
        status: 303,
        headers: vec![
            ("location".into(), format!("/oauth/{}/authorize?{query}", ctx.tenant)),
            ("cache-control".into(), "no-store".into()),
            flash_header(ctx, &value),
        ],
        body: Body::Empty,
    }
}

/// The failure a redirect to this request's page carried, and the name
/// typed then.
fn flashed(ctx: &Ctx<'_>, request: &AuthRequest) -> Option<(Failed, String)> {
    let value = cookie(ctx.request, FLASH_COOKIE)?;
    let mut parts = value.splitn(3, ':');
    let (kind, username, tag) = (parts.next()?, parts.next()?, parts.next()?);
    if tag != &request.code_challenge[..16] || !(username.is_empty() || accounts::valid_username(username)) {
        return None;
    }
    Some((Failed::decode(kind)?, username.to_owned()))
}

/// The CSRF cookie of this browser, or a new one; and its header.
pub(crate) fn csrf_cookie(ctx: &Ctx<'_>) -> (String, (String, String)) {
    let value = cookie(ctx.request, CSRF_COOKIE)
        .filter(|c| c.len() == 43)
        .map(str::to_owned)
        .unwrap_or_else(|| random_token(ctx.backends.random));
    let secure = if ctx.servers.public_url.starts_with("https:") { "; Secure" } else { "" };
    let header = format!("{CSRF_COOKIE}={value}; Path=/oauth/{}/; HttpOnly; SameSite=Strict{secure}", ctx.tenant);
    (value, ("set-cookie".into(), header))
}

/// The parameters, checked as an authorization request, or the answer
/// refusing them.
async fn checked(ctx: &Ctx<'_>, params: Result<Params, super::OAuthError>) -> Result<(Params, AuthRequest), Response> {
    let Ok(params) = params else { return Err(error_page(ctx, 400, MALFORMED).await) };
    let request = match validate(ctx, &params).await {
        Ok(request) => request,
        Err(refusal) => return Err(refusal.response(ctx).await),
    };
    Ok((params, request))
}

/// `GET /oauth/{tenant}/authorize`.
pub(crate) async fn show(ctx: &Ctx<'_>) -> Response {
    let (params, request) = match checked(ctx, Params::query(ctx.request)).await {
        Ok(checked) => checked,
        Err(refused) => return refused,
    };
    // OpenID Connect's `prompt`: `login` asks for the password even in a
    // signed-in browser, `consent` asks again what was remembered, and
    // `none` asks nothing (an error goes back when something must be).
    let prompts: Vec<&str> = params.get("prompt").unwrap_or_default().split(' ').collect();
    let person = if prompts.contains(&"login") { None } else { super::person::current(ctx).await };
    if let Some(account) = &person
        && !prompts.contains(&"consent")
        && let Some(scopes) = granted_scopes(&request, account.role)
        && super::person::remembered(ctx, account, &request.client.client_id, &request.resource, &scopes).await
    {
        return consented(ctx, &request, &account.username, scopes, "remembered", None).await;
    }
    if prompts.contains(&"none") {
        let (error, description) = match person {
            None => ("login_required", "the person is not signed in here"),
            Some(_) => ("consent_required", "the person has not allowed this before"),
        };
        let back = Refusal::Redirect {
            redirect_uri: request.redirect_uri.clone(),
            state: request.state.clone(),
            error,
            description: description.to_owned(),
        };
        return back.response(ctx).await;
    }
    let upstream = match super::upstream::get(ctx).await {
        Ok(upstream) => upstream.map(|u| u.name),
        Err(_) => return error_page(ctx, 503, UNAVAILABLE).await,
    };
    let (cookie_value, set_cookie) = csrf_cookie(ctx);
    let csrf = csrf_token(ctx, &cookie_value, &request);
    let stage = match &person {
        Some(account) => Stage::Session { username: &account.username, role: account.role },
        None => Stage::Login { upstream },
    };
    // Back here after a failed post: why, once, with the name typed.
    let (failed, params) = match flashed(ctx, &request) {
        Some((failed, username)) => (Some(failed), params.with("username", &username)),
        None => (None, params),
    };
    let said = failed.as_ref().map(Failed::said);
    let status = failed.as_ref().map_or(200, Failed::status);
    let mut response = render(ctx, &request, &params, &csrf, said.as_deref(), status, &stage).await;
    response.headers.push(set_cookie);
    if failed.is_some() {
        response.headers.push(flash_header(ctx, ""));
    }
    response
}

/// Sends the client back with a code for `user`'s consent to `scopes`
/// (`how`: `given` on the page, or `remembered`), setting `cookie` (a new
/// sign-in of this browser) when there is one.
async fn consented(
    ctx: &Ctx<'_>,
    request: &AuthRequest,
    user: &str,
    scopes: Vec<String>,
    how: &str,
    cookie: Option<(String, String)>,
) -> Response {
    match issue_code(ctx, request, user, scopes, how).await {
        Ok(code) => {
            let mut pairs = vec![("code", code)];
            pairs.extend(request.state.clone().map(|s| ("state", s)));
            let mut response = redirect(&request.redirect_uri, pairs, &ctx.issuer());
            response.headers.extend(cookie);
            response
        }
        Err(e) => {
            Refusal::Redirect {
                redirect_uri: request.redirect_uri.clone(),
                state: request.state.clone(),
                error: "temporarily_unavailable",
                description: e.description,
            }
            .response(ctx)
            .await
        }
    }
}

/// `GET /oauth/{tenant}/callback`: back from the upstream provider.
pub(crate) async fn callback(ctx: &Ctx<'_>) -> Response {
    let finished = match Params::query(ctx.request) {
        Ok(params) => super::upstream::finish(ctx, &params).await,
        Err(e) => Err(e),
    };
    let (params, username) = match finished {
        Ok(done) => done,
        Err(e) => {
            ctx.audit("oauth.upstream_refused", None, serde_json::json!({ "reason": e.description }));
            return error_page(
                ctx,
                e.status.max(400),
                "Signing in through the provider failed, or this sign-in expired or was already used. Start again from your application.",
            ).await;
        }
    };
    let for_account_page = params.get(ACCOUNT_PAGE.0) == Some(ACCOUNT_PAGE.1);
    let request = match for_account_page {
        true => None,
        false => match validate(ctx, &params).await {
            Ok(request) => Some(request),
            Err(refusal) => return refusal.response(ctx).await,
        },
    };
    let account = match external_account(ctx, &username).await {
        Ok(account) => account,
        Err(refused) => {
            // The name is in the trail; the page says the cause in its own words.
            ctx.audit(
                "oauth.upstream_refused",
                Some(format!("user:{username}")),
                serde_json::json!({ "reason": refused.reason() }),
            );
            return error_page(ctx, refused.status(), refused.said()).await;
        }
    };
    let Some(request) = request else {
        // Signed in for the account page: the browser is signed in, and
        // the page lists what this person allowed.
        let Ok(signed_in) = super::person::start(ctx, &account).await else {
            return error_page(ctx, 503, UNAVAILABLE).await;
        };
        ctx.audit("oauth.upstream_login", Some(format!("user:{username}")), serde_json::json!({ "page": "account" }));
        return Response {
            status: 303,
            headers: vec![
                ("location".into(), format!("/oauth/{}/account", ctx.tenant)),
                ("cache-control".into(), "no-store".into()),
                signed_in,
            ],
            body: Body::Empty,
        };
    };
    let Ok(ticket) = mint_ticket(ctx, &request, &username).await else {
        return error_page(ctx, 503, UNAVAILABLE).await;
    };
    ctx.audit(
        "oauth.upstream_login",
        Some(format!("user:{username}")),
        serde_json::json!({ "client_id": request.client.client_id }),
    );
    let (cookie_value, set_cookie) = csrf_cookie(ctx);
    let csrf = csrf_token(ctx, &cookie_value, &request);
    let stage = Stage::SignedIn { username: &username, ticket: &ticket, role: account.role };
    let mut response = render(ctx, &request, &params, &csrf, None, 200, &stage).await;
    response.headers.push(set_cookie);
    response
}

/// A single-use ticket that `username` is signed in, for this client and
/// PKCE challenge, for ten minutes: what the consent after an upstream
/// sign-in carries instead of a password.
async fn mint_ticket(ctx: &Ctx<'_>, request: &AuthRequest, username: &str) -> Result<String, super::OAuthError> {
    let ticket = random_token(ctx.backends.random);
    let record = super::upstream::Ticket {
        username: username.to_owned(),
        client_id: request.client.client_id.clone(),
        code_challenge: request.code_challenge.clone(),
        expires_ms: ctx.now_ms() + 600_000,
    };
    let path = super::upstream::ticket_path(ctx.tenant, &token_hash(&ctx.hash_key(), &ticket));
    super::records::store_sealed(ctx, &path, &record, Some(600)).await?;
    Ok(ticket)
}

/// The account of someone the upstream provider vouched for: theirs, or
/// a new one with the tenant's default role. An account with a password
/// is local: the provider's word for a name (which its users may be able
/// to choose) never opens it.
async fn external_account(ctx: &Ctx<'_>, username: &str) -> Result<accounts::Account, NoExternalAccount> {
    if let Some(account) = accounts::get(ctx.backends, ctx.tenant, username).await.map_err(NoExternalAccount::Store)? {
        if account.is_local() {
            return Err(NoExternalAccount::Local);
        }
        return Ok(account);
    }
    let upstream = super::upstream::get(ctx).await.map_err(NoExternalAccount::Store)?;
    match upstream.and_then(|u| u.default_role) {
        Some(role) => {
            accounts::create_external(ctx.backends, ctx.tenant, username, role).await.map_err(NoExternalAccount::Store)
        }
        None => Err(NoExternalAccount::Missing),
    }
}

/// Why a person the upstream provider vouched for gets no account here.
enum NoExternalAccount {
    /// The name is a local account (with a password) of this tenant.
    Local,
    /// The tenant has no account of that name and creates none.
    Missing,
    Store(super::OAuthError),
}

impl NoExternalAccount {
    fn status(&self) -> u16 {
        match self {
            NoExternalAccount::Local | NoExternalAccount::Missing => 403,
            NoExternalAccount::Store(e) => e.status,
        }
    }

    /// The page's words.
    fn said(&self) -> &'static str {
        match self {
            NoExternalAccount::Local => {
                "This name is a local account of this tenant: sign in with its password instead."
            }
            NoExternalAccount::Missing => "You have no account in this tenant: ask its administrator for one.",
            NoExternalAccount::Store(_) => UNAVAILABLE,
        }
    }

    /// The trail's words.
    fn reason(&self) -> String {
        match self {
            NoExternalAccount::Local => "a local account of this tenant".into(),
            NoExternalAccount::Missing => "no account in this tenant, and no default role for new ones".into(),
            NoExternalAccount::Store(e) => e.description.clone(),
        }
    }
}

/// Redeems the ticket of a consent after an upstream sign-in (single use).
async fn redeem_ticket(ctx: &Ctx<'_>, ticket: &str, request: &AuthRequest) -> Result<accounts::Account, LoginError> {
    let path = super::upstream::ticket_path(ctx.tenant, &token_hash(&ctx.hash_key(), ticket));
    let unavailable = |e: super::OAuthError| LoginError::Unavailable(e.description);
    let record: super::upstream::Ticket =
        super::records::load_sealed(ctx, &path).await.map_err(unavailable)?.ok_or(LoginError::Wrong)?;
    let _ = ctx.backends.kv.delete(&path).await;
    if record.client_id != request.client.client_id
        || record.code_challenge != request.code_challenge
        || record.expires_ms <= ctx.now_ms()
    {
        return Err(LoginError::Wrong);
    }
    accounts::get(ctx.backends, ctx.tenant, &record.username).await.map_err(unavailable)?.ok_or(LoginError::Wrong)
}

/// Records a failed password check on `page` (unless the store failed)
/// and says which status answers it.
pub(crate) fn failed_login(ctx: &Ctx<'_>, username: &str, e: &LoginError, page: &str) -> u16 {
    let status = match e {
        LoginError::Wrong => 401,
        LoginError::Throttled(_) => 429,
        LoginError::Unavailable(_) => 503,
    };
    if status != 503 {
        // What was typed is the stranger's: recorded only when it could
        // name an account (bounded, no markup, no password pasted into the
        // wrong field).
        let named = accounts::valid_username(username).then_some(username);
        ctx.audit(
            "oauth.login_failed",
            None,
            serde_json::json!({ "username": named, "reason": e.to_string(), "page": page }),
        );
    }
    status
}

/// A failed password check as the page says it: the store's reasons for
/// being unavailable stay in the trail.
pub(crate) fn shown_login_error(e: &LoginError) -> String {
    match e {
        LoginError::Unavailable(_) => UNAVAILABLE.to_owned(),
        other => other.to_string(),
    }
}

/// A page saying why a request cannot go on, under the tenant's face.
pub(crate) async fn error_page(ctx: &Ctx<'_>, status: u16, message: &'static str) -> Response {
    page::error(status, message, ctx.tenant, &site(ctx), &super::face::load(ctx).await)
}

/// This host's name as people reach it (the public URL's host and port),
/// so that its pages say whose they are.
pub(crate) fn site(ctx: &Ctx<'_>) -> String {
    url::Url::parse(&ctx.servers.public_url)
        .ok()
        .and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(port) => format!("{h}:{port}"),
                None => h.to_owned(),
            })
        })
        .unwrap_or_default()
}

/// True unless the browser says the request came from another site
/// (`Origin`, `Sec-Fetch-Site`).
pub(crate) fn same_origin(ctx: &Ctx<'_>) -> bool {
    let public = url::Url::parse(&ctx.servers.public_url).map(|u| u.origin().ascii_serialization()).unwrap_or_default();
    ctx.request.header("origin").is_none_or(|o| o == public)
        && ctx.request.header("sec-fetch-site").is_none_or(|s| s == "same-origin")
}

/// True when a POST comes from this host's own page: same origin when
/// the browser says, and the CSRF token matches the cookie.
fn same_origin_form(ctx: &Ctx<'_>, params: &Params, request: &AuthRequest) -> bool {
    if !same_origin(ctx) {
        return false;
    }
    let (Some(cookie_value), Some(field)) = (cookie(ctx.request, CSRF_COOKIE), params.get("csrf")) else {
        return false;
    };
    bool::from(csrf_token(ctx, cookie_value, request).as_bytes().ct_eq(field.as_bytes()))
}

/// `POST /oauth/{tenant}/authorize`: the consent form.
pub(crate) async fn submit(ctx: &Ctx<'_>) -> Response {
    let (params, request) = match checked(ctx, Params::body(ctx.request)).await {
        Ok(checked) => checked,
        Err(refused) => return refused,
    };
    if !same_origin_form(ctx, &params, &request) {
        ctx.audit("oauth.csrf_refused", None, serde_json::json!({ "client_id": request.client.client_id }));
        return error_page(
                ctx,
            403,
            "This form did not come from this sign-in page (CSRF check failed). Start the sign-in again from your application.",
        ).await;
    }
    let back = |error: &'static str, description: &str| Refusal::Redirect {
        redirect_uri: request.redirect_uri.clone(),
        state: request.state.clone(),
        error,
        description: description.to_owned(),
    };
    match params.get("decision") {
        Some("allow") => {}
        Some("deny") => return back("access_denied", "the user denied access").response(ctx).await,
        Some("upstream") => return to_upstream(ctx, &params).await,
        // Someone else at this browser: its sign-in ends, and the page asks
        // for a password again.
        Some("switch") => {
            let ended = super::person::end(ctx).await;
            let upstream = super::upstream::get(ctx).await.ok().flatten().map(|u| u.name);
            let csrf = params.get("csrf").unwrap_or_default();
            let mut response = render(ctx, &request, &params, csrf, None, 200, &Stage::Login { upstream }).await;
            response.headers.push(ended);
            return response;
        }
        _ => return error_page(ctx, 400, "The form was sent without a decision.").await,
    }
    let username = params.get("username").unwrap_or_default().trim().to_ascii_lowercase();
    // Who is allowing: the browser's own sign-in when the form asked no
    // password (the consent-only page), else the password or ticket sent.
    let (account, new_sign_in) = match (params.get("ticket"), params.get("password")) {
        (None, None) => match super::person::current(ctx).await {
            Some(account) => (account, false),
            None => return again(ctx, &params, &request, Failed::Ended, ""),
        },
        (ticket, password) => {
            // Password checks are slow on purpose: bounded per tenant,
            // against guessing one password across many accounts.
            if let Err(wait) = ctx.throttle_wait("login", LOGINS).await {
                return again(ctx, &params, &request, Failed::Busy(wait), &username);
            }
            let login = match ticket {
                Some(ticket) => redeem_ticket(ctx, ticket, &request).await,
                None => accounts::login(ctx.backends, ctx.tenant, &username, password.unwrap_or_default()).await,
            };
            match login {
                Ok(account) => (account, true),
                Err(e) => {
                    let status = failed_login(ctx, &username, &e, "login");
                    if ticket.is_some() {
                        return error_page(
                            ctx,
                            status,
                            "This sign-in expired or was already used. Start again from your application.",
                        )
                        .await;
                    }
                    return again(ctx, &params, &request, Failed::from_login(&e), &username);
                }
            }
        }
    };
    let Some(scopes) = granted_scopes(&request, account.role) else {
        // Said on the page, not only to the application: the person may
        // sign in with another account, or deny.
        ctx.audit(
            "oauth.consent_unavailable",
            Some(format!("user:{}", account.username)),
            serde_json::json!({ "client_id": request.client.client_id, "role": account.role.name() }),
        );
        return again(ctx, &params, &request, Failed::Role(account.role), &account.username);
    };
    if params.get("remember") == Some("on") {
        let remembered =
            super::person::remember(ctx, &account, &request.client.client_id, &request.resource, &scopes).await;
        if let Err(e) = remembered {
            return back("temporarily_unavailable", &e.description).response(ctx).await;
        }
    }
    // A password or provider sign-in holds in this browser from now on.
    let cookie = match new_sign_in {
        true => match super::person::start(ctx, &account).await {
            Ok(cookie) => Some(cookie),
            Err(e) => return back("temporarily_unavailable", &e.description).response(ctx).await,
        },
        false => None,
    };
    consented(ctx, &request, &account.username, scopes, "given", cookie).await
}

/// The scopes `role` gets of what `request` asked: the role scopes it
/// allows (by default read and use) plus `openid`; `None` when a server
/// was asked for and the role allows none of its scopes.
fn granted_scopes(request: &AuthRequest, role: crate::auth::Role) -> Option<Vec<String>> {
    let allowed: Vec<String> = SCOPES.iter().filter(|(_, r)| *r <= role).map(|(s, _)| s.to_string()).collect();
    let mut scopes: Vec<String> = match (request.server.is_empty(), request.scopes.is_empty()) {
        (true, _) => Vec::new(),
        (false, true) => allowed.into_iter().filter(|s| s != "mcp:admin").collect(),
        (false, false) => request.scopes.iter().filter(|s| allowed.contains(s)).cloned().collect(),
    };
    if !request.server.is_empty() && scopes.is_empty() {
        return None;
    }
    if request.openid {
        scopes.push("openid".into());
    }
    Some(scopes)
}

/// `decision=upstream`: off to the tenant's provider with this request.
async fn to_upstream(ctx: &Ctx<'_>, params: &Params) -> Response {
    let request = hidden_fields(params).into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    upstream_sign_in(ctx, request).await
}

/// Off to the tenant's provider, to come back to `request` (an
/// authorization request, or `smcp_page=account`).
pub(crate) async fn upstream_sign_in(ctx: &Ctx<'_>, request: Vec<(String, String)>) -> Response {
    let upstream = match super::upstream::get(ctx).await {
        Ok(Some(upstream)) => upstream,
        Ok(None) => return error_page(ctx, 400, "This tenant has no upstream sign-in.").await,
        Err(_) => return error_page(ctx, 503, UNAVAILABLE).await,
    };
    match super::upstream::start(ctx, &upstream, request).await {
        Ok((location, browser)) => Response {
            status: 303,
            headers: vec![("location".into(), location), ("cache-control".into(), "no-store".into()), browser],
            body: Body::Empty,
        },
        Err(e) => {
            error_page(ctx, e.status, "Signing in through the provider could not start. Try again in a moment.").await
        }
    }
}

async fn issue_code(
    ctx: &Ctx<'_>,
    request: &AuthRequest,
    user: &str,
    scopes: Vec<String>,
    how: &str,
) -> Result<String, super::OAuthError> {
    let code = random_token(ctx.backends.random);
    let ttl = ctx.settings().code_ttl_seconds;
    let record = Code {
        client_id: request.client.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        redirect_uri_sent: request.redirect_uri_sent,
        code_challenge: request.code_challenge.clone(),
        resource: request.resource.clone(),
        scopes: scopes.clone(),
        user: user.to_owned(),
        grant_id: random_token(ctx.backends.random)[..22].to_owned(),
        nonce: request.nonce.clone(),
        expires_ms: ctx.now_ms() + u64::from(ttl) * 1000,
        redeemed: false,
    };
    let path = grants::code_path(ctx.tenant, &token_hash(&ctx.hash_key(), &code));
    // KV stores keep entries at least a minute; the record says when it ends.
    super::records::store_sealed(ctx, &path, &record, Some(ttl.max(60) * 2)).await?;
    let detail = serde_json::json!({
        "client_id": request.client.client_id, "resource": request.resource, "scopes": scopes, "consent": how,
    });
    ctx.audit("oauth.consent", Some(format!("user:{user}")), detail);
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::{scope_note, span};
    use crate::auth::Role;

    #[test]
    fn spans_read_in_whole_units() {
        assert_eq!(span(30 * 86_400), "30 days");
        assert_eq!(span(600), "10 minutes");
        assert_eq!(span(3_600), "1 hour");
        assert_eq!(span(90), "90 seconds");
        assert_eq!(span(2), "2 seconds");
    }

    #[test]
    fn each_scope_says_who_may_hold_it() {
        assert_eq!(scope_note("mcp:read", None), None);
        assert_eq!(scope_note("mcp:admin", None).as_deref(), Some("for admin accounts only"));
        assert_eq!(scope_note("mcp:use", Some(Role::McpUser)), None);
        let note = scope_note("mcp:use", Some(Role::ReadOnly));
        assert_eq!(note.as_deref(), Some("not for your account (read-only): it will not be allowed"));
        assert_eq!(scope_note("openid", Some(Role::ReadOnly)), None);
    }
}
