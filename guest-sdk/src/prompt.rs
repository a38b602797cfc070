//! Prompts: templates of messages a client can fill in and show its user.

use crate::content::Content;
use crate::error::ServerError;
use crate::input::InputRequired;

/// A prompt, as listed to clients.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Prompt {
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub arguments: Vec<PromptArgument>,
}

impl Prompt {
    /// A prompt called `name`, without arguments.
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into(), ..Self::default() }
    }

    /// Sets the human-readable title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Adds an argument the client must supply.
    pub fn required(self, name: impl Into<String>, description: impl Into<String>) -> Self {
        self.argument(name, description, true)
    }

    /// Adds an argument the client may supply.
    pub fn optional(self, name: impl Into<String>, description: impl Into<String>) -> Self {
        self.argument(name, description, false)
    }

    fn argument(mut self, name: impl Into<String>, description: impl Into<String>, required: bool) -> Self {
        self.arguments.push(PromptArgument { name: name.into(), description: Some(description.into()), required });
        self
    }
}

/// One argument of a [`Prompt`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PromptArgument {
    pub name: String,
    pub description: Option<String>,
    pub required: bool,
}

/// The arguments a client filled in, by name.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PromptArgs(pub Vec<(String, String)>);

impl PromptArgs {
    /// The value of `name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The value of `name`, or an invalid-params error naming it.
    pub fn require(&self, name: &str) -> Result<&str, ServerError> {
        self.get(name).ok_or_else(|| ServerError::invalid_params(format!("missing required argument `{name}`")))
    }
}

/// Who speaks a [`PromptMessage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
}

/// One message of a filled-in prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptMessage {
    pub role: Role,
    pub content: Content,
}

impl PromptMessage {
    /// A user message of one text block.
    pub fn user(text: impl Into<String>) -> Self {
        Self { role: Role::User, content: Content::text(text) }
    }

    /// An assistant message of one text block.
    pub fn assistant(text: impl Into<String>) -> Self {
        Self { role: Role::Assistant, content: Content::text(text) }
    }
}

/// A filled-in prompt.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PromptResult {
    pub description: Option<String>,
    pub messages: Vec<PromptMessage>,
}

impl PromptResult {
    /// A prompt result of these messages.
    pub fn new(messages: Vec<PromptMessage>) -> Self {
        Self { description: None, messages }
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Adds a message.
    pub fn message(mut self, message: PromptMessage) -> Self {
        self.messages.push(message);
        self
    }
}

/// What a prompt request produces: the filled-in prompt, or a request for
/// input from the client first (see [`McpServer::get_prompt_with_input`](crate::McpServer::get_prompt_with_input)).
#[derive(Debug, Clone, PartialEq)]
pub enum PromptOutcome {
    Complete(PromptResult),
    InputRequired(InputRequired),
}

impl From<PromptResult> for PromptOutcome {
    fn from(result: PromptResult) -> Self {
        Self::Complete(result)
    }
}

impl From<InputRequired> for PromptOutcome {
    fn from(request: InputRequired) -> Self {
        Self::InputRequired(request)
    }
}
