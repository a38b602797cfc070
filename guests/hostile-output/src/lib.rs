//! `hostile-output`: `flood` returns `mib` MiB (default 64) of `x` as one
//! text block, to hit the host's output limit. `mislabelled` declares an
//! output schema and gives structured content that breaks it. `ping`
//! answers `pong`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use smcp_guest::{CallResult, McpServer, NoArgs, Tool, ToolResult, Tools};

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

/// What `mislabelled` declares it returns…
#[derive(JsonSchema)]
#[allow(dead_code)]
struct Sum {
    sum: f64,
}

/// …and what it gives instead.
#[derive(Serialize)]
struct Lie {
    sum: &'static str,
}

fn mislabelled(_: NoArgs) -> ToolResult<CallResult> {
    CallResult::text("five").with_structured(&Lie { sum: "five" })
}

struct Output;

impl McpServer for Output {
    fn tools() -> Tools {
        Tools::new()
            .tool(Tool::new("flood", flood).description("Returns `mib` MiB of text."))
            .tool(Tool::new("mislabelled", mislabelled).output_schema::<Sum>().description("Breaks its output schema."))
            .tool(Tool::new("ping", |_: NoArgs| Ok("pong")))
    }
}

smcp_guest::export_server!(Output);
