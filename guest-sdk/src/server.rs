//! The trait a hosted MCP server implements.

use crate::call::ToolCall;
use crate::completion::{Completion, CompletionRequest};
use crate::error::ServerError;
use crate::prompt::{Prompt, PromptArgs, PromptOutcome, PromptResult};
use crate::resource::{Resource, ResourceContents, ResourcePage, ResourceTemplate};
use crate::tool::Tools;

/// An MCP server. Only [`tools`](Self::tools) is required; everything else
/// defaults to "none" (empty lists, not-found errors).
///
/// Every method is an associated function without `self`: the host runs
/// each call in a fresh instance, so there is no state to keep between
/// calls (use [`kv`](crate::kv) or [`objects`](crate::objects) for that).
/// Wire the type to the host with [`export_server!`](crate::export_server).
pub trait McpServer {
    /// The server's tools. Called for every `list-tools` and `call-tool`,
    /// so keep it cheap: build the list, do no work.
    fn tools() -> Tools;

    /// Every concrete resource, for a server with a short, fixed list. A
    /// server whose resources come from storage overrides
    /// [`resources_page`](Self::resources_page) instead.
    fn resources() -> Vec<Resource> {
        Vec::new()
    }

    /// The page of resources after `cursor` (`None`: the first page). The
    /// cursor is whatever an earlier page's `next_cursor` said, but a client
    /// may send anything: answer [`ServerError::invalid_params`] for one
    /// that makes no sense. An error reaches the client as a JSON-RPC error.
    /// By default it pages [`resources`](Self::resources), 100 at a time.
    fn resources_page(cursor: Option<&str>) -> Result<ResourcePage, ServerError> {
        ResourcePage::of(Self::resources(), cursor)
    }

    /// Every resource template.
    fn resource_templates() -> Vec<ResourceTemplate> {
        Vec::new()
    }

    /// The contents at `uri`: a listed resource or a template match.
    fn read_resource(uri: &str) -> Result<Vec<ResourceContents>, ServerError> {
        Err(ServerError::not_found(format!("unknown resource `{uri}`")))
    }

    /// Every prompt.
    fn prompts() -> Vec<Prompt> {
        Vec::new()
    }

    /// The prompt `name` filled in with `arguments`.
    fn get_prompt(name: &str, arguments: &PromptArgs) -> Result<PromptResult, ServerError> {
        let _ = arguments;
        Err(ServerError::not_found(format!("unknown prompt `{name}`")))
    }

    /// Like [`get_prompt`](Self::get_prompt), for prompts that need input
    /// from the client first: return [`InputRequired`](crate::InputRequired)
    /// and read the answers from `call` on the retry. By default it calls
    /// `get_prompt`.
    fn get_prompt_with_input(
        name: &str,
        arguments: &PromptArgs,
        call: &ToolCall,
    ) -> Result<PromptOutcome, ServerError> {
        let _ = call;
        Ok(Self::get_prompt(name, arguments)?.into())
    }

    /// Completion values for a prompt argument or template variable.
    fn complete(request: &CompletionRequest) -> Result<Completion, ServerError> {
        let _ = request;
        Err(ServerError::not_found("this server offers no completions"))
    }
}
