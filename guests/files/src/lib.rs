//! `files`: text files kept in object storage, keyed by path.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use smcp_guest::objects::{self, ObjectMeta};
use smcp_guest::{McpServer, Structured, Tool, ToolError, ToolResult, Tools};

/// Most files one `list_files` call returns unless asked for fewer.
const DEFAULT_LIMIT: u32 = 100;

#[derive(Deserialize, JsonSchema)]
struct WriteArgs {
    path: String,
    content: String,
    /// Defaults to `text/plain`.
    #[serde(default)]
    content_type: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
struct PathArgs {
    path: String,
}

#[derive(Deserialize, JsonSchema)]
struct ListArgs {
    /// Only paths starting with this.
    #[serde(default)]
    prefix: String,
    /// From a previous call's `cursor`.
    #[serde(default)]
    cursor: Option<String>,
    /// At most this many (default 100; the host may cap it).
    #[serde(default)]
    limit: Option<u32>,
}

/// An object's metadata, as tools report it.
#[derive(Serialize, JsonSchema)]
struct Stat {
    path: String,
    size: u64,
    etag: String,
    content_type: Option<String>,
    uploaded_ms: u64,
}

impl From<ObjectMeta> for Stat {
    fn from(m: ObjectMeta) -> Self {
        Self { path: m.key, size: m.size, etag: m.etag, content_type: m.content_type, uploaded_ms: m.uploaded_ms }
    }
}

#[derive(Serialize, JsonSchema)]
struct Listing {
    files: Vec<Stat>,
    /// Pass back for the next page; absent at the end.
    cursor: Option<String>,
}

fn no_file(path: &str) -> ToolError {
    ToolError::new(format!("no file `{path}`"))
}

fn write_file(a: WriteArgs) -> ToolResult<Structured<Stat>> {
    let content_type = a.content_type.as_deref().unwrap_or("text/plain");
    let meta = objects::put(&a.path, a.content.as_bytes(), Some(content_type))?;
    let text = format!("wrote {} bytes to {}", meta.size, a.path);
    Ok(Structured::new(Stat::from(meta)).with_text(text))
}

fn read_file(a: PathArgs) -> ToolResult<String> {
    let object = objects::get(&a.path)?.ok_or_else(|| no_file(&a.path))?;
    Ok(String::from_utf8_lossy(&object.body).into_owned())
}

fn stat_file(a: PathArgs) -> ToolResult<Structured<Stat>> {
    let meta = objects::head(&a.path)?.ok_or_else(|| no_file(&a.path))?;
    let text = format!("{}: {} bytes", a.path, meta.size);
    Ok(Structured::new(Stat::from(meta)).with_text(text))
}

fn list_files(a: ListArgs) -> ToolResult<Structured<Listing>> {
    let page = objects::list(&a.prefix, a.cursor.as_deref(), a.limit.unwrap_or(DEFAULT_LIMIT))?;
    let files: Vec<Stat> = page.objects.into_iter().map(Stat::from).collect();
    let text = if files.is_empty() {
        "no files".to_string()
    } else {
        files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>().join("\n")
    };
    Ok(Structured::new(Listing { files, cursor: page.cursor }).with_text(text))
}

fn delete_file(a: PathArgs) -> ToolResult<String> {
    objects::delete(&a.path)?;
    Ok(format!("deleted {}", a.path))
}

struct Files;

impl McpServer for Files {
    fn tools() -> Tools {
        Tools::new()
            .tool(Tool::new("write_file", write_file).description("Writes text to `path`, replacing it.").idempotent())
            .tool(Tool::new("read_file", read_file).description("The text at `path`.").read_only())
            .tool(Tool::new("stat_file", stat_file).description("Size, etag and type of `path`.").read_only())
            .tool(Tool::new("list_files", list_files).description("Files whose paths start with `prefix`.").read_only())
            .tool(Tool::new("delete_file", delete_file).description("Deletes `path`.").destructive().idempotent())
    }
}

smcp_guest::export_server!(Files);
