//! What a tool returns: content blocks, the finished result, or a request
//! for more input.

use crate::input::InputRequired;
use crate::resource::{ResourceContents, ResourceLink};

/// One block of a tool result or prompt message.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// An image: raw bytes (the host base64-encodes them) and a MIME type.
    Image { data: Vec<u8>, mime_type: String },
    /// Audio: raw bytes and a MIME type.
    Audio { data: Vec<u8>, mime_type: String },
    /// A link to a resource the client may read.
    ResourceLink(ResourceLink),
    /// A resource included inline.
    Resource(ResourceContents),
}

impl Content {
    /// A text block.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text(text.into())
    }

    /// An image block.
    pub fn image(data: Vec<u8>, mime_type: impl Into<String>) -> Self {
        Self::Image { data, mime_type: mime_type.into() }
    }

    /// An audio block.
    pub fn audio(data: Vec<u8>, mime_type: impl Into<String>) -> Self {
        Self::Audio { data, mime_type: mime_type.into() }
    }

    /// The text of a text block.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(t) => Some(t),
            _ => None,
        }
    }
}

impl From<ResourceLink> for Content {
    fn from(link: ResourceLink) -> Self {
        Self::ResourceLink(link)
    }
}

impl From<ResourceContents> for Content {
    fn from(contents: ResourceContents) -> Self {
        Self::Resource(contents)
    }
}

/// A finished tool call.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CallResult {
    /// The blocks shown to the model.
    pub content: Vec<Content>,
    /// A JSON object matching the tool's output schema, as text.
    pub structured_content: Option<String>,
    /// True when the tool failed in a way the model should see.
    pub is_error: bool,
}

impl CallResult {
    /// A successful result of one text block.
    pub fn text(text: impl Into<String>) -> Self {
        Self { content: vec![Content::text(text)], ..Self::default() }
    }

    /// A failed result (`is_error` set) of one text block.
    pub fn error(message: impl Into<String>) -> Self {
        Self { is_error: true, ..Self::text(message) }
    }

    /// A successful result of these blocks.
    pub fn new(content: Vec<Content>) -> Self {
        Self { content, ..Self::default() }
    }

    /// Adds a block.
    pub fn with(mut self, content: impl Into<Content>) -> Self {
        self.content.push(content.into());
        self
    }

    /// Sets the structured content from a serializable value (normally an
    /// object that matches the tool's output schema).
    pub fn with_structured<T: serde::Serialize>(mut self, value: &T) -> Result<Self, crate::ToolError> {
        self.structured_content = Some(serde_json::to_string(value)?);
        Ok(self)
    }
}

impl From<String> for Content {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

impl From<&str> for Content {
    fn from(text: &str) -> Self {
        Self::Text(text.into())
    }
}

/// How a tool call ends: finished, or waiting for the client to answer
/// input requests (after which the host calls the tool again).
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The call finished.
    Complete(CallResult),
    /// The call needs answers from the client first.
    InputRequired(InputRequired),
}

impl From<CallResult> for Outcome {
    fn from(result: CallResult) -> Self {
        Self::Complete(result)
    }
}

impl From<InputRequired> for Outcome {
    fn from(request: InputRequired) -> Self {
        Self::InputRequired(request)
    }
}
