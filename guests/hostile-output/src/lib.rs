//! `hostile-output`: `flood` returns `mib` MiB (default 64) of `x` as one
//! text block, to hit the host's output limit. `ping` answers `pong`.

use schemars::JsonSchema;
use serde::Deserialize;
use smcp_guest::{McpServer, NoArgs, Tool, ToolResult, Tools};

#[derive(Deserialize, JsonSchema)]
struct FloodArgs {
    /// Size of the text in MiB (default 64).
    #[serde(default)]
    mib: Option<u32>,
}

fn flood(a: FloodArgs) -> ToolResult<String> {
    let mib = a.mib.unwrap_or(64) as usize;
    Ok("x".repeat(mib << 20))
}

struct Output;

impl McpServer for Output {
    fn tools() -> Tools {
        Tools::new()
            .tool(Tool::new("flood", flood).description("Returns `mib` MiB of text."))
            .tool(Tool::new("ping", |_: NoArgs| Ok("pong")))
    }
}

smcp_guest::export_server!(Output);
