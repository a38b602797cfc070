//! `input-required`: a tool that needs answers from the client (the user
//! through elicitation, or the client's model through sampling) returns
//! [`InputRequired`]; the host asks, then calls the tool again with the
//! answers and the state the tool chose (see [`ToolCall`](crate::ToolCall)).

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::ToolError;

/// One thing a tool asks of the client.
#[derive(Debug, Clone, PartialEq)]
pub enum InputRequest {
    /// Ask the user: a message and the JSON Schema of the wanted answer.
    Elicitation { message: String, requested_schema: String },
    /// Ask the client's model: MCP `sampling/createMessage` params as JSON.
    Sampling(String),
    /// Ask for the client's roots (MCP `roots/list`).
    Roots,
}

/// The tool cannot finish until the client answers these requests.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InputRequired {
    /// Requests keyed by names the tool chooses.
    pub requests: Vec<(String, InputRequest)>,
    /// Returned unchanged on the next call; the host protects it from tampering.
    pub state: String,
}

impl InputRequired {
    /// No requests yet, empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// A checkpoint: no requests, only `state` (as JSON) to be called
    /// again with, in a fresh instance with fresh fuel. For a tool with
    /// [`TaskSupport`](crate::TaskSupport), the first checkpoint is where a
    /// client that supports tasks gets its task and the rest runs in the
    /// background; otherwise the host goes on within the request.
    pub fn checkpoint<S: Serialize>(state: &S) -> Result<Self, ToolError> {
        Self::new().state_json(state)
    }

    /// True when this asks nothing of the client: a checkpoint.
    pub fn is_checkpoint(&self) -> bool {
        self.requests.is_empty()
    }

    /// Sets the opaque state text.
    pub fn state(mut self, state: impl Into<String>) -> Self {
        self.state = state.into();
        self
    }

    /// Sets the state to `state` serialized as JSON; read it back with
    /// [`ToolCall::state_json`](crate::ToolCall::state_json).
    pub fn state_json<S: Serialize>(self, state: &S) -> Result<Self, ToolError> {
        Ok(self.state(serde_json::to_string(state)?))
    }

    /// Asks the user `message`, wanting an answer shaped like `T` (a flat
    /// struct of strings, numbers, booleans or enums, as MCP requires).
    /// Read the answer with [`ToolCall::elicitation`](crate::ToolCall::elicitation).
    pub fn elicit<T: JsonSchema>(self, key: impl Into<String>, message: impl Into<String>) -> Self {
        self.elicit_with_schema(key, message, crate::schema::input_schema::<T>())
    }

    /// Like [`elicit`](Self::elicit) with a hand-written JSON Schema.
    pub fn elicit_with_schema(
        mut self,
        key: impl Into<String>,
        message: impl Into<String>,
        requested_schema: impl Into<String>,
    ) -> Self {
        let request = InputRequest::Elicitation { message: message.into(), requested_schema: requested_schema.into() };
        self.requests.push((key.into(), request));
        self
    }

    /// Asks the client's model; read the answer with
    /// [`ToolCall::sampling`](crate::ToolCall::sampling).
    pub fn sample(mut self, key: impl Into<String>, request: &SamplingRequest) -> Self {
        self.requests.push((key.into(), InputRequest::Sampling(request.to_json())));
        self
    }
}

impl InputRequired {
    /// Asks for the client's roots; read them with
    /// [`ToolCall::roots`](crate::ToolCall::roots).
    pub fn list_roots(mut self, key: impl Into<String>) -> Self {
        self.requests.push((key.into(), InputRequest::Roots));
        self
    }
}

/// One of the client's roots: a `file://` URI it lets servers work in.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Root {
    pub uri: String,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Deserialize)]
struct RawRoots {
    roots: Vec<Root>,
}

impl Root {
    /// Parses an MCP `ListRootsResult` (`{"roots": [{"uri": .., "name": ..}]}`).
    pub fn list_from_json(json: &str) -> Result<Vec<Root>, ToolError> {
        let raw: RawRoots =
            serde_json::from_str(json).map_err(|e| ToolError::new(format!("malformed roots response: {e}")))?;
        Ok(raw.roots)
    }
}

/// Parameters of an MCP `sampling/createMessage` request with text messages.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SamplingRequest {
    messages: Vec<SamplingMessage>,
    max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    system_prompt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
struct SamplingMessage {
    role: &'static str,
    content: TextBlock,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct TextBlock {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
}

impl SamplingRequest {
    /// A request for at most `max_tokens` tokens, without messages yet.
    pub fn new(max_tokens: u32) -> Self {
        Self { messages: Vec::new(), max_tokens, system_prompt: None, temperature: None }
    }

    /// Adds a user message.
    pub fn user(self, text: impl Into<String>) -> Self {
        self.message("user", text.into())
    }

    /// Adds an assistant message.
    pub fn assistant(self, text: impl Into<String>) -> Self {
        self.message("assistant", text.into())
    }

    /// Sets the system prompt.
    pub fn system(mut self, prompt: impl Into<String>) -> Self {
        self.system_prompt = Some(prompt.into());
        self
    }

    /// Sets the sampling temperature.
    pub fn temperature(mut self, temperature: f64) -> Self {
        self.temperature = Some(temperature);
        self
    }

    fn message(mut self, role: &'static str, text: String) -> Self {
        let content = TextBlock { kind: "text".into(), text: Some(text) };
        self.messages.push(SamplingMessage { role, content });
        self
    }

    /// The params as JSON text.
    pub fn to_json(&self) -> String {
        // Plain strings and numbers: serializing cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The user's answer to an elicitation.
#[derive(Debug, Clone, PartialEq)]
pub enum Elicitation<T> {
    /// The user submitted `T`.
    Accept(T),
    /// The user declined to answer.
    Decline,
    /// The user dismissed the request.
    Cancel,
}

#[derive(Deserialize)]
struct RawElicitation {
    action: String,
    #[serde(default)]
    content: Option<serde_json::Value>,
}

impl<T: DeserializeOwned> Elicitation<T> {
    /// Parses an MCP `ElicitResult` (`{"action": "accept", "content": {..}}`).
    pub fn from_json(json: &str) -> Result<Self, ToolError> {
        let raw: RawElicitation =
            serde_json::from_str(json).map_err(|e| ToolError::new(format!("malformed elicitation response: {e}")))?;
        match raw.action.as_str() {
            "accept" => {
                let content = raw.content.unwrap_or_else(|| serde_json::json!({}));
                let value = serde_json::from_value(content)
                    .map_err(|e| ToolError::new(format!("elicitation answer does not fit: {e}")))?;
                Ok(Self::Accept(value))
            }
            "decline" => Ok(Self::Decline),
            "cancel" => Ok(Self::Cancel),
            other => Err(ToolError::new(format!("unknown elicitation action `{other}`"))),
        }
    }
}

/// The client's model's answer to a sampling request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sampled {
    /// The text of the first text block, if any.
    pub text: Option<String>,
    /// The model that answered, as the client reports it.
    pub model: Option<String>,
    /// Why the model stopped, as the client reports it.
    pub stop_reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSampled {
    #[serde(default)]
    content: Option<OneOrMany>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    stop_reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(TextBlock),
    Many(Vec<TextBlock>),
}

impl Sampled {
    /// Parses an MCP `CreateMessageResult`; its content may be one block or
    /// a list of blocks.
    pub fn from_json(json: &str) -> Result<Self, ToolError> {
        let raw: RawSampled =
            serde_json::from_str(json).map_err(|e| ToolError::new(format!("malformed sampling response: {e}")))?;
        let blocks = match raw.content {
            None => Vec::new(),
            Some(OneOrMany::One(block)) => vec![block],
            Some(OneOrMany::Many(blocks)) => blocks,
        };
        let text = blocks.into_iter().find(|b| b.kind == "text").and_then(|b| b.text);
        Ok(Self { text, model: raw.model, stop_reason: raw.stop_reason })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Deserialize, JsonSchema)]
    struct Confirm {
        ok: bool,
    }

    #[test]
    fn elicitation_answers() {
        let a = Elicitation::<Confirm>::from_json(r#"{"action":"accept","content":{"ok":true}}"#);
        assert_eq!(a.unwrap(), Elicitation::Accept(Confirm { ok: true }));
        let d = Elicitation::<Confirm>::from_json(r#"{"action":"decline"}"#).unwrap();
        assert_eq!(d, Elicitation::Decline);
        let bad = Elicitation::<Confirm>::from_json(r#"{"action":"accept","content":{"ok":"yes"}}"#);
        assert!(bad.unwrap_err().message().contains("does not fit"));
    }

    #[test]
    fn sampling_answers() {
        let one = r#"{"role":"assistant","content":{"type":"text","text":"hi"},"model":"m","stopReason":"endTurn"}"#;
        let s = Sampled::from_json(one).unwrap();
        assert_eq!(s.text.as_deref(), Some("hi"));
        assert_eq!(s.stop_reason.as_deref(), Some("endTurn"));
        let many = r#"{"role":"assistant","content":[{"type":"image"},{"type":"text","text":"yo"}]}"#;
        assert_eq!(Sampled::from_json(many).unwrap().text.as_deref(), Some("yo"));
    }

    #[test]
    fn roots_answers() {
        let roots = Root::list_from_json(r#"{"roots":[{"uri":"file:///a","name":"A"},{"uri":"file:///b"}]}"#).unwrap();
        assert_eq!(roots.len(), 2);
        assert_eq!(roots[0].name.as_deref(), Some("A"));
        assert_eq!(roots[1].name, None);
        assert!(Root::list_from_json(r#"{"roots":7}"#).is_err());
    }

    #[test]
    fn sampling_request_json() {
        let r = SamplingRequest::new(50).system("be brief").user("hello");
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(v["maxTokens"], 50);
        assert_eq!(v["systemPrompt"], "be brief");
        assert_eq!(v["messages"][0]["content"]["text"], "hello");
    }

    #[test]
    fn elicit_derives_schema() {
        let req = InputRequired::new().elicit::<Confirm>("c", "Sure?");
        let InputRequest::Elicitation { requested_schema, .. } = &req.requests[0].1 else {
            panic!("not an elicitation")
        };
        let v: serde_json::Value = serde_json::from_str(requested_schema).unwrap();
        assert_eq!(v["properties"]["ok"]["type"], "boolean");
    }
}
