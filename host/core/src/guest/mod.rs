//! The MCP server a component provides, as typed async calls. Each call runs
//! in a fresh instance of the component (see [`Runtime::call`]).

pub mod bindings;
mod listing;
pub use listing::excerpt;
pub mod plain;
mod types;

pub use types::*;

use crate::abi::{AbiError, Val};
use crate::capabilities::Grant;
use crate::names::TenantId;
use crate::runtime::{CallError, Component, HostCalls, Limits, Runtime};
use bindings::{server, types as wit};
use serde_json::Value;
use std::sync::Arc;

/// A server as a tenant deployed it: its component and grant, served at
/// [`crate::names::endpoint`]`(tenant, server)`.
#[derive(Clone)]
pub struct Hosted {
    pub tenant: TenantId,
    pub server: String,
    pub component: Arc<Component>,
    pub grant: Grant,
    /// Its tools as listed when it was uploaded, which the host enforces;
    /// `None` when that listing failed (or for a deployment stored before
    /// the host kept it), and the host lists them itself on first use.
    pub tools: Option<Arc<[DeclaredTool]>>,
}

/// Why a server call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ServerError {
    /// The guest did not finish: a limit, a trap, an ABI violation.
    #[error(transparent)]
    Call(#[from] CallError),
    /// The guest finished with output MCP cannot carry.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// Unknown tool, resource or prompt.
    #[error("not found: {0}")]
    NotFound(String),
    /// The request's parameters do not fit.
    #[error("invalid params: {0}")]
    InvalidParams(String),
    /// The guest reported a failure of its own.
    #[error("server error: {0}")]
    Internal(String),
}

/// The longest cursor passed to or accepted from a guest's own paging.
pub const MAX_CURSOR_BYTES: usize = 1024;

/// What a server answered for one `resources/list` request.
#[derive(Debug, Clone, PartialEq)]
pub enum ResourceListing {
    /// Every resource, from a server built against 0.1.0: the host pages it.
    All(Vec<Resource>),
    /// One page the server made, and the cursor of the next.
    Page { resources: Vec<Resource>, next_cursor: Option<String> },
}

/// The client's answer to one of a tool's input requests.
#[derive(Debug, Clone, PartialEq)]
pub struct InputResponse {
    pub key: String,
    pub response: Value,
}

/// One hosted server: a loaded component and the limits its calls run under.
pub struct Server<'a> {
    pub runtime: &'a Runtime,
    pub component: &'a Component,
    pub limits: Limits,
}

impl Server<'_> {
    /// True for a plain component: tools only ([`plain`]).
    fn is_plain(&self) -> bool {
        self.component.prepared.plain.is_some()
    }

    /// Calls export `name` with `args` and lifts its result with `result`.
    async fn call<H: HostCalls, T>(
        &self,
        host: &mut H,
        name: &str,
        args: Vec<Val>,
        result: fn(Val) -> Result<T, AbiError>,
    ) -> Result<T, ServerError> {
        let value = self.runtime.call(self.component, name, &args, &self.limits, host).await?;
        let value = value.ok_or_else(|| CallError::Internal(format!("{name} returned nothing")))?;
        Ok(result(value).map_err(OutputError::from)?)
    }

    /// The server's tools, checked ([`listing::check_tools`]): a server
    /// whose list breaks the rules serves no tools at all.
    pub async fn list_tools<H: HostCalls>(&self, host: &mut H) -> Result<Vec<Tool>, ServerError> {
        use server::list_tools as export;
        if let Some(funcs) = &self.component.prepared.plain {
            return Ok(plain::tools(funcs));
        }
        let tools = self.call(host, export::NAME, export::args(), export::result).await?;
        let tools = tools.into_iter().map(Tool::from_wit).collect::<Result<Vec<_>, _>>()?;
        listing::check_tools(&tools)?;
        Ok(tools)
    }

    /// Runs a tool. `arguments` must be a JSON object; `responses` and
    /// `state` are empty on a first call and set when retrying after
    /// [`ToolOutcome::InputRequired`].
    pub async fn call_tool<H: HostCalls>(
        &self,
        host: &mut H,
        name: &str,
        arguments: &Value,
        responses: &[InputResponse],
        state: Option<&str>,
    ) -> Result<ToolOutcome, ServerError> {
        use server::call_tool as export;
        if let Some(funcs) = &self.component.prepared.plain {
            return plain::call_tool(self.runtime, self.component, funcs, &self.limits, host, name, arguments).await;
        }
        if !arguments.is_object() {
            return Err(ServerError::InvalidParams("tool arguments must be a JSON object".into()));
        }
        let args = export::args(name.into(), arguments.to_string(), wit_responses(responses), state.map(Into::into));
        let outcome = self.call(host, export::NAME, args, export::result).await?.map_err(ServerError::from)?;
        Ok(ToolOutcome::from_wit(outcome)?)
    }

    /// The tools that may run as tasks, and how (`task-tools`, since
    /// 0.1.2; none for a server without it). Names not among `tools` are
    /// dropped by the caller.
    pub async fn task_tools<H: HostCalls>(&self, host: &mut H) -> Result<Vec<(String, TaskSupport)>, ServerError> {
        use server::task_tools as export;
        if self.is_plain() || !self.component.exports_server_function(export::NAME) {
            return Ok(Vec::new());
        }
        let tools = self.call(host, export::NAME, export::args(), export::result).await?;
        Ok(tools.into_iter().map(|t| (t.name, t.support.into())).collect())
    }

    /// The resources for one `resources/list` request: a page the server
    /// made after `cursor` (`list-resources-page`, since 0.1.1), or the whole
    /// list of a server built against 0.1.0, for the host to page.
    pub async fn list_resources<H: HostCalls>(
        &self,
        host: &mut H,
        cursor: Option<&str>,
    ) -> Result<ResourceListing, ServerError> {
        if self.is_plain() {
            return Ok(ResourceListing::All(Vec::new()));
        }
        let check = |resources: &[Resource]| {
            listing::check_resources(resources.iter().map(|r| (r.uri.as_str(), r.name.as_str())), "resources")
        };
        if !self.component.exports_server_function(server::list_resources_page::NAME) {
            use server::list_resources as export;
            let resources = self.call(host, export::NAME, export::args(), export::result).await?;
            let resources: Vec<Resource> = resources.into_iter().map(Resource::from_wit).collect();
            check(&resources)?;
            return Ok(ResourceListing::All(resources));
        }
        use server::list_resources_page as export;
        if cursor.is_some_and(|c| c.len() > MAX_CURSOR_BYTES) {
            return Err(ServerError::InvalidParams(format!("`cursor` is longer than {MAX_CURSOR_BYTES} bytes")));
        }
        let page = self.call(host, export::NAME, export::args(cursor.map(Into::into)), export::result).await?;
        let page = page.map_err(ServerError::from)?;
        let resources: Vec<Resource> = page.resources.into_iter().map(Resource::from_wit).collect();
        check(&resources)?;
        let next_cursor = match page.next_cursor {
            Some(c) if c.is_empty() || c.len() > MAX_CURSOR_BYTES => {
                let problem =
                    format!("a next cursor must have 1 to {MAX_CURSOR_BYTES} bytes, so a client can send it back");
                return Err(OutputError::Listing { what: "resources", problem }.into());
            }
            next => next,
        };
        Ok(ResourceListing::Page { resources, next_cursor })
    }

    pub async fn list_resource_templates<H: HostCalls>(
        &self,
        host: &mut H,
    ) -> Result<Vec<ResourceTemplate>, ServerError> {
        use server::list_resource_templates as export;
        if self.is_plain() {
            return Ok(Vec::new());
        }
        let templates = self.call(host, export::NAME, export::args(), export::result).await?;
        let templates: Vec<ResourceTemplate> = templates.into_iter().map(ResourceTemplate::from_wit).collect();
        listing::check_resources(
            templates.iter().map(|t| (t.uri_template.as_str(), t.name.as_str())),
            "resource templates",
        )?;
        Ok(templates)
    }

    pub async fn read_resource<H: HostCalls>(
        &self,
        host: &mut H,
        uri: &str,
    ) -> Result<Vec<ResourceContents>, ServerError> {
        use server::read_resource as export;
        if self.is_plain() {
            return Err(ServerError::NotFound(format!("resource `{uri}`")));
        }
        let contents = self.call(host, export::NAME, export::args(uri.into()), export::result).await?;
        Ok(contents.map_err(ServerError::from)?.into_iter().map(ResourceContents::from_wit).collect())
    }

    pub async fn list_prompts<H: HostCalls>(&self, host: &mut H) -> Result<Vec<Prompt>, ServerError> {
        use server::list_prompts as export;
        if self.is_plain() {
            return Ok(Vec::new());
        }
        let prompts = self.call(host, export::NAME, export::args(), export::result).await?;
        let prompts: Vec<Prompt> = prompts.into_iter().map(Prompt::from_wit).collect();
        listing::check_names(prompts.iter().map(|p| p.name.as_str()), "prompts")?;
        Ok(prompts)
    }

    /// Fills in a prompt; like [`call_tool`](Self::call_tool), it may ask
    /// for input first.
    pub async fn get_prompt<H: HostCalls>(
        &self,
        host: &mut H,
        name: &str,
        arguments: &[(String, String)],
        responses: &[InputResponse],
        state: Option<&str>,
    ) -> Result<PromptOutcome, ServerError> {
        use server::get_prompt as export;
        if self.is_plain() {
            return Err(ServerError::NotFound(format!("prompt `{name}`")));
        }
        let args = export::args(name.into(), arguments.to_vec(), wit_responses(responses), state.map(Into::into));
        let outcome = self.call(host, export::NAME, args, export::result).await?.map_err(ServerError::from)?;
        Ok(PromptOutcome::from_wit(outcome)?)
    }

    pub async fn complete<H: HostCalls>(
        &self,
        host: &mut H,
        reference: &CompletionRef,
        argument: (&str, &str),
        context: &[(String, String)],
    ) -> Result<Completion, ServerError> {
        use server::complete as export;
        if self.is_plain() {
            return Ok(Completion::default());
        }
        let reference = match reference {
            CompletionRef::Prompt(name) => wit::CompletionRef::Prompt(name.clone()),
            CompletionRef::ResourceTemplate(uri) => wit::CompletionRef::ResourceTemplate(uri.clone()),
        };
        let request = wit::CompletionRequest {
            reference,
            argument_name: argument.0.into(),
            argument_value: argument.1.into(),
            context: context.to_vec(),
        };
        let result = self.call(host, export::NAME, export::args(request), export::result).await?;
        Ok(Completion::from_wit(result.map_err(ServerError::from)?))
    }
}

/// The client's answers as the guest receives them.
fn wit_responses(responses: &[InputResponse]) -> Vec<wit::InputResponse> {
    responses.iter().map(|r| wit::InputResponse { key: r.key.clone(), response: r.response.to_string() }).collect()
}

impl From<wit::ServerError> for ServerError {
    fn from(error: wit::ServerError) -> ServerError {
        match error {
            wit::ServerError::NotFound(message) => ServerError::NotFound(message),
            wit::ServerError::InvalidParams(message) => ServerError::InvalidParams(message),
            wit::ServerError::Internal(message) => ServerError::Internal(message),
        }
    }
}
