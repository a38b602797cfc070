//! The official Rust MCP SDK (`rmcp`) as a client of the real native server
//! over loopback: its Streamable HTTP client transport (reqwest, plain
//! HTTP), once with the legacy `initialize` lifecycle and once in the
//! 2026-07-28 era (`server/discover`, then self-contained requests with
//! `_meta` and the `Mcp-Method`/`Mcp-Name` headers).
//!
//! Each run lists and calls calc's tools, reads a resource and gets a
//! prompt, then stores and reads back a note on notes. Then notes pages a
//! thousand resources out of kv with its own cursor.

mod support;

use rmcp::model::{
    CallToolRequestParams, ErrorCode, GetPromptRequestParams, JsonObject, PaginatedRequestParams, ProtocolVersion,
    ReadResourceRequestParams, ResourceContents,
};
use rmcp::service::ServiceError;
use rmcp::service::{ClientLifecycleMode, RoleClient, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientServiceExt, ServiceExt};
use serde_json::json;
use smcp_native::Background;
use std::path::PathBuf;

type Client = RunningService<RoleClient, ()>;

#[test]
fn legacy_initialize() {
    let (server, _data) = start();
    runtime().block_on(async {
        let calc = connect(&server, "calc", Era::Legacy).await;
        let info = calc.peer_info().expect("initialized");
        assert_eq!(info.protocol_version, ProtocolVersion::V_2025_11_25);
        assert_eq!(info.server_info.as_ref().map(|s| s.name.as_str()), Some("smcp"));
        exercise_calc(&calc).await;
        calc.cancel().await.unwrap();

        let notes = connect(&server, "notes", Era::Legacy).await;
        exercise_notes(&notes, "rmcp").await;
        notes.cancel().await.unwrap();
    });
    server.stop();
}

#[test]
fn era_2026_07_28() {
    let (server, _data) = start();
    runtime().block_on(async {
        let calc = connect(&server, "calc", Era::Current).await;
        let info = calc.peer_info().expect("discovered");
        assert_eq!(info.protocol_version, ProtocolVersion::V_2026_07_28);
        exercise_calc(&calc).await;
        calc.cancel().await.unwrap();

        let notes = connect(&server, "notes", Era::Current).await;
        exercise_notes(&notes, "rmcp-2026").await;
        notes.cancel().await.unwrap();
    });
    server.stop();
}

/// notes (built against smcp:mcp 0.1.1) lists every note as a resource, a
/// page of kv keys per request, one capability call each: past the thousand
/// or so items a whole list could hold when each cost a call. A cursor the
/// client made up is the guest's invalid-params error, and nothing breaks.
#[test]
fn a_guest_pages_its_resources_with_its_own_cursor() {
    const NOTES: usize = 1_050;
    let data = DataDir::new();
    let server = support::serve(&data.0, &["notes"], |config| {
        // A thousand writes in a second or two: rate limits are not what this is about.
        let plenty = smcp_core::auth::rate::Limit { burst: 10_000.0, per_second: 10_000.0 };
        config.rate_limits.per_principal = plenty;
        config.rate_limits.per_tenant = plenty;
    });
    runtime().block_on(async {
        let notes = connect(&server, "notes", Era::Legacy).await;
        for i in 0..NOTES {
            let put = notes.call_tool(call("put_note", json!({"id": format!("n{i:04}"), "text": format!("#{i}")})));
            assert_ne!(put.await.expect("put_note").is_error, Some(true));
        }
        let first = notes.list_resources(None).await.expect("the first page");
        assert_eq!(first.resources.len(), 100);
        assert_eq!(first.resources[0].uri, "note://n0000");
        assert_eq!(first.next_cursor.as_deref(), Some("note:n0099"), "kv's own cursor, passed through");

        let all = notes.list_all_resources().await.expect("every page, by cursor");
        let uris: Vec<String> = all.iter().map(|r| r.uri.clone()).collect();
        let expected: Vec<String> = (0..NOTES).map(|i| format!("note://n{i:04}")).collect();
        assert_eq!(uris, expected, "each note once, in order");
        let last = notes.read_resource(ReadResourceRequestParams::new("note://n1049")).await.expect("read");
        assert!(matches!(&last.contents[..], [ResourceContents::TextResourceContents { text, .. }] if text == "#1049"));

        for made_up in ["../../t/other/", "note:\\x", &"n".repeat(2_000)] {
            let params = PaginatedRequestParams::default().with_cursor(Some(made_up.to_owned()));
            match notes.list_resources(Some(params)).await {
                Err(ServiceError::McpError(e)) => assert_eq!(e.code, ErrorCode::INVALID_PARAMS, "{made_up:.40}: {e:?}"),
                other => panic!("{made_up:.40}: {other:?}"),
            }
        }
        assert_eq!(notes.list_resources(None).await.expect("still serving").resources.len(), 100);
        notes.cancel().await.unwrap();
    });
    server.stop();
}

#[derive(Clone, Copy)]
enum Era {
    /// `initialize`, then the session header on every request.
    Legacy,
    /// `server/discover` pinned to 2026-07-28, no session.
    Current,
}

async fn connect(server: &Background, name: &str, era: Era) -> Client {
    let url = format!("http://127.0.0.1:{}/t/dev/s/{name}/mcp", server.addr.port());
    // rmcp sends this as `Authorization: Bearer <value>`.
    let key = server.dev_key.clone().expect("dev mode makes a key");
    let config = StreamableHttpClientTransportConfig::with_uri(url).auth_header(key);
    let transport = StreamableHttpClientTransport::from_config(config);
    let client = match era {
        Era::Legacy => ().serve(transport).await,
        Era::Current => {
            let lifecycle = ClientLifecycleMode::Discover { preferred_versions: vec![ProtocolVersion::V_2026_07_28] };
            ().serve_with_lifecycle(transport, lifecycle).await
        }
    };
    client.unwrap_or_else(|e| panic!("connecting to {name}: {e}"))
}

async fn exercise_calc(calc: &Client) {
    let tools = calc.list_tools(None).await.expect("tools/list").tools;
    for name in ["add", "noop"] {
        let tool = tools.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("{name} is listed"));
        assert_eq!(tool.input_schema.get("type"), Some(&json!("object")), "{name}: {:?}", tool.input_schema);
    }

    let sum = calc.call_tool(call("add", json!({"a": 2, "b": 40}))).await.expect("add");
    assert_ne!(sum.is_error, Some(true), "{sum:?}");
    assert_eq!(sum.structured_content, Some(json!({"sum": 42.0})));

    let noop = calc.call_tool(call("noop", json!({}))).await.expect("noop");
    assert_eq!(text_of(&noop.content), "ok");

    let about = calc.read_resource(ReadResourceRequestParams::new("calc://about")).await.expect("resources/read");
    match about.contents.as_slice() {
        [ResourceContents::TextResourceContents { uri, text, .. }] => {
            assert_eq!(uri, "calc://about");
            assert_eq!(text, "calc: a pure-compute SMCP test server.");
        }
        other => panic!("calc://about: {other:?}"),
    }

    let prompt = calc
        .get_prompt(GetPromptRequestParams::new("explain").with_arguments(object(json!({"topic": "fibonacci"}))))
        .await
        .expect("prompts/get");
    let first = prompt.messages.first().expect("a message");
    let text = first.content.as_text().map(|t| t.text.as_str());
    assert_eq!(text, Some("Explain fibonacci in simple terms."));
}

async fn exercise_notes(notes: &Client, id: &str) {
    let put = notes.call_tool(call("put_note", json!({"id": id, "text": "hi"}))).await.expect("put_note");
    assert_ne!(put.is_error, Some(true), "{put:?}");
    let got = notes.call_tool(call("get_note", json!({"id": id}))).await.expect("get_note");
    assert_ne!(got.is_error, Some(true), "{got:?}");
    assert_eq!(text_of(&got.content), "hi");
}

fn call(name: &'static str, arguments: serde_json::Value) -> CallToolRequestParams {
    CallToolRequestParams::new(name).with_arguments(object(arguments))
}

fn object(value: serde_json::Value) -> JsonObject {
    match value {
        serde_json::Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// The text of a result's only content block.
fn text_of(content: &[rmcp::model::ContentBlock]) -> &str {
    match content {
        [block] => &block.as_text().expect("text content").text,
        other => panic!("expected one content block: {other:?}"),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// The native server on an ephemeral loopback port, hosting calc and notes.
fn start() -> (Background, DataDir) {
    let data = DataDir::new();
    let server = support::serve(&data.0, &["calc", "notes"], |_| {});
    (server, data)
}

/// A data directory removed at the end of the test.
struct DataDir(PathBuf);

impl DataDir {
    fn new() -> DataDir {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let thread = format!("{:?}", std::thread::current().id()).replace(['(', ')'], "");
        DataDir(std::env::temp_dir().join(format!("smcp-rmcp-{}-{thread}-{nanos}", std::process::id())))
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
