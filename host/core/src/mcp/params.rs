//! What the host needs to know about a component's tools on every call,
//! worked out once per component from its declared tools (as listed at
//! upload, [`DeclaredTool`]): which tools are
//! annotated read-only, their input and output schemas, and which
//! arguments are mirrored into `Mcp-Param-{Name}` headers (`x-mcp-header`,
//! 2026-07-28), which the host checks against the body.

use crate::guest::{CallToolResult, DeclaredTool};
use base64::Engine as _;
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap};

/// An argument mirrored into a header: its path of `properties` keys and
/// the header's name (lowercase).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamHeader {
    pub path: Vec<String>,
    pub header: String,
}

#[derive(Debug, Default)]
pub struct ToolFacts {
    pub read_only: BTreeSet<String>,
    pub param_headers: HashMap<String, Vec<ParamHeader>>,
    /// Each tool's input schema, compiled on the tool's first call.
    pub arguments: super::schemas::ToolSchemas,
    /// Each tool's output schema, compiled on its first result.
    pub outputs: super::schemas::ToolSchemas,
    /// The listed tools that may run as tasks (`task-tools`).
    pub task_support: HashMap<String, crate::guest::TaskSupport>,
}

impl ToolFacts {
    pub fn of(tools: &[DeclaredTool]) -> ToolFacts {
        let mut facts = ToolFacts::default();
        for tool in tools {
            if tool.read_only {
                facts.read_only.insert(tool.name.clone());
            }
            if let Some(support) = tool.task {
                facts.task_support.insert(tool.name.clone(), support);
            }
            facts.arguments.add(&tool.name, &tool.input_schema);
            if let Some(schema) = &tool.output_schema {
                facts.outputs.add(&tool.name, schema);
            }
            let mut headers = Vec::new();
            collect(&tool.input_schema, &mut Vec::new(), &mut headers);
            if !headers.is_empty() {
                facts.param_headers.insert(tool.name.clone(), headers);
            }
        }
        facts
    }

    /// `result` as the client may see it: a tool that declared an output
    /// schema must give structured content that fits it (MCP makes that
    /// the server's duty, and clients such as the TypeScript SDK fail the
    /// call otherwise), so a result that does not becomes a tool error
    /// naming what is wrong. A tool's own error passes as it is.
    pub fn checked_result(&self, tool: &str, result: CallToolResult) -> CallToolResult {
        if result.is_error || !self.outputs.declared(tool) {
            return result;
        }
        let problem = match &result.structured_content {
            None => "it declares an outputSchema but gave no structured content".to_owned(),
            Some(structured) => match self.outputs.check(tool, structured, "the structured content") {
                Ok(()) => return result,
                Err(problem) => format!("its structured content does not fit its outputSchema: {problem}"),
            },
        };
        CallToolResult::error(format!("tool `{tool}` returned a result the host withheld: {problem}"))
    }
}

/// The annotated properties reachable through `properties` keys alone.
fn collect(schema: &Value, path: &mut Vec<String>, out: &mut Vec<ParamHeader>) {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else { return };
    for (key, property) in properties {
        path.push(key.clone());
        if let Some(name) = property.get("x-mcp-header").and_then(Value::as_str) {
            out.push(ParamHeader { path: path.clone(), header: format!("mcp-param-{}", name.to_ascii_lowercase()) });
        }
        collect(property, path, out);
        path.pop();
    }
}

/// The value at `path` in `arguments`, as a header carries it; `None`
/// when absent or null.
fn header_form(arguments: &Map<String, Value>, path: &[String]) -> Option<String> {
    let (first, rest) = path.split_first()?;
    let mut value = arguments.get(first)?;
    for key in rest {
        value = value.get(key)?;
    }
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
    }
}

/// A header value decoded: plain, or `=?base64?…?=` with canonical Base64
/// (for `Mcp-Name` and `Mcp-Param-*` alike).
pub(crate) fn decode(raw: &str) -> Result<String, &'static str> {
    match raw.strip_prefix("=?base64?").and_then(|r| r.strip_suffix("?=")) {
        Some(encoded) => base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or("is not valid Base64 of UTF-8"),
        None => Ok(raw.to_owned()),
    }
}

/// Checks every mirrored argument of a call against its header:
/// `Err(message)` for a HeaderMismatch.
pub fn check(
    headers: &[ParamHeader],
    arguments: &Map<String, Value>,
    header: impl Fn(&str) -> Option<String>,
) -> Result<(), String> {
    for expected in headers {
        let display = expected.header.replacen("mcp-param-", "Mcp-Param-", 1);
        match (header_form(arguments, &expected.path), header(&expected.header)) {
            (None, None) => {}
            (Some(_), None) => return Err(format!("Header mismatch: {display} header is required")),
            (None, Some(_)) => {
                return Err(format!("Header mismatch: {display} header is present but the argument is not"));
            }
            (Some(body), Some(raw)) => {
                let decoded = decode(&raw).map_err(|why| format!("Header mismatch: {display} header {why}"))?;
                if decoded != body {
                    return Err(format!("Header mismatch: {display} header value does not match the body"));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guest::ContentBlock;
    use serde_json::json;

    #[test]
    fn a_result_must_fit_its_declared_output_schema() {
        let tool = |name: &str, output_schema: Option<Value>| DeclaredTool {
            name: name.into(),
            read_only: false,
            input_schema: json!({"type": "object"}),
            output_schema,
            task: None,
        };
        let sum = json!({"type": "object", "properties": {"sum": {"type": "number"}}, "required": ["sum"]});
        let facts = ToolFacts::of(&[tool("add", Some(sum)), tool("echo", None)]);
        let result = |structured: Option<Value>, is_error: bool| CallToolResult {
            content: vec![ContentBlock::text("5")],
            structured_content: structured,
            is_error,
        };
        let fits = result(Some(json!({"sum": 5.0})), false);
        assert_eq!(facts.checked_result("add", fits.clone()), fits);
        let withheld = facts.checked_result("add", result(Some(json!({"sum": "five"})), false));
        assert!(withheld.is_error && withheld.structured_content.is_none(), "{withheld:?}");
        let ContentBlock::Text { text } = &withheld.content[0] else { panic!("{withheld:?}") };
        assert!(text.contains("`/sum`: \"five\" is not of type \"number\""), "{text}");
        let missing = facts.checked_result("add", result(None, false));
        assert!(missing.is_error, "{missing:?}");
        // The tool's own error, and a tool with no output schema, pass as they are.
        let own_error = result(None, true);
        assert_eq!(facts.checked_result("add", own_error.clone()), own_error);
        let free = result(Some(json!({"anything": true})), false);
        assert_eq!(facts.checked_result("echo", free.clone()), free);
    }

    fn headers() -> Vec<ParamHeader> {
        let mut out = Vec::new();
        let schema = json!({ "type": "object", "properties": {
            "region": { "type": "string", "x-mcp-header": "Region" },
            "opts": { "type": "object", "properties": { "dry": { "type": "boolean", "x-mcp-header": "Dry" } } },
            "list": { "type": "array", "items": { "x-mcp-header": "Ignored" } },
        } });
        collect(&schema, &mut Vec::new(), &mut out);
        out
    }

    #[test]
    fn headers_must_mirror_the_body() {
        let h = headers();
        assert_eq!(h.len(), 2, "{h:?}");
        let args = |v: Value| v.as_object().unwrap().clone();
        let sent = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        };
        let body = args(json!({ "region": "us-west1", "opts": { "dry": true } }));
        assert_eq!(check(&h, &body, sent(&[("mcp-param-region", "us-west1"), ("mcp-param-dry", "true")])), Ok(()));
        assert_eq!(
            check(&h, &body, sent(&[("mcp-param-region", "=?base64?dXMtd2VzdDE=?="), ("mcp-param-dry", "true")])),
            Ok(())
        );
        let refused = [
            sent(&[("mcp-param-dry", "true")]),
            sent(&[("mcp-param-region", "eu"), ("mcp-param-dry", "true")]),
            sent(&[("mcp-param-region", "=?base64?dXMtd2VzdDE?="), ("mcp-param-dry", "true")]),
            sent(&[("mcp-param-region", "=?base64?dXMt*2VzdDE=?="), ("mcp-param-dry", "true")]),
        ];
        for header in refused {
            assert!(check(&h, &body, header).is_err());
        }
        // Absent or null arguments expect no header, and a stray one is refused.
        let bare = args(json!({ "region": null }));
        assert_eq!(check(&h, &bare, sent(&[])), Ok(()));
        assert!(check(&h, &bare, sent(&[("mcp-param-region", "x")])).is_err());
    }
}
