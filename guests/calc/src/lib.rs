//! `calc`: a server that only computes. It imports no capability, so its
//! component imports nothing. `fib` and `noop` are the benchmark tools.

mod ask;
mod catalog;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use smcp_guest::{
    Completion, CompletionRequest, McpServer, NoArgs, Prompt, PromptArgs, PromptResult, Resource, ResourceContents,
    ResourceTemplate, ServerError, Structured, Tool, ToolError, ToolResult, Tools,
};

#[derive(Deserialize, JsonSchema)]
struct Pair {
    /// Left operand.
    a: f64,
    /// Right operand.
    b: f64,
}

#[derive(Serialize, JsonSchema)]
struct Sum {
    sum: f64,
}

#[derive(Serialize, JsonSchema)]
struct Quotient {
    quotient: f64,
}

#[derive(Deserialize, JsonSchema)]
struct FibArgs {
    /// Index in the sequence; the loop runs `n` times, so cost grows linearly.
    n: u64,
}

#[derive(Deserialize, JsonSchema)]
struct EchoArgs {
    text: String,
}

fn add(p: Pair) -> ToolResult<Structured<Sum>> {
    let sum = p.a + p.b;
    Ok(Structured::new(Sum { sum }).with_text(sum.to_string()))
}

fn divide(p: Pair) -> ToolResult<Structured<Quotient>> {
    if p.b == 0.0 {
        return Err(ToolError::new("division by zero"));
    }
    let quotient = p.a / p.b;
    Ok(Structured::new(Quotient { quotient }).with_text(quotient.to_string()))
}

/// The `n`th Fibonacci number modulo 2^64, by a loop of `n` steps.
pub fn fib(n: u64) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        (a, b) = (b, a.wrapping_add(b));
    }
    a
}

struct Calc;

impl McpServer for Calc {
    fn tools() -> Tools {
        Tools::new()
            .tool(Tool::new("add", add).description("Adds a and b.").read_only().idempotent())
            .tool(Tool::new("divide", divide).description("Divides a by b; fails on b = 0.").read_only())
            .tool(
                Tool::new("fib", |a: FibArgs| Ok(fib(a.n).to_string()))
                    .description("The n-th Fibonacci number modulo 2^64, computed by an n-step loop.")
                    .read_only(),
            )
            .tool(Tool::new("echo", |a: EchoArgs| Ok(a.text)).description("Returns text unchanged.").read_only())
            .tool(Tool::new("noop", |_: NoArgs| Ok("ok")).description("Does nothing; returns \"ok\".").read_only())
            .tool(ask::greet())
            .tool(ask::ask_model())
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
        catalog::prompts()
    }

    fn get_prompt(name: &str, arguments: &PromptArgs) -> Result<PromptResult, ServerError> {
        catalog::get_prompt(name, arguments)
    }

    fn complete(request: &CompletionRequest) -> Result<Completion, ServerError> {
        catalog::complete(request)
    }
}

smcp_guest::export_server!(Calc);

#[cfg(test)]
mod tests {
    #[test]
    fn fib_values() {
        assert_eq!([0, 1, 2, 10, 20].map(super::fib), [0, 1, 1, 55, 6765]);
    }
}
