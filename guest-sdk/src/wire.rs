//! Conversions between the SDK's types and the generated WIT types. All
//! knowledge of the generated server-side types lives here and in
//! [`export`](crate::export).

use crate::bindings::smcp::mcp::types as wire;
use crate::completion::{Completion, CompletionRef, CompletionRequest};
use crate::content::{CallResult, Content, Outcome};
use crate::error::ServerError;
use crate::input::{InputRequest, InputRequired};
use crate::prompt::{Prompt, PromptArgument, PromptMessage, PromptOutcome, PromptResult, Role};
use crate::resource::{Resource, ResourceBody, ResourceContents, ResourceLink, ResourcePage, ResourceTemplate};
use crate::tool::{Annotations, ToolInfo};

impl From<ToolInfo> for wire::Tool {
    fn from(t: ToolInfo) -> Self {
        Self {
            name: t.name,
            title: t.title,
            description: t.description,
            input_schema: t.input_schema,
            output_schema: t.output_schema,
            annotations: t.annotations.map(Into::into),
        }
    }
}

impl From<Annotations> for wire::ToolAnnotations {
    fn from(a: Annotations) -> Self {
        Self {
            title: a.title,
            read_only_hint: a.read_only,
            destructive_hint: a.destructive,
            idempotent_hint: a.idempotent,
            open_world_hint: a.open_world,
        }
    }
}

impl From<Outcome> for wire::ToolOutcome {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Complete(r) => Self::Complete(r.into()),
            Outcome::InputRequired(r) => Self::InputRequired(r.into()),
        }
    }
}

impl From<CallResult> for wire::CallResult {
    fn from(r: CallResult) -> Self {
        Self {
            content: r.content.into_iter().map(Into::into).collect(),
            structured_content: r.structured_content,
            is_error: r.is_error,
        }
    }
}

impl From<InputRequired> for wire::InputRequired {
    fn from(r: InputRequired) -> Self {
        let requests = r.requests.into_iter().map(|(key, req)| (key, req.into())).collect();
        Self { requests, state: r.state }
    }
}

impl From<InputRequest> for wire::InputRequest {
    fn from(r: InputRequest) -> Self {
        match r {
            InputRequest::Elicitation { message, requested_schema } => {
                Self::Elicitation(wire::ElicitationRequest { message, requested_schema })
            }
            InputRequest::Sampling(params) => Self::Sampling(params),
            InputRequest::Roots => Self::Roots,
        }
    }
}

impl From<Content> for wire::ContentBlock {
    fn from(c: Content) -> Self {
        match c {
            Content::Text(t) => Self::Text(t),
            Content::Image { data, mime_type } => Self::Image(wire::Media { data, mime_type }),
            Content::Audio { data, mime_type } => Self::Audio(wire::Media { data, mime_type }),
            Content::ResourceLink(l) => Self::ResourceLink(l.into()),
            Content::Resource(r) => Self::EmbeddedResource(r.into()),
        }
    }
}

impl From<ResourceLink> for wire::ResourceLink {
    fn from(l: ResourceLink) -> Self {
        Self { uri: l.uri, name: l.name, description: l.description, mime_type: l.mime_type }
    }
}

impl From<ResourceContents> for wire::ResourceContents {
    fn from(r: ResourceContents) -> Self {
        let body = match r.body {
            ResourceBody::Text(t) => wire::ResourceBody::Text(t),
            ResourceBody::Blob(b) => wire::ResourceBody::Blob(b),
        };
        Self { uri: r.uri, mime_type: r.mime_type, body }
    }
}

impl From<Resource> for wire::Resource {
    fn from(r: Resource) -> Self {
        Self {
            uri: r.uri,
            name: r.name,
            title: r.title,
            description: r.description,
            mime_type: r.mime_type,
            size: r.size,
        }
    }
}

impl From<ResourcePage> for wire::ResourcePage {
    fn from(p: ResourcePage) -> Self {
        Self { resources: p.resources.into_iter().map(Into::into).collect(), next_cursor: p.next_cursor }
    }
}

impl From<ResourceTemplate> for wire::ResourceTemplate {
    fn from(t: ResourceTemplate) -> Self {
        Self {
            uri_template: t.uri_template,
            name: t.name,
            title: t.title,
            description: t.description,
            mime_type: t.mime_type,
        }
    }
}

impl From<Prompt> for wire::Prompt {
    fn from(p: Prompt) -> Self {
        Self {
            name: p.name,
            title: p.title,
            description: p.description,
            arguments: p.arguments.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<PromptArgument> for wire::PromptArgument {
    fn from(a: PromptArgument) -> Self {
        Self { name: a.name, description: a.description, required: a.required }
    }
}

impl From<PromptResult> for wire::PromptResult {
    fn from(p: PromptResult) -> Self {
        Self { description: p.description, messages: p.messages.into_iter().map(Into::into).collect() }
    }
}

impl From<PromptOutcome> for wire::PromptOutcome {
    fn from(o: PromptOutcome) -> Self {
        match o {
            PromptOutcome::Complete(p) => Self::Complete(p.into()),
            PromptOutcome::InputRequired(r) => Self::InputRequired(r.into()),
        }
    }
}

impl From<PromptMessage> for wire::PromptMessage {
    fn from(m: PromptMessage) -> Self {
        let role = match m.role {
            Role::User => wire::Role::User,
            Role::Assistant => wire::Role::Assistant,
        };
        Self { role, content: m.content.into() }
    }
}

impl From<wire::CompletionRequest> for CompletionRequest {
    fn from(r: wire::CompletionRequest) -> Self {
        let reference = match r.reference {
            wire::CompletionRef::Prompt(p) => CompletionRef::Prompt(p),
            wire::CompletionRef::ResourceTemplate(t) => CompletionRef::ResourceTemplate(t),
        };
        Self { reference, argument_name: r.argument_name, argument_value: r.argument_value, context: r.context }
    }
}

impl From<Completion> for wire::CompletionResult {
    fn from(c: Completion) -> Self {
        Self { values: c.values, total: c.total, has_more: c.has_more }
    }
}

impl From<ServerError> for wire::ServerError {
    fn from(e: ServerError) -> Self {
        match e {
            ServerError::NotFound(m) => Self::NotFound(m),
            ServerError::InvalidParams(m) => Self::InvalidParams(m),
            ServerError::Internal(m) => Self::Internal(m),
        }
    }
}
