//! MCP-shaped values of the server interface, serialized as MCP's JSON, and
//! their conversion from the guest's lifted values. JSON text from the guest
//! is parsed here: a guest that returns broken JSON gets a typed error.

use crate::abi::{AbiError, Val};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A guest result that lifted fine but is not what MCP needs.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OutputError {
    #[error(transparent)]
    Abi(#[from] AbiError),
    #[error("guest returned invalid JSON in `{field}`: {message}")]
    Json { field: &'static str, message: String },
    #[error("guest returned `{field}` that is not a JSON object")]
    NotAnObject { field: &'static str },
    #[error("guest listed {what} that MCP clients cannot rely on: {problem}")]
    Listing { what: &'static str, problem: String },
}

type Res<T> = Result<T, OutputError>;

fn json(field: &'static str, text: String) -> Res<Value> {
    serde_json::from_str(&text).map_err(|e| OutputError::Json { field, message: e.to_string() })
}

fn json_object(field: &'static str, text: String) -> Res<Value> {
    let value = json(field, text)?;
    if value.is_object() { Ok(value) } else { Err(OutputError::NotAnObject { field }) }
}

fn opt_string(v: Val) -> Res<Option<String>> {
    Ok(v.into_opt_string()?)
}

fn opt_bool(v: Val) -> Res<Option<bool>> {
    Ok(v.into_option()?.map(|b| b.as_bool()).transpose()?)
}

fn list<T>(v: Val, f: impl Fn(Val) -> Res<T>) -> Res<Vec<T>> {
    v.into_list()?.into_iter().map(f).collect()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ToolAnnotations {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only_hint: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destructive_hint: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotent_hint: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_world_hint: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tool {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub input_schema: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<ToolAnnotations>,
}

impl Tool {
    pub(crate) fn from_val(v: Val) -> Res<Tool> {
        let [name, title, description, input, output, annotations] = v.into_record()?;
        let annotations = annotations
            .into_option()?
            .map(|a| -> Res<ToolAnnotations> {
                let [title, ro, de, id, ow] = a.into_record()?;
                Ok(ToolAnnotations {
                    title: opt_string(title)?,
                    read_only_hint: opt_bool(ro)?,
                    destructive_hint: opt_bool(de)?,
                    idempotent_hint: opt_bool(id)?,
                    open_world_hint: opt_bool(ow)?,
                })
            })
            .transpose()?;
        Ok(Tool {
            name: name.into_string()?,
            title: opt_string(title)?,
            description: opt_string(description)?,
            input_schema: json_object("input-schema", input.into_string()?)?,
            output_schema: opt_string(output)?.map(|s| json_object("output-schema", s)).transpose()?,
            annotations,
        })
    }
}

/// Resource contents: text or base64 blob, as MCP sends them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceContents {
    pub uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Base64 (standard alphabet, padded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blob: Option<String>,
}

impl ResourceContents {
    pub(crate) fn from_val(v: Val) -> Res<ResourceContents> {
        let [uri, mime_type, body] = v.into_record()?;
        let (text, blob) = match body.into_variant()? {
            (0, Some(t)) => (Some(t.into_string()?), None),
            (1, Some(b)) => (None, Some(base64(&b.into_bytes()?))),
            _ => return Err(AbiError::HostMismatch("resource-body").into()),
        };
        Ok(ResourceContents { uri: uri.into_string()?, mime_type: opt_string(mime_type)?, text, blob })
    }
}

/// One content block of a tool result or prompt message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    Text {
        text: String,
    },
    Image {
        data: String,
        #[serde(rename = "mimeType")]
        mime_type: String,
    },
    Audio {
        data: String,
        #[serde(rename = "mimeType")]
        mime_type: String,
    },
    ResourceLink {
        uri: String,
        name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        #[serde(rename = "mimeType", skip_serializing_if = "Option::is_none")]
        mime_type: Option<String>,
    },
    #[serde(rename = "resource")]
    EmbeddedResource {
        resource: ResourceContents,
    },
}

impl ContentBlock {
    pub fn text(text: impl Into<String>) -> ContentBlock {
        ContentBlock::Text { text: text.into() }
    }

    pub(crate) fn from_val(v: Val) -> Res<ContentBlock> {
        let media = |m: Val| -> Res<(String, String)> {
            let [data, mime] = m.into_record()?;
            Ok((base64(&data.into_bytes()?), mime.into_string()?))
        };
        let mismatch = || OutputError::Abi(AbiError::HostMismatch("content-block"));
        Ok(match v.into_variant()? {
            (0, Some(t)) => ContentBlock::Text { text: t.into_string()? },
            (1, Some(m)) => {
                let (data, mime_type) = media(m)?;
                ContentBlock::Image { data, mime_type }
            }
            (2, Some(m)) => {
                let (data, mime_type) = media(m)?;
                ContentBlock::Audio { data, mime_type }
            }
            (3, Some(l)) => {
                let [uri, name, description, mime_type] = l.into_record()?;
                ContentBlock::ResourceLink {
                    uri: uri.into_string()?,
                    name: name.into_string()?,
                    description: opt_string(description)?,
                    mime_type: opt_string(mime_type)?,
                }
            }
            (4, Some(r)) => ContentBlock::EmbeddedResource { resource: ResourceContents::from_val(r)? },
            _ => return Err(mismatch()),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallToolResult {
    pub content: Vec<ContentBlock>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub structured_content: Option<Value>,
    pub is_error: bool,
}

impl CallToolResult {
    /// A tool error the model should see (MCP's `isError: true`).
    pub fn error(message: impl Into<String>) -> CallToolResult {
        CallToolResult { content: vec![ContentBlock::text(message)], structured_content: None, is_error: true }
    }

    pub(crate) fn from_val(v: Val) -> Res<CallToolResult> {
        let [content, structured, is_error] = v.into_record()?;
        Ok(CallToolResult {
            content: list(content, ContentBlock::from_val)?,
            structured_content: opt_string(structured)?.map(|s| json_object("structured-content", s)).transpose()?,
            is_error: is_error.as_bool()?,
        })
    }
}

/// One thing a tool asks of the client before it can finish.
#[derive(Debug, Clone, PartialEq)]
pub enum InputRequest {
    /// `elicitation/create` params: message and requested schema.
    Elicitation { message: String, requested_schema: Value },
    /// `sampling/createMessage` params.
    Sampling(Value),
    /// `roots/list`.
    Roots,
}

impl InputRequest {
    /// The client capability the request needs, the MCP method that asks,
    /// and its params.
    pub fn to_mcp(&self) -> (&'static str, &'static str, Value) {
        match self {
            InputRequest::Elicitation { message, requested_schema } => (
                "elicitation",
                "elicitation/create",
                serde_json::json!({ "mode": "form", "message": message, "requestedSchema": requested_schema }),
            ),
            InputRequest::Sampling(params) => ("sampling", "sampling/createMessage", params.clone()),
            InputRequest::Roots => ("roots", "roots/list", serde_json::json!({})),
        }
    }
}

/// The guest cannot finish until the client answers `requests`; `state`
/// comes back unchanged on the retry.
#[derive(Debug, Clone, PartialEq)]
pub struct InputRequired {
    pub requests: Vec<(String, InputRequest)>,
    pub state: String,
}

impl InputRequired {
    fn from_val(v: Val) -> Res<InputRequired> {
        let [requests, state] = v.into_record()?;
        let requests = list(requests, |pair| {
            let [key, request] = pair.into_record()?;
            let request = match request.into_variant()? {
                (0, Some(e)) => {
                    let [message, schema] = e.into_record()?;
                    InputRequest::Elicitation {
                        message: message.into_string()?,
                        requested_schema: json_object("requested-schema", schema.into_string()?)?,
                    }
                }
                (1, Some(params)) => InputRequest::Sampling(json_object("sampling", params.into_string()?)?),
                (2, None) => InputRequest::Roots,
                _ => return Err(AbiError::HostMismatch("input-request").into()),
            };
            Ok((key.into_string()?, request))
        })?;
        Ok(InputRequired { requests, state: state.into_string()? })
    }
}

/// A result, or a request for input first (tools and prompts).
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome<T> {
    Complete(T),
    InputRequired(InputRequired),
}

pub type ToolOutcome = Outcome<CallToolResult>;
pub type PromptOutcome = Outcome<PromptResult>;

impl<T> Outcome<T> {
    pub(crate) fn from_val(v: Val, complete: fn(Val) -> Res<T>) -> Res<Outcome<T>> {
        match v.into_variant()? {
            (0, Some(result)) => Ok(Outcome::Complete(complete(result)?)),
            (1, Some(input)) => Ok(Outcome::InputRequired(InputRequired::from_val(input)?)),
            _ => Err(AbiError::HostMismatch("outcome").into()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    pub uri: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

impl Resource {
    pub(crate) fn from_val(v: Val) -> Res<Resource> {
        let [uri, name, title, description, mime_type, size] = v.into_record()?;
        Ok(Resource {
            uri: uri.into_string()?,
            name: name.into_string()?,
            title: opt_string(title)?,
            description: opt_string(description)?,
            mime_type: opt_string(mime_type)?,
            size: size.into_option()?.map(|s| s.as_u64()).transpose()?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceTemplate {
    pub uri_template: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
}

impl ResourceTemplate {
    pub(crate) fn from_val(v: Val) -> Res<ResourceTemplate> {
        let [uri_template, name, title, description, mime_type] = v.into_record()?;
        Ok(ResourceTemplate {
            uri_template: uri_template.into_string()?,
            name: name.into_string()?,
            title: opt_string(title)?,
            description: opt_string(description)?,
            mime_type: opt_string(mime_type)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptArgument {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub required: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prompt {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub arguments: Vec<PromptArgument>,
}

impl Prompt {
    pub(crate) fn from_val(v: Val) -> Res<Prompt> {
        let [name, title, description, arguments] = v.into_record()?;
        Ok(Prompt {
            name: name.into_string()?,
            title: opt_string(title)?,
            description: opt_string(description)?,
            arguments: list(arguments, |a| {
                let [name, description, required] = a.into_record()?;
                Ok(PromptArgument {
                    name: name.into_string()?,
                    description: opt_string(description)?,
                    required: required.as_bool()?,
                })
            })?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptMessage {
    pub role: String,
    pub content: ContentBlock,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptResult {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub messages: Vec<PromptMessage>,
}

impl PromptResult {
    pub(crate) fn from_val(v: Val) -> Res<PromptResult> {
        let [description, messages] = v.into_record()?;
        Ok(PromptResult {
            description: opt_string(description)?,
            messages: list(messages, |m| {
                let [role, content] = m.into_record()?;
                let role = if role.into_enum()? == 0 { "user" } else { "assistant" };
                Ok(PromptMessage { role: role.into(), content: ContentBlock::from_val(content)? })
            })?,
        })
    }
}

/// What a completion request refers to.
#[derive(Debug, Clone, PartialEq)]
pub enum CompletionRef {
    Prompt(String),
    ResourceTemplate(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Completion {
    pub values: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u32>,
    pub has_more: bool,
}

impl Completion {
    pub(crate) fn from_val(v: Val) -> Res<Completion> {
        let [values, total, has_more] = v.into_record()?;
        Ok(Completion {
            values: list(values, |s| Ok(s.into_string()?))?,
            total: total.into_option()?.map(|t| t.as_u32()).transpose()?,
            has_more: has_more.as_bool()?,
        })
    }
}

/// Standard base64 with padding, as MCP carries binary data.
pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_with_non_object_schema_is_refused() {
        let tool =
            Val::Record(vec![Val::string("t"), Val::none(), Val::none(), Val::string("[1]"), Val::none(), Val::none()]);
        assert_eq!(Tool::from_val(tool), Err(OutputError::NotAnObject { field: "input-schema" }));
    }
}
