//! `notes-keyvalue`: notes kept through `wasi:keyvalue`, the portable
//! key-value interface, as `note:<id>` → JSON `{text, created_ms}`: the
//! layout of the `notes` guest, which reads them through `smcp:mcp/kv`.
//! The host serves both drafts toolchains build against (wasmtime's
//! `0.2.0-draft`, Spin's `0.2.0-draft2`); the tools use one or the other
//! so that one component exercises both, and `list_notes` walks the keys
//! with each draft's cursors and refuses to answer if they disagree.

mod draft {
    wit_bindgen::generate!({ path: "../../wit/deps/wasi-keyvalue-0.2.0-draft", world: "imports" });
    pub use self::wasi::keyvalue::{batch, store};
}

mod draft2 {
    wit_bindgen::generate!({ path: "../../wit/deps/wasi-keyvalue-0.2.0-draft2", world: "imports" });
    pub use self::wasi::keyvalue::{batch, store};
}

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use smcp_guest::{McpServer, Structured, Tool, ToolError, ToolResult, Tools, clock};

const PREFIX: &str = "note:";

#[derive(Serialize, Deserialize)]
struct Note {
    text: String,
    created_ms: u64,
}

#[derive(Deserialize, JsonSchema)]
struct PutArgs {
    /// The note's id.
    id: String,
    text: String,
}

#[derive(Deserialize, JsonSchema)]
struct IdArgs {
    id: String,
}

#[derive(Deserialize, JsonSchema)]
struct IdsArgs {
    ids: Vec<String>,
}

#[derive(Deserialize, JsonSchema)]
struct PutManyArgs {
    /// Texts by note id.
    notes: BTreeMap<String, String>,
}

#[derive(Deserialize, JsonSchema)]
struct ListArgs {
    /// Only ids starting with this.
    #[serde(default)]
    prefix: String,
}

#[derive(Deserialize, JsonSchema)]
struct StoreArgs {
    /// The store's identifier, as given to `open`.
    name: String,
}

#[derive(Serialize, JsonSchema)]
struct Ids {
    ids: Vec<String>,
}

#[derive(Serialize, JsonSchema)]
struct Found {
    /// Each id's text, in the order asked; null where there is no note.
    texts: Vec<Option<String>>,
}

#[derive(Serialize, JsonSchema)]
struct Exists {
    exists: bool,
}

#[derive(Serialize, JsonSchema)]
struct Opened {
    opened: bool,
    /// The store's error when it did not open.
    error: Option<String>,
}

fn key(id: &str) -> String {
    format!("{PREFIX}{id}")
}

fn fail(what: &str, e: impl std::fmt::Debug) -> ToolError {
    ToolError::new(format!("{what}: {e:?}"))
}

fn open() -> Result<draft::store::Bucket, ToolError> {
    draft::store::open("").map_err(|e| fail("open", e))
}

fn open2() -> Result<draft2::store::Bucket, ToolError> {
    draft2::store::open("default").map_err(|e| fail("open", e))
}

fn note(text: String) -> Result<Vec<u8>, ToolError> {
    serde_json::to_vec(&Note { text, created_ms: clock::now_ms() }).map_err(|e| fail("encode", e))
}

fn text_of(value: &[u8]) -> Result<String, ToolError> {
    let note: Note = serde_json::from_slice(value).map_err(|e| fail("decode", e))?;
    Ok(note.text)
}

fn put_note(a: PutArgs) -> ToolResult<String> {
    open2()?.set(&key(&a.id), &note(a.text)?).map_err(|e| fail("set", e))?;
    Ok(format!("saved {}", a.id))
}

fn get_note(a: IdArgs) -> ToolResult<String> {
    match open()?.get(&key(&a.id)).map_err(|e| fail("get", e))? {
        Some(value) => text_of(&value),
        None => Err(ToolError::new(format!("no note {}", a.id))),
    }
}

fn has_note(a: IdArgs) -> ToolResult<Structured<Exists>> {
    let exists = open2()?.exists(&key(&a.id)).map_err(|e| fail("exists", e))?;
    Ok(Structured::new(Exists { exists }))
}

fn delete_note(a: IdArgs) -> ToolResult<String> {
    open2()?.delete(&key(&a.id)).map_err(|e| fail("delete", e))?;
    Ok(format!("deleted {}", a.id))
}

/// Every key, page by page, with the numbered cursors of `0.2.0-draft`.
fn keys_by_number() -> Result<Vec<String>, ToolError> {
    let bucket = open()?;
    let (mut keys, mut cursor) = (Vec::new(), None);
    loop {
        let page = bucket.list_keys(cursor).map_err(|e| fail("list-keys", e))?;
        keys.extend(page.keys);
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(keys),
        }
    }
}

/// Every key, page by page, with the string cursors of `0.2.0-draft2`.
fn keys_by_name() -> Result<Vec<String>, ToolError> {
    let bucket = open2()?;
    let (mut keys, mut cursor) = (Vec::new(), None);
    loop {
        let page = bucket.list_keys(cursor.as_deref()).map_err(|e| fail("list-keys", e))?;
        keys.extend(page.keys);
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(keys),
        }
    }
}

fn list_notes(a: ListArgs) -> ToolResult<Structured<Ids>> {
    let (numbered, named) = (keys_by_number()?, keys_by_name()?);
    if numbered != named {
        return Err(ToolError::new(format!("the drafts list different keys: {numbered:?} and {named:?}")));
    }
    let wanted = key(&a.prefix);
    let ids = numbered.iter().filter(|k| k.starts_with(&wanted)).map(|k| k[PREFIX.len()..].to_owned()).collect();
    Ok(Structured::new(Ids { ids }))
}

fn get_notes(a: IdsArgs) -> ToolResult<Structured<Found>> {
    let keys: Vec<String> = a.ids.iter().map(|id| key(id)).collect();
    let found = draft2::batch::get_many(&open2()?, &keys).map_err(|e| fail("get-many", e))?;
    let texts = found.into_iter().map(|entry| entry.map(|(_, value)| text_of(&value)).transpose());
    Ok(Structured::new(Found { texts: texts.collect::<Result<_, _>>()? }))
}

fn put_notes(a: PutManyArgs) -> ToolResult<String> {
    let count = a.notes.len();
    let mut entries = Vec::with_capacity(count);
    for (id, text) in a.notes {
        entries.push((key(&id), note(text)?));
    }
    draft::batch::set_many(&open()?, &entries).map_err(|e| fail("set-many", e))?;
    Ok(format!("saved {count}"))
}

fn delete_notes(a: IdsArgs) -> ToolResult<String> {
    let keys: Vec<String> = a.ids.iter().map(|id| key(id)).collect();
    draft::batch::delete_many(&open()?, &keys).map_err(|e| fail("delete-many", e))?;
    Ok(format!("deleted {}", keys.len()))
}

fn open_store(a: StoreArgs) -> ToolResult<Structured<Opened>> {
    Ok(Structured::new(match draft2::store::open(&a.name) {
        Ok(_) => Opened { opened: true, error: None },
        Err(e) => Opened { opened: false, error: Some(format!("{e:?}")) },
    }))
}

struct Notes;

impl McpServer for Notes {
    fn tools() -> Tools {
        Tools::new()
            .tool(Tool::new("put_note", put_note).description("Saves text as note `id`.").idempotent())
            .tool(Tool::new("get_note", get_note).description("The text of note `id`.").read_only())
            .tool(Tool::new("has_note", has_note).description("Whether note `id` exists.").read_only())
            .tool(Tool::new("delete_note", delete_note).description("Deletes note `id`.").destructive().idempotent())
            .tool(Tool::new("list_notes", list_notes).description("Ids of notes starting with `prefix`.").read_only())
            .tool(Tool::new("get_notes", get_notes).description("The texts of several notes at once.").read_only())
            .tool(Tool::new("put_notes", put_notes).description("Saves several notes at once.").idempotent())
            .tool(
                Tool::new("delete_notes", delete_notes)
                    .description("Deletes several notes at once.")
                    .destructive()
                    .idempotent(),
            )
            .tool(
                Tool::new("open_store", open_store)
                    .description("Opens a key-value store by name: the host has one per server.")
                    .read_only(),
            )
    }
}

smcp_guest::export_server!(Notes);
