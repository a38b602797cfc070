//! Redirects, budgets and header rules, against the table backend.

use super::*;
use crate::capabilities::Discard;
use crate::capabilities::Grant;
use crate::names::TenantId;
use crate::platform::Scope;
use crate::platform::memory::InMemory;

struct Env {
    memory: InMemory,
    grant: Grant,
    scope: Scope,
}

impl Env {
    fn new(http: HttpGrant) -> Env {
        Env {
            memory: InMemory::new(),
            grant: Grant { http: Some(http), ..Grant::default() },
            scope: Scope { tenant: TenantId::from_static("t"), server: "s".into(), request: "r".into() },
        }
    }

    fn respond(&mut self, url: &str, status: u16, headers: &[(&str, &str)], body: &str) {
        let headers = headers.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        self.memory.http.responses.insert(url.into(), HttpResponse { status, headers, body: body.into() });
    }

    fn redirect(&mut self, from: &str, status: u16, to: &str) {
        self.respond(from, status, &[("location", to)], "moved");
    }

    /// Runs fetches in one call (one `CallHost`).
    fn call(&self, requests: Vec<GuestRequest>) -> Vec<Result<HttpResponse, CapabilityError>> {
        let backends = self.memory.backends();
        let mut notifier = Discard;
        let mut host = CallHost::new(backends, &self.grant, &self.scope, &mut notifier);
        requests.into_iter().map(|r| futures::executor::block_on(fetch(&mut host, r))).collect()
    }

    fn one(&self, request: GuestRequest) -> Result<HttpResponse, CapabilityError> {
        self.call(vec![request]).remove(0)
    }

    fn sent(&self) -> Vec<(String, String)> {
        self.memory.http.requests.borrow().iter().map(|r| (r.method.to_owned(), r.url.to_string())).collect()
    }
}

fn grant() -> HttpGrant {
    HttpGrant { allowed_hosts: vec!["a.test".into(), "b.test".into()], ..HttpGrant::default() }
}

fn get(url: &str) -> GuestRequest {
    GuestRequest { method: "GET", url: url.into(), headers: vec![], body: None, timeout_ms: None }
}

fn post(url: &str, headers: &[(&str, &str)]) -> GuestRequest {
    let headers = headers.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    GuestRequest { method: "POST", url: url.into(), headers, body: Some(b"payload".to_vec()), timeout_ms: None }
}

fn denied(result: Result<HttpResponse, CapabilityError>) -> String {
    match result {
        Err(CapabilityError::Denied(message)) => message,
        other => panic!("expected denied, got {other:?}"),
    }
}

#[test]
fn follows_relative_and_absolute_redirects_within_the_grant() {
    let mut env = Env::new(grant());
    env.redirect("https://a.test/start", 302, "/next?x=1");
    env.redirect("https://a.test/next?x=1", 301, "https://b.test/end");
    env.respond("https://b.test/end", 200, &[], "done");
    let got = env.one(get("https://a.test/start")).unwrap();
    assert_eq!((got.status, got.body.as_slice()), (200, &b"done"[..]));
    assert_eq!(
        env.sent(),
        [("GET", "https://a.test/start"), ("GET", "https://a.test/next?x=1"), ("GET", "https://b.test/end")]
            .map(|(m, u)| (m.to_owned(), u.to_owned()))
    );
}

#[test]
fn redirects_outside_the_grant_are_denied_naming_the_host() {
    let mut env = Env::new(grant());
    env.redirect("https://a.test/evil", 302, "https://169.254.169.254/latest/meta-data?token=x");
    env.redirect("https://a.test/other", 307, "https://evil.example/");
    env.redirect("https://a.test/file", 302, "file:///etc/passwd");
    env.redirect("https://a.test/plain", 302, "http://a.test/");
    env.redirect("https://a.test/creds", 302, "https://user:pw@a.test/");
    let message = denied(env.one(get("https://a.test/evil")));
    assert!(message.contains("redirect to `https://169.254.169.254/latest/meta-data` refused"), "{message}");
    assert!(message.contains("host `169.254.169.254` is not in the grant"), "{message}");
    assert!(!message.contains("token"), "queries stay out of errors: {message}");
    assert!(denied(env.one(get("https://a.test/other"))).contains("`evil.example`"));
    assert!(denied(env.one(get("https://a.test/file"))).contains("scheme `file`"));
    assert!(denied(env.one(get("https://a.test/plain"))).contains("scheme `http`"));
    assert!(denied(env.one(get("https://a.test/creds"))).contains("credentials"));
    assert_eq!(env.sent().len(), 5, "no refused hop reaches the backend");
}

#[test]
fn methods_and_bodies_change_as_browsers_do() {
    for (status, method, want_method, body_kept) in [
        (301, "POST", "GET", false),
        (302, "POST", "GET", false),
        (303, "POST", "GET", false),
        (303, "PUT", "GET", false),
        (307, "POST", "POST", true),
        (308, "POST", "POST", true),
        (302, "PUT", "PUT", true),
        (303, "HEAD", "HEAD", false),
    ] {
        let mut env = Env::new(grant());
        env.redirect("https://a.test/form", status, "/done");
        env.respond("https://a.test/done", 200, &[], "ok");
        let mut request = post("https://a.test/form", &[("content-type", "text/plain"), ("x-keep", "1")]);
        request.method = method;
        if method == "HEAD" {
            request.body = None;
        }
        env.one(request).unwrap();
        let second = env.memory.http.requests.borrow()[1].clone();
        assert_eq!(second.method, want_method, "{status} after {method}");
        assert_eq!(second.body.is_some(), body_kept, "{status} after {method}");
        let names: Vec<&str> = second.headers.iter().map(|(k, _)| k.as_str()).collect();
        let want: &[&str] = if body_kept || method == "HEAD" { &["content-type", "x-keep"] } else { &["x-keep"] };
        assert_eq!(names, want, "{status} after {method}");
    }
}

#[test]
fn credentials_stay_with_the_origin_the_guest_chose() {
    let mut env = Env::new(grant());
    env.redirect("https://a.test/1", 307, "/2");
    env.redirect("https://a.test/2", 307, "https://b.test/3");
    env.redirect("https://b.test/3", 307, "https://a.test/4");
    env.respond("https://a.test/4", 200, &[], "");
    let headers = [("Authorization", "Bearer s"), ("Cookie", "c=1"), ("x-trace", "7")];
    env.one(post("https://a.test/1", &headers)).unwrap();
    let names: Vec<Vec<String>> = env
        .memory
        .http
        .requests
        .borrow()
        .iter()
        .map(|r| r.headers.iter().map(|(k, _)| k.to_ascii_lowercase()).collect())
        .collect();
    assert_eq!(names[0], ["authorization", "cookie", "x-trace"]);
    assert_eq!(names[1], ["authorization", "cookie", "x-trace"], "same origin keeps them");
    assert_eq!(names[2], ["x-trace"], "another origin never sees them");
    assert_eq!(names[3], ["x-trace"], "and they do not come back");
}

#[test]
fn redirect_chains_are_bounded() {
    let mut env = Env::new(HttpGrant { max_redirects: 2, ..grant() });
    env.redirect("https://a.test/0", 302, "/1");
    env.redirect("https://a.test/1", 302, "/2");
    env.redirect("https://a.test/2", 302, "/3");
    env.respond("https://a.test/3", 200, &[], "");
    let err = env.one(get("https://a.test/0")).unwrap_err();
    assert_eq!(err, CapabilityError::QuotaExceeded("more than 2 redirects".into()));
    env.redirect("https://a.test/loop", 302, "/loop");
    assert!(matches!(env.one(get("https://a.test/loop")), Err(CapabilityError::QuotaExceeded(_))));
    // A 3xx without a location, or a 304, is an answer, not a redirect.
    env.respond("https://a.test/304", 304, &[], "");
    env.respond("https://a.test/bare", 302, &[], "");
    assert_eq!(env.one(get("https://a.test/304")).unwrap().status, 304);
    assert_eq!(env.one(get("https://a.test/bare")).unwrap().status, 302);
}

#[test]
fn requests_per_call_are_bounded_redirects_included() {
    let mut env = Env::new(HttpGrant { max_requests: 3, ..grant() });
    env.redirect("https://a.test/r", 302, "/ok");
    env.respond("https://a.test/ok", 200, &[], "");
    let results = env.call(vec![get("https://a.test/r"), get("https://a.test/ok"), get("https://a.test/ok")]);
    assert!(results[0].is_ok() && results[1].is_ok());
    assert_eq!(
        results[2],
        Err(CapabilityError::QuotaExceeded("at most 3 HTTP requests per call (redirects count)".into()))
    );
    assert!(env.call(vec![get("https://a.test/ok")])[0].is_ok(), "the budget is per call");
}

#[test]
fn the_timeout_bounds_the_whole_chain() {
    let env = Env::new(HttpGrant { timeout_ms: 500, ..grant() });
    let mut request = get("https://a.test/x");
    request.timeout_ms = Some(60_000);
    env.one(request).unwrap();
    assert_eq!(env.memory.http.requests.borrow()[0].timeout_ms, 500, "the grant caps the guest's timeout");
    let mut request = get("https://a.test/x");
    request.timeout_ms = Some(0);
    assert!(matches!(env.one(request), Err(CapabilityError::Unavailable(_))));
}

#[test]
fn host_owned_request_headers_are_refused() {
    let env = Env::new(grant());
    for name in [
        "Host",
        "Content-Length",
        "Proxy-Authorization",
        "proxy-connection",
        "Proxy-Anything",
        "TE",
        "Trailer",
        "Keep-Alive",
    ] {
        let request = post("https://a.test/", &[(name, "x")]);
        assert!(
            matches!(env.one(request), Err(CapabilityError::InvalidInput(m)) if m.contains("set by the host")),
            "{name}"
        );
    }
    for (name, value) in [("bad name", "x"), ("x", "a\r\nInjected: 1"), ("", "x")] {
        assert!(matches!(env.one(post("https://a.test/", &[(name, value)])), Err(CapabilityError::InvalidInput(_))));
    }
    assert!(env.memory.http.requests.borrow().is_empty());
}

#[test]
fn hop_by_hop_and_cookie_headers_never_reach_the_guest() {
    let mut env = Env::new(grant());
    let headers = [
        ("Content-Type", "text/plain"),
        ("Connection", "keep-alive, X-Secret-Hop"),
        ("X-Secret-Hop", "1"),
        ("Keep-Alive", "timeout=5"),
        ("Transfer-Encoding", "chunked"),
        ("Trailer", "x"),
        ("Upgrade", "h2c"),
        ("TE", "trailers"),
        ("Proxy-Authenticate", "Basic"),
        ("Set-Cookie", "session=abc"),
        ("ETag", "\"1\""),
    ];
    env.respond("https://a.test/h", 200, &headers, "body");
    let got = env.one(get("https://a.test/h")).unwrap();
    let names: Vec<&str> = got.headers.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["Content-Type", "ETag"]);
}

#[test]
fn no_grant_no_request() {
    let mut env = Env::new(grant());
    env.grant.http = None;
    assert!(denied(env.one(get("https://a.test/"))).contains("not granted"));
}

#[test]
fn injected_headers_reach_only_their_host_and_never_the_guest() {
    use super::grant::Injection;
    let rule =
        Injection { host: "a.test".into(), header: "x-api-key".into(), secret: "KEY".into(), prefix: "Key ".into() };
    let mut env = Env::new(HttpGrant { inject: vec![rule], ..grant() });
    env.memory.secrets.values.insert(("t".into(), "s".into(), "KEY".into()), "k-123".into());
    env.redirect("https://a.test/start", 302, "https://b.test/next");
    env.respond("https://b.test/next", 200, &[], "done");
    // The guest's own value for the header is replaced, not sent.
    let got = env.one(post("https://a.test/start", &[("X-Api-Key", "guest-made")])).unwrap();
    assert_eq!(got.body, b"done");
    let sent = env.memory.http.requests.borrow();
    let key = |i: usize| {
        sent[i]
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("x-api-key"))
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(key(0), ["Key k-123"]);
    // b.test gets the guest's own header, never the secret.
    assert_eq!(key(1), ["guest-made"], "the injected value followed the redirect to b.test");
    drop(sent);
    // Unset secret: the request is not sent.
    env.memory.secrets.values.clear();
    let missing = env.one(get("https://a.test/start")).unwrap_err();
    assert!(
        matches!(&missing, CapabilityError::Unavailable(m) if m.contains("`KEY`") && !m.contains("k-123")),
        "{missing:?}"
    );
}
