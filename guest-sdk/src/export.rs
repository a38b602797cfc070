//! Wiring a [`McpServer`] to the generated `server` export: the adapter the
//! generated ABI glue calls, and the macro that emits that glue in the
//! tenant's crate.

use core::marker::PhantomData;

use crate::bindings::exports::smcp::mcp::server::Guest;
use crate::bindings::smcp::mcp::types as wire;
use crate::call::ToolCall;
use crate::error::ServerError;
use crate::prompt::PromptArgs;
use crate::server::McpServer;

/// Exports a type implementing [`McpServer`] as the component's
/// `smcp:mcp/server` interface. Use it once, at the top level of a
/// `cdylib` crate.
///
/// ```ignore
/// struct MyServer;
/// impl smcp_guest::McpServer for MyServer { /* ... */ }
/// smcp_guest::export_server!(MyServer);
/// ```
#[macro_export]
macro_rules! export_server {
    ($server:ty) => {
        #[doc(hidden)]
        type __SmcpGuestExport = $crate::__private::Export<$server>;
        $crate::__export_mcp_server_impl!(__SmcpGuestExport with_types_in $crate::bindings);
    };
}

/// The generated `Guest` trait's implementation for any [`McpServer`].
#[doc(hidden)]
pub struct Export<S>(PhantomData<S>);

impl<S: McpServer> Guest for Export<S> {
    fn list_tools() -> Vec<wire::Tool> {
        S::tools().iter().map(|t| t.info().into()).collect()
    }

    fn call_tool(
        name: String,
        arguments: String,
        responses: Vec<wire::InputResponse>,
        state: Option<String>,
    ) -> Result<wire::ToolOutcome, wire::ServerError> {
        let tools = S::tools();
        let tool = tools.get(&name).ok_or_else(|| ServerError::not_found(format!("unknown tool `{name}`")))?;
        let responses: Vec<(String, String)> = responses.into_iter().map(|r| (r.key, r.response)).collect();
        let call = ToolCall::new(&name, &responses, state.as_deref());
        Ok(tool.call(&arguments, &call).into())
    }

    fn task_tools() -> Vec<wire::TaskTool> {
        let support = |s| match s {
            crate::TaskSupport::Optional => wire::TaskSupport::Optional,
            crate::TaskSupport::Required => wire::TaskSupport::Required,
        };
        S::tools()
            .iter()
            .filter_map(|t| Some(wire::TaskTool { name: t.name().to_owned(), support: support(t.task_support()?) }))
            .collect()
    }

    fn list_resources() -> Vec<wire::Resource> {
        S::resources().into_iter().map(Into::into).collect()
    }

    fn list_resources_page(cursor: Option<String>) -> Result<wire::ResourcePage, wire::ServerError> {
        Ok(S::resources_page(cursor.as_deref())?.into())
    }

    fn list_resource_templates() -> Vec<wire::ResourceTemplate> {
        S::resource_templates().into_iter().map(Into::into).collect()
    }

    fn read_resource(uri: String) -> Result<Vec<wire::ResourceContents>, wire::ServerError> {
        Ok(S::read_resource(&uri)?.into_iter().map(Into::into).collect())
    }

    fn list_prompts() -> Vec<wire::Prompt> {
        S::prompts().into_iter().map(Into::into).collect()
    }

    fn get_prompt(
        name: String,
        arguments: Vec<(String, String)>,
        responses: Vec<wire::InputResponse>,
        state: Option<String>,
    ) -> Result<wire::PromptOutcome, wire::ServerError> {
        let responses: Vec<(String, String)> = responses.into_iter().map(|r| (r.key, r.response)).collect();
        let call = ToolCall::new(&name, &responses, state.as_deref());
        Ok(S::get_prompt_with_input(&name, &PromptArgs(arguments), &call)?.into())
    }

    fn complete(request: wire::CompletionRequest) -> Result<wire::CompletionResult, wire::ServerError> {
        Ok(S::complete(&request.into())?.into())
    }
}
