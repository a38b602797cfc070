//! `{{name}}`: an MCP server hosted by SMCP that fetches pages from the
//! hosts its grant's `[http]` allows.

use schemars::JsonSchema;
use serde::Deserialize;
use smcp_guest::http::Request;
use smcp_guest::{McpServer, Tool, ToolResult, Tools};

#[derive(Deserialize, JsonSchema)]
struct Page {
    /// An https URL on a host the grant allows.
    url: String,
}

fn fetch(p: Page) -> ToolResult<String> {
    let response = Request::get(p.url).send()?;
    Ok(format!("HTTP {}\n\n{}", response.status, response.text()))
}

struct Server;

impl McpServer for Server {
    fn tools() -> Tools {
        Tools::new().tool(Tool::new("fetch", fetch).description("Fetches a page.").read_only().open_world())
    }
}

smcp_guest::export_server!(Server);
