//! MCP-shaped values of the server interface, serialized as MCP's JSON, and
//! their conversion from the guest's typed results ([`super::bindings`]).
//! JSON text from the guest is parsed here: a guest that returns broken JSON
//! gets a typed error.

use super::bindings::types as wit;
use crate::abi::AbiError;
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
    pub(crate) fn from_wit(tool: wit::Tool) -> Res<Tool> {
        let wit::Tool { name, title, description, input_schema, output_schema, annotations } = tool;
        let annotations = annotations.map(|a| {
            let wit::ToolAnnotations { title, read_only_hint, destructive_hint, idempotent_hint, open_world_hint } = a;
            ToolAnnotations { title, read_only_hint, destructive_hint, idempotent_hint, open_world_hint }
        });
        Ok(Tool {
            name,
            title,
            description,
            input_schema: json_object("input-schema", input_schema)?,
            output_schema: output_schema.map(|s| json_object("output-schema", s)).transpose()?,
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
    pub(crate) fn from_wit(contents: wit::ResourceContents) -> ResourceContents {
        let wit::ResourceContents { uri, mime_type, body } = contents;
        let (text, blob) = match body {
            wit::ResourceBody::Text(text) => (Some(text), None),
            wit::ResourceBody::Blob(bytes) => (None, Some(base64(&bytes))),
        };
        ResourceContents { uri, mime_type, text, blob }
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

    pub(crate) fn from_wit(block: wit::ContentBlock) -> ContentBlock {
        match block {
            wit::ContentBlock::Text(text) => ContentBlock::Text { text },
            wit::ContentBlock::Image(wit::Media { data, mime_type }) => {
                ContentBlock::Image { data: base64(&data), mime_type }
            }
            wit::ContentBlock::Audio(wit::Media { data, mime_type }) => {
                ContentBlock::Audio { data: base64(&data), mime_type }
            }
            wit::ContentBlock::ResourceLink(wit::ResourceLink { uri, name, description, mime_type }) => {
                ContentBlock::ResourceLink { uri, name, description, mime_type }
            }
            wit::ContentBlock::EmbeddedResource(contents) => {
                ContentBlock::EmbeddedResource { resource: ResourceContents::from_wit(contents) }
            }
        }
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

    pub(crate) fn from_wit(result: wit::CallResult) -> Res<CallToolResult> {
        let wit::CallResult { content, structured_content, is_error } = result;
        Ok(CallToolResult {
            content: content.into_iter().map(ContentBlock::from_wit).collect(),
            structured_content: structured_content.map(|s| json_object("structured-content", s)).transpose()?,
            is_error,
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
    fn from_wit(input: wit::InputRequired) -> Res<InputRequired> {
        let requests = input
            .requests
            .into_iter()
            .map(|(key, request)| {
                let request = match request {
                    wit::InputRequest::Elicitation(wit::ElicitationRequest { message, requested_schema }) => {
                        InputRequest::Elicitation {
                            message,
                            requested_schema: json_object("requested-schema", requested_schema)?,
                        }
                    }
                    wit::InputRequest::Sampling(params) => InputRequest::Sampling(json_object("sampling", params)?),
                    wit::InputRequest::Roots => InputRequest::Roots,
                };
                Ok((key, request))
            })
            .collect::<Res<_>>()?;
        Ok(InputRequired { requests, state: input.state })
    }

    /// A checkpoint (since 0.1.2): no requests, only state to be called
    /// again with.
    pub fn is_checkpoint(&self) -> bool {
        self.requests.is_empty()
    }

    /// The requests as MCP's `inputRequests` map: key to `{method, params}`.
    pub fn wire_requests(&self) -> serde_json::Map<String, Value> {
        self.requests
            .iter()
            .map(|(key, request)| {
                let (_, method, params) = request.to_mcp();
                (key.clone(), serde_json::json!({ "method": method, "params": params }))
            })
            .collect()
    }

    /// The client capabilities the requests need that `declared` lacks, as
    /// MCP's `requiredCapabilities`.
    pub fn missing_capabilities(&self, declared: &Value) -> serde_json::Map<String, Value> {
        self.requests
            .iter()
            .map(|(_, request)| request.to_mcp().0)
            .filter(|capability| declared.get(*capability).is_none())
            .map(|capability| (capability.to_owned(), serde_json::json!({})))
            .collect()
    }
}

/// How a tool may run as an MCP task (`task-tools`, since 0.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskSupport {
    /// A task when the client supports tasks, else within the request.
    Optional,
    /// Only for clients that support tasks.
    Required,
}

impl From<wit::TaskSupport> for TaskSupport {
    fn from(support: wit::TaskSupport) -> TaskSupport {
        match support {
            wit::TaskSupport::Optional => TaskSupport::Optional,
            wit::TaskSupport::Required => TaskSupport::Required,
        }
    }
}

/// What the host enforces of one listed tool: who may call it (read-only
/// callers only a tool annotated read-only), what its arguments and
/// structured results must fit, and whether it may run as a task. Read
/// from the listing when a version is uploaded and kept with its
/// deployment, so that what the review showed is what every process
/// enforces, whatever the guest lists later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclaredTool {
    pub name: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    pub input_schema: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskSupport>,
}

impl DeclaredTool {
    /// `tool` as listed, with what `task-tools` says of it.
    pub fn of(tool: &Tool, task_tools: &[(String, TaskSupport)]) -> DeclaredTool {
        DeclaredTool {
            name: tool.name.clone(),
            read_only: tool.annotations.as_ref().and_then(|a| a.read_only_hint) == Some(true),
            input_schema: tool.input_schema.clone(),
            output_schema: tool.output_schema.clone(),
            task: task_tools.iter().find(|(name, _)| *name == tool.name).map(|(_, support)| *support),
        }
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

impl ToolOutcome {
    pub(crate) fn from_wit(outcome: wit::ToolOutcome) -> Res<ToolOutcome> {
        Ok(match outcome {
            wit::ToolOutcome::Complete(result) => Outcome::Complete(CallToolResult::from_wit(result)?),
            wit::ToolOutcome::InputRequired(input) => Outcome::InputRequired(InputRequired::from_wit(input)?),
        })
    }
}

impl PromptOutcome {
    pub(crate) fn from_wit(outcome: wit::PromptOutcome) -> Res<PromptOutcome> {
        Ok(match outcome {
            wit::PromptOutcome::Complete(result) => Outcome::Complete(PromptResult::from_wit(result)),
            wit::PromptOutcome::InputRequired(input) => Outcome::InputRequired(InputRequired::from_wit(input)?),
        })
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
    pub(crate) fn from_wit(resource: wit::Resource) -> Resource {
        let wit::Resource { uri, name, title, description, mime_type, size } = resource;
        Resource { uri, name, title, description, mime_type, size }
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
    pub(crate) fn from_wit(template: wit::ResourceTemplate) -> ResourceTemplate {
        let wit::ResourceTemplate { uri_template, name, title, description, mime_type } = template;
        ResourceTemplate { uri_template, name, title, description, mime_type }
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
    pub(crate) fn from_wit(prompt: wit::Prompt) -> Prompt {
        let wit::Prompt { name, title, description, arguments } = prompt;
        let arguments = arguments
            .into_iter()
            .map(|wit::PromptArgument { name, description, required }| PromptArgument { name, description, required })
            .collect();
        Prompt { name, title, description, arguments }
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
    pub(crate) fn from_wit(result: wit::PromptResult) -> PromptResult {
        let messages = result
            .messages
            .into_iter()
            .map(|m| PromptMessage { role: m.role.name().into(), content: ContentBlock::from_wit(m.content) })
            .collect();
        PromptResult { description: result.description, messages }
    }
}

/// What a completion request refers to.
#[derive(Debug, Clone, PartialEq)]
pub enum CompletionRef {
    Prompt(String),
    ResourceTemplate(String),
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Completion {
    pub values: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u32>,
    pub has_more: bool,
}

impl Completion {
    pub(crate) fn from_wit(result: wit::CompletionResult) -> Completion {
        let wit::CompletionResult { values, total, has_more } = result;
        Completion { values, total, has_more }
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
        let tool = wit::Tool {
            name: "t".into(),
            title: None,
            description: None,
            input_schema: "[1]".into(),
            output_schema: None,
            annotations: None,
        };
        assert_eq!(Tool::from_wit(tool.clone()), Err(OutputError::NotAnObject { field: "input-schema" }));
        let broken = wit::Tool { input_schema: "{".into(), ..tool };
        assert!(matches!(Tool::from_wit(broken), Err(OutputError::Json { field: "input-schema", .. })));
    }
}
