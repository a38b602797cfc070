//! `hostile-wasip2`: built by rustc for `wasm32-wasip2`, so its standard
//! library reaches the host through WASI 0.2 as a native program reaches
//! its OS. Each tool reaches for something; the host must answer with the
//! grant's view of the world (tests/tests/wasi.rs).

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::Deserialize;
use smcp_guest::{McpServer, NoArgs, Tool, ToolError, ToolResult, Tools};

/// Everything the process environment shows: variables, arguments and the
/// working directory.
fn probe_environment(_: NoArgs) -> ToolResult<String> {
    let found = serde_json::json!({
        "vars": std::env::vars().collect::<Vec<_>>(),
        "args": std::env::args().collect::<Vec<_>>(),
        "cwd": std::env::current_dir().ok(),
    });
    Ok(found.to_string())
}

#[derive(Deserialize, JsonSchema)]
struct FilePath {
    path: String,
}

/// Reads a file; the host has no directories to give.
fn read_file(p: FilePath) -> ToolResult<String> {
    std::fs::read_to_string(&p.path).map_err(|e| ToolError::new(format!("{}: {e}", p.path)))
}

/// Reads stdin to its end.
fn read_stdin(_: NoArgs) -> ToolResult<String> {
    let mut all = Vec::new();
    std::io::stdin().read_to_end(&mut all).map_err(|e| ToolError::new(e.to_string()))?;
    Ok(format!("{} bytes", all.len()))
}

/// Writes to stderr forever.
fn flood_stderr(_: NoArgs) -> ToolResult<String> {
    let mut stderr = std::io::stderr();
    for i in 0u64.. {
        let _ = writeln!(stderr, "line {i}");
    }
    Ok("survived".into())
}

/// Sleeps for an hour.
fn sleep(_: NoArgs) -> ToolResult<String> {
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(3600));
    Ok(format!("slept {:?}", start.elapsed()))
}

/// Exits the process with code 3.
fn exit(_: NoArgs) -> ToolResult<String> {
    std::process::exit(3)
}

struct Probe;

impl McpServer for Probe {
    fn tools() -> Tools {
        Tools::new()
            .tool(Tool::new("probe_environment", probe_environment))
            .tool(Tool::new("read_file", read_file))
            .tool(Tool::new("read_stdin", read_stdin))
            .tool(Tool::new("flood_stderr", flood_stderr))
            .tool(Tool::new("sleep", sleep))
            .tool(Tool::new("exit", exit))
    }
}

smcp_guest::export_server!(Probe);
