//! The fixtures of the tasks extension's scenarios (tasks-*, SEP-2663).
//!
//! Each task-supporting tool checkpoints (returns an `input-required`
//! without requests) where its long part begins: a client that takes tasks
//! gets its task there and the rest runs in the background, one step per
//! fresh instance; any other client gets the result within its request.
//! What a tool knows between steps is in its state.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use smcp_guest::{
    CallResult, Elicitation, InputRequired, NoArgs, Outcome, TaskSupport, Tool, ToolCall, ToolError, ToolResult, clock,
};

/// The longest one step sleeps before it checkpoints again: well inside a
/// call's wall time.
const STEP_SLEEP_MS: u64 = 5_000;

fn complete(text: impl Into<String>) -> ToolResult<Outcome> {
    Ok(CallResult::text(text).into())
}

fn checkpoint<S: Serialize>(state: &S) -> ToolResult<Outcome> {
    Ok(InputRequired::checkpoint(state)?.into())
}

/// Sleeps until `until_ms`, a step at a time: `Some` checkpoint while the
/// time has not come.
fn sleep_until<S: Serialize>(until_ms: u64, state: &S) -> Option<ToolResult<Outcome>> {
    let left = until_ms.saturating_sub(clock::now_ms());
    clock::sleep_ms(left.min(STEP_SLEEP_MS) as u32);
    (clock::now_ms() < until_ms).then(|| checkpoint(state))
}

fn confirm_schema(fields: &[&str]) -> String {
    let mut properties = serde_json::Map::new();
    for field in fields {
        let kind = if *field == "confirm" { "boolean" } else { "string" };
        properties.insert((*field).to_owned(), json!({ "type": kind }));
    }
    json!({ "type": "object", "properties": properties }).to_string()
}

#[derive(Deserialize, JsonSchema)]
struct GreetArgs {
    name: String,
}

/// `greet`: sync only.
pub fn greet() -> Tool {
    Tool::new("greet", |args: GreetArgs| Ok(format!("Hello, {}!", args.name))).description("Greets `name` at once")
}

#[derive(Deserialize, JsonSchema)]
struct ComputeArgs {
    /// How long the computation takes.
    #[serde(default)]
    seconds: u32,
    label: Option<String>,
}

/// `slow_compute`: takes `seconds`, then answers; at 0 it answers at once
/// (the immediate-result shortcut).
pub fn slow_compute() -> Tool {
    Tool::with_call("slow_compute", |args: ComputeArgs, call: &ToolCall<'_>| -> ToolResult<Outcome> {
        let label = args.label.unwrap_or_else(|| "computation".into());
        let done = || complete(format!("{label}: done after {} s", args.seconds));
        if args.seconds == 0 {
            return done();
        }
        let Some(until_ms) = call.state_json::<u64>()? else {
            return checkpoint(&(clock::now_ms() + u64::from(args.seconds) * 1000));
        };
        sleep_until(until_ms, &until_ms).unwrap_or_else(done)
    })
    .description("Sleeps `seconds`, then answers (a task for clients that take tasks)")
    .task(TaskSupport::Optional)
}

/// `failing_job`: a tool error after about a second; only as a task.
pub fn failing_job() -> Tool {
    Tool::with_call("failing_job", |_: NoArgs, call: &ToolCall<'_>| -> ToolResult<Outcome> {
        let Some(until_ms) = call.state_json::<u64>()? else { return checkpoint(&(clock::now_ms() + 1000)) };
        if let Some(later) = sleep_until(until_ms, &until_ms) {
            return later;
        }
        Err(ToolError::new("the job failed, as it always does"))
    })
    .description("Fails with a tool error after a second (tasks only)")
    .task(TaskSupport::Required)
}

/// `protocol_error_job`: the guest panics in its task (a trap).
pub fn protocol_error_job() -> Tool {
    Tool::with_call("protocol_error_job", |_: NoArgs, call: &ToolCall<'_>| -> ToolResult<Outcome> {
        if call.state().is_none() {
            return checkpoint(&"crash");
        }
        panic!("protocol_error_job crashes on purpose")
    })
    .description("Crashes in its task (a protocol error)")
    .task(TaskSupport::Optional)
}

#[derive(Deserialize, JsonSchema)]
struct DeleteArgs {
    filename: String,
}

#[derive(Deserialize)]
struct Confirmation {
    #[serde(default)]
    confirm: bool,
}

/// `confirm_delete`: asks the user to confirm, through the task.
pub fn confirm_delete() -> Tool {
    Tool::with_call("confirm_delete", |args: DeleteArgs, call: &ToolCall<'_>| -> ToolResult<Outcome> {
        match call.state() {
            None => checkpoint(&"ask"),
            Some("\"ask\"") => Ok(InputRequired::new()
                .state_json(&"asked")?
                .elicit_with_schema("confirm", format!("Delete {}?", args.filename), confirm_schema(&["confirm"]))
                .into()),
            Some(_) => match call.elicitation::<Confirmation>("confirm")? {
                Some(Elicitation::Accept(Confirmation { confirm: true })) => {
                    complete(format!("Deleted {}", args.filename))
                }
                _ => complete(format!("Kept {}", args.filename)),
            },
        }
    })
    .description("Deletes `filename` once the user confirms (a task that asks)")
    .task(TaskSupport::Optional)
}

#[derive(Deserialize)]
struct Named {
    #[serde(default)]
    name: String,
}

/// `multi_input`: two questions at once, answered in any order.
pub fn multi_input() -> Tool {
    Tool::with_call("multi_input", |_: NoArgs, call: &ToolCall<'_>| -> ToolResult<Outcome> {
        if call.state().is_none() {
            return checkpoint(&"ask");
        }
        let first = call.elicitation::<Named>("first")?;
        let second = call.elicitation::<Named>("second")?;
        match (first, second) {
            (Some(Elicitation::Accept(a)), Some(Elicitation::Accept(b))) => {
                complete(format!("Got {} and {}", a.name, b.name))
            }
            (Some(_), Some(_)) => complete("Not every question was answered"),
            _ => Ok(InputRequired::new()
                .state_json(&"asked")?
                .elicit_with_schema("first", "First question", confirm_schema(&["name", "confirm"]))
                .elicit_with_schema("second", "Second question", confirm_schema(&["name", "confirm"]))
                .into()),
        }
    })
    .description("Asks two questions at once (a task that asks)")
    .task(TaskSupport::Optional)
}

#[derive(Deserialize)]
struct UserName {
    name: String,
}

/// `test_tool_with_task`: asks for a name within the request (SEP-2322),
/// then goes on as a task (only for clients that take tasks).
pub fn tool_with_task() -> Tool {
    Tool::with_call("test_tool_with_task", |_: NoArgs, call: &ToolCall<'_>| -> ToolResult<Outcome> {
        if let Some(name) = call.state_json::<String>().ok().flatten() {
            return complete(format!("Hello, {name}! (answered in a task)"));
        }
        match call.elicitation::<UserName>("user_name")? {
            Some(Elicitation::Accept(UserName { name })) => checkpoint(&name),
            _ => Ok(InputRequired::new()
                .elicit_with_schema("user_name", "What is your name?", confirm_schema(&["name"]))
                .into()),
        }
    })
    .description("Asks for a name, then answers in a task (tasks only)")
    .task(TaskSupport::Required)
}

#[derive(Deserialize, JsonSchema)]
struct CrunchArgs {
    /// Steps to take, each in a fresh instance.
    steps: u32,
    /// Rounds of arithmetic per step (a few fuel each).
    rounds: u32,
}

#[derive(Serialize, Deserialize)]
struct Crunched {
    step: u32,
    sum: u64,
}

/// One round of `crunch`: what a test recomputes to check that no step was
/// skipped or run twice.
pub fn crunch_round(sum: u64, step: u32, round: u32) -> u64 {
    sum.wrapping_mul(6_364_136_223_846_793_005).wrapping_add((u64::from(step) << 32) | u64::from(round))
}

/// `crunch` (SMCP's own tests, not the suite's): computes for `steps`
/// steps of `rounds` rounds, checkpointing between steps, and answers the
/// checksum; a long task that burns fuel rather than waits.
pub fn crunch() -> Tool {
    Tool::with_call("crunch", |args: CrunchArgs, call: &ToolCall<'_>| -> ToolResult<Outcome> {
        // The work starts in the task, not in the request that creates it.
        let Some(Crunched { step, mut sum }) = call.state_json()? else {
            return checkpoint(&Crunched { step: 0, sum: 1 });
        };
        if step == args.steps {
            return complete(format!("checksum {sum} after {step} steps"));
        }
        for round in 0..args.rounds {
            sum = core::hint::black_box(crunch_round(sum, step, round));
        }
        checkpoint(&Crunched { step: step + 1, sum })
    })
    .description("Computes in `steps` steps of `rounds` rounds each, then answers a checksum")
    .task(TaskSupport::Optional)
}
