//! JSON Schemas derived from Rust types with schemars, in the form MCP
//! wants: JSON Schema 2020-12 (MCP's default dialect, so no `$schema` key
//! is needed), object schemas for tool arguments and structured output.
//! The `title` schemars fills in from the Rust type's name is dropped: it
//! means nothing to a model (an explicit `#[schemars(title = ..)]` stays).
//! In input schemas an `Option` field is optional, not nullable: a client
//! leaves it out (MCP clients such as the Inspector warn about nullable
//! types).

use std::borrow::Cow;

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

/// The schema of `T` as accepted from clients (deserialize contract):
/// what a tool's `inputSchema` or an elicitation's `requestedSchema` needs.
pub fn input_schema<T: JsonSchema + ?Sized>() -> String {
    render::<T>(SchemaSettings::draft2020_12().for_deserialize().with_transform(OptionalNotNullable))
}

/// Takes `null` out of the types of properties an object does not
/// require: what `Option` fields become in input schemas.
#[derive(Clone)]
struct OptionalNotNullable;

impl schemars::transform::Transform for OptionalNotNullable {
    fn transform(&mut self, schema: &mut Schema) {
        schemars::transform::transform_subschemas(self, schema);
        let required: Vec<String> = schema
            .get("required")
            .and_then(|r| r.as_array())
            .map(|r| r.iter().filter_map(|n| n.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        let Some(properties) = schema.get_mut("properties").and_then(|p| p.as_object_mut()) else { return };
        for (name, property) in properties.iter_mut() {
            if !required.contains(name) {
                drop_null(property);
            }
        }
    }
}

/// `{"type": ["string", "null"]}` → `{"type": "string"}`; an `anyOf` with a
/// `{"type": "null"}` member loses that member (and is unwrapped when one
/// is left).
fn drop_null(schema: &mut serde_json::Value) {
    let Some(object) = schema.as_object_mut() else { return };
    if let Some(serde_json::Value::Array(types)) = object.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            object.insert("type".into(), only);
        }
    }
    if let Some(serde_json::Value::Array(members)) = object.get_mut("anyOf") {
        members.retain(|m| m.get("type").and_then(|t| t.as_str()) != Some("null"));
        if members.len() == 1 {
            let only = members.remove(0);
            object.remove("anyOf");
            if let serde_json::Value::Object(fields) = only {
                for (key, value) in fields {
                    object.entry(key).or_insert(value);
                }
            }
        }
    }
}

/// The schema of `T` as produced by the server (serialize contract): a
/// tool's `outputSchema`.
pub fn output_schema<T: JsonSchema + ?Sized>() -> String {
    render::<T>(SchemaSettings::draft2020_12().for_serialize())
}

fn render<T: JsonSchema + ?Sized>(settings: SchemaSettings) -> String {
    let mut schema = settings.with(|s| s.meta_schema = None).into_generator().into_root_schema_for::<T>();
    if schema.get("title").and_then(|t| t.as_str()) == Some(&T::schema_name()) {
        schema.remove("title");
    }
    // A `Schema` is a JSON value; serializing it cannot fail.
    serde_json::to_string(schema.as_value()).unwrap_or_else(|_| String::from("{}"))
}

/// The arguments of a tool that takes none: any object, schema
/// `{"type":"object"}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
pub struct NoArgs {}

impl JsonSchema for NoArgs {
    fn schema_name() -> Cow<'static, str> {
        "NoArgs".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "object" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[derive(serde::Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct AddArgs {
        /// First addend.
        a: f64,
        b: f64,
        #[serde(default)]
        note: Option<String>,
    }

    #[test]
    fn input_schema_is_an_object_schema() {
        let schema: Value = serde_json::from_str(&input_schema::<AddArgs>()).unwrap();
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["properties"]["a"]["type"], "number");
        assert_eq!(schema["properties"]["a"]["description"], "First addend.");
        assert_eq!(schema["required"], json!(["a", "b"]));
        assert!(schema.get("$schema").is_none());
        assert!(schema.get("title").is_none());
    }

    #[derive(serde::Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Filter {
        prefix: Option<String>,
        /// Most results.
        limit: Option<u32>,
        inner: Option<Inner>,
    }

    #[derive(serde::Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Inner {
        deep: Option<bool>,
    }

    #[test]
    fn option_fields_are_optional_not_nullable() {
        let schema: Value = serde_json::from_str(&input_schema::<Filter>()).unwrap();
        assert!(schema.get("required").is_none_or(|r| r == &json!([])), "{schema}");
        assert_eq!(schema["properties"]["prefix"]["type"], "string", "{schema}");
        assert_eq!(schema["properties"]["limit"]["type"], "integer", "{schema}");
        assert_eq!(schema["properties"]["limit"]["description"], "Most results.", "{schema}");
        assert!(!schema.to_string().contains("null"), "no nullable type anywhere: {schema}");
    }

    #[test]
    fn no_args_is_an_empty_object() {
        assert_eq!(input_schema::<NoArgs>(), r#"{"type":"object"}"#);
        let _: NoArgs = serde_json::from_str(r#"{"anything": 1}"#).unwrap();
    }
}
