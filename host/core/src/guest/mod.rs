//! The MCP server a component provides, as typed async calls. Each call runs
//! in a fresh instance of the component (see [`Runtime::call`]).

mod listing;
pub use listing::excerpt;
mod types;

pub use types::*;

use crate::abi::Val;
use crate::capabilities::Grant;
use crate::names::TenantId;
use crate::runtime::{CallError, Component, HostCalls, Limits, Runtime};
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
    async fn call<H: HostCalls>(&self, host: &mut H, name: &str, args: &[Val]) -> Result<Val, ServerError> {
        let result = self.runtime.call(self.component, name, args, &self.limits, host).await?;
        result.ok_or_else(|| CallError::Internal(format!("{name} returned nothing")).into())
    }

    /// Calls an export that returns `result<T, server-error>`.
    async fn call_fallible<H: HostCalls>(&self, host: &mut H, name: &str, args: &[Val]) -> Result<Val, ServerError> {
        match self.call(host, name, args).await?.into_result().map_err(OutputError::from)? {
            Ok(Some(v)) => Ok(v),
            Ok(None) => Err(CallError::Internal(format!("{name} returned no value")).into()),
            Err(error) => Err(server_error(error)?),
        }
    }

    /// Converts each element of a returned list.
    fn each<T>(list: Val, convert: fn(Val) -> Result<T, OutputError>) -> Result<Vec<T>, ServerError> {
        Ok(list.into_list().map_err(OutputError::from)?.into_iter().map(convert).collect::<Result<_, _>>()?)
    }

    /// The server's tools, checked ([`listing::check_tools`]): a server
    /// whose list breaks the rules serves no tools at all.
    pub async fn list_tools<H: HostCalls>(&self, host: &mut H) -> Result<Vec<Tool>, ServerError> {
        let tools = Self::each(self.call(host, "list-tools", &[]).await?, Tool::from_val)?;
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
        if !arguments.is_object() {
            return Err(ServerError::InvalidParams("tool arguments must be a JSON object".into()));
        }
        let args = [
            Val::string(name),
            Val::string(arguments.to_string()),
            responses_val(responses),
            Val::from_option(state, Val::string),
        ];
        let outcome = self.call_fallible(host, "call-tool", &args).await?;
        Ok(Outcome::from_val(outcome, CallToolResult::from_val)?)
    }

    pub async fn list_resources<H: HostCalls>(&self, host: &mut H) -> Result<Vec<Resource>, ServerError> {
        let resources = Self::each(self.call(host, "list-resources", &[]).await?, Resource::from_val)?;
        listing::check_resources(resources.iter().map(|r| (r.uri.as_str(), r.name.as_str())), "resources")?;
        Ok(resources)
    }

    pub async fn list_resource_templates<H: HostCalls>(
        &self,
        host: &mut H,
    ) -> Result<Vec<ResourceTemplate>, ServerError> {
        let templates = Self::each(self.call(host, "list-resource-templates", &[]).await?, ResourceTemplate::from_val)?;
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
        Self::each(self.call_fallible(host, "read-resource", &[Val::string(uri)]).await?, ResourceContents::from_val)
    }

    pub async fn list_prompts<H: HostCalls>(&self, host: &mut H) -> Result<Vec<Prompt>, ServerError> {
        let prompts = Self::each(self.call(host, "list-prompts", &[]).await?, Prompt::from_val)?;
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
        let arguments = arguments.iter().map(|(k, v)| Val::Record(vec![Val::string(k), Val::string(v)])).collect();
        let args =
            [Val::string(name), Val::List(arguments), responses_val(responses), Val::from_option(state, Val::string)];
        let outcome = self.call_fallible(host, "get-prompt", &args).await?;
        Ok(Outcome::from_val(outcome, PromptResult::from_val)?)
    }

    pub async fn complete<H: HostCalls>(
        &self,
        host: &mut H,
        reference: &CompletionRef,
        argument: (&str, &str),
        context: &[(String, String)],
    ) -> Result<Completion, ServerError> {
        let reference = match reference {
            CompletionRef::Prompt(name) => Val::Variant(0, Some(Box::new(Val::string(name)))),
            CompletionRef::ResourceTemplate(uri) => Val::Variant(1, Some(Box::new(Val::string(uri)))),
        };
        let context = context.iter().map(|(k, v)| Val::Record(vec![Val::string(k), Val::string(v)])).collect();
        let request =
            Val::Record(vec![reference, Val::string(argument.0), Val::string(argument.1), Val::List(context)]);
        let result = self.call_fallible(host, "complete", &[request]).await?;
        Ok(Completion::from_val(result)?)
    }
}

/// `list<input-response>`.
fn responses_val(responses: &[InputResponse]) -> Val {
    Val::List(
        responses.iter().map(|r| Val::Record(vec![Val::string(&r.key), Val::string(r.response.to_string())])).collect(),
    )
}

/// Maps the guest's `server-error` onto [`ServerError`].
fn server_error(error: Option<Val>) -> Result<ServerError, OutputError> {
    let (case, message) = error.ok_or(crate::abi::AbiError::HostMismatch("server-error"))?.into_variant()?;
    let message = message.ok_or(crate::abi::AbiError::HostMismatch("server-error"))?.into_string()?;
    Ok(match case {
        0 => ServerError::NotFound(message),
        1 => ServerError::InvalidParams(message),
        _ => ServerError::Internal(message),
    })
}
