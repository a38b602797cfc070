//! Nothing secret reaches the logs: the real `smcp` binary at debug level,
//! driven with a valid API key, forged keys and tokens, a key in the query
//! string, a guest using an encrypted secret, and a person signing in
//! through the authorization server (password, code, verifier, tokens);
//! then every line it logged (stderr) is searched for each of them.

mod support;

use serde_json::json;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const MASTER_KEYS: &str = "k1:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
const SECRET: &str = "sk-live-5ecret-value-77";

fn target_dir() -> PathBuf {
    std::env::current_exe().unwrap().ancestors().nth(3).unwrap().to_path_buf()
}

/// Sends one request; returns the whole response text.
fn send(
    addr: SocketAddr,
    path_and_query: &str,
    server: &str,
    credential: Option<&str>,
    tool: &str,
    arguments: serde_json::Value,
) -> String {
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": { "name": tool, "arguments": arguments,
        "_meta": { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} } } })
    .to_string();
    let auth = credential.map(|c| format!("authorization: Bearer {c}\r\n")).unwrap_or_default();
    let head = format!(
        "POST /t/dev/s/{server}/mcp{path_and_query} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\ncontent-type: application/json\r\n\
         accept: application/json, text/event-stream\r\nmcp-protocol-version: 2026-07-28\r\nmcp-method: tools/call\r\nmcp-name: {tool}\r\n\
         {auth}content-length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
}

#[test]
fn secrets_keys_and_tokens_never_reach_the_logs() {
    let data = tempfile::Builder::new().prefix("smcp-logs-").tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_smcp");
    let mut set = Command::new(bin)
        .args(["secrets", "set", "--tenant", "dev", "--server", "fetcher", "API_TOKEN", "--data-dir"])
        .arg(data.path())
        .env("SMCP_MASTER_KEYS", MASTER_KEYS)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    set.stdin.take().unwrap().write_all(SECRET.as_bytes()).unwrap();
    assert!(set.wait().unwrap().success());

    let mut child = Command::new(bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--dev-guests", "notes,fetcher", "--data-dir"])
        .arg(data.path())
        .env("SMCP_MASTER_KEYS", MASTER_KEYS)
        .env("CARGO_TARGET_DIR", target_dir())
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut addr = None;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(found) = line.trim().strip_prefix("listening  http://") {
                addr = found.split_whitespace().next().and_then(|a| a.parse::<SocketAddr>().ok());
            }
            if let (Some(addr), Some(key)) = (addr, line.trim().strip_prefix("API key    ")) {
                let _ = tx.send((addr, key.to_owned()));
            }
        }
    });
    let mut stderr = child.stderr.take().unwrap();
    let logs = std::thread::spawn(move || {
        let mut all = String::new();
        let _ = stderr.read_to_string(&mut all);
        all
    });
    let (addr, key) = rx.recv_timeout(Duration::from_secs(900)).expect("the server starts");

    let forged_key = format!("smcp_dev_{}", "c0ffee".repeat(10) + "c0ff");
    let forged_token = "eyJhbGciOiJFUzI1NiIsImtpZCI6Ims5OTkifQ.eyJpc3MiOiJ4In0.c2lnbmF0dXJlLWZvcmdlZA";
    let mut bodies = vec![
        send(addr, "", "notes", Some(&key), "put_note", json!({ "id": "a", "text": "hello" })),
        // The guest uses the secret; the URL is refused (not in its grant).
        send(addr, "", "fetcher", Some(&key), "fetch_with_secret", json!({ "url": "https://example.com/" })),
        send(addr, "", "notes", Some(&forged_key), "get_note", json!({ "id": "a" })),
        send(addr, "", "notes", Some(forged_token), "get_note", json!({ "id": "a" })),
        send(addr, &format!("?api_key={key}"), "notes", None, "get_note", json!({ "id": "a" })),
    ];
    assert!(bodies[0].starts_with("HTTP/1.1 200"), "{}", bodies[0]);
    assert!(
        bodies[2].starts_with("HTTP/1.1 401")
            && bodies[3].starts_with("HTTP/1.1 401")
            && bodies[4].starts_with("HTTP/1.1 401")
    );
    let oauth_secrets = sign_in(addr, &key);
    let _ = child.kill();
    let _ = child.wait();
    let logs = logs.join().unwrap();
    assert!(logs.lines().count() > 5, "the server logged: {logs}");
    let key_secret = &key["smcp_dev_".len()..];
    for (name, needle) in
        [("API key", key_secret), ("forged key", &forged_key[9..]), ("token", forged_token), ("secret", SECRET)]
    {
        assert!(!logs.contains(needle), "the logs hold the {name}:\n{logs}");
    }
    for (name, needle) in &oauth_secrets {
        assert!(!logs.contains(needle.as_str()), "the logs hold the {name}:\n{logs}");
    }
    // Error bodies name the reason, never the credential or the secret.
    bodies.remove(0);
    for body in &bodies {
        for needle in [key_secret, &forged_key[9..], forged_token, SECRET] {
            assert!(!body.contains(needle), "a response holds a credential or secret: {body}");
        }
    }
}

/// A whole sign-in: an account, a client, the login form, the code, a
/// refresh, a tool call with the token. The secrets it handled, by name.
fn sign_in(addr: SocketAddr, key: &str) -> Vec<(&'static str, String)> {
    use support::oauth::{self, PASSWORD, Pkce};
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let http = oauth::http();
        let base = format!("http://{addr}");
        let issuer = format!("{base}/oauth/dev");
        let redirect = "http://127.0.0.1:9/callback";
        oauth::add_user(&http, &base, "dev", key, "alice", "mcp-user").await;
        let client = oauth::register(&http, &issuer, redirect).await;
        let pkce = Pkce::new();
        let url = oauth::authorize_url(&issuer, &client, redirect, &pkce, &format!("{base}/t/dev/s/notes/mcp"));
        let (status, location) = oauth::sign_in(&http, &issuer, &url, "alice", PASSWORD).await;
        assert_eq!(status, 303);
        let code = oauth::param(&location.unwrap(), "code").unwrap();
        let (status, tokens) = oauth::redeem(&http, &issuer, &code, redirect, &pkce, &client).await;
        assert_eq!(status, 200, "{tokens}");
        let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
        let (status, refreshed) = oauth::token(
            &http,
            &issuer,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("client_id", &client)],
        )
        .await;
        assert_eq!(status, 200, "{refreshed}");
        let access = refreshed["access_token"].as_str().unwrap().to_owned();
        assert!(send(addr, "", "notes", Some(&access), "get_note", json!({ "id": "a" })).starts_with("HTTP/1.1 200"));
        // A token's signature is its secret part.
        let signature = |t: &str| t.rsplit('.').next().unwrap().to_owned();
        vec![
            ("password", PASSWORD.to_owned()),
            ("authorization code", code),
            ("code verifier", pkce.verifier),
            ("refresh token", refresh),
            ("rotated refresh token", refreshed["refresh_token"].as_str().unwrap().to_owned()),
            ("access token", signature(tokens["access_token"].as_str().unwrap())),
            ("refreshed access token", signature(&access)),
        ]
    })
}
