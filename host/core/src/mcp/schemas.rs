//! A tool's declared schemas, checked by the host so that guests in every
//! language get the same guarantee: its arguments against `inputSchema`
//! before any guest runs (a bad call costs no instance), and its
//! structured result against `outputSchema` before a client sees it.
//! Schemas are read once per component (with the rest of
//! [`super::params::ToolFacts`]) and each compiled on first use, bounded in
//! size and depth; remote references are never fetched. The guest's own
//! checks stay as a second line.

use serde_json::Value;
use std::collections::HashMap;
use std::sync::OnceLock;

/// Largest schema compiled, serialized.
pub const MAX_SCHEMA_BYTES: usize = 64 << 10;
/// Deepest nesting of a schema compiled.
pub const MAX_SCHEMA_DEPTH: usize = 32;
/// Problems named in one refusal.
const MAX_PROBLEMS: usize = 4;
/// Compiled size of one `pattern`, and its lazy DFA's cache.
const MAX_PATTERN_BYTES: usize = 256 << 10;

/// One kind of schema (input or output) of a component's tools, each
/// compiled on its tool's first call: a component's tools are read when it loads, and compiling
/// every schema then cost a new Worker isolate milliseconds per tool (on
/// wasm, jsonschema builds a meta-schema's validator for every schema it
/// compiles; see [`compile`]), most of them for tools the request does not
/// call.
#[derive(Default)]
pub struct ToolSchemas {
    by_tool: HashMap<String, Schema>,
}

/// One tool's schema (`None`: over the bounds), and its validator once
/// compiled (`None`: it did not compile).
struct Schema {
    source: Option<Value>,
    compiled: OnceLock<Option<jsonschema::Validator>>,
}

impl std::fmt::Debug for ToolSchemas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolSchemas").field("tools", &self.by_tool.len()).finish()
    }
}

impl ToolSchemas {
    /// Keeps `schema` for `tool`. A schema over the bounds is not checked,
    /// and neither is one that does not compile: the guest's own checks
    /// then stand alone.
    pub fn add(&mut self, tool: &str, schema: &Value) {
        let source = within_bounds(schema).then(|| schema.clone());
        self.by_tool.insert(tool.to_owned(), Schema { source, compiled: OnceLock::new() });
    }

    /// True when `tool` declared a schema of this kind (even one the host
    /// does not check: over the bounds, or not compiling).
    pub fn declared(&self, tool: &str) -> bool {
        self.by_tool.contains_key(tool)
    }

    /// `Err` with the failing paths and what is wrong at each, when `value`
    /// does not fit `tool`'s schema; `whole` names the value at its root
    /// ("the arguments").
    pub fn check(&self, tool: &str, value: &Value, whole: &str) -> Result<(), String> {
        let Some(schema) = self.by_tool.get(tool) else { return Ok(()) };
        let Some(validator) = schema.compiled.get_or_init(|| schema.source.as_ref().and_then(compile)) else {
            return Ok(());
        };
        let problems: Vec<String> = validator
            .iter_errors(value)
            .take(MAX_PROBLEMS)
            .map(|e| {
                let path = e.instance_path().to_string();
                let at = if path.is_empty() { whole.to_owned() } else { format!("`{path}`") };
                format!("{at}: {e}")
            })
            .collect();
        if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) }
    }
}

/// Where a tool's schema sits in the registry its validator is built from.
const INPUT_SCHEMA_URI: &str = "urn:smcp:tool-input";

/// `schema` as a validator, `None` when it does not compile.
///
/// The schema is read in the dialect its `$schema` names (draft 4, 6, 7,
/// 2019-09 or 2020-12), and as 2020-12 without one (MCP's default,
/// SEP-1613); one naming a dialect the validator does not know is left
/// unchecked. Forcing 2020-12 on a schema that names draft-07, as
/// JavaScript schema generators write, made jsonschema look for the
/// vocabularies of an unknown meta-schema, find none and accept anything.
///
/// The validator is built for a Draft 4 schema that only refers to the
/// tool's, registered as a resource of its dialect. On wasm jsonschema
/// builds the meta-schema's validator again for every schema it compiles
/// (no static caches it there); 2020-12's, eight vocabularies with their
/// patterns, cost a new Worker isolate 10 ms of its first call (123
/// against 113 ms, docs/benchmarks.md), Draft 4's applied to a one-key
/// reference a fraction. So the tool's schema itself is not checked
/// against its meta-schema: one the compiler cannot make sense of still
/// does not compile, and a stray annotation (a `title` that is not a
/// string) no longer turns the check off.
fn compile(schema: &Value) -> Option<jsonschema::Validator> {
    // A schema is the tenant's input to the host: its patterns run on the
    // linear-time `regex` engine, never a backtracking one, so a pattern
    // cannot make a call's check take exponential time. One that needs
    // look-around or back-references does not compile.
    let patterns = jsonschema::PatternOptions::regex().size_limit(MAX_PATTERN_BYTES).dfa_size_limit(MAX_PATTERN_BYTES);
    let dialect = jsonschema::Draft::Draft202012.detect(schema);
    if dialect == jsonschema::Draft::Unknown {
        return None;
    }
    let registry = jsonschema::Registry::new().add(INPUT_SCHEMA_URI, dialect.create_resource(schema.clone())).ok()?;
    let registry = registry.prepare().ok()?;
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .with_registry(&registry)
        .with_pattern_options(patterns)
        .build(&serde_json::json!({ "$ref": INPUT_SCHEMA_URI }))
        .ok()
}

/// True for a schema small and shallow enough to compile.
fn within_bounds(schema: &Value) -> bool {
    depth(schema) <= MAX_SCHEMA_DEPTH && serde_json::to_vec(schema).is_ok_and(|b| b.len() <= MAX_SCHEMA_BYTES)
}

/// How deeply `value` nests arrays and objects.
fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn add_schema() -> ToolSchemas {
        let mut schemas = ToolSchemas::default();
        let schema = json!({"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}, "required": ["a", "b"]});
        schemas.add("add", &schema);
        schemas
    }

    #[test]
    fn a_mismatch_names_its_path() {
        let schemas = add_schema();
        assert_eq!(schemas.check("add", &json!({"a": 1, "b": 2}), "the arguments"), Ok(()));
        let wrong = schemas.check("add", &json!({"a": "two", "b": 2}), "the arguments").unwrap_err();
        assert!(wrong.starts_with("`/a`: "), "{wrong}");
        let missing = schemas.check("add", &json!({"a": 1}), "the arguments").unwrap_err();
        assert!(missing.contains("\"b\" is a required property"), "{missing}");
        assert_eq!(schemas.check("other", &json!("anything"), "the arguments"), Ok(()), "no schema, no check");

        let mut patterned = ToolSchemas::default();
        patterned
            .add("id", &json!({"type": "object", "properties": {"id": {"type": "string", "pattern": "^[a-z]+$"}}}));
        assert_eq!(patterned.check("id", &json!({"id": "abc"}), "the arguments"), Ok(()));
        let wrong = patterned.check("id", &json!({"id": "ABC"}), "the arguments").unwrap_err();
        assert!(wrong.starts_with("`/id`: "), "{wrong}");
    }

    #[test]
    fn schemas_are_checked_as_2020_12() {
        let mut schemas = ToolSchemas::default();
        let schema = json!({
            "type": "object",
            "$defs": {"point": {"type": "array", "prefixItems": [{"type": "number"}, {"type": "number"}], "items": false}},
            "properties": {"at": {"$ref": "#/$defs/point"}, "card": {"type": "string"}, "cvc": {"type": "string"}},
            "dependentRequired": {"card": ["cvc"]},
            "unevaluatedProperties": false
        });
        schemas.add("draw", &schema);
        assert_eq!(schemas.check("draw", &json!({"at": [1, 2]}), "the arguments"), Ok(()));
        for (bad, at) in [
            (json!({"at": [1, "2"]}), "`/at/1`"),
            (json!({"at": [1, 2, 3]}), "`/at/2`"),
            (json!({"card": "4111"}), "the arguments"),
            (json!({"at": [1, 2], "extra": true}), "the arguments"),
        ] {
            let wrong = schemas.check("draw", &bad, "the arguments").unwrap_err();
            assert!(wrong.starts_with(at), "{bad}: {wrong}");
        }
        // Draft 4's meaning of a keyword does not leak in: there `exclusiveMinimum`
        // is a boolean, here a number.
        schemas.add("positive", &json!({"type": "object", "properties": {"n": {"exclusiveMinimum": 0}}}));
        assert_eq!(schemas.check("positive", &json!({"n": 1}), "the arguments"), Ok(()));
        assert!(schemas.check("positive", &json!({"n": 0}), "the arguments").is_err());
        // Not valid against 2020-12's meta-schema, but what it asks is clear.
        schemas.add("titled", &json!({"title": 5, "type": "object", "required": ["a"]}));
        assert!(schemas.check("titled", &json!({}), "the arguments").is_err());
    }

    #[test]
    fn a_schema_is_read_in_the_dialect_it_names() {
        let mut schemas = ToolSchemas::default();
        let draft7 = "http://json-schema.org/draft-07/schema#";
        schemas.add(
            "seven",
            &json!({"$schema": draft7, "type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}),
        );
        assert_eq!(schemas.check("seven", &json!({"id": "a"}), "the arguments"), Ok(()));
        let wrong = schemas.check("seven", &json!({"id": 5}), "the arguments").unwrap_err();
        assert!(wrong.starts_with("`/id`: "), "{wrong}");
        assert!(schemas.check("seven", &json!({}), "the arguments").is_err());
        // Draft 4's `exclusiveMinimum` is a boolean beside `minimum`.
        let draft4 = "http://json-schema.org/draft-04/schema#";
        schemas.add("four", &json!({"$schema": draft4, "type": "number", "minimum": 1, "exclusiveMinimum": true}));
        assert_eq!(schemas.check("four", &json!(2), "the arguments"), Ok(()));
        assert!(schemas.check("four", &json!(1), "the arguments").is_err());
        // A dialect the host does not know: the guest's own checks stand alone.
        schemas.add("custom", &json!({"$schema": "https://example.com/my-dialect", "type": "number"}));
        assert_eq!(schemas.check("custom", &json!("five"), "the arguments"), Ok(()));
    }

    #[test]
    fn schemas_past_the_bounds_are_not_compiled() {
        let mut schemas = ToolSchemas::default();
        let mut deep = json!({"type": "string"});
        for _ in 0..MAX_SCHEMA_DEPTH {
            deep = json!({"type": "object", "properties": {"x": deep}});
        }
        schemas.add("deep", &deep);
        schemas.add("remote", &json!({"$ref": "https://example.com/schema.json"}));
        // Catastrophic on a backtracking engine; the linear one refuses it.
        schemas.add("backtracking", &json!({"type": "string", "pattern": "^(a+)+(?=b)"}));
        schemas.add("huge", &json!({"type": "string", "pattern": "\\w{1000}\\w{1000}\\w{1000}"}));
        for tool in ["deep", "remote", "backtracking", "huge"] {
            assert_eq!(schemas.check(tool, &json!(1), "the arguments"), Ok(()), "{tool} was compiled");
        }
    }
}
