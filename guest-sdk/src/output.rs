//! The values a tool handler may return, and how each becomes an
//! [`Outcome`]. The output schema comes from the type, so a tool's listing
//! and its results cannot disagree.

use schemars::JsonSchema;
use serde::Serialize;

use crate::content::{CallResult, Content, Outcome};
use crate::input::InputRequired;

/// A value a tool handler can return.
pub trait ToolOutput {
    /// The JSON Schema of the structured content this type produces, if any.
    fn output_schema() -> Option<String> {
        None
    }

    /// The outcome sent to the host.
    fn into_outcome(self) -> Outcome;
}

impl ToolOutput for String {
    fn into_outcome(self) -> Outcome {
        CallResult::text(self).into()
    }
}

impl ToolOutput for &'static str {
    fn into_outcome(self) -> Outcome {
        CallResult::text(self).into()
    }
}

impl ToolOutput for Content {
    fn into_outcome(self) -> Outcome {
        CallResult::new(vec![self]).into()
    }
}

impl ToolOutput for Vec<Content> {
    fn into_outcome(self) -> Outcome {
        CallResult::new(self).into()
    }
}

impl ToolOutput for CallResult {
    fn into_outcome(self) -> Outcome {
        self.into()
    }
}

impl ToolOutput for InputRequired {
    fn into_outcome(self) -> Outcome {
        self.into()
    }
}

impl ToolOutput for Outcome {
    fn into_outcome(self) -> Outcome {
        self
    }
}

/// A typed result: `T` serialized as the structured content, `T`'s schema
/// as the tool's output schema, and (as MCP recommends for older clients)
/// the same JSON, or a text of your choice, as a text block.
///
/// `T` should serialize to a JSON object: MCP requires structured content
/// to be one.
#[derive(Debug, Clone, PartialEq)]
pub struct Structured<T> {
    pub value: T,
    /// Text shown instead of the JSON, when set.
    pub text: Option<String>,
}

impl<T> Structured<T> {
    /// `value`, with its JSON as the text block.
    pub fn new(value: T) -> Self {
        Self { value, text: None }
    }

    /// Uses `text` as the text block instead of the JSON.
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }
}

impl<T: Serialize + JsonSchema> ToolOutput for Structured<T> {
    fn output_schema() -> Option<String> {
        Some(crate::schema::output_schema::<T>())
    }

    fn into_outcome(self) -> Outcome {
        match serde_json::to_string(&self.value) {
            Ok(json) => {
                let text = self.text.unwrap_or_else(|| json.clone());
                CallResult { structured_content: Some(json), ..CallResult::text(text) }.into()
            }
            Err(e) => CallResult::error(format!("cannot serialize the tool's result: {e}")).into(),
        }
    }
}
