//! Tools that need input from the client: one elicitation, one sampling.

use schemars::JsonSchema;
use serde::Deserialize;
use smcp_guest::{Elicitation, InputRequired, NoArgs, Outcome, SamplingRequest, Tool, ToolCall, ToolResult};

#[derive(Deserialize, JsonSchema)]
struct Name {
    /// What to call you.
    name: String,
}

/// `greet`: asks the user's name (key `name`), then greets them.
pub fn greet() -> Tool {
    Tool::with_call("greet", |_: NoArgs, call: &ToolCall<'_>| -> ToolResult<Outcome> {
        let text = match call.elicitation::<Name>("name")? {
            None => {
                let ask = InputRequired::new().state("greet").elicit::<Name>("name", "What is your name?");
                return Ok(ask.into());
            }
            Some(Elicitation::Accept(Name { name })) => format!("Hello, {name}!"),
            Some(Elicitation::Decline | Elicitation::Cancel) => "Hello, stranger!".to_string(),
        };
        Ok(smcp_guest::CallResult::text(text).into())
    })
    .description("Asks your name through elicitation, then greets you.")
}

#[derive(Deserialize, JsonSchema)]
struct Question {
    question: String,
}

/// `ask_model`: asks the client's model `question` (key `answer`), then
/// returns its answer.
pub fn ask_model() -> Tool {
    Tool::with_call("ask_model", |q: Question, call: &ToolCall<'_>| -> ToolResult<Outcome> {
        match call.sampling("answer")? {
            None => {
                let request = SamplingRequest::new(100).system("Answer in one sentence.").user(q.question);
                Ok(InputRequired::new().state("ask_model").sample("answer", &request).into())
            }
            Some(sampled) => {
                let text = sampled.text.unwrap_or_default();
                Ok(smcp_guest::CallResult::text(format!("model says: {text}")).into())
            }
        }
    })
    .description("Asks the client's model a question through sampling.")
}
