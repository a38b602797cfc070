//! `hostile-loop`: `spin` loops forever; only fuel (or a deadline) stops it.
//! `ping` answers `pong`, to show the server works otherwise.

use core::hint::black_box;

use smcp_guest::{McpServer, NoArgs, Tool, ToolResult, Tools};

fn spin(_: NoArgs) -> ToolResult<String> {
    let mut n: u64 = 0;
    loop {
        n = black_box(n.wrapping_add(1));
    }
}

struct Loop;

impl McpServer for Loop {
    fn tools() -> Tools {
        Tools::new()
            .tool(Tool::new("spin", spin).description("Never returns."))
            .tool(Tool::new("ping", |_: NoArgs| Ok("pong")))
    }
}

smcp_guest::export_server!(Loop);
