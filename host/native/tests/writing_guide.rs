//! docs/writing-guests.md, as a guest's author uses it. Its marked shell
//! blocks run as written, in an empty directory. Its marked Rust blocks are
//! put in a project `smcp new` made: a whole server as `src/lib.rs`, a
//! fragment (a method of `McpServer`) inside a server of its own. Each is
//! built by `smcp build` into a component the host would run with a kv
//! grant, and the whole server is deployed to a real host and called.
//! Blocks marked as an excerpt of a file of the repository are found in it.

mod support;

use serde_json::json;
use std::path::Path;
use support::DevHost;
use support::guide::{bash, runnable, text};

const GUIDE: &str = include_str!("../../../docs/writing-guests.md");
const KV_GRANT: &str = "version = 1\n[kv]\n";

/// `smcp new NAME` in `dir`, its `src/lib.rs` replaced by `source`, built
/// with a kv grant: the component.
fn build_as_project(dir: &Path, name: &str, source: &str) -> std::path::PathBuf {
    let made = bash(dir, &format!("smcp new {name}"));
    assert!(made.status.success(), "{}", text(&made.stderr));
    let project = dir.join(name);
    std::fs::write(project.join("src/lib.rs"), source).unwrap();
    std::fs::write(project.join("grant.toml"), KV_GRANT).unwrap();
    let built = bash(dir, &format!("smcp build {name} -o {name}.wasm --json"));
    let review: serde_json::Value = serde_json::from_slice(&built.stdout).unwrap_or_default();
    assert!(built.status.success(), "{name}:\n{source}\n{}\n{review}", text(&built.stderr));
    assert_eq!(review["review"]["runnable"], true, "{review}");
    dir.join(format!("{name}.wasm"))
}

#[test]
fn the_guides_walk_through_runs_and_its_servers_build() {
    let blocks = runnable(GUIDE);
    let work = tempfile::tempdir().unwrap();
    let mut servers = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        match block.lang.as_str() {
            "sh" => {
                let ran = bash(work.path(), &block.text);
                assert!(ran.status.success(), "block {i}:\n{}\n{}", block.text, text(&ran.stderr));
            }
            "rust" if block.text.contains("export_server!") => {
                servers.push(build_as_project(work.path(), &format!("server-{i}"), &block.text));
            }
            "rust" => {
                let source = format!(
                    "use smcp_guest::*;\nstruct Fragment;\nimpl McpServer for Fragment {{\n    fn tools() -> Tools {{ Tools::new() }}\n{}\n}}\nsmcp_guest::export_server!(Fragment);\n",
                    block.text
                );
                build_as_project(work.path(), &format!("fragment-{i}"), &source);
            }
            other => panic!("block {i}: no way to run `{other}`"),
        }
    }
    assert!(blocks.iter().filter(|b| b.lang == "rust").count() >= 2, "the guide marks its Rust to build");
    assert!(work.path().join("bookmarks/grant.toml").is_file(), "the walk-through made its project");

    // The guide's whole server, deployed and called.
    let [server] = &servers[..] else { panic!("one whole server in the guide: {servers:?}") };
    let host = DevHost::start(&["calc"], |_| {});
    let grant = work.path().join("grant.toml");
    std::fs::write(&grant, KV_GRANT).unwrap();
    let args = ["deploy", server.to_str().unwrap(), "--server", "mine", "--grant", grant.to_str().unwrap()];
    let (ok, _, err) = support::smcp(&host.url(), host.key(), &[&args[..], &["--approve-widening"]].concat());
    assert!(ok, "{err}");
    let call = |tool: &str, arguments| support::dev_tool_call(host.addr(), host.key(), "mine", tool, arguments).1;
    let divided = call("divide", json!({"a": 1, "b": 4}));
    assert_eq!(divided["result"]["structuredContent"]["quotient"], 0.25, "{divided}");
    let by_zero = call("divide", json!({"a": 1, "b": 0}));
    assert_eq!(by_zero["result"]["isError"], true, "{by_zero}");
    let saved = call("save", json!({"id": "x", "text": "hello"}));
    assert_eq!(saved["result"]["content"][0]["text"], "saved x", "{saved}");
    host.stop();
}

/// A block marked `<!-- excerpt of PATH -->` has its lines, in order, in
/// that file of the repository (blank lines and indentation aside).
#[test]
fn the_guides_excerpts_are_in_their_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut lines = GUIDE.lines();
    let mut checked = 0;
    while let Some(line) = lines.next() {
        let Some(path) = line.trim().strip_prefix("<!-- excerpt of ").and_then(|p| p.strip_suffix(" -->")) else {
            continue;
        };
        lines.next();
        let excerpt: Vec<&str> = lines.by_ref().take_while(|l| !l.starts_with("```")).map(str::trim).collect();
        let file = std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut rest = file.lines().map(str::trim);
        for wanted in excerpt.iter().filter(|l| !l.is_empty()) {
            assert!(rest.any(|l| l == *wanted), "{path} has no `{wanted}` where the guide's excerpt has it");
        }
        checked += 1;
    }
    assert!(checked >= 1, "the guide marks its excerpts");
}
