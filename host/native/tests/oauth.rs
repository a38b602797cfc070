//! The host's own OAuth 2.1 authorization server on the native server,
//! over real HTTP: the conformance suite's `authorization` scenarios, a
//! whole flow ending in tool calls with the tokens it issues, and every
//! rejection the server owes a bad or hostile client, each a test.

mod support;

use serde_json::{Value, json};

use smcp_native::Config;
use support::DevHost;
use support::oauth::{self, PASSWORD, Pkce, authorize_url, http, param, sign_in, token};

/// A native server hosting calc and notes under tenant `dev`, with a
/// user `alice` (mcp-user).
struct Host(DevHost);

impl Host {
    async fn start(configure: impl FnOnce(&mut Config)) -> Host {
        let host = Host(DevHost::start(&["calc", "notes"], configure));
        oauth::add_user(&http(), &host.base(), "dev", host.key(), "alice", "mcp-user").await;
        host
    }

    fn base(&self) -> String {
        self.0.url()
    }

    fn key(&self) -> &str {
        self.0.key()
    }

    fn issuer(&self) -> String {
        format!("{}/oauth/dev", self.base())
    }

    fn resource(&self, server: &str) -> String {
        format!("{}/t/dev/s/{server}/mcp", self.base())
    }

    /// The authorization URL of a newly registered client, for calc.
    async fn fresh_authorize_url(&self) -> String {
        let client = oauth::register(&http(), &self.issuer(), "http://127.0.0.1:9/callback").await;
        authorize_url(&self.issuer(), &client, "http://127.0.0.1:9/callback", &Pkce::new(), &self.resource("calc"))
    }

    /// Registers a client and runs the flow to a code: (client id,
    /// redirect URI, PKCE, code).
    async fn code(&self) -> (String, String, Pkce, String) {
        let http = http();
        let redirect = "http://127.0.0.1:9/callback".to_owned();
        let client = oauth::register(&http, &self.issuer(), &redirect).await;
        let pkce = Pkce::new();
        let url = authorize_url(&self.issuer(), &client, &redirect, &pkce, &self.resource("calc"));
        let (status, location) = sign_in(&http, &self.issuer(), &url, "alice", PASSWORD).await;
        assert_eq!(status, 303);
        let location = location.unwrap();
        assert_eq!(param(&location, "iss").as_deref(), Some(self.issuer().as_str()), "RFC 9207 iss");
        assert_eq!(param(&location, "state").as_deref(), Some("st4te"));
        (client, redirect, pkce, param(&location, "code").unwrap())
    }

    /// A full flow: the token response.
    async fn tokens(&self) -> (String, Value) {
        let (client, redirect, pkce, code) = self.code().await;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect),
            ("code_verifier", &pkce.verifier),
            ("client_id", &client),
        ];
        let (status, body) = token(&http(), &self.issuer(), &form).await;
        assert_eq!(status, 200, "{body}");
        (client, body)
    }

    async fn refresh(&self, client: &str, refresh_token: &str) -> (u16, Value) {
        token(
            &http(),
            &self.issuer(),
            &[("grant_type", "refresh_token"), ("refresh_token", refresh_token), ("client_id", client)],
        )
        .await
    }

    /// `tools/call` of calc's `add` (or `server`'s) with `token`: status and body.
    async fn call(&self, server: &str, token: &str) -> (u16, Value) {
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
            "name": "add", "arguments": { "a": 2, "b": 40 },
            "_meta": { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} } } });
        let response = http()
            .post(self.resource(server))
            .bearer_auth(token)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/call")
            .header("mcp-name", "add")
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let challenge = response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned());
        let mut body: Value = response.json().await.unwrap_or(Value::Null);
        if let Some(challenge) = challenge {
            body["www-authenticate"] = Value::from(challenge);
        }
        (status, body)
    }

    /// An administrator sets `user`'s password to `password`.
    async fn change_password(&self, user: &str, password: &str) {
        let changed = http()
            .patch(format!("{}/admin/v1/tenants/dev/users/{user}", self.base()))
            .bearer_auth(self.key())
            .json(&json!({ "password": password }))
            .send()
            .await
            .unwrap();
        assert_eq!(changed.status(), 200);
    }

    async fn audit_records(&self) -> Vec<Value> {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let (ok, out, err) = support::smcp(&self.base(), self.key(), &["audit", "list"]);
        assert!(ok, "{err}");
        out.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()).collect()
    }

    async fn audit_kinds(&self) -> Vec<String> {
        self.audit_records().await.iter().map(|r| r["kind"].as_str().unwrap().to_owned()).collect()
    }
}

#[tokio::test]
async fn the_conformance_suites_authorization_scenarios_pass() {
    let host = Host::start(|_| {}).await;
    oauth::conformance_authorization(&host.issuer(), &host.resource("calc"), "alice").await;
    host.0.stop();
}

#[tokio::test]
async fn tokens_call_tools_refresh_rotates_and_revocation_ends_them_at_once() {
    let host = Host::start(|_| {}).await;
    let (client, tokens) = host.tokens().await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "mcp:use");
    let access = tokens["access_token"].as_str().unwrap();
    let (status, body) = host.call("calc", access).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["content"][0]["text"], "42");

    // The token's claims: this issuer, bound to calc, tenant and user.
    let claims: Value = jsonwebtoken_claims(access);
    assert_eq!(claims["iss"], host.issuer());
    assert_eq!(claims["aud"], host.resource("calc"));
    assert_eq!((claims["sub"].as_str(), claims["tenant"].as_str()), (Some("alice"), Some("dev")));

    // Refresh: a new pair; the old refresh token is spent.
    let (status, refreshed) = host.refresh(&client, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{refreshed}");
    assert_ne!(refreshed["refresh_token"], tokens["refresh_token"]);
    assert_eq!(host.call("calc", refreshed["access_token"].as_str().unwrap()).await.0, 200);

    // The admin lists the grant and revokes it through the CLI: both
    // access tokens stop working at once, and the refresh token too.
    let (ok, out, err) = support::smcp(&host.base(), host.key(), &["users", "grants", "alice"]);
    assert!(ok && out.contains("SMCP test client") && out.contains("live"), "{out}{err}");
    let (ok, _, err) = support::smcp(&host.base(), host.key(), &["users", "revoke", "alice"]);
    assert!(ok, "{err}");
    let (status, body) = host.call("calc", refreshed["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 401);
    assert!(body["www-authenticate"].as_str().unwrap().contains("revoked"), "{body}");
    assert_eq!(host.refresh(&client, refreshed["refresh_token"].as_str().unwrap()).await.0, 400);

    let kinds = host.audit_kinds().await;
    for kind in [
        "user.create",
        "oauth.client_registered",
        "oauth.consent",
        "oauth.token_issued",
        "oauth.token_refreshed",
        "oauth.grant_revoked",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} missing from {kinds:?}");
    }
    host.0.stop();
}

#[tokio::test]
async fn signing_keys_rotate_and_old_tokens_still_verify() {
    let host = Host::start(|_| {}).await;
    let (_, before) = host.tokens().await;
    let (ok, _, err) = support::smcp(&host.base(), host.key(), &["signing-keys", "rotate"]);
    assert!(ok, "{err}");
    let (_, after) = host.tokens().await;
    let kid = |t: &Value| jsonwebtoken_header(t["access_token"].as_str().unwrap())["kid"].as_str().unwrap().to_owned();
    assert_ne!(kid(&before), kid(&after));
    assert_eq!(host.call("calc", before["access_token"].as_str().unwrap()).await.0, 200);
    assert_eq!(host.call("calc", after["access_token"].as_str().unwrap()).await.0, 200);
    let jwks: Value = http().get(format!("{}/jwks", host.issuer())).send().await.unwrap().json().await.unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    host.0.stop();
}

// Rejections, one test each.

#[tokio::test]
async fn a_wrong_code_verifier_is_refused() {
    let host = Host::start(|_| {}).await;
    let (client, redirect, _, code) = host.code().await;
    let wrong = Pkce::new();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", &redirect),
        ("code_verifier", &wrong.verifier),
        ("client_id", &client),
    ];
    let (status, body) = token(&http(), &host.issuer(), &form).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    assert!(body["error_description"].as_str().unwrap().contains("verifier"));
    host.0.stop();
}

#[tokio::test]
async fn a_reused_code_is_refused_and_revokes_what_it_gave() {
    let host = Host::start(|_| {}).await;
    let (client, redirect, pkce, code) = host.code().await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", &redirect),
        ("code_verifier", &pkce.verifier),
        ("client_id", &client),
    ];
    let (status, first) = token(&http(), &host.issuer(), &form).await;
    assert_eq!(status, 200);
    let (status, second) = token(&http(), &host.issuer(), &form).await;
    assert_eq!((status, second["error"].as_str()), (400, Some("invalid_grant")), "{second}");
    // The tokens of the first redemption are revoked with the grant.
    assert_eq!(host.call("calc", first["access_token"].as_str().unwrap()).await.0, 401);
    assert!(host.audit_kinds().await.iter().any(|k| k == "oauth.code_reused"));
    host.0.stop();
}

#[tokio::test]
async fn a_redirect_uri_one_character_off_is_refused() {
    let host = Host::start(|_| {}).await;
    let http = http();
    let redirect = "http://127.0.0.1:9/callback";
    let client = oauth::register(&http, &host.issuer(), redirect).await;
    let pkce = Pkce::new();
    // At the authorization endpoint: an error page, never a redirect.
    let url = authorize_url(&host.issuer(), &client, "http://127.0.0.1:9/callbacK", &pkce, &host.resource("calc"));
    let (status, cookie, _, page) = oauth::open_page(&http, &url).await;
    assert_eq!(status, 400);
    assert!(cookie.is_none() && page.contains("not one this client registered"), "{page}");
    // At the token endpoint: a code asked for with the right URI, redeemed
    // with one character off.
    let (client, redirect, pkce, code) = host.code().await;
    let off = format!("{redirect}/");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", &off),
        ("code_verifier", &pkce.verifier),
        ("client_id", &client),
    ];
    let (status, body) = token(&http, &host.issuer(), &form).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    // Named at authorization, left out at redemption: refused too.
    let (client, _, pkce, code) = host.code().await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("code_verifier", &pkce.verifier),
        ("client_id", &client),
    ];
    let (status, body) = token(&http, &host.issuer(), &form).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    assert!(body["error_description"].as_str().unwrap().contains("redirect_uri"), "{body}");
    host.0.stop();
}

/// A client with one registered redirect URI may leave it out of the
/// authorization request, and then out of the token request (OAuth 2.1
/// §4.1.3); naming a different one there is still refused.
#[tokio::test]
async fn a_redirect_uri_left_out_of_the_request_may_be_left_out_of_the_redemption() {
    let host = Host::start(|_| {}).await;
    let http = http();
    let redirect = "http://127.0.0.1:9/callback";
    let client = oauth::register(&http, &host.issuer(), redirect).await;
    let code = |pkce: Pkce| {
        let (http, host, client) = (http.clone(), &host, client.clone());
        async move {
            let mut url =
                url::Url::parse(&authorize_url(&host.issuer(), &client, redirect, &pkce, &host.resource("calc")))
                    .unwrap();
            let kept: Vec<(String, String)> = url
                .query_pairs()
                .filter(|(k, _)| k != "redirect_uri")
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            url.query_pairs_mut().clear().extend_pairs(kept);
            let (status, location) = sign_in(&http, &host.issuer(), url.as_str(), "alice", PASSWORD).await;
            assert_eq!(status, 303);
            let location = location.unwrap();
            assert!(location.starts_with(redirect), "{location}");
            (pkce, param(&location, "code").unwrap())
        }
    };
    let (pkce, first) = code(Pkce::new()).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", &first),
        ("code_verifier", &pkce.verifier),
        ("client_id", &client),
    ];
    let (status, tokens) = token(&http, &host.issuer(), &form).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(
        host.call("calc", tokens["access_token"].as_str().unwrap()).await.1["result"]["content"][0]["text"],
        "42"
    );
    let (pkce, second) = code(Pkce::new()).await;
    let off = "http://127.0.0.1:9/callbacK";
    let form = [
        ("grant_type", "authorization_code"),
        ("code", &second),
        ("redirect_uri", off),
        ("code_verifier", &pkce.verifier),
        ("client_id", &client),
    ];
    let (status, body) = token(&http, &host.issuer(), &form).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    host.0.stop();
}

/// A code verifier must be 43-128 unreserved characters (RFC 7636 §4.1);
/// anything else is a malformed request, not a guess at the challenge.
#[tokio::test]
async fn a_malformed_code_verifier_is_refused() {
    let host = Host::start(|_| {}).await;
    let (client, redirect, _, code) = host.code().await;
    for verifier in ["short", &"a".repeat(129), &format!("{}+", "a".repeat(42))] {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect),
            ("code_verifier", verifier),
            ("client_id", &client),
        ];
        let (status, body) = token(&http(), &host.issuer(), &form).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "{verifier}: {body}");
    }
    host.0.stop();
}

/// A new password ends every grant given with the old one: their access
/// and refresh tokens stop working at once.
/// The browser's sign-in with the tenant, `name=value`, from a form's answer.
fn person_cookie(answer: &oauth::Answer) -> String {
    let set = answer
        .cookies
        .iter()
        .find(|c| c.starts_with("smcp_oauth_person="))
        .unwrap_or_else(|| panic!("no sign-in cookie: {}", answer.page));
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/oauth/dev/"), "{set}");
    set.split(';').next().unwrap().to_owned()
}

/// A browser that signed in once is asked only to consent the next time,
/// and nothing at all for what the person asked to be remembered (the
/// client gets its code at once, and the trail says so). A request for
/// another server asks again; `prompt` asks again, asks for the password,
/// or asks nothing. Revoking the application forgets the consent; "Use
/// another account", signing out on the account page and a password change
/// each end the browser's sign-in, and a form without it is refused.
#[tokio::test]
async fn a_signed_in_browser_is_asked_only_to_consent_and_a_remembered_consent_asks_nothing() {
    let host = Host::start(|_| {}).await;
    let http = http();
    let issuer = host.issuer();
    let redirect = "http://127.0.0.1:9/callback";
    let client = oauth::register(&http, &issuer, redirect).await;
    let url = |pkce: &Pkce, server: &str| authorize_url(&issuer, &client, redirect, pkce, &host.resource(server));
    let field = |name: &str, value: &str| (name.to_owned(), value.to_owned());
    let signs_in = |page: &str| page.contains("type=\"password\"");

    // The password, the first time; "remember" is the person's choice for a
    // client that only claims its name (not ticked for them).
    let (_, csrf, mut fields, page) = oauth::open_page(&http, &url(&Pkce::new(), "calc")).await;
    assert!(page.contains("name=\"remember\" value=\"on\"> "), "not ticked: {page}");
    let csrf = csrf.unwrap();
    fields.extend([field("username", "alice"), field("password", PASSWORD), field("decision", "allow")]);
    fields.push(field("remember", "on"));
    let answer = oauth::post_page(&http, &issuer, "authorize", &csrf, &fields).await;
    assert_eq!(answer.status, 303, "{}", answer.page);
    let browser = format!("{csrf}; {}", person_cookie(&answer));

    // Remembered: the same client asking the same gets a code at once.
    let pkce = Pkce::new();
    let again = http.get(url(&pkce, "calc")).header("cookie", &browser).send().await.unwrap();
    assert_eq!(again.status(), 303);
    let location = again.headers()["location"].to_str().unwrap().to_owned();
    let code = param(&location, "code").expect("a code, no page");
    let (status, tokens) = oauth::redeem(&http, &issuer, &code, redirect, &pkce, &client).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(host.call("calc", tokens["access_token"].as_str().unwrap()).await.0, 200);
    let records = host.audit_records().await;
    let consents: Vec<&Value> = records.iter().filter(|r| r["kind"] == "oauth.consent").collect();
    assert_eq!(
        consents.iter().map(|r| r["detail"]["consent"].clone()).collect::<Vec<_>>(),
        [json!("given"), json!("remembered")]
    );

    // Another server was not allowed before: consent only, no password.
    let (status, _, mut fields, page) = oauth::open_page_as(&http, &url(&Pkce::new(), "notes"), Some(&browser)).await;
    assert_eq!(status, 200);
    assert!(page.contains("Signed in as <strong>alice</strong> in this browser") && !signs_in(&page), "{page}");
    fields.push(field("decision", "allow"));
    // The same form without the browser's sign-in is refused: nothing else
    // stands for the password.
    let refused = oauth::post_page(&http, &issuer, "authorize", &csrf, &fields).await;
    let (status, page) = oauth::follow(&http, &issuer, &refused, &csrf).await;
    assert_eq!(status, 401, "{page}");
    assert!(page.contains("has ended") && signs_in(&page), "{page}");
    let allowed = oauth::post_page(&http, &issuer, "authorize", &browser, &fields).await;
    assert_eq!(allowed.status, 303, "{}", allowed.page);
    assert!(!allowed.cookies.iter().any(|c| c.starts_with("smcp_oauth_person=")), "the same sign-in goes on");

    // `prompt`: consent asks again, login asks for the password, none
    // asks nothing and says why not.
    let prompted = |prompt: &str, server: &str| format!("{}&prompt={prompt}", url(&Pkce::new(), server));
    let (_, _, _, page) = oauth::open_page_as(&http, &prompted("consent", "calc"), Some(&browser)).await;
    assert!(page.contains("in this browser") && !signs_in(&page), "{page}");
    let (_, _, _, page) = oauth::open_page_as(&http, &prompted("login", "calc"), Some(&browser)).await;
    assert!(signs_in(&page), "{page}");
    for (cookie, server, error) in [(None, "calc", "login_required"), (Some(&browser), "notes", "consent_required")] {
        let mut request = http.get(prompted("none", server));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let answer = request.send().await.unwrap();
        let location = answer.headers()["location"].to_str().unwrap().to_owned();
        assert_eq!(param(&location, "error").as_deref(), Some(error), "{location}");
    }

    // The account page knows the browser; revoking there forgets the
    // consent, so the client must ask again.
    let (status, _, _, listed) = oauth::open_page_as(&http, &format!("{issuer}/account"), Some(&browser)).await;
    assert_eq!(status, 200);
    assert!(listed.contains("Applications you allowed"), "{listed}");
    for form in oauth::forms(&listed).into_iter().filter(|f| f.iter().any(|(k, v)| k == "action" && v == "revoke")) {
        assert_eq!(oauth::post_page(&http, &issuer, "account", &browser, &form).await.status, 200);
    }
    let (status, _, mut fields, page) = oauth::open_page_as(&http, &url(&Pkce::new(), "calc"), Some(&browser)).await;
    assert_eq!(status, 200, "asked again after the revocation");
    assert!(!signs_in(&page), "{page}");

    // "Use another account" ends the browser's sign-in.
    fields.push(field("decision", "switch"));
    let switched = oauth::post_page(&http, &issuer, "authorize", &browser, &fields).await;
    assert!(signs_in(&switched.page), "{}", switched.page);
    assert!(switched.cookies.iter().any(|c| c.starts_with("smcp_oauth_person=;")), "{:?}", switched.cookies);
    let (_, _, _, page) = oauth::open_page_as(&http, &url(&Pkce::new(), "calc"), Some(&browser)).await;
    assert!(signs_in(&page), "the old cookie no longer signs in: {page}");

    // Signing out on the account page ends a new one.
    let sign_in_here = || async {
        let (_, _, mut fields, _) = oauth::open_page_as(&http, &url(&Pkce::new(), "calc"), Some(&csrf)).await;
        fields.extend([field("username", "alice"), field("password", PASSWORD), field("decision", "allow")]);
        format!("{csrf}; {}", person_cookie(&oauth::post_page(&http, &issuer, "authorize", &csrf, &fields).await))
    };
    let browser = sign_in_here().await;
    let (_, _, _, listed) = oauth::open_page_as(&http, &format!("{issuer}/account"), Some(&browser)).await;
    let sign_out =
        oauth::forms(&listed).into_iter().find(|f| f.iter().any(|(_, v)| v == "sign-out")).expect("a sign-out form");
    let signed_out = oauth::post_page(&http, &issuer, "account", &browser, &sign_out).await;
    assert!(signs_in(&signed_out.page), "{}", signed_out.page);
    let (_, _, _, page) = oauth::open_page_as(&http, &format!("{issuer}/account"), Some(&browser)).await;
    assert!(signs_in(&page), "{page}");

    // And a password change ends every sign-in of the account, and the
    // account page's tickets too (here, for an application allowed anew).
    let pkce = Pkce::new();
    let (_, _, mut fields, _) = oauth::open_page_as(&http, &url(&pkce, "calc"), Some(&csrf)).await;
    fields.extend([field("username", "alice"), field("password", PASSWORD), field("decision", "allow")]);
    let answer = oauth::post_page(&http, &issuer, "authorize", &csrf, &fields).await;
    let code = param(answer.location.as_deref().unwrap(), "code").unwrap();
    assert_eq!(oauth::redeem(&http, &issuer, &code, redirect, &pkce, &client).await.0, 200);
    let browser = format!("{csrf}; {}", person_cookie(&answer));
    let (_, _, _, page) = oauth::open_page_as(&http, &url(&Pkce::new(), "notes"), Some(&browser)).await;
    assert!(!signs_in(&page), "{page}");
    let (_, _, _, listed) = oauth::open_page_as(&http, &format!("{issuer}/account"), Some(&browser)).await;
    let revoke =
        oauth::forms(&listed).into_iter().find(|f| f.iter().any(|(_, v)| v == "revoke")).expect("a revoke form");
    host.change_password("alice", "another long passphrase").await;
    let (_, _, _, page) = oauth::open_page_as(&http, &url(&Pkce::new(), "notes"), Some(&browser)).await;
    assert!(signs_in(&page), "{page}");
    let stale = oauth::post_page(&http, &issuer, "account", &browser, &revoke).await;
    assert_eq!(stale.status, 401, "a ticket from before the password change: {}", stale.page);
    host.0.stop();
}

#[tokio::test]
async fn a_password_change_revokes_the_accounts_grants() {
    let host = Host::start(|_| {}).await;
    let (client, tokens) = host.tokens().await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(host.call("calc", access).await.0, 200);
    host.change_password("alice", "another long passphrase").await;
    assert_eq!(host.call("calc", access).await.0, 401);
    let (status, body) = host.refresh(&client, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    let records = host.audit_records().await;
    let update = records.iter().find(|r| r["kind"] == "user.update").expect("user.update audited");
    assert_eq!(update["detail"]["grants_revoked"], 1, "{update}");
    assert!(!update.to_string().contains("another long passphrase"));
    host.0.stop();
}

#[tokio::test]
async fn a_refresh_token_used_twice_revokes_the_whole_grant() {
    let host = Host::start(|_| {}).await;
    let (client, tokens) = host.tokens().await;
    let old = tokens["refresh_token"].as_str().unwrap();
    let (status, new) = host.refresh(&client, old).await;
    assert_eq!(status, 200);
    // The old one again (a thief, or a confused client): refused, and the
    // new pair dies with the grant.
    let (status, body) = host.refresh(&client, old).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    assert_eq!(host.refresh(&client, new["refresh_token"].as_str().unwrap()).await.0, 400);
    assert_eq!(host.call("calc", new["access_token"].as_str().unwrap()).await.0, 401);
    let kinds = host.audit_kinds().await;
    assert!(
        kinds.iter().any(|k| k == "oauth.refresh_reuse") && kinds.iter().any(|k| k == "oauth.grant_revoked"),
        "{kinds:?}"
    );
    host.0.stop();
}

/// Anyone may register a client, so registrations no one consents to are
/// capped per tenant and forgotten after a while; a client someone has
/// granted something is kept.
#[tokio::test]
async fn registrations_no_one_consents_to_are_capped_and_expire() {
    let host = Host::start(|config| {
        config.oauth.max_unused_clients = 3;
        config.oauth.unused_client_ttl_seconds = 2;
    })
    .await;
    let (kept, tokens) = host.tokens().await;
    let register = || async {
        let body = json!({ "client_name": "drive-by", "redirect_uris": ["http://127.0.0.1:9/cb"] });
        let response = http().post(format!("{}/register", host.issuer())).json(&body).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json::<Value>().await.unwrap())
    };
    let mut unused = Vec::new();
    for _ in 0..3 {
        let (status, body) = register().await;
        assert_eq!(status, 201, "{body}");
        unused.push(body["client_id"].as_str().unwrap().to_owned());
    }
    let (status, body) = register().await;
    assert_eq!((status, body["error"].as_str()), (429, Some("slow_down")), "{body}");

    // Once they expire, the slots are free and the ids unknown; the client
    // with a grant is still there.
    tokio::time::sleep(std::time::Duration::from_millis(2_200)).await;
    let (status, body) = register().await;
    assert_eq!(status, 201, "{body}");
    let url = authorize_url(&host.issuer(), &unused[0], "http://127.0.0.1:9/cb", &Pkce::new(), &host.resource("calc"));
    let response = http().get(url).send().await.unwrap();
    assert_eq!(response.status(), 400, "an expired registration is an unknown client");
    let (status, body) = host.refresh(&kept, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{body}");
    host.0.stop();
}

#[tokio::test]
async fn a_token_for_server_a_is_refused_on_server_b() {
    let host = Host::start(|_| {}).await;
    let (_, tokens) = host.tokens().await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(host.call("calc", access).await.0, 200);
    let (status, body) = host.call("notes", access).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["www-authenticate"].as_str().unwrap().contains("wrong audience"), "{body}");
    host.0.stop();
}

/// `url` asking for `scope` instead.
fn with_scope(url: &str, scope: &str) -> String {
    let mut url = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().filter(|(k, _)| k != "scope").collect();
    url.query_pairs_mut().clear().extend_pairs(pairs).append_pair("scope", scope);
    url.to_string()
}

/// What the consent page offers is what the person gets: before the
/// password, each scope says which accounts may hold it, and the page how
/// long access lasts; an account gets the scopes it may hold; one that may
/// hold none is told so on the page, and nothing is sent to the application.
#[tokio::test]
async fn consent_matches_what_each_account_may_allow() {
    let host = Host::start(|_| {}).await;
    let http = http();
    oauth::add_user(&http, &host.base(), "dev", host.key(), "reader", "read-only").await;
    let redirect = "http://127.0.0.1:9/callback";
    let client = oauth::register(&http, &host.issuer(), redirect).await;
    let pkce = Pkce::new();
    let url = with_scope(
        &authorize_url(&host.issuer(), &client, redirect, &pkce, &host.resource("calc")),
        "mcp:read mcp:use",
    );

    let (status, cookie, mut fields, page) = oauth::open_page(&http, &url).await;
    assert_eq!(status, 200);
    assert!(page.contains("<code>mcp:use</code>") && page.contains("(for mcp-user and admin accounts)"), "{page}");
    assert!(page.contains("Access lasts until it is revoked") && page.contains("30 days"), "{page}");
    assert!(page.contains("10 minutes") && page.contains("an administrator of dev"), "{page}");
    assert!(page.contains("<a href=\"/oauth/dev/account\">your account page</a>"), "{page}");

    // A read-only account gets the part the page said it may hold.
    fields.extend([
        ("username".into(), "reader".into()),
        ("password".into(), PASSWORD.into()),
        ("decision".into(), "allow".into()),
    ]);
    let (status, location) = oauth::post_form(&http, &host.issuer(), cookie.as_deref(), &fields).await;
    assert_eq!(status, 303);
    let code = param(&location.unwrap(), "code").unwrap();
    let (status, tokens) = oauth::redeem(&http, &host.issuer(), &code, redirect, &pkce, &client).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["scope"], "mcp:read", "{tokens}");

    // An mcp-user asked for admin: told on the page, nothing sent back.
    let pkce = Pkce::new();
    let url = with_scope(&authorize_url(&host.issuer(), &client, redirect, &pkce, &host.resource("calc")), "mcp:admin");
    let (_, cookie, mut fields, page) = oauth::open_page(&http, &url).await;
    assert!(page.contains("(for admin accounts only)"), "{page}");
    fields.extend([
        ("username".into(), "alice".into()),
        ("password".into(), PASSWORD.into()),
        ("decision".into(), "allow".into()),
    ]);
    let cookie = cookie.unwrap();
    let answer = oauth::post_page(&http, &host.issuer(), "authorize", &cookie, &fields).await;
    // Back to the page (post/redirect/get), not to the application.
    let (status, refused) = oauth::follow(&http, &host.issuer(), &answer, &cookie).await;
    assert_eq!(status, 403);
    assert!(refused.contains("Your account (mcp-user) may allow none of what this application asks"), "{refused}");
    assert!(refused.contains("value=\"alice\""), "the name typed is kept: {refused}");
    assert!(host.audit_kinds().await.iter().any(|k| k == "oauth.consent_unavailable"));
    host.0.stop();
}

#[tokio::test]
async fn a_consent_post_without_csrf_protection_is_refused() {
    let host = Host::start(|_| {}).await;
    let http = http();
    let url = host.fresh_authorize_url().await;
    let (_, cookie, fields, _) = oauth::open_page(&http, &url).await;
    let with = |extra: &[(&str, &str)], drop_csrf: bool| {
        let mut fields: Vec<(String, String)> =
            fields.iter().filter(|(k, _)| !(drop_csrf && k == "csrf")).cloned().collect();
        fields.extend(
            [("username", "alice"), ("password", PASSWORD), ("decision", "allow")]
                .iter()
                .chain(extra)
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        fields
    };
    // No cookie; no field; a field from another cookie: each a 403 page.
    for (cookie, fields) in [
        (None, with(&[], false)),
        (cookie.as_deref(), with(&[], true)),
        (Some("smcp_oauth_csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), with(&[], false)),
    ] {
        let (status, location) = oauth::post_form(&http, &host.issuer(), cookie, &fields).await;
        assert_eq!((status, location), (403, None));
    }
    // A post from another origin, with the right cookie and field.
    let response = http
        .post(format!("{}/authorize", host.issuer()))
        .header("origin", "https://evil.example")
        .header("cookie", cookie.clone().unwrap())
        .form(&with(&[], false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    // The real thing still works.
    assert_eq!(oauth::post_form(&http, &host.issuer(), cookie.as_deref(), &with(&[], false)).await.0, 303);
    assert!(host.audit_kinds().await.iter().any(|k| k == "oauth.csrf_refused"));
    host.0.stop();
}

#[tokio::test]
async fn a_client_metadata_document_on_a_private_address_is_refused() {
    let host = Host::start(|config| config.oauth.allow_http_metadata = true).await;
    let http = http();
    // Something listens there: the refusal is the address policy's, not a
    // failed connection.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    for client_id in [
        format!("https://127.0.0.1:{port}/client.json"),
        format!("http://127.0.0.1:{port}/client.json"),
        "https://[::1]/client.json".into(),
        "https://169.254.169.254/latest/meta-data/client.json".into(),
    ] {
        let url = authorize_url(
            &host.issuer(),
            &client_id,
            "http://127.0.0.1:9/callback",
            &Pkce::new(),
            &host.resource("calc"),
        );
        let (status, _, _, page) = oauth::open_page(&http, &url).await;
        assert_eq!(status, 400, "{client_id}");
        // The person is told the application cannot be used; why (the
        // egress policy's refusal) is the operator's, in the trail.
        assert!(page.contains("metadata document is missing or not valid"), "{client_id}: {page}");
        assert!(
            !page.contains("denied") && !page.contains("169.254") && !page.contains("fetched"),
            "{client_id}: {page}"
        );
        let form = [
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("redirect_uri", "http://127.0.0.1:9/callback"),
            ("code_verifier", "x"),
            ("client_id", client_id.as_str()),
        ];
        let (status, body) = token(&http, &host.issuer(), &form).await;
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{body}");
    }
    let reasons = client_refusals(&host).await;
    assert!(reasons.iter().filter(|r| r.contains("cannot be fetched: denied")).count() >= 4, "{reasons:?}");
    drop(listener);
    host.0.stop();
}

#[tokio::test]
async fn logins_are_throttled_and_say_nothing_about_which_names_exist() {
    let host = Host::start(|_| {}).await;
    let http = http();
    let url = host.fresh_authorize_url().await;
    let attempt = |user: &'static str, password: &'static str| {
        let (http, issuer, url) = (http.clone(), host.issuer(), url.clone());
        async move {
            let (_, cookie, mut fields, _) = oauth::open_page(&http, &url).await;
            fields.extend([
                ("username".into(), user.into()),
                ("password".into(), password.into()),
                ("decision".into(), "allow".into()),
            ]);
            let cookie = cookie.unwrap();
            let answer = oauth::post_page(&http, &issuer, "authorize", &cookie, &fields).await;
            oauth::follow(&http, &issuer, &answer, &cookie).await
        }
    };
    let (unknown, wrong) = (attempt("mallory", "guess-guess").await, attempt("alice", "guess-guess").await);
    assert_eq!((unknown.0, wrong.0), (401, 401));
    assert!(unknown.1.contains("wrong username or password") && wrong.1.contains("wrong username or password"));
    for _ in 0..4 {
        assert_eq!(attempt("alice", "guess-guess").await.0, 401);
    }
    // Locked now, even with the right password.
    let (status, page) = attempt("alice", PASSWORD).await;
    assert_eq!(status, 429, "{page}");
    assert!(page.contains("too many failed attempts"));
    host.0.stop();
}

/// The reasons of the trail's `oauth.client_refused` records: what the
/// page does not show.
async fn client_refusals(host: &Host) -> Vec<String> {
    let audit =
        oauth::get_json(&format!("{}/admin/v1/tenants/dev/audit?limit=500", host.base()), Some(host.key())).await;
    audit["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "oauth.client_refused")
        .filter_map(|r| r["detail"]["reason"].as_str().map(str::to_owned))
        .collect()
}

/// A registered client whose name pretends to be another (a right-to-left
/// override reverses it on screen) and a request whose repeated parameter
/// carries 6,000 characters of the attacker's text: the page marks the name
/// as unverified without the override, quotes none of the text, and sends
/// the headers that keep it to itself.
#[tokio::test]
async fn the_page_shows_claims_as_claims_and_quotes_nothing_an_attacker_sent() {
    let host = Host::start(|_| {}).await;
    let http = http();
    let claim = "\u{202E}edualC\u{202C} (by Anthropic) — verified official app";
    let body = json!({ "client_name": claim, "redirect_uris": ["http://127.0.0.1:9/cb"] });
    let registered: Value =
        http.post(format!("{}/register", host.issuer())).json(&body).send().await.unwrap().json().await.unwrap();
    let client = registered["client_id"].as_str().unwrap();
    let url = authorize_url(&host.issuer(), client, "http://127.0.0.1:9/cb", &Pkce::new(), &host.resource("calc"));
    let response = http.get(&url).send().await.unwrap();
    let headers = response.headers().clone();
    let page = response.text().await.unwrap();
    assert!(page.contains("calls itself <strong>“edualC (by Anthropic) — verified official app”</strong>"), "{page}");
    assert!(page.contains("unverified"), "{page}");
    assert!(page.contains("value=\"\" required autofocus>"), "the first field takes the focus: {page}");
    assert!(page.contains("min-height:44px"), "touch targets of 44 px");
    let site = host.base().trim_start_matches("http://").to_owned();
    assert!(
        page.contains(&format!("Sign-in for tenant <strong>dev</strong> on <strong>{site}</strong>")),
        "whose page: {page}"
    );
    assert!(!page.contains('\u{202E}') && !page.contains('\u{202C}'), "no direction override reaches the page");
    assert!(!page.contains("careful:"), "a name in one writing system: {page}");
    // A name with a Cyrillic "С" for the Latin one, and one in fullwidth
    // letters: each said to look like another's.
    for (name, why) in [
        ("\u{0421}laude", "it mixes letters of several writing systems"),
        ("\u{FF23}\u{FF4C}aude", "it uses look-alike forms of letters"),
    ] {
        let body = json!({ "client_name": name, "redirect_uris": ["http://127.0.0.1:9/cb"] });
        let registered: Value =
            http.post(format!("{}/register", host.issuer())).json(&body).send().await.unwrap().json().await.unwrap();
        let client = registered["client_id"].as_str().unwrap();
        let url = authorize_url(&host.issuer(), client, "http://127.0.0.1:9/cb", &Pkce::new(), &host.resource("calc"));
        let imitating = http.get(&url).send().await.unwrap().text().await.unwrap();
        assert!(imitating.contains(&format!("(careful: {why}")), "{name}: {imitating}");
    }
    assert_eq!(headers["cross-origin-opener-policy"], "same-origin");
    assert!(headers["permissions-policy"].to_str().unwrap().contains("camera=()"));
    assert!(headers["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));

    let spoof = "Your-account-is-locked.-Call-+1-555-0100-to-unlock-it.".repeat(110);
    let repeated = format!("{url}&{spoof}=1&{spoof}=2&state=a&state=b");
    let response = http.get(&repeated).send().await.unwrap();
    assert_eq!(response.status(), 400);
    let page = response.text().await.unwrap();
    assert!(page.contains("a parameter is missing, repeated or malformed"), "{page}");
    assert!(!page.contains("Your-account-is-locked") && !page.contains("state"), "the page quotes the request: {page}");
    assert!(
        page.contains(&format!("for tenant <strong>dev</strong> on <strong>{site}</strong>")),
        "whose page: {page}"
    );
    // An error page wears the tenant's face as the sign-in page does.
    oauth::brand(&host.base(), host.key());
    let page = http.get(&repeated).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("<strong>Acme Corp</strong> (tenant <code>dev</code>)") && page.contains("logo"), "{page}");
    host.0.stop();
}

fn jwt_part(token: &str, index: usize) -> Value {
    use base64::Engine as _;
    let part = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn jsonwebtoken_claims(token: &str) -> Value {
    jwt_part(token, 1)
}

fn jsonwebtoken_header(token: &str) -> Value {
    jwt_part(token, 0)
}

/// The official TypeScript SDK, given only calc's URL, signs in through
/// the login page in headless Chromium and calls a tool; after its
/// access token expires (2 s here) it refreshes on its own; signing in
/// again in the same browser, the remembered consent shows no page
/// (`oauth::browser_flow` asserts each step; the Worker runs the same).
#[tokio::test]
async fn the_typescript_sdk_signs_in_through_the_page_in_chromium_and_refreshes() {
    let host = Host::start(|config| config.oauth.access_ttl_seconds = 2).await;
    // The pages as a tenant that set its name, support link and logo shows them.
    oauth::brand(&host.base(), host.key());
    oauth::browser_flow(&host.resource("calc"), &host.issuer());
    let kinds = host.audit_kinds().await;
    assert!(kinds.iter().any(|k| k == "oauth.token_refreshed"), "{kinds:?}");
    assert!(kinds.iter().any(|k| k == "oauth.grant_revoked"), "{kinds:?}");
    let records = host.audit_records().await;
    let remembered = records.iter().filter(|r| r["kind"] == "oauth.consent" && r["detail"]["consent"] == "remembered");
    assert_eq!(remembered.count(), 1, "the second sign-in used the remembered consent");
    host.0.stop();
}

/// Tenant `dev` lets people sign in through an upstream OpenID Connect
/// provider: here tenant `corp`'s authorization server on the same host,
/// which issues ID tokens for `openid`. Bob has an account only at corp;
/// dev gives newcomers mcp-user. The host is corp's confidential client:
/// discovery, code exchange and the JWKS all go over real HTTP through the
/// outbound path (loopback opened for the test).
#[tokio::test]
async fn people_sign_in_through_an_upstream_openid_provider() {
    let operator_key = "smcpop_upstream-test-operator-key";
    let host = Host::start(|config| {
        config.oauth.allow_http_metadata = true;
        config.open_addresses = vec![smcp_core::policy::address::Opening::Ip([127, 0, 0, 1].into())];
        config.operator_key_hash = Some(smcp_core::admin::operator::operator_key_hash(operator_key));
    })
    .await;
    let http = http();
    let base = host.base();
    let corp = format!("{base}/oauth/corp");
    let made: Value = http
        .post(format!("{base}/operator/v1/tenants/corp/keys"))
        .bearer_auth(operator_key)
        .json(&json!({ "role": "admin" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let corp_key = made["key"].as_str().unwrap();
    oauth::add_user(&http, &base, "corp", corp_key, "bob", "mcp-user").await;
    // The host registers at corp as a confidential client.
    let registration = json!({ "client_name": "SMCP tenant dev", "redirect_uris": [format!("{}/callback", host.issuer())], "token_endpoint_auth_method": "client_secret_basic" });
    let registered: Value =
        http.post(format!("{corp}/register")).json(&registration).send().await.unwrap().json().await.unwrap();
    let settings = json!({ "issuer": corp, "client_id": registered["client_id"], "client_secret": registered["client_secret"], "default_role": "mcp-user", "name": "Corp SSO" });
    let set = http
        .put(format!("{base}/admin/v1/tenants/dev/oauth/upstream"))
        .bearer_auth(host.key())
        .json(&settings)
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 200, "{}", set.text().await.unwrap());
    let (ok, shown, err) = support::smcp(&base, host.key(), &["upstream", "show"]);
    assert!(
        ok && shown.contains(&format!("{corp}/token"))
            && !shown.contains(registered["client_secret"].as_str().unwrap()),
        "{shown}{err}"
    );

    // Corp's word for a name never opens dev's local account of that name
    // (with a password), which may be somebody else's.
    oauth::add_user(&http, &base, "dev", host.key(), "bob", "admin").await;
    let (_, _, _, back) = upstream_sign_in(&http, &host, &corp).await;
    let (status, _, _, page) = oauth::open_page_as(&http, &back.url, Some(&back.browser)).await;
    assert_eq!(status, 403);
    assert!(page.contains("local account") && !page.contains("bob"), "{page}");
    let (ok, _, err) = support::smcp(&base, host.key(), &["users", "remove", "bob"]);
    assert!(ok, "{err}");

    // A way back to dev opened in another browser (a link sent to a
    // victim, to sign their browser in as bob) is refused, and used up.
    let (_, _, _, stolen) = upstream_sign_in(&http, &host, &corp).await;
    let (status, _, _, page) = oauth::open_page(&http, &stolen.url).await;
    assert_eq!(status, 400, "{page}");
    let (status, _, _, _) = oauth::open_page_as(&http, &stolen.url, Some(&stolen.browser)).await;
    assert_eq!(status, 400, "single use");
    let refusals: Vec<Value> = host.audit_records().await;
    assert!(
        refusals.iter().any(|r| r["kind"] == "oauth.upstream_refused"
            && r["detail"]["reason"].as_str().unwrap_or_default().contains("started in another browser")),
        "{refusals:?}"
    );

    let (redirect, client, pkce, back) = upstream_sign_in(&http, &host, &corp).await;
    // Back at dev: signed in as bob; consent without a password.
    let (status, cookie, mut fields, page) = oauth::open_page_as(&http, &back.url, Some(&back.browser)).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Signed in as <strong>bob</strong>") && !page.contains("type=\"password\""), "{page}");
    fields.push(("decision".into(), "allow".into()));
    let (status, location) = oauth::post_form(&http, &host.issuer(), cookie.as_deref(), &fields).await;
    assert_eq!(status, 303);
    let code = param(&location.unwrap(), "code").unwrap();
    let (status, tokens) = oauth::redeem(&http, &host.issuer(), &code, redirect, &pkce, &client).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(jsonwebtoken_claims(tokens["access_token"].as_str().unwrap())["sub"], "bob");
    assert_eq!(
        host.call("calc", tokens["access_token"].as_str().unwrap()).await.1["result"]["content"][0]["text"],
        "42"
    );

    // The provider's answer is single use; the ticket too.
    let (status, _, _, page) = oauth::open_page_as(&http, &back.url, Some(&back.browser)).await;
    assert_eq!(status, 400);
    assert!(page.contains("expired or was already used"), "{page}");
    assert_eq!(oauth::post_form(&http, &host.issuer(), cookie.as_deref(), &fields).await.0, 401);
    // Bob has no password at dev, yet his account page is his: he signs in
    // there through corp, and his browser comes back signed in.
    let (status, csrf, _, page) = oauth::open_page(&http, &format!("{}/account", host.issuer())).await;
    assert_eq!(status, 200);
    let csrf = csrf.unwrap();
    assert!(page.contains("Sign in with Corp SSO"), "{page}");
    let upstream = oauth::forms(&page).into_iter().find(|f| f.iter().any(|(_, v)| v == "upstream")).unwrap();
    let answer = oauth::post_page(&http, &host.issuer(), "account", &csrf, &upstream).await;
    let back = at_corp(&http, &host, &corp, &answer).await;
    let arrived = http.get(&back.url).header("cookie", &back.browser).send().await.unwrap();
    assert_eq!(arrived.status(), 303);
    assert_eq!(arrived.headers()["location"], "/oauth/dev/account");
    let person = arrived
        .headers()
        .get_all("set-cookie")
        .iter()
        .find_map(|c| c.to_str().unwrap().split(';').next().filter(|c| c.starts_with("smcp_oauth_person=")))
        .expect("the browser signed in")
        .to_owned();
    let (status, _, _, listed) =
        oauth::open_page_as(&http, &format!("{}/account", host.issuer()), Some(&format!("{csrf}; {person}"))).await;
    assert_eq!(status, 200);
    assert!(listed.contains("Signed in as <strong>bob</strong>") && listed.contains("SMCP test client"), "{listed}");

    // Bob now has a dev account (no password: only the provider signs him in).
    // An admin can make one like it ahead of time.
    let (ok, _, err) =
        support::smcp(&base, host.key(), &["users", "add", "carol", "--upstream", "--role", "read-only"]);
    assert!(ok, "{err}");
    let (ok, users, _) = support::smcp(&base, host.key(), &["users", "list"]);
    let line = |name: &str| users.lines().find(|l| l.starts_with(name)).unwrap_or_default().to_owned();
    assert!(
        ok && line("bob ").contains("mcp-user  (upstream sign-in)")
            && line("carol ").contains("read-only  (upstream sign-in)"),
        "{users}"
    );
    let kinds = host.audit_kinds().await;
    assert!(
        kinds.iter().any(|k| k == "oauth.upstream_set") && kinds.iter().any(|k| k == "oauth.upstream_login"),
        "{kinds:?}"
    );
    assert!(kinds.iter().any(|k| k == "oauth.upstream_refused"), "{kinds:?}");
    host.0.stop();
}

/// Where the browser goes back to dev from corp, and the cookie (`name=value`)
/// dev set when it left: only that browser may come back.
struct BackFromCorp {
    url: String,
    browser: String,
}

/// Bob, sent to corp by `answer` (dev's redirect there), signs in at corp.
async fn at_corp(http: &reqwest::Client, host: &Host, corp: &str, answer: &oauth::Answer) -> BackFromCorp {
    assert_eq!(answer.status, 303, "{}", answer.page);
    let to_corp = answer.location.clone().unwrap();
    assert!(
        to_corp.starts_with(&format!("{corp}/authorize?"))
            && to_corp.contains("scope=openid")
            && to_corp.contains("nonce="),
        "{to_corp}"
    );
    let set = answer.cookies.iter().find(|c| c.starts_with("smcp_oauth_upstream=")).expect("a browser cookie");
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/oauth/dev/"), "{set}");
    let (status, back) = sign_in(http, corp, &to_corp, "bob", PASSWORD).await;
    assert_eq!(status, 303);
    let url = back.unwrap();
    assert!(url.starts_with(&format!("{}/callback?", host.issuer())), "{url}");
    BackFromCorp { url, browser: set.split(';').next().unwrap().to_owned() }
}

/// A client of dev starts; the person picks "Sign in with Corp SSO", signs
/// in at corp as bob and allows the sign-in. Returns the client's redirect
/// URI, id and PKCE pair, and the way back to dev.
async fn upstream_sign_in(
    http: &reqwest::Client,
    host: &Host,
    corp: &str,
) -> (&'static str, String, Pkce, BackFromCorp) {
    let redirect = "http://127.0.0.1:9/callback";
    let client = oauth::register(http, &host.issuer(), redirect).await;
    let pkce = Pkce::new();
    let (status, cookie, mut fields, page) =
        oauth::open_page(http, &authorize_url(&host.issuer(), &client, redirect, &pkce, &host.resource("calc"))).await;
    assert_eq!(status, 200);
    assert!(page.contains("Sign in with Corp SSO"), "{page}");
    fields.push(("decision".into(), "upstream".into()));
    let answer = oauth::post_page(http, &host.issuer(), "authorize", &cookie.unwrap(), &fields).await;
    (redirect, client, pkce, at_corp(http, host, corp, &answer).await)
}

/// Serves `document(path)` as JSON to every GET on a loopback port, on a
/// thread of its own: a client's metadata documents.
fn serve_documents(document: impl Fn(&str, u16) -> Value + Send + 'static) -> u16 {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let path = line.split(' ').nth(1).unwrap_or("/").to_owned();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let body = document(&path, port).to_string();
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

/// A client identified by the URL of its metadata document (no
/// registration): the host fetches it through the outbound path, shows
/// its name, and runs the flow; a document naming another client_id is
/// refused.
#[tokio::test]
async fn a_client_metadata_document_identifies_a_client() {
    let port = serve_documents(|path, port| {
        let id = if path == "/client.json" {
            format!("http://127.0.0.1:{port}/client.json")
        } else {
            "https://elsewhere.example/client.json".into()
        };
        json!({ "client_id": id, "client_name": "Metadata Client", "redirect_uris": ["http://127.0.0.1:9/callback"], "token_endpoint_auth_method": "none" })
    });
    let host = Host::start(|config| {
        config.oauth.allow_http_metadata = true;
        config.open_addresses = vec![smcp_core::policy::address::Opening::Socket(([127, 0, 0, 1], port).into())];
    })
    .await;
    let http = http();
    let client = format!("http://127.0.0.1:{port}/client.json");
    let redirect = "http://127.0.0.1:9/callback";
    let pkce = Pkce::new();
    let url = authorize_url(&host.issuer(), &client, redirect, &pkce, &host.resource("calc"));
    let (_, _, _, page) = oauth::open_page(&http, &url).await;
    // Identified by the host its document came from; the name is its claim.
    assert!(
        page.contains("The application at <strong>127.0.0.1</strong> (it calls itself “Metadata Client”"),
        "{page}"
    );
    // An identity the person can check: remembering is offered ticked.
    assert!(page.contains("name=\"remember\" value=\"on\" checked>"), "{page}");
    let (status, location) = sign_in(&http, &host.issuer(), &url, "alice", PASSWORD).await;
    assert_eq!(status, 303);
    let code = param(&location.unwrap(), "code").unwrap();
    let (status, tokens) = oauth::redeem(&http, &host.issuer(), &code, redirect, &pkce, &client).await;
    assert_eq!(status, 200, "{tokens}");

    let impostor = format!("http://127.0.0.1:{port}/other.json");
    let (status, _, _, page) = oauth::open_page(
        &http,
        &authorize_url(&host.issuer(), &impostor, redirect, &Pkce::new(), &host.resource("calc")),
    )
    .await;
    assert_eq!(status, 400);
    assert!(page.contains("metadata document is missing or not valid") && !page.contains("elsewhere"), "{page}");
    let reasons = client_refusals(&host).await;
    assert!(reasons.iter().any(|r| r.contains("its client_id is not the URL it was fetched from")), "{reasons:?}");
    host.0.stop();
}

#[tokio::test]
async fn people_see_and_revoke_the_applications_they_allowed_on_their_account_page() {
    let host = Host::start(|_| {}).await;
    let (client, tokens) = host.tokens().await;
    let origin = host.base();
    let (status, cookie, fields, page) = oauth::open_page(&http(), &format!("{}/account", host.issuer())).await;
    assert_eq!(status, 200, "{page}");
    let cookie = cookie.expect("a CSRF cookie");
    let with = |extra: &[(&str, &str)]| {
        let mut all = fields.clone();
        all.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        all
    };

    // A wrong password: refused, and nothing typed is shown back but the name.
    let (status, page) = oauth::post_account(
        &host.issuer(),
        &origin,
        &cookie,
        &with(&[("username", "alice"), ("password", "hunter2-guess")]),
    )
    .await;
    assert_eq!(status, 401, "{page}");
    assert!(page.contains("role=\"alert\"") && !page.contains("hunter2"), "{page}");

    // Signed in: the application, the server it may use and what it may do.
    let (status, page) =
        oauth::post_account(&host.issuer(), &origin, &cookie, &with(&[("username", "alice"), ("password", PASSWORD)]))
            .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("SMCP test client") && page.contains(&client), "{page}");
    assert!(page.contains("/t/dev/s/calc/mcp") && page.contains("mcp:use"), "{page}");
    let revoke =
        oauth::forms(&page).into_iter().find(|f| f.iter().any(|(k, v)| k == "action" && v == "revoke")).unwrap();

    // As an attacker: the form posted from another site, or from a
    // browser with another cookie, or with a ticket altered to name
    // another person, revokes nothing.
    assert_eq!(oauth::post_account(&host.issuer(), "https://evil.example", &cookie, &revoke).await.0, 403);
    let other_browser = "smcp_oauth_csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    assert_eq!(oauth::post_account(&host.issuer(), &origin, other_browser, &revoke).await.0, 403);
    let forged: Vec<(String, String)> = revoke
        .iter()
        .map(
            |(k, v)| {
                if k == "ticket" { (k.clone(), v.replacen(".alice.", ".bob.", 1)) } else { (k.clone(), v.clone()) }
            },
        )
        .collect();
    let (status, page) = oauth::post_account(&host.issuer(), &origin, &cookie, &forged).await;
    assert_eq!(status, 401, "{page}");
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(host.call("calc", access).await.0, 200, "still allowed after the refused attempts");

    // Revoked by its person: gone from the page, its tokens end at once.
    let (status, page) = oauth::post_account(&host.issuer(), &origin, &cookie, &revoke).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Revoked") && !page.contains("SMCP test client"), "{page}");
    assert_eq!(host.call("calc", access).await.0, 401);
    assert_eq!(host.refresh(&client, tokens["refresh_token"].as_str().unwrap()).await.0, 400);
    let revoked = host
        .audit_records()
        .await
        .into_iter()
        .find(|r| r["kind"] == "oauth.grant_revoked")
        .expect("the revocation is in the trail");
    assert_eq!(revoked["principal"], "user:alice");
    host.0.stop();
}

/// A tenant's client policy, set with the snippet docs/oauth.md gives:
/// registration closed (and gone from the metadata), registered clients
/// refused at the login page and the token endpoint, metadata documents
/// accepted only from the hosts listed, refused before being fetched.
#[tokio::test]
async fn a_tenant_decides_which_applications_may_ask() {
    let fetched = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = fetched.clone();
    let port = serve_documents(move |_, port| {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        json!({ "client_id": format!("http://127.0.0.1:{port}/client.json"), "client_name": "Metadata Client",
                "redirect_uris": ["http://127.0.0.1:9/callback"], "token_endpoint_auth_method": "none" })
    });
    let host = Host::start(|config| {
        config.oauth.allow_http_metadata = true;
        config.open_addresses = vec![smcp_core::policy::address::Opening::Socket(([127, 0, 0, 1], port).into())];
    })
    .await;
    let http = http();
    let redirect = "http://127.0.0.1:9/callback";
    // A client registered while registration was open, with a live grant.
    let (registered, tokens) = host.tokens().await;

    let guide = include_str!("../../../docs/oauth.md");
    let snippet =
        support::guide::runnable(guide).into_iter().find(|b| b.text.contains("--client-registration")).unwrap();
    let env = format!("export SMCP_URL={}\nexport SMCP_ADMIN_KEY={}\n", host.base(), host.key());
    let ran = support::guide::bash(std::path::Path::new("."), &format!("{env}{}", snippet.text));
    assert!(ran.status.success(), "{}", support::guide::text(&ran.stderr));
    let out = support::guide::text(&ran.stdout);
    assert!(out.contains("client_registration   false") && out.contains("notes.example.com,*.corp.example"), "{out}");

    // Registration is closed, and no longer advertised.
    let response = http
        .post(format!("{}/register", host.issuer()))
        .json(&json!({ "redirect_uris": [redirect] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "registration_closed");
    let metadata =
        oauth::get_json(&format!("{}/.well-known/oauth-authorization-server/oauth/dev", host.base()), None).await;
    assert!(
        metadata.get("registration_endpoint").is_none() && metadata["authorization_endpoint"].is_string(),
        "{metadata}"
    );

    // The registered client may neither ask nor refresh.
    let url = authorize_url(&host.issuer(), &registered, redirect, &Pkce::new(), &host.resource("calc"));
    let (status, _, _, page) = oauth::open_page(&http, &url).await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("does not allow the application asking"), "{page}");
    let (status, body) = host.refresh(&registered, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("unauthorized_client")), "{body}");

    // 127.0.0.1 is not among the listed hosts: refused without a fetch.
    let document = format!("http://127.0.0.1:{port}/client.json");
    let url = authorize_url(&host.issuer(), &document, redirect, &Pkce::new(), &host.resource("calc"));
    assert_eq!(oauth::open_page(&http, &url).await.0, 403);
    assert_eq!(fetched.load(std::sync::atomic::Ordering::SeqCst), 0, "fetched although its host is not listed");

    // Listed, it is fetched and identifies the client.
    let (status, _) = host_settings(
        &host,
        json!({ "oauth_clients": { "registration": false, "registered": false, "document_hosts": ["127.0.0.1"] } }),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, _, page) = oauth::open_page(&http, &url).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("The application at <strong>127.0.0.1</strong>"), "{page}");
    // A host list that is not host names is refused whole, and so is a
    // misspelt field, which would otherwise leave the policy open.
    for policy in [json!({ "document_hosts": ["https://x.example/"] }), json!({ "document_host": ["x.example"] })] {
        let (status, body) = host_settings(&host, json!({ "oauth_clients": policy })).await;
        assert_eq!(status, 400, "{body}");
    }
    let reasons = client_refusals(&host).await;
    assert!(reasons.iter().any(|r| r.contains("this tenant's policy")), "{reasons:?}");
    host.0.stop();
}

/// `PATCH` of tenant dev's settings: status and body.
async fn host_settings(host: &Host, patch: Value) -> (u16, Value) {
    let response = http()
        .patch(format!("{}/admin/v1/tenants/dev/settings", host.base()))
        .bearer_auth(host.key())
        .json(&patch)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

/// The tenant's own face on its pages: its name, a support link and its
/// logo, served as image/png only; what is not a small PNG, not an https
/// link or not a short name is refused.
#[tokio::test]
async fn the_sign_in_pages_wear_the_tenants_face() {
    let host = Host::start(|_| {}).await;
    let http = http();
    oauth::brand(&host.base(), host.key());
    let logo = http.get(format!("{}/logo", host.issuer())).send().await.unwrap();
    assert_eq!(logo.status(), 200);
    assert_eq!(logo.headers()["content-type"], "image/png");
    assert_eq!(logo.headers()["x-content-type-options"], "nosniff");
    assert_eq!(logo.bytes().await.unwrap().as_ref(), oauth::LOGO);

    let login = host.fresh_authorize_url().await;
    for url in [login.clone(), format!("{}/account", host.issuer())] {
        let response = http.get(&url).send().await.unwrap();
        let csp = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.contains("img-src 'self'") && csp.contains("default-src 'none'"), "{csp}");
        let page = response.text().await.unwrap();
        assert!(page.contains("<strong>Acme Corp</strong> (tenant <code>dev</code>)"), "{page}");
        assert!(
            page.contains("<img src=\"/oauth/dev/logo\"") && page.contains("href=\"https://help.acme.example/\""),
            "{page}"
        );
    }

    // As an attacker with the admin key: script in a logo, a script link,
    // a long name.
    let api = format!("{}/admin/v1/tenants/dev", host.base());
    let svg = "<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>";
    let response = http.put(format!("{api}/oauth/logo")).bearer_auth(host.key()).body(svg).send().await.unwrap();
    assert_eq!(response.status(), 400);
    let mut huge = oauth::LOGO.to_vec();
    huge.resize(65 * 1024, 0);
    let response = http.put(format!("{api}/oauth/logo")).bearer_auth(host.key()).body(huge).send().await.unwrap();
    assert_eq!(response.status(), 400);
    for branding in [json!({ "support_url": "javascript:alert(1)" }), json!({ "display_name": "x".repeat(61) })] {
        assert_eq!(host_settings(&host, json!({ "branding": branding })).await.0, 400, "{branding}");
    }
    // The first logo stands; removed, it is gone from the pages.
    assert_eq!(
        http.get(format!("{}/logo", host.issuer())).send().await.unwrap().bytes().await.unwrap().as_ref(),
        oauth::LOGO
    );
    let response = http.delete(format!("{api}/oauth/logo")).bearer_auth(host.key()).send().await.unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(http.get(format!("{}/logo", host.issuer())).send().await.unwrap().status(), 404);
    let page = http.get(&login).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("<img") && page.contains("Acme Corp"), "{page}");
    let kinds = host.audit_kinds().await;
    assert!(
        kinds.iter().any(|k| k == "oauth.logo_set") && kinds.iter().any(|k| k == "oauth.logo_removed"),
        "{kinds:?}"
    );
    host.0.stop();
}
