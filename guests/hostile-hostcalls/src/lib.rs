//! `hostile-hostcalls`: makes the host work instead of computing itself.
//! `log_flood` builds one message of `bytes` bytes, then writes it to the
//! log `calls` times; `kv_flood` asks for a key of `bytes` bytes `calls`
//! times. Each capability call is cheap for the guest and costs the host a
//! lift of the arguments and a dispatch: only the host's accounting of its
//! own work (fuel per call and byte, one byte budget per call, the wall
//! time checked at every call) stops the loop. `progress_flood` sends
//! `calls` progress notifications with `bytes`-byte messages, for a client
//! that does not read them. `ping` answers `pong`.

use schemars::JsonSchema;
use serde::Deserialize;
use smcp_guest::{McpServer, NoArgs, Tool, ToolResult, Tools, kv, log, notify};

#[derive(Deserialize, JsonSchema)]
struct FloodArgs {
    /// Size of each call's argument in bytes.
    bytes: u32,
    /// Calls to make (default: until the host stops the guest).
    #[serde(default)]
    calls: Option<u64>,
}

fn log_flood(a: FloodArgs) -> ToolResult<String> {
    let message = "x".repeat(a.bytes as usize);
    let calls = a.calls.unwrap_or(u64::MAX);
    for _ in 0..calls {
        log::debug(&message);
    }
    Ok(format!("{calls} log lines written"))
}

fn kv_flood(a: FloodArgs) -> ToolResult<String> {
    let key = "k".repeat(a.bytes as usize);
    let calls = a.calls.unwrap_or(u64::MAX);
    let mut refused = 0u64;
    for _ in 0..calls {
        if kv::get(&key).is_err() {
            refused += 1;
        }
    }
    Ok(format!("{calls} reads, {refused} refused"))
}

fn progress_flood(a: FloodArgs) -> ToolResult<String> {
    let message = "p".repeat(a.bytes as usize);
    let calls = a.calls.unwrap_or(u64::MAX);
    for n in 0..calls {
        notify::progress(n as f64, None, Some(&message));
    }
    Ok(format!("{calls} progress notifications sent"))
}

struct HostCalls;

impl McpServer for HostCalls {
    fn tools() -> Tools {
        Tools::new()
            .tool(Tool::new("log_flood", log_flood).description("Writes one large log line over and over."))
            .tool(Tool::new("kv_flood", kv_flood).description("Reads one large key over and over."))
            .tool(
                Tool::new("progress_flood", progress_flood).description("Sends progress notifications over and over."),
            )
            .tool(Tool::new("ping", |_: NoArgs| Ok("pong")))
    }
}

smcp_guest::export_server!(HostCalls);
