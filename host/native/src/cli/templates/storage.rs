//! `{{name}}`: an MCP server hosted by SMCP that keeps bookmarks in its own
//! kv space (the grant's `[kv]`).

use schemars::JsonSchema;
use serde::Deserialize;
use smcp_guest::{McpServer, Tool, ToolError, ToolResult, Tools, kv};

const PREFIX: &str = "bookmark:";

#[derive(Deserialize, JsonSchema)]
struct Save {
    /// A short name for the bookmark.
    name: String,
    url: String,
}

#[derive(Deserialize, JsonSchema)]
struct Name {
    name: String,
}

fn save(s: Save) -> ToolResult<String> {
    kv::set(&format!("{PREFIX}{}", s.name), s.url.as_bytes())?;
    Ok(format!("saved {}", s.name))
}

fn open(n: Name) -> ToolResult<String> {
    let url = kv::get(&format!("{PREFIX}{}", n.name))?.ok_or_else(|| ToolError::new(format!("no bookmark `{}`", n.name)))?;
    String::from_utf8(url).map_err(|_| ToolError::new("not text"))
}

struct Server;

impl McpServer for Server {
    fn tools() -> Tools {
        Tools::new()
            .tool(Tool::new("save", save).description("Saves a URL under a name."))
            .tool(Tool::new("open", open).description("The URL saved under a name.").read_only())
    }
}

smcp_guest::export_server!(Server);
