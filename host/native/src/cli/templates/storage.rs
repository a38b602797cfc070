//! `{{name}}`: an MCP server hosted by SMCP that keeps bookmarks in its own
//! kv space (the grant's `[kv]`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use smcp_guest::{McpServer, Structured, Tool, ToolError, ToolResult, Tools, kv};

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

#[derive(Deserialize, JsonSchema)]
struct Listing {
    /// Bookmarks whose names start with this.
    prefix: Option<String>,
}

#[derive(Serialize, JsonSchema)]
struct Bookmarks {
    /// Name and URL of each bookmark, by name.
    bookmarks: Vec<(String, String)>,
}

fn save(s: Save) -> ToolResult<String> {
    kv::set(&format!("{PREFIX}{}", s.name), s.url.as_bytes())?;
    Ok(format!("saved {}", s.name))
}

fn open(n: Name) -> ToolResult<String> {
    let url = kv::get(&format!("{PREFIX}{}", n.name))?.ok_or_else(|| ToolError::new(format!("no bookmark `{}`", n.name)))?;
    String::from_utf8(url).map_err(|_| ToolError::new("not text"))
}

/// Every bookmark (up to one page of keys), read with one `get_many`.
fn list(l: Listing) -> ToolResult<Structured<Bookmarks>> {
    let prefix = format!("{PREFIX}{}", l.prefix.unwrap_or_default());
    let page = kv::list_keys(&prefix, None, 100)?;
    let urls = kv::get_many(&page.keys)?;
    let bookmarks = page
        .keys
        .iter()
        .zip(urls)
        .filter_map(|(key, url)| Some((key.strip_prefix(PREFIX)?.to_owned(), String::from_utf8(url?).ok()?)))
        .collect();
    Ok(Structured::new(Bookmarks { bookmarks }))
}

struct Server;

impl McpServer for Server {
    fn tools() -> Tools {
        Tools::new()
            .tool(Tool::new("save", save).description("Saves a URL under a name."))
            .tool(Tool::new("open", open).description("The URL saved under a name.").read_only())
            .tool(Tool::new("list", list).description("The bookmarks, by name.").read_only())
    }
}

smcp_guest::export_server!(Server);
