//! What a tool or prompt handler can learn about the call it serves beyond
//! its arguments: the answers to its input requests and its state.

use serde::de::DeserializeOwned;

use crate::error::ToolError;
use crate::input::{Elicitation, Root, Sampled};

/// The call being served. On a first call there are no responses and no
/// state; after [`InputRequired`](crate::InputRequired) the host calls the
/// tool again with the client's answers and the state unchanged.
#[derive(Debug, Clone, Copy)]
pub struct ToolCall<'a> {
    name: &'a str,
    responses: &'a [(String, String)],
    state: Option<&'a str>,
}

impl<'a> ToolCall<'a> {
    /// A call of tool `name` with these responses (key, JSON) and state.
    pub fn new(name: &'a str, responses: &'a [(String, String)], state: Option<&'a str>) -> Self {
        Self { name, responses, state }
    }

    /// The tool's name.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// True when this is a retry after `input-required`.
    pub fn is_retry(&self) -> bool {
        self.state.is_some() || !self.responses.is_empty()
    }

    /// The state the tool returned with its input requests.
    pub fn state(&self) -> Option<&'a str> {
        self.state
    }

    /// The state parsed from JSON (see [`InputRequired::state_json`](crate::InputRequired::state_json)).
    pub fn state_json<S: DeserializeOwned>(&self) -> Result<Option<S>, ToolError> {
        self.state
            .map(|s| serde_json::from_str(s).map_err(|e| ToolError::new(format!("malformed state: {e}"))))
            .transpose()
    }

    /// The raw JSON answer to the request with this key.
    pub fn response(&self, key: &str) -> Option<&'a str> {
        self.responses.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The user's answer to the elicitation with this key.
    pub fn elicitation<T: DeserializeOwned>(&self, key: &str) -> Result<Option<Elicitation<T>>, ToolError> {
        self.response(key).map(Elicitation::from_json).transpose()
    }

    /// The model's answer to the sampling request with this key.
    pub fn sampling(&self, key: &str) -> Result<Option<Sampled>, ToolError> {
        self.response(key).map(Sampled::from_json).transpose()
    }

    /// The client's roots, answering the `list_roots` request with this key.
    pub fn roots(&self, key: &str) -> Result<Option<Vec<Root>>, ToolError> {
        self.response(key).map(Root::list_from_json).transpose()
    }
}
