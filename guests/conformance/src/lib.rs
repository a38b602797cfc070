//! `conformance`: the fixtures the official MCP conformance suite
//! (`@modelcontextprotocol/conformance`) calls on the server under test,
//! after the suite's reference "everything server". See README.md for the
//! fixture table and for what the host has to provide itself.
//!
//! The guest imports only `notify` (progress and log notifications) and
//! `clock` (the tasks' sleeps).

mod ask;
mod catalog;
mod media;
mod mrtr;
mod tasks;
mod tools;

use smcp_guest::{
    Completion, CompletionRequest, McpServer, Prompt, PromptArgs, PromptOutcome, PromptResult, Resource,
    ResourceContents, ResourceTemplate, ServerError, ToolCall, Tools,
};

struct Conformance;

impl McpServer for Conformance {
    fn tools() -> Tools {
        Tools::new()
            // Content of every kind (tools-call-*).
            .tool(tools::simple_text())
            .tool(tools::image_content())
            .tool(tools::audio_content())
            .tool(tools::embedded_resource())
            .tool(tools::multiple_content_types())
            .tool(tools::error_handling())
            .tool(tools::with_progress())
            .tool(tools::with_logging())
            // The client's model and user (2025-11-25 scenarios).
            .tool(ask::sampling())
            .tool(ask::elicitation())
            .tool(ask::sep1034_defaults())
            .tool(ask::sep1330_enums())
            // Pending scenarios.
            .tool(tools::json_schema_2020_12())
            .tool(tools::reconnection())
            .tool(tools::custom_header())
            // server-stateless diagnostics.
            .tool(ask::missing_capability())
            .tool(tools::streaming_elicitation())
            .tool(tools::logging_tool())
            .tool(tools::trigger_tool_change())
            .tool(tools::trigger_prompt_change())
            // input-required-result-* (SEP-2322).
            .tool(mrtr::elicitation())
            .tool(mrtr::sampling())
            .tool(mrtr::list_roots())
            .tool(mrtr::request_state())
            .tool(mrtr::multiple_inputs())
            .tool(mrtr::multi_round())
            .tool(mrtr::tampered_state())
            .tool(mrtr::capabilities())
            // tasks-* (the tasks extension, SEP-2663).
            .tool(tasks::greet())
            .tool(tasks::slow_compute())
            .tool(tasks::failing_job())
            .tool(tasks::protocol_error_job())
            .tool(tasks::confirm_delete())
            .tool(tasks::multi_input())
            .tool(tasks::tool_with_task())
            // SMCP's own tests of long tasks.
            .tool(tasks::crunch())
    }

    fn resources() -> Vec<Resource> {
        catalog::resources()
    }

    fn resource_templates() -> Vec<ResourceTemplate> {
        catalog::resource_templates()
    }

    fn read_resource(uri: &str) -> Result<Vec<ResourceContents>, ServerError> {
        catalog::read_resource(uri)
    }

    fn prompts() -> Vec<Prompt> {
        let mut prompts = catalog::prompts();
        prompts.push(mrtr::prompt());
        prompts
    }

    fn get_prompt(name: &str, arguments: &PromptArgs) -> Result<PromptResult, ServerError> {
        catalog::get_prompt(name, arguments)
    }

    fn get_prompt_with_input(
        name: &str,
        arguments: &PromptArgs,
        call: &ToolCall,
    ) -> Result<PromptOutcome, ServerError> {
        if name == mrtr::prompt().name {
            return Ok(mrtr::get_prompt(call));
        }
        Ok(catalog::get_prompt(name, arguments)?.into())
    }

    fn complete(request: &CompletionRequest) -> Result<Completion, ServerError> {
        catalog::complete(request)
    }
}

smcp_guest::export_server!(Conformance);

#[cfg(test)]
mod tests {
    use super::*;

    /// `crunch` answers the checksum of every round of every step, once.
    #[test]
    fn crunch_steps_through_its_state() {
        let tool = tasks::crunch();
        let first = tool.call(r#"{"steps":3,"rounds":4}"#, &smcp_guest::ToolCall::new("crunch", &[], None));
        let smcp_guest::Outcome::InputRequired(first) = first else { panic!("starts with a checkpoint") };
        let (mut state, mut expected) = (Some(first.state), 1u64);
        for step in 0..3 {
            for round in 0..4 {
                expected = tasks::crunch_round(expected, step, round);
            }
            let call = smcp_guest::ToolCall::new("crunch", &[], state.as_deref());
            match tool.call(r#"{"steps":3,"rounds":4}"#, &call) {
                smcp_guest::Outcome::InputRequired(checkpoint) => {
                    assert!(checkpoint.is_checkpoint());
                    state = Some(checkpoint.state);
                }
                other => panic!("step {step}: {other:?}"),
            }
        }
        let call = smcp_guest::ToolCall::new("crunch", &[], state.as_deref());
        match tool.call(r#"{"steps":3,"rounds":4}"#, &call) {
            smcp_guest::Outcome::Complete(result) => {
                assert_eq!(
                    result.content,
                    vec![smcp_guest::Content::text(format!("checksum {expected} after 3 steps"))]
                )
            }
            other => panic!("{other:?}"),
        }
    }

    /// tools-list: unique names matching `^[A-Za-z0-9_./-]{1,64}$`, each
    /// with a description and an object input schema.
    #[test]
    fn tool_listing_is_valid() {
        let tools = Conformance::tools();
        let mut names = std::collections::BTreeSet::new();
        for tool in tools.iter() {
            let info = tool.info();
            let name = info.name.as_str();
            assert!(
                (1..=64).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || "_./-".contains(c)),
                "bad name {name}"
            );
            assert!(names.insert(name.to_owned()), "duplicate {name}");
            assert!(info.description.is_some_and(|d| !d.is_empty()), "{name} has no description");
            let schema: serde_json::Value = serde_json::from_str(&info.input_schema).unwrap();
            assert_eq!(schema["type"], "object", "{name}");
        }
        assert_eq!(names.len(), 36);
    }
}
