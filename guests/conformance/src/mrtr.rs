//! The `test_input_required_result_*` tools of the SEP-2322 scenarios
//! (input-required-result-*): each returns `input-required`, which the host
//! turns into an InputRequiredResult, and finishes on the client's retry.
//!
//! Rules they share, as SEP-2322 recommends:
//! * an answer that is missing, or is not the result the request asked for,
//!   is asked for again (a new InputRequiredResult, not an error);
//! * unknown response keys are ignored;
//! * the guest's state says which round a retry belongs to and carries the
//!   answers of earlier rounds; the host seals it into `requestState` and
//!   rejects a tampered one with a JSON-RPC error before the guest runs.
//!
//! The prompt `test_input_required_result_prompt` (non-tool-request) is
//! [`prompt`], served through `get-prompt`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use smcp_guest::{
    CallResult, Elicitation, InputRequired, NoArgs, Outcome, Prompt, PromptMessage, PromptOutcome, PromptResult,
    SamplingRequest, Tool, ToolCall, ToolResult,
};

#[derive(Deserialize, JsonSchema)]
struct Name {
    name: String,
}

#[derive(Deserialize, JsonSchema)]
struct Color {
    color: String,
}

#[derive(Deserialize, JsonSchema)]
struct Confirm {
    ok: bool,
}

fn complete(text: impl Into<String>) -> ToolResult<Outcome> {
    Ok(CallResult::text(text).into())
}

/// `{"type":"object","properties":{<field>:{"type":<kind>}},"required":[<field>]}`.
fn one_field_schema(field: &str, kind: &str) -> String {
    json!({ "type": "object", "properties": { field: { "type": kind } }, "required": [field] }).to_string()
}

/// The answer to elicitation `key`; a malformed one counts as missing.
fn answer<T: serde::de::DeserializeOwned>(call: &ToolCall<'_>, key: &str) -> Option<Elicitation<T>> {
    call.elicitation(key).ok().flatten()
}

/// The sampled text for `key`; a malformed answer counts as missing.
fn sampled(call: &ToolCall<'_>, key: &str) -> Option<String> {
    call.sampling(key).ok().flatten().map(|s| s.text.unwrap_or_default())
}

/// The state of this tool's earlier round, if the retry carries one that
/// parses as `S`.
fn state<S: serde::de::DeserializeOwned>(call: &ToolCall<'_>) -> Option<S> {
    call.state_json().ok().flatten()
}

fn ask_name(key: &str, message: &str) -> InputRequired {
    InputRequired::new().elicit_with_schema(key, message, one_field_schema("name", "string"))
}

fn ask_confirm() -> InputRequired {
    InputRequired::new().elicit_with_schema("confirm", "Please confirm", one_field_schema("ok", "boolean"))
}

/// `test_input_required_result_elicitation` (basic-elicitation, result-type,
/// missing-input-response, ignore-extra-params, validate-input). Needs no
/// state: the suite also sends `user_name` on a first call.
pub fn elicitation() -> Tool {
    Tool::with_call("test_input_required_result_elicitation", |_: NoArgs, call: &ToolCall<'_>| -> ToolResult<Outcome> {
        match answer::<Name>(call, "user_name") {
            Some(Elicitation::Accept(Name { name })) => complete(format!("Hello, {name}!")),
            Some(Elicitation::Decline | Elicitation::Cancel) => complete("Hello, stranger! (no name was given)"),
            None => Ok(ask_name("user_name", "What is your name?").into()),
        }
    })
    .description("MRTR: asks the user's name through an elicitation input request (SEP-2322)")
}

/// `test_input_required_result_sampling` (basic-sampling).
pub fn sampling() -> Tool {
    Tool::with_call("test_input_required_result_sampling", |_: NoArgs, call: &ToolCall<'_>| -> ToolResult<Outcome> {
        match sampled(call, "sample_request") {
            Some(text) => complete(format!("Sampling result: {text}")),
            None => {
                let request = SamplingRequest::new(100).user("What is the capital of France?");
                Ok(InputRequired::new().state("sampling").sample("sample_request", &request).into())
            }
        }
    })
    .description("MRTR: asks the client's model through a sampling input request (SEP-2322)")
}

/// The client's root count for `key`; a malformed answer counts as missing.
fn root_count(call: &ToolCall<'_>, key: &str) -> Option<usize> {
    call.roots(key).ok().flatten().map(|roots| roots.len())
}

/// `test_input_required_result_list_roots` (basic-list-roots).
pub fn list_roots() -> Tool {
    Tool::with_call("test_input_required_result_list_roots", |_: NoArgs, call: &ToolCall<'_>| -> ToolResult<Outcome> {
        match root_count(call, "roots_request") {
            Some(count) => complete(format!("Found {count} root(s)")),
            None => Ok(InputRequired::new().list_roots("roots_request").into()),
        }
    })
    .description("MRTR: asks for the client's roots through a roots/list input request (SEP-2322)")
}

#[derive(Deserialize, JsonSchema)]
struct Context {
    context: String,
}

/// The prompt `test_input_required_result_prompt` (non-tool-request): an
/// elicitation for the context, then the prompt.
pub fn prompt() -> Prompt {
    Prompt::new("test_input_required_result_prompt").description("MRTR: prompt that requires elicitation input")
}

pub fn get_prompt(call: &ToolCall<'_>) -> PromptOutcome {
    match answer::<Context>(call, "user_context") {
        Some(Elicitation::Accept(Context { context })) => {
            PromptResult::new(vec![PromptMessage::user(format!("Prompt with context: {context}"))]).into()
        }
        Some(Elicitation::Decline | Elicitation::Cancel) => {
            PromptResult::new(vec![PromptMessage::user("Prompt without context")]).into()
        }
        None => InputRequired::new()
            .elicit_with_schema(
                "user_context",
                "What context should the prompt use?",
                one_field_schema("context", "string"),
            )
            .into(),
    }
}

/// The state of [`request_state`] and [`tampered_state`].
#[derive(Serialize, Deserialize, PartialEq)]
struct Awaiting {
    awaiting: String,
}

fn confirm_tool(name: &'static str, description: &'static str) -> Tool {
    Tool::with_call(name, move |_: NoArgs, call: &ToolCall<'_>| -> ToolResult<Outcome> {
        let expected = Awaiting { awaiting: "confirm".to_owned() };
        let answered = answer::<Confirm>(call, "confirm");
        match (state::<Awaiting>(call), answered) {
            (Some(s), Some(answer)) if s == expected => {
                let confirmed = matches!(answer, Elicitation::Accept(Confirm { ok: true }));
                complete(format!("state-ok: requestState validated (confirmed: {confirmed})"))
            }
            // No state, or no (valid) answer: start the exchange (again).
            _ => Ok(ask_confirm().state_json(&expected)?.into()),
        }
    })
    .description(description)
}

/// `test_input_required_result_request_state` (request-state): completes
/// only on a retry that carries its state; the text says "state-ok".
pub fn request_state() -> Tool {
    confirm_tool(
        "test_input_required_result_request_state",
        "MRTR: asks for a confirmation and validates the echoed requestState (SEP-2322)",
    )
}

/// `test_input_required_result_tampered_state` (tampered-state): the same
/// exchange; the host's MAC on `requestState` rejects a tampered retry.
pub fn tampered_state() -> Tool {
    confirm_tool(
        "test_input_required_result_tampered_state",
        "MRTR: issues an integrity-protected requestState; a tampered one is rejected (SEP-2322)",
    )
}

/// What [`multiple_inputs`] gathered so far.
#[derive(Serialize, Deserialize, Default)]
struct Gathered {
    name: Option<String>,
    greeting: Option<String>,
    roots: Option<usize>,
}

/// `test_input_required_result_multiple_inputs` (multiple-input-requests):
/// an elicitation, a sampling and a roots request in one round, re-asking
/// only what is still missing.
pub fn multiple_inputs() -> Tool {
    Tool::with_call(
        "test_input_required_result_multiple_inputs",
        |_: NoArgs, call: &ToolCall<'_>| -> ToolResult<Outcome> {
            let mut gathered: Gathered = state(call).unwrap_or_default();
            match answer::<Name>(call, "user_name") {
                Some(Elicitation::Accept(Name { name })) => gathered.name = Some(name),
                Some(Elicitation::Decline | Elicitation::Cancel) => gathered.name = Some("(declined)".to_owned()),
                None => {}
            }
            if let Some(text) = sampled(call, "greeting") {
                gathered.greeting = Some(text);
            }
            if let Some(count) = root_count(call, "client_roots") {
                gathered.roots = Some(count);
            }
            if let Gathered { name: Some(name), greeting: Some(greeting), roots: Some(roots) } = &gathered {
                return complete(format!("Name: {name}; Greeting: {greeting}; Roots: {roots}"));
            }
            let mut ask = InputRequired::new();
            if gathered.name.is_none() {
                ask = ask.elicit_with_schema("user_name", "What is your name?", one_field_schema("name", "string"));
            }
            if gathered.greeting.is_none() {
                ask = ask.sample("greeting", &SamplingRequest::new(50).user("Generate a greeting"));
            }
            if gathered.roots.is_none() {
                ask = ask.list_roots("client_roots");
            }
            Ok(ask.state_json(&gathered)?.into())
        },
    )
    .description("MRTR: several input requests of different kinds in one result (SEP-2322)")
}

/// The state of [`multi_round`]: the round whose answer the retry carries.
#[derive(Serialize, Deserialize)]
#[serde(tag = "round", rename_all = "lowercase")]
enum Round {
    One,
    Two { name: String },
}

/// `test_input_required_result_multi_round` (multi-round): the name in
/// round 1, the favourite colour in round 2 (with a different state), then
/// the result.
pub fn multi_round() -> Tool {
    fn step1() -> ToolResult<Outcome> {
        Ok(ask_name("step1", "Step 1: What is your name?").state_json(&Round::One)?.into())
    }
    fn step2(name: String) -> ToolResult<Outcome> {
        let ask = InputRequired::new().elicit_with_schema(
            "step2",
            "Step 2: What is your favorite color?",
            one_field_schema("color", "string"),
        );
        Ok(ask.state_json(&Round::Two { name })?.into())
    }
    Tool::with_call("test_input_required_result_multi_round", |_: NoArgs, call: &ToolCall<'_>| -> ToolResult<Outcome> {
        match state::<Round>(call) {
            None => step1(),
            Some(Round::One) => match answer::<Name>(call, "step1") {
                Some(Elicitation::Accept(Name { name })) => step2(name),
                Some(Elicitation::Decline | Elicitation::Cancel) => complete("Multi-round stopped at step 1"),
                None => step1(),
            },
            Some(Round::Two { name }) => match answer::<Color>(call, "step2") {
                Some(Elicitation::Accept(Color { color })) => {
                    complete(format!("Multi-round complete for {name} who likes {color}"))
                }
                Some(Elicitation::Decline | Elicitation::Cancel) => complete("Multi-round stopped at step 2"),
                None => step2(name),
            },
        }
    })
    .description("MRTR: two rounds of input requests with an evolving requestState (SEP-2322)")
}

/// `test_input_required_result_capabilities` (capability-check): the suite
/// declares only `sampling`, so this asks only for a sampling.
pub fn capabilities() -> Tool {
    Tool::with_call(
        "test_input_required_result_capabilities",
        |_: NoArgs, call: &ToolCall<'_>| -> ToolResult<Outcome> {
            match sampled(call, "sample_input") {
                Some(text) => complete(format!("Sampled without elicitation: {text}")),
                None => {
                    let request = SamplingRequest::new(50).user("Say hello.");
                    Ok(InputRequired::new().state("capabilities").sample("sample_input", &request).into())
                }
            }
        },
    )
    .description("MRTR: asks only for what a sampling-only client can answer (SEP-2322)")
}

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use smcp_guest::InputRequest;

    use super::*;

    const ALICE: &str = r#"{"action":"accept","content":{"name":"Alice"}}"#;

    fn run(tool: &Tool, responses: &[(&str, &str)], state: Option<&str>) -> Outcome {
        let responses: Vec<(String, String)> = responses.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        tool.call("{}", &ToolCall::new(tool.name(), &responses, state))
    }

    fn text(outcome: Outcome) -> String {
        match outcome {
            Outcome::Complete(r) => r.content[0].as_text().unwrap().to_owned(),
            Outcome::InputRequired(r) => panic!("unexpected input-required: {r:?}"),
        }
    }

    fn asked(outcome: Outcome) -> InputRequired {
        match outcome {
            Outcome::InputRequired(r) => r,
            Outcome::Complete(r) => panic!("unexpected result: {r:?}"),
        }
    }

    fn keys(ask: &InputRequired) -> Vec<&str> {
        ask.requests.iter().map(|(k, _)| k.as_str()).collect()
    }

    #[test]
    fn elicitation_flow() {
        let tool = elicitation();
        let ask = asked(run(&tool, &[], None));
        assert_eq!(keys(&ask), ["user_name"]);
        let InputRequest::Elicitation { message, requested_schema } = &ask.requests[0].1 else { panic!() };
        assert_eq!(message, "What is your name?");
        let schema: Value = serde_json::from_str(requested_schema).unwrap();
        assert_eq!(schema, json!({"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}));

        // Answer without state, plus unknown keys: completes.
        let extra = r#"{"action":"accept","content":{"foo":"bar"}}"#;
        assert_eq!(text(run(&tool, &[("user_name", ALICE), ("unknown_extra_key", extra)], None)), "Hello, Alice!");
        // Wrong key only, or an answer that is not an ElicitResult: asked again.
        asked(run(&tool, &[("wrong_key", ALICE)], None));
        asked(run(&tool, &[("user_name", "12345")], None));
        asked(run(&tool, &[("user_name", r#"{"action":"accept","content":{"nom":"x"}}"#)], None));
    }

    #[test]
    fn request_state_needs_its_state() {
        let tool = request_state();
        let ask = asked(run(&tool, &[], None));
        assert_eq!(keys(&ask), ["confirm"]);
        assert!(!ask.state.is_empty());
        let yes = r#"{"action":"accept","content":{"ok":true}}"#;
        assert!(text(run(&tool, &[("confirm", yes)], Some(&ask.state))).contains("state-ok"));
        // The answer without the state starts over.
        asked(run(&tool, &[("confirm", yes)], None));
    }

    #[test]
    fn multiple_inputs_keeps_earlier_answers() {
        let tool = multiple_inputs();
        let ask = asked(run(&tool, &[], None));
        assert_eq!(keys(&ask), ["user_name", "greeting", "client_roots"]);
        // Only the name: asks for the rest alone, remembering the name.
        let ask = asked(run(&tool, &[("user_name", ALICE)], Some(&ask.state)));
        assert_eq!(keys(&ask), ["greeting", "client_roots"]);
        let hi = r#"{"role":"assistant","content":{"type":"text","text":"Hello there!"},"model":"m"}"#;
        let roots = r#"{"roots":[{"uri":"file:///a"},{"uri":"file:///b","name":"B"}]}"#;
        let done = text(run(&tool, &[("greeting", hi), ("client_roots", roots)], Some(&ask.state)));
        assert_eq!(done, "Name: Alice; Greeting: Hello there!; Roots: 2");
    }

    #[test]
    fn list_roots_counts() {
        let tool = list_roots();
        let ask = asked(run(&tool, &[], None));
        assert!(matches!(ask.requests[..], [(ref k, InputRequest::Roots)] if k == "roots_request"));
        assert_eq!(text(run(&tool, &[("roots_request", r#"{"roots":[]}"#)], None)), "Found 0 root(s)");
    }

    #[test]
    fn prompt_asks_for_context() {
        let none: Vec<(String, String)> = vec![];
        let first = get_prompt(&ToolCall::new("p", &none, None));
        assert!(matches!(first, PromptOutcome::InputRequired(ref r) if r.requests[0].0 == "user_context"));
        let answer =
            vec![("user_context".to_owned(), r#"{"action":"accept","content":{"context":"tests"}}"#.to_owned())];
        let PromptOutcome::Complete(result) = get_prompt(&ToolCall::new("p", &answer, None)) else { panic!() };
        assert_eq!(result.messages[0].content.as_text(), Some("Prompt with context: tests"));
    }

    #[test]
    fn multi_round_changes_state() {
        let tool = multi_round();
        let r1 = asked(run(&tool, &[], None));
        assert_eq!(keys(&r1), ["step1"]);
        let r2 = asked(run(&tool, &[("step1", ALICE)], Some(&r1.state)));
        assert_eq!(keys(&r2), ["step2"]);
        assert_ne!(r1.state, r2.state);
        let blue = r#"{"action":"accept","content":{"color":"blue"}}"#;
        assert_eq!(
            text(run(&tool, &[("step2", blue)], Some(&r2.state))),
            "Multi-round complete for Alice who likes blue"
        );
        // A missing answer repeats the round.
        assert_eq!(keys(&asked(run(&tool, &[], Some(&r2.state)))), ["step2"]);
    }

    #[test]
    fn capabilities_asks_only_sampling() {
        let ask = asked(run(&capabilities(), &[], None));
        assert!(ask.requests.iter().all(|(_, r)| matches!(r, InputRequest::Sampling(_))));
    }
}
