//! Plain components as tools, through the official Rust SDK (rmcp) over
//! real HTTP: `guests/text-plain` exports ordinary WIT functions and knows
//! nothing of MCP; the host lists one tool per function, with an input
//! schema derived from the WIT parameter types and the function's WIT
//! signature as its description, and returns results as structured content.
//! A `result`'s error is a tool error; arguments that do not fit the
//! derived schema never reach the guest.

mod support;

use serde_json::{Value, json};
use support::{DevHost, call, connect, smcp};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn text(result: &rmcp::model::CallToolResult) -> String {
    result.content.iter().filter_map(|c| c.as_text().map(|t| t.text.clone())).collect()
}

#[test]
fn a_plain_components_functions_are_tools() {
    let host = DevHost::start(&["text-plain"], |_| {});
    runtime().block_on(async {
        let client = connect(host.endpoint("text-plain"), host.key()).await;
        let tools = client.list_tools(None).await.expect("tools/list").tools;
        let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
        names.sort();
        assert_eq!(names, ["convert", "count", "divide", "reverse"]);
        let convert = tools.iter().find(|t| t.name == "convert").unwrap();
        // Toolchains drop WIT docs from components: the signature says it.
        assert_eq!(
            convert.description.as_deref(),
            Some("`convert(text: string, to: case) -> string` (WIT, example:text/tools@0.1.0)")
        );
        let schema = Value::Object((*convert.input_schema).clone());
        assert_eq!(schema["properties"]["to"], json!({"type": "string", "enum": ["upper", "lower", "title"]}));
        assert_eq!(schema["required"], json!(["text", "to"]));
        let count = tools.iter().find(|t| t.name == "count").unwrap();
        let output = Value::Object((**count.output_schema.as_ref().expect("an output schema")).clone());
        assert_eq!(output["properties"]["result"]["required"], json!(["words", "lines"]), "{output}");

        let reversed = call(&client, "reverse", json!({"text": "héllo ☃"})).await;
        assert_eq!(reversed.structured_content, Some(json!({"result": "☃ olléh"})));
        assert_eq!(text(&reversed), "☃ olléh");
        let counted = call(&client, "count", json!({"text": "one two\nthree"})).await;
        assert_eq!(counted.structured_content, Some(json!({"result": {"words": 3, "lines": 2, "longest": "three"}})));
        let empty = call(&client, "count", json!({"text": ""})).await;
        assert_eq!(empty.structured_content, Some(json!({"result": {"words": 0, "lines": 0, "longest": null}})));
        let titled = call(&client, "convert", json!({"text": "hello wORLD", "to": "title"})).await;
        assert_eq!(titled.structured_content, Some(json!({"result": "Hello World"})));
        let quarter = call(&client, "divide", json!({"a": 1, "b": 4})).await;
        assert_eq!(quarter.structured_content, Some(json!({"result": 0.25})));

        // The function's own error is a tool error the model can read.
        let by_zero = call(&client, "divide", json!({"a": 1, "b": 0})).await;
        assert_eq!((by_zero.is_error, text(&by_zero).as_str()), (Some(true), "division by zero"));
        // Arguments outside the WIT types are refused before the guest runs.
        for (arguments, wanted) in [
            (json!({"text": "x", "to": "sideways"}), "/to"),
            (json!({"text": "x"}), "\"to\" is a required property"),
            (json!({"text": "x", "to": "upper", "extra": 1}), "extra"),
        ] {
            let refused = call(&client, "convert", arguments.clone()).await;
            assert_eq!(refused.is_error, Some(true), "{arguments}");
            assert!(text(&refused).contains(wanted), "{arguments}: {}", text(&refused));
        }
        // Tools only: no resources or prompts.
        assert!(client.list_resources(None).await.unwrap().resources.is_empty());
        assert!(client.list_prompts(None).await.unwrap().prompts.is_empty());
        client.cancel().await.unwrap();
    });
    host.stop();
}

/// A plain component whose function takes a resource has no JSON form for
/// it: `inspect` and deploy over real HTTP both refuse it, naming the
/// function, and deploy leaves no server behind.
#[test]
fn a_function_over_a_resource_is_refused_at_upload() {
    let component = wat::parse_str(
        r#"(component
            (core module $m
                (func (export "take") (param i32))
                (func (export "count") (result i32) i32.const 1))
            (core instance $i (instantiate $m))
            (type $counter (resource (rep i32)))
            (func $take (param "c" (own $counter)) (canon lift (core func $i "take")))
            (func $count (result u32) (canon lift (core func $i "count")))
            (instance $tools
                (export "counter" (type $counter))
                (export "take" (func $take))
                (export "count" (func $count)))
            (export "example:counter/tools@0.1.0" (instance $tools)))"#,
    )
    .expect("a valid component");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("counter.wasm");
    std::fs::write(&path, component).unwrap();
    let path = path.to_str().unwrap();

    let inspect =
        std::process::Command::new(env!("CARGO_BIN_EXE_smcp")).args(["inspect", path, "--json"]).output().unwrap();
    assert_eq!(inspect.status.code(), Some(3), "{}", String::from_utf8_lossy(&inspect.stderr));
    let review: Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(review["runnable"], false, "{review}");
    let problems = review["problems"].to_string();
    assert!(problems.contains("exported function `take`") && problems.contains("no JSON form"), "{problems}");

    let host = DevHost::start(&["text-plain"], |_| {});
    let (ok, stdout, stderr) = smcp(&host.url(), host.key(), &["deploy", path, "--server", "counter"]);
    assert!(!ok, "deployed: {stdout}");
    assert!(stderr.contains("exported function `take`") && stderr.contains("no JSON form"), "{stderr}");
    let (ok, servers, stderr) = smcp(&host.url(), host.key(), &["servers", "list"]);
    assert!(ok, "{stderr}");
    assert!(!servers.contains("counter"), "a refused upload leaves no server: {servers}");
    host.stop();
}
