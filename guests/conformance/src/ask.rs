//! Tools that need the client: sampling and elicitation as the 2025-11-25
//! scenarios use them (tools-call-sampling, tools-call-elicitation,
//! elicitation-sep1034-defaults, elicitation-sep1330-enums) and the
//! capability probe of server-stateless. All go through `input-required`:
//! the host turns it into server-to-client requests for legacy sessions
//! and into an InputRequiredResult for 2026-07-28 clients.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use smcp_guest::{CallResult, InputRequired, NoArgs, Outcome, SamplingRequest, Tool, ToolCall, ToolResult};

/// Key of every single-request tool in this module.
const KEY: &str = "input";

#[derive(Deserialize, JsonSchema)]
struct SamplingArgs {
    /// The prompt to send to the client's model.
    prompt: String,
}

#[derive(Deserialize, JsonSchema)]
struct ElicitationArgs {
    /// The message to show the user.
    message: String,
}

fn complete(text: String) -> ToolResult<Outcome> {
    Ok(CallResult::text(text).into())
}

/// `action=<action>, content=<content as JSON>` of a raw `ElicitResult`,
/// or none when the answer is not one (then the tool asks again).
pub fn describe_elicitation(raw: &str) -> Option<String> {
    let value: Value = serde_json::from_str(raw).ok()?;
    let action = value.get("action")?.as_str()?;
    if !matches!(action, "accept" | "decline" | "cancel") {
        return None;
    }
    let content = value.get("content").map_or_else(|| "null".to_owned(), Value::to_string);
    Some(format!("action={action}, content={content}"))
}

/// `test_sampling` (tools-call-sampling): asks the client's model `prompt`.
pub fn sampling() -> Tool {
    Tool::with_call("test_sampling", |args: SamplingArgs, call: &ToolCall<'_>| -> ToolResult<Outcome> {
        match call.sampling(KEY).ok().flatten() {
            Some(sampled) => complete(format!("LLM response: {}", sampled.text.unwrap_or_default())),
            None => {
                let request = SamplingRequest::new(100).user(args.prompt);
                Ok(InputRequired::new().state("test_sampling").sample(KEY, &request).into())
            }
        }
    })
    .description("Tests server-initiated sampling (LLM completion request)")
}

/// `test_elicitation` (tools-call-elicitation): asks the user for a response.
pub fn elicitation() -> Tool {
    Tool::with_call("test_elicitation", |args: ElicitationArgs, call: &ToolCall<'_>| -> ToolResult<Outcome> {
        match call.response(KEY).and_then(describe_elicitation) {
            Some(answer) => complete(format!("User response: {answer}")),
            None => {
                let schema = json!({
                    "type": "object",
                    "properties": { "response": { "type": "string", "description": "User's response" } },
                    "required": ["response"]
                });
                let ask = InputRequired::new().state("test_elicitation").elicit_with_schema(
                    KEY,
                    args.message,
                    schema.to_string(),
                );
                Ok(ask.into())
            }
        }
    })
    .description("Tests server-initiated elicitation (user input request)")
}

/// The SEP-1034 form: a default for every primitive type.
pub fn sep1034_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "name": { "type": "string", "description": "User name", "default": "John Doe" },
            "age": { "type": "integer", "description": "User age", "default": 30 },
            "score": { "type": "number", "description": "User score", "default": 95.5 },
            "status": {
                "type": "string",
                "description": "User status",
                "enum": ["active", "inactive", "pending"],
                "default": "active"
            },
            "verified": { "type": "boolean", "description": "Verification status", "default": true }
        },
        "required": []
    })
}

/// The SEP-1330 form: untitled, titled and legacy single-select enums and
/// untitled and titled multi-select enums.
pub fn sep1330_schema() -> Value {
    let titled = |prefix: &str, noun: &str| {
        ["First", "Second", "Third"]
            .iter()
            .enumerate()
            .map(|(i, ordinal)| json!({ "const": format!("{prefix}{}", i + 1), "title": format!("{ordinal} {noun}") }))
            .collect::<Vec<_>>()
    };
    json!({
        "type": "object",
        "properties": {
            "untitledSingle": {
                "type": "string",
                "description": "Select one option (untitled enum)",
                "enum": ["option1", "option2", "option3"]
            },
            "titledSingle": {
                "type": "string",
                "description": "Select one option (titled enum)",
                "oneOf": titled("value", "Option")
            },
            "legacyEnum": {
                "type": "string",
                "description": "Select one option (legacy enumNames)",
                "enum": ["opt1", "opt2", "opt3"],
                "enumNames": ["Option One", "Option Two", "Option Three"]
            },
            "untitledMulti": {
                "type": "array",
                "description": "Select one to three options (untitled)",
                "minItems": 1,
                "maxItems": 3,
                "items": { "type": "string", "enum": ["option1", "option2", "option3"] }
            },
            "titledMulti": {
                "type": "array",
                "description": "Select one to three options (titled)",
                "minItems": 1,
                "maxItems": 3,
                "items": { "anyOf": titled("value", "Choice") }
            }
        },
        "required": []
    })
}

/// A tool that elicits one fixed form and reports the answer.
fn elicit_form(name: &'static str, message: &'static str, schema: fn() -> Value) -> Tool {
    Tool::with_call(name, move |_: NoArgs, call: &ToolCall<'_>| -> ToolResult<Outcome> {
        match call.response(KEY).and_then(describe_elicitation) {
            Some(answer) => complete(format!("Elicitation completed: {answer}")),
            None => Ok(InputRequired::new().state(name).elicit_with_schema(KEY, message, schema().to_string()).into()),
        }
    })
}

/// `test_elicitation_sep1034_defaults` (elicitation-sep1034-defaults).
pub fn sep1034_defaults() -> Tool {
    elicit_form(
        "test_elicitation_sep1034_defaults",
        "Please review and update the form fields with defaults",
        sep1034_schema,
    )
    .description("Tests elicitation with default values per SEP-1034")
}

/// `test_elicitation_sep1330_enums` (elicitation-sep1330-enums).
pub fn sep1330_enums() -> Tool {
    elicit_form("test_elicitation_sep1330_enums", "Please select options from the enum fields", sep1330_schema)
        .description("Tests elicitation with enum schema improvements per SEP-1330")
}

/// `test_missing_capability` (server-stateless,
/// sep-2575-server-rejects-undeclared-capability): needs sampling. A guest
/// cannot read the client's capabilities, so it asks for a sampling and
/// relies on the host answering -32021 with `requiredCapabilities.sampling`
/// (HTTP 400) when the request did not declare it. A client that did gets
/// the sampling request, then "Success".
pub fn missing_capability() -> Tool {
    Tool::with_call("test_missing_capability", |_: NoArgs, call: &ToolCall<'_>| -> ToolResult<Outcome> {
        match call.sampling(KEY).ok().flatten() {
            Some(_) => complete("Success".to_owned()),
            None => {
                let request = SamplingRequest::new(16).user("Reply with the word OK.");
                Ok(InputRequired::new().state("test_missing_capability").sample(KEY, &request).into())
            }
        }
    })
    .description("Requires the client's sampling capability; undeclared, the request fails with -32021 (SEP-2575)")
}

#[cfg(test)]
mod tests {
    use smcp_guest::InputRequest;

    use super::*;

    fn call(tool: &Tool, args: &str, responses: &[(String, String)]) -> Outcome {
        tool.call(args, &ToolCall::new(tool.name(), responses, responses.first().map(|_| "s")))
    }

    fn answer(json: &str) -> Vec<(String, String)> {
        vec![(KEY.to_owned(), json.to_owned())]
    }

    #[test]
    fn elicitation_round_trip() {
        let tool = elicitation();
        let Outcome::InputRequired(ask) = call(&tool, r#"{"message":"Please provide your information"}"#, &[]) else {
            panic!("expected input-required")
        };
        let InputRequest::Elicitation { message, requested_schema } = &ask.requests[0].1 else { panic!() };
        assert_eq!(message, "Please provide your information");
        let schema: Value = serde_json::from_str(requested_schema).unwrap();
        assert_eq!(schema["required"], json!(["response"]));

        let reply = answer(r#"{"action":"accept","content":{"username":"testuser"}}"#);
        let Outcome::Complete(r) = call(&tool, r#"{"message":"m"}"#, &reply) else { panic!() };
        assert_eq!(r.content[0].as_text(), Some(r#"User response: action=accept, content={"username":"testuser"}"#));
        // Not an ElicitResult: asked again.
        assert!(matches!(call(&tool, r#"{"message":"m"}"#, &answer("12345")), Outcome::InputRequired(_)));
    }

    #[test]
    fn sampling_round_trip() {
        let tool = sampling();
        let Outcome::InputRequired(ask) = call(&tool, r#"{"prompt":"Test prompt"}"#, &[]) else { panic!() };
        let InputRequest::Sampling(params) = &ask.requests[0].1 else { panic!() };
        let params: Value = serde_json::from_str(params).unwrap();
        assert_eq!(params["messages"][0]["content"]["text"], "Test prompt");
        assert_eq!(params["maxTokens"], 100);

        let reply = answer(r#"{"role":"assistant","content":{"type":"text","text":"hi"},"model":"m"}"#);
        let Outcome::Complete(r) = call(&tool, r#"{"prompt":"p"}"#, &reply) else { panic!() };
        assert_eq!(r.content[0].as_text(), Some("LLM response: hi"));
    }

    #[test]
    fn sep1330_shapes() {
        let s = sep1330_schema();
        let p = &s["properties"];
        assert!(p["untitledSingle"].get("oneOf").is_none() && p["untitledSingle"].get("enumNames").is_none());
        assert!(p["titledSingle"].get("enum").is_none());
        assert_eq!(p["titledSingle"]["oneOf"][1], json!({ "const": "value2", "title": "Second Option" }));
        assert_eq!(p["titledMulti"]["items"]["anyOf"][2], json!({ "const": "value3", "title": "Third Choice" }));
        assert!(p["untitledMulti"]["items"].get("anyOf").is_none());
        assert_eq!(p["legacyEnum"]["enumNames"][0], "Option One");
    }

    #[test]
    fn sep1034_defaults_are_typed() {
        let s = sep1034_schema();
        let p = &s["properties"];
        assert_eq!((p["age"]["type"].as_str(), p["age"]["default"].as_i64()), (Some("integer"), Some(30)));
        assert_eq!(p["score"]["default"].as_f64(), Some(95.5));
        assert_eq!(p["verified"]["default"], json!(true));
    }
}
