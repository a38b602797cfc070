//! Tools that answer at once: content of every kind, an is-error result,
//! progress and log notifications, and the schema and stream probes.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use smcp_guest::notify::{self, LogLevel};
use smcp_guest::{CallResult, Content, NoArgs, ResourceContents, Tool, ToolResult};

use crate::media;

/// `test_simple_text` (tools-call-simple-text).
pub fn simple_text() -> Tool {
    Tool::new("test_simple_text", |_: NoArgs| Ok("This is a simple text response for testing."))
        .description("Tests simple text content response")
        .read_only()
}

/// `test_image_content` (tools-call-image).
pub fn image_content() -> Tool {
    Tool::new("test_image_content", |_: NoArgs| Ok(Content::image(media::png(), media::PNG_MIME)))
        .description("Tests image content response")
        .read_only()
}

/// `test_audio_content` (tools-call-audio).
pub fn audio_content() -> Tool {
    Tool::new("test_audio_content", |_: NoArgs| Ok(Content::audio(media::wav(), media::WAV_MIME)))
        .description("Tests audio content response")
        .read_only()
}

/// `test_embedded_resource` (tools-call-embedded-resource).
pub fn embedded_resource() -> Tool {
    Tool::new("test_embedded_resource", |_: NoArgs| {
        let resource = ResourceContents::text("test://embedded-resource", "This is an embedded resource content.")
            .mime_type("text/plain");
        Ok(Content::from(resource))
    })
    .description("Tests embedded resource content response")
    .read_only()
}

/// `test_multiple_content_types` (tools-call-mixed-content): text, image
/// and an embedded resource in one result.
pub fn multiple_content_types() -> Tool {
    Tool::new("test_multiple_content_types", |_: NoArgs| {
        let resource = ResourceContents::text("test://mixed-content-resource", r#"{"test":"data","value":123}"#)
            .mime_type("application/json");
        Ok(vec![
            Content::text("Multiple content types test:"),
            Content::image(media::png(), media::PNG_MIME),
            Content::from(resource),
        ])
    })
    .description("Tests response with multiple content types (text, image, resource)")
    .read_only()
}

/// `test_error_handling` (tools-call-error): a result with `isError` set,
/// not a JSON-RPC error.
pub fn error_handling() -> Tool {
    Tool::new("test_error_handling", |_: NoArgs| -> ToolResult<CallResult> {
        Ok(CallResult::error("This tool intentionally returns an error for testing"))
    })
    .description("Tests error response handling")
    .read_only()
}

/// `test_tool_with_progress` (tools-call-with-progress): progress 0, 50
/// and 100 of 100. The host attaches the request's progress token; the
/// guest never sees it, so unlike the reference the result does not echo it.
pub fn with_progress() -> Tool {
    Tool::new("test_tool_with_progress", |_: NoArgs| {
        for step in [0u32, 50, 100] {
            let message = format!("Completed step {step} of 100");
            notify::progress(f64::from(step), Some(100.0), Some(&message));
        }
        Ok("Progress test completed: reported 0, 50 and 100 of 100")
    })
    .description("Tests tool that reports progress notifications")
    .read_only()
}

/// `test_tool_with_logging` (tools-call-with-logging): three info logs.
/// The host drops them when the client's log level is above info (or, on
/// 2026-07-28, when the request carries no log level).
pub fn with_logging() -> Tool {
    Tool::new("test_tool_with_logging", |_: NoArgs| {
        for data in ["Tool execution started", "Tool processing data", "Tool execution completed"] {
            notify::log(LogLevel::Info, None, data);
        }
        Ok("Tool with logging executed successfully")
    })
    .description("Tests tool that emits log messages during execution")
    .read_only()
}

/// `test_logging_tool` (server-stateless, sep-2575-server-no-log-without-loglevel):
/// tries to log; the host must drop it unless the request set a log level.
pub fn logging_tool() -> Tool {
    Tool::new("test_logging_tool", |_: NoArgs| {
        notify::log(LogLevel::Info, None, "test_logging_tool was called");
        Ok("Logging evaluated")
    })
    .description("Emits a log message only when the request asked for a log level (SEP-2575 diagnostic)")
    .read_only()
}

/// `test_streaming_elicitation` (server-stateless,
/// sep-2575-http-server-no-independent-requests-on-stream): a progress
/// notification and the result, never a server-to-client request.
pub fn streaming_elicitation() -> Tool {
    Tool::new("test_streaming_elicitation", |_: NoArgs| {
        notify::progress(50.0, Some(100.0), Some("Halfway"));
        Ok("Streaming complete")
    })
    .description("Streams notifications and then the result, never a request (SEP-2575 diagnostic)")
    .read_only()
}

/// `test_reconnection` (server-sse-polling, pending). The reference closes
/// the POST stream before answering; a guest cannot, so this only returns
/// the text and the stream handling is the host's.
pub fn reconnection() -> Tool {
    Tool::new("test_reconnection", |_: NoArgs| {
        Ok("Reconnection test completed successfully. If you received this, the client properly reconnected \
            after stream closure.")
    })
    .description("Tests SSE stream closure and client reconnection (SEP-1699)")
    .read_only()
}

#[derive(Deserialize, JsonSchema)]
struct HeaderArgs {
    /// Where to run; clients mirror it into the `Mcp-Param-Region` header.
    #[schemars(extend("x-mcp-header" = "Region"))]
    region: String,
    /// A free-form note; mirrored into `Mcp-Param-Note` when given.
    #[serde(default)]
    #[schemars(extend("x-mcp-header" = "Note"))]
    note: Option<String>,
}

/// `test_custom_header` (http-custom-header-server-validation, pending):
/// string parameters annotated with `x-mcp-header` (SEP-2243), one required
/// and one optional. The reference server has no such tool; with it, the
/// scenario exercises the host's `Mcp-Param-*` validation.
pub fn custom_header() -> Tool {
    Tool::new("test_custom_header", |args: HeaderArgs| {
        Ok(format!("region={}, note={}", args.region, args.note.as_deref().unwrap_or("(none)")))
    })
    .description("Takes parameters mirrored into Mcp-Param-Region and Mcp-Param-Note headers (SEP-2243)")
    .read_only()
}

/// Any JSON object, listed with the SEP-1613 schema below.
#[derive(Deserialize)]
#[serde(transparent)]
struct Schema2020Args(serde_json::Value);

impl JsonSchema for Schema2020Args {
    fn schema_name() -> Cow<'static, str> {
        "Schema2020Args".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "$defs": {
                "address": {
                    "$anchor": "addressDef",
                    "type": "object",
                    "properties": {
                        "street": { "type": "string" },
                        "city": { "type": "string" }
                    }
                }
            },
            "properties": {
                "name": { "type": "string" },
                "address": { "$ref": "#/$defs/address" },
                "contactMethod": { "type": "string", "enum": ["phone", "email"] },
                "phone": { "type": "string" },
                "email": { "type": "string" }
            },
            "allOf": [{ "anyOf": [{ "required": ["phone"] }, { "required": ["email"] }] }],
            "if": { "properties": { "contactMethod": { "const": "phone" } }, "required": ["contactMethod"] },
            "then": { "required": ["phone"] },
            "else": { "required": ["email"] },
            "additionalProperties": false
        })
    }
}

/// `json_schema_2020_12_tool` (json-schema-2020-12, pending): listed with
/// `$schema`, `$defs`/`$anchor`/`$ref`, `allOf`/`anyOf`, `if`/`then`/`else`
/// and `additionalProperties: false`, all kept as written.
pub fn json_schema_2020_12() -> Tool {
    Tool::new("json_schema_2020_12_tool", |args: Schema2020Args| {
        Ok(format!("JSON Schema 2020-12 tool called with: {}", args.0))
    })
    .description("Tool with JSON Schema 2020-12 features for conformance testing (SEP-1613)")
    .read_only()
}

/// `test_trigger_tool_change` (server-stateless subscriptions): tells
/// subscribers the tool list changed, as a server whose tools depend on
/// its data would.
pub fn trigger_tool_change() -> Tool {
    Tool::new("test_trigger_tool_change", |_: NoArgs| {
        notify::list_changed(notify::ListKind::Tools);
        Ok("Mutation triggered")
    })
    .description("Announces a tools list change to subscribed clients")
}

/// `test_trigger_prompt_change`: the same for the prompt list.
pub fn trigger_prompt_change() -> Tool {
    Tool::new("test_trigger_prompt_change", |_: NoArgs| {
        notify::list_changed(notify::ListKind::Prompts);
        Ok("Mutation triggered")
    })
    .description("Announces a prompts list change to subscribed clients")
}

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use smcp_guest::{Outcome, ToolCall};

    use super::*;

    fn run(tool: &Tool, args: &str) -> CallResult {
        match tool.call(args, &ToolCall::new(tool.name(), &[], None)) {
            Outcome::Complete(r) => r,
            Outcome::InputRequired(_) => panic!("unexpected input-required"),
        }
    }

    #[test]
    fn schema_2020_12_is_listed_verbatim() {
        let listed: Value = serde_json::from_str(&json_schema_2020_12().info().input_schema).unwrap();
        let expected: Value = Schema2020Args::json_schema(&mut SchemaGenerator::default()).into();
        assert_eq!(listed, expected);
        assert_eq!(listed["$schema"], "https://json-schema.org/draft/2020-12/schema");
        assert_eq!(listed["$defs"]["address"]["$anchor"], "addressDef");
        assert!(listed.get("title").is_none());
    }

    #[test]
    fn schema_2020_12_tool_echoes_its_arguments() {
        let r = run(&json_schema_2020_12(), r#"{"name":"x"}"#);
        assert_eq!(r.content[0].as_text(), Some(r#"JSON Schema 2020-12 tool called with: {"name":"x"}"#));
    }

    #[test]
    fn custom_header_schema_is_annotated() {
        let schema: Value = serde_json::from_str(&custom_header().info().input_schema).unwrap();
        assert_eq!(schema["properties"]["region"]["x-mcp-header"], "Region");
        assert_eq!(schema["properties"]["region"]["type"], "string");
        assert_eq!(schema["properties"]["note"]["x-mcp-header"], "Note");
        assert_eq!(schema["required"], serde_json::json!(["region"]));
        let r = run(&custom_header(), r#"{"region":"Hello"}"#);
        assert_eq!(r.content[0].as_text(), Some("region=Hello, note=(none)"));
    }

    #[test]
    fn content_tools() {
        // tools-call-simple-text sends no `arguments` at all.
        assert_eq!(run(&simple_text(), "").content[0].as_text(), Some("This is a simple text response for testing."));
        let r = run(&error_handling(), "{}");
        assert!(r.is_error && r.content[0].as_text().is_some());
        let r = run(&audio_content(), "{}");
        assert!(matches!(&r.content[0], Content::Audio { mime_type, .. } if mime_type == "audio/wav"));
        let r = run(&multiple_content_types(), "{}");
        assert!(matches!(r.content[..], [Content::Text(_), Content::Image { .. }, Content::Resource(_)]));
        let r = run(&embedded_resource(), "{}");
        assert!(matches!(&r.content[0], Content::Resource(c) if c.mime_type.as_deref() == Some("text/plain")));
    }
}
