//! `notes`: notes kept in kv under `note:<id>` as JSON `{text, created_ms}`,
//! listed and readable as resources `note://{id}`, a page of kv keys at a
//! time; changing a note tells the clients subscribed to it. `new_note` also exercises clock, random, log and
//! notify.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use smcp_guest::notify::{self, LogLevel};
use smcp_guest::{
    CapabilityError, McpServer, Resource, ResourceContents, ResourcePage, ResourceTemplate, ServerError, Structured,
    Tool, ToolError, ToolResult, Tools, clock, kv, log, random,
};

const PREFIX: &str = "note:";
/// Most ids `list_notes` returns.
const LIST_LIMIT: u32 = 100;

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
struct ListArgs {
    /// Only ids starting with this.
    #[serde(default)]
    prefix: String,
}

#[derive(Deserialize, JsonSchema)]
struct NewArgs {
    text: String,
}

#[derive(Serialize, JsonSchema)]
struct Ids {
    ids: Vec<String>,
}

#[derive(Serialize, JsonSchema)]
struct Created {
    id: String,
    created_ms: u64,
}

fn key(id: &str) -> String {
    format!("{PREFIX}{id}")
}

const TEMPLATE: &str = "note://{id}";

/// Tells subscribed clients that note `id` changed.
fn changed(id: &str) {
    notify::resource_updated(&format!("note://{id}"));
}

fn put_note(a: PutArgs) -> ToolResult<String> {
    kv::set_json(&key(&a.id), &Note { text: a.text, created_ms: clock::now_ms() })?;
    changed(&a.id);
    Ok(format!("saved note {}", a.id))
}

fn get_note(a: IdArgs) -> ToolResult<String> {
    let note: Option<Note> = kv::get_json(&key(&a.id))?;
    note.map(|n| n.text).ok_or_else(|| ToolError::new(format!("no note `{}`", a.id)))
}

fn list_notes(a: ListArgs) -> ToolResult<Structured<Ids>> {
    let page = kv::list_keys(&key(&a.prefix), None, LIST_LIMIT)?;
    let ids: Vec<String> = page.keys.iter().filter_map(|k| k.strip_prefix(PREFIX)).map(String::from).collect();
    let text = if ids.is_empty() { "no notes".to_string() } else { ids.join("\n") };
    Ok(Structured::new(Ids { ids }).with_text(text))
}

fn delete_note(a: IdArgs) -> ToolResult<String> {
    kv::delete(&key(&a.id))?;
    changed(&a.id);
    Ok(format!("deleted note {}", a.id))
}

/// Stores a note under a fresh random id, reporting progress as it goes.
fn new_note(a: NewArgs) -> ToolResult<Structured<Created>> {
    notify::progress(0.0, Some(2.0), Some("choosing an id"));
    let id: String = random::bytes(8).iter().map(|b| format!("{b:02x}")).collect();
    let created_ms = clock::now_ms();
    notify::progress(1.0, Some(2.0), Some("saving"));
    kv::set_json(&key(&id), &Note { text: a.text, created_ms })?;
    log::info(&format!("created note {id}"));
    notify::log(LogLevel::Info, Some("notes"), &smcp_guest::serde_json::json!({ "created": id }));
    notify::progress(2.0, Some(2.0), Some("done"));
    let text = format!("created note {id}");
    Ok(Structured::new(Created { id, created_ms }).with_text(text))
}

struct Notes;

impl McpServer for Notes {
    fn tools() -> Tools {
        Tools::new()
            .tool(Tool::new("put_note", put_note).description("Saves text as note `id`.").idempotent())
            .tool(Tool::new("get_note", get_note).description("The text of note `id`.").read_only())
            .tool(Tool::new("list_notes", list_notes).description("Ids of notes starting with `prefix`.").read_only())
            .tool(Tool::new("delete_note", delete_note).description("Deletes note `id`.").destructive().idempotent())
            .tool(Tool::new("new_note", new_note).description("Saves text under a new random id."))
    }

    /// One capability call per page, however many notes there are; the
    /// cursor is kv's own (the last key of the page).
    fn resources_page(cursor: Option<&str>) -> Result<ResourcePage, ServerError> {
        let page = kv::list_keys(PREFIX, cursor, LIST_LIMIT).map_err(|e| match e {
            CapabilityError::InvalidInput(m) => ServerError::invalid_params(format!("invalid cursor: {m}")),
            other => other.into(),
        })?;
        let resources = page
            .keys
            .iter()
            .filter_map(|key| key.strip_prefix(PREFIX))
            .map(|id| Resource::new(format!("note://{id}"), id).mime_type("text/plain"))
            .collect();
        Ok(ResourcePage::new(resources, page.cursor))
    }

    fn resource_templates() -> Vec<ResourceTemplate> {
        vec![ResourceTemplate::new(TEMPLATE, "note").description("The text of a note.").mime_type("text/plain")]
    }

    fn read_resource(uri: &str) -> Result<Vec<ResourceContents>, ServerError> {
        let id = smcp_guest::match_uri_template(TEMPLATE, uri)
            .and_then(|vars| vars.into_iter().next().map(|(_, id)| id))
            .ok_or_else(|| ServerError::not_found(format!("no resource `{uri}`")))?;
        let note: Option<Note> = kv::get_json(&key(&id)).map_err(|e| ServerError::internal(e.to_string()))?;
        let note = note.ok_or_else(|| ServerError::not_found(format!("no note `{id}`")))?;
        Ok(vec![ResourceContents::text(uri, note.text).mime_type("text/plain")])
    }
}

smcp_guest::export_server!(Notes);
