//! `hostile-membomb`: `grow` allocates and touches 1 MiB blocks without
//! end; only the host's memory limit stops it (the allocation fails and
//! Rust aborts with a trap). `ping` answers `pong`.

use core::hint::black_box;

use smcp_guest::{McpServer, NoArgs, Tool, ToolResult, Tools};

const BLOCK: usize = 1 << 20;

fn grow(_: NoArgs) -> ToolResult<String> {
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    loop {
        // Filled, not zeroed: every page is really written.
        blocks.push(vec![0xA5; BLOCK]);
        black_box(&mut blocks);
    }
}

struct MemBomb;

impl McpServer for MemBomb {
    fn tools() -> Tools {
        Tools::new()
            .tool(Tool::new("grow", grow).description("Allocates until something stops it."))
            .tool(Tool::new("ping", |_: NoArgs| Ok("pong")))
    }
}

smcp_guest::export_server!(MemBomb);
