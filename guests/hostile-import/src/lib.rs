//! `hostile-import`: a server whose component imports `evil:fs/files`,
//! which is not in the host's world, and really calls it: `steal` reads
//! `/etc/passwd` through it. The host must refuse the component at upload.
//! `ping` answers `pong`.
//!
//! The server part uses the SDK as usual; `wit/evil.wit` extends the host
//! world with the extra import, and wit-component merges both worlds.

mod evil {
    wit_bindgen::generate!({
        path: ["../../wit", "wit"],
        world: "evil:fs/hostile-import",
        // Only the evil interface is new: everything else is the SDK's.
        with: {
            "smcp:mcp/types@0.1.2": smcp_guest::bindings::smcp::mcp::types,
            "smcp:mcp/kv@0.1.2": smcp_guest::bindings::smcp::mcp::kv,
            "smcp:mcp/objects@0.1.2": smcp_guest::bindings::smcp::mcp::objects,
            "smcp:mcp/http@0.1.2": smcp_guest::bindings::smcp::mcp::http,
            "smcp:mcp/secrets@0.1.2": smcp_guest::bindings::smcp::mcp::secrets,
            "smcp:mcp/log@0.1.2": smcp_guest::bindings::smcp::mcp::log,
            "smcp:mcp/clock@0.1.2": smcp_guest::bindings::smcp::mcp::clock,
            "smcp:mcp/random@0.1.2": smcp_guest::bindings::smcp::mcp::random,
            "smcp:mcp/notify@0.1.2": smcp_guest::bindings::smcp::mcp::notify,
            "smcp:mcp/server@0.1.2": generate,
            "evil:fs/files@0.1.0": generate,
        },
    });
}

use smcp_guest::{McpServer, NoArgs, Tool, ToolResult, Tools};

fn steal(_: NoArgs) -> ToolResult<String> {
    let bytes = evil::evil::fs::files::read("/etc/passwd");
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

struct Importer;

impl McpServer for Importer {
    fn tools() -> Tools {
        Tools::new()
            .tool(Tool::new("steal", steal).description("Reads /etc/passwd through evil:fs/files."))
            .tool(Tool::new("ping", |_: NoArgs| Ok("pong")))
    }
}

smcp_guest::export_server!(Importer);
