//! `{{name}}`: an MCP server hosted by SMCP. Each tool is a function from
//! its arguments (a type with a JSON Schema) to its result.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use smcp_guest::{McpServer, Structured, Tool, ToolError, ToolResult, Tools};

#[derive(Deserialize, JsonSchema)]
struct Pair {
    /// Left operand.
    a: f64,
    /// Right operand.
    b: f64,
}

#[derive(Serialize, JsonSchema)]
struct Quotient {
    quotient: f64,
}

fn divide(p: Pair) -> ToolResult<Structured<Quotient>> {
    if p.b == 0.0 {
        // The model sees an `isError` result with this text.
        return Err(ToolError::new("division by zero"));
    }
    Ok(Structured::new(Quotient { quotient: p.a / p.b }))
}

struct Server;

impl McpServer for Server {
    fn tools() -> Tools {
        Tools::new().tool(Tool::new("divide", divide).description("Divides a by b.").read_only())
    }
}

smcp_guest::export_server!(Server);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn divides_and_refuses_zero() {
        assert_eq!(divide(Pair { a: 1.0, b: 4.0 }).ok().map(|s| s.value.quotient), Some(0.25));
        assert!(divide(Pair { a: 1.0, b: 0.0 }).is_err());
    }
}
