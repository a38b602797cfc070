//! A plain component served as an MCP server: one tool per exported
//! function ([`crate::component::plain`]), its input schema derived from the
//! WIT parameter types, its result returned as structured content
//! (`{"result": …}`). A `result` return type's error is a tool error. It
//! has no resources, prompts or completions.
//!
//! JSON forms: records are objects keyed by field name, tuples arrays,
//! options `null` or the value, `result`s `{"ok": …}` or `{"err": …}`,
//! variants `{"tag": case, "val": …}`, enums a case name, flags an array
//! of names; `list<u8>` is an array of numbers like any list.

use super::{CallToolResult, ContentBlock, ServerError, Tool, ToolOutcome};
use crate::abi::Val;
use crate::component::plain::{PlainFunc, Shape};
use crate::runtime::{Component, HostCalls, Limits, Runtime};
use serde_json::{Map, Value, json};

/// The tools of a plain component.
pub fn tools(funcs: &[PlainFunc]) -> Vec<Tool> {
    funcs
        .iter()
        .map(|f| {
            let properties: Map<String, Value> = f.params.iter().map(|(n, s)| (n.clone(), schema(s))).collect();
            let required: Vec<&str> =
                f.params.iter().filter(|(_, s)| !matches!(s, Shape::Option(_))).map(|(n, _)| n.as_str()).collect();
            // The doc comment where the component kept it; the signature
            // always, which says a model most of what it needs.
            let description = match &f.docs {
                Some(docs) => format!("{docs}\n\n`{}`", f.signature),
                None => format!("`{}` (WIT, {})", f.signature, f.export.interface),
            };
            Tool {
                name: f.tool.clone(),
                title: None,
                description: Some(description),
                input_schema: json!({
                    "type": "object", "properties": properties, "required": required, "additionalProperties": false
                }),
                output_schema: f.result.as_ref().map(|s| {
                    let result = match s {
                        Shape::Result { ok, .. } => ok.as_deref().map_or(json!({"type": "null"}), schema),
                        other => schema(other),
                    };
                    json!({"type": "object", "properties": {"result": result}, "required": ["result"]})
                }),
                annotations: None,
            }
        })
        .collect()
}

/// Calls tool `name` with `arguments`.
pub async fn call_tool<H: HostCalls>(
    runtime: &Runtime,
    component: &Component,
    funcs: &[PlainFunc],
    limits: &Limits,
    host: &mut H,
    name: &str,
    arguments: &Value,
) -> Result<ToolOutcome, ServerError> {
    let func = funcs.iter().find(|f| f.tool == name).ok_or_else(|| ServerError::NotFound(format!("tool `{name}`")))?;
    let Some(object) = arguments.as_object() else {
        return Err(ServerError::InvalidParams("tool arguments must be a JSON object".into()));
    };
    if let Some(unknown) = object.keys().find(|k| !func.params.iter().any(|(n, _)| n == *k)) {
        return Ok(tool_error(format!("invalid arguments for tool `{name}`: no parameter `{unknown}`")));
    }
    let mut args = Vec::with_capacity(func.params.len());
    for (param, shape) in &func.params {
        match to_val(shape, object.get(param).unwrap_or(&Value::Null), &format!("/{param}")) {
            Ok(val) => args.push(val),
            Err(why) => return Ok(tool_error(format!("invalid arguments for tool `{name}`: {why}"))),
        }
    }
    let value = runtime.call_export(component, &func.export, &args, limits, host).await?;
    Ok(ToolOutcome::Complete(match (&func.result, value) {
        (None, _) | (_, None) => CallToolResult { content: vec![], structured_content: None, is_error: false },
        (Some(Shape::Result { ok, err }), Some(Val::Variant(case, payload))) => {
            let (shape, is_error) = if case == 0 { (ok, false) } else { (err, true) };
            let json = match (shape, payload) {
                (Some(shape), Some(v)) => from_val(shape, &v),
                _ => Value::Null,
            };
            if is_error {
                let text = match &json {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                CallToolResult::error(text)
            } else {
                structured(json)
            }
        }
        (Some(shape), Some(v)) => structured(from_val(shape, &v)),
    }))
}

fn structured(result: Value) -> CallToolResult {
    let text = match &result {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    CallToolResult {
        content: vec![ContentBlock::text(text)],
        structured_content: Some(json!({ "result": result })),
        is_error: false,
    }
}

fn tool_error(message: String) -> ToolOutcome {
    ToolOutcome::Complete(CallToolResult::error(message))
}

/// The JSON Schema of a shape's JSON form.
pub fn schema(shape: &Shape) -> Value {
    let int = |min: i128, max: i128| json!({"type": "integer", "minimum": min, "maximum": max});
    match shape {
        Shape::Bool => json!({"type": "boolean"}),
        Shape::U8 => int(0, u8::MAX.into()),
        Shape::S8 => int(i8::MIN.into(), i8::MAX.into()),
        Shape::U16 => int(0, u16::MAX.into()),
        Shape::S16 => int(i16::MIN.into(), i16::MAX.into()),
        Shape::U32 => int(0, u32::MAX.into()),
        Shape::S32 => int(i32::MIN.into(), i32::MAX.into()),
        Shape::U64 => int(0, u64::MAX.into()),
        Shape::S64 => int(i64::MIN.into(), i64::MAX.into()),
        Shape::F32 | Shape::F64 => json!({"type": "number"}),
        Shape::Char => json!({"type": "string", "minLength": 1, "maxLength": 1}),
        Shape::String => json!({"type": "string"}),
        Shape::List(item) => json!({"type": "array", "items": schema(item)}),
        Shape::Option(inner) => json!({"anyOf": [{"type": "null"}, schema(inner)]}),
        Shape::Result { ok, err } => {
            let side = |s: &Option<Box<Shape>>| s.as_deref().map_or(json!({"type": "null"}), schema);
            json!({"oneOf": [
                {"type": "object", "properties": {"ok": side(ok)}, "required": ["ok"], "additionalProperties": false},
                {"type": "object", "properties": {"err": side(err)}, "required": ["err"], "additionalProperties": false},
            ]})
        }
        Shape::Record(fields) => {
            let properties: Map<String, Value> = fields.iter().map(|(n, s)| (n.clone(), schema(s))).collect();
            let required: Vec<&str> =
                fields.iter().filter(|(_, s)| !matches!(s, Shape::Option(_))).map(|(n, _)| n.as_str()).collect();
            json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false})
        }
        Shape::Tuple(items) => json!({
            "type": "array", "prefixItems": items.iter().map(schema).collect::<Vec<_>>(),
            "minItems": items.len(), "maxItems": items.len()
        }),
        Shape::Variant(cases) => json!({"oneOf": cases.iter().map(|(name, payload)| {
            let mut properties = Map::new();
            properties.insert("tag".into(), json!({"const": name}));
            let mut required = vec!["tag"];
            if let Some(p) = payload {
                properties.insert("val".into(), schema(p));
                required.push("val");
            }
            json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false})
        }).collect::<Vec<_>>()}),
        Shape::Enum(cases) => json!({"type": "string", "enum": cases}),
        Shape::Flags(names) => {
            json!({"type": "array", "items": {"type": "string", "enum": names}, "uniqueItems": true})
        }
    }
}

/// The value of `json` as `shape`; the error names the path.
pub fn to_val(shape: &Shape, json: &Value, path: &str) -> Result<Val, String> {
    let wrong = |what: &str| format!("`{path}`: {json} is not {what}");
    let int = |min: i128, max: i128| -> Result<i128, String> {
        let n = json.as_i64().map(i128::from).or_else(|| json.as_u64().map(i128::from));
        n.filter(|n| (min..=max).contains(n)).ok_or_else(|| wrong(&format!("an integer from {min} to {max}")))
    };
    Ok(match shape {
        Shape::Bool => Val::Bool(json.as_bool().ok_or_else(|| wrong("a boolean"))?),
        Shape::U8 => Val::U8(int(0, u8::MAX.into())? as u8),
        Shape::S8 => Val::S8(int(i8::MIN.into(), i8::MAX.into())? as i8),
        Shape::U16 => Val::U16(int(0, u16::MAX.into())? as u16),
        Shape::S16 => Val::S16(int(i16::MIN.into(), i16::MAX.into())? as i16),
        Shape::U32 => Val::U32(int(0, u32::MAX.into())? as u32),
        Shape::S32 => Val::S32(int(i32::MIN.into(), i32::MAX.into())? as i32),
        Shape::U64 => Val::U64(int(0, u64::MAX.into())? as u64),
        Shape::S64 => Val::S64(int(i64::MIN.into(), i64::MAX.into())? as i64),
        Shape::F32 => Val::F32(json.as_f64().ok_or_else(|| wrong("a number"))? as f32),
        Shape::F64 => Val::F64(json.as_f64().ok_or_else(|| wrong("a number"))?),
        Shape::Char => {
            let s = json.as_str().ok_or_else(|| wrong("one character"))?;
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Val::Char(c),
                _ => return Err(wrong("one character")),
            }
        }
        Shape::String => Val::String(json.as_str().ok_or_else(|| wrong("a string"))?.to_owned()),
        Shape::List(item) => {
            let items = json.as_array().ok_or_else(|| wrong("an array"))?;
            let vals = items
                .iter()
                .enumerate()
                .map(|(i, v)| to_val(item, v, &format!("{path}/{i}")))
                .collect::<Result<Vec<_>, _>>()?;
            if **item == Shape::U8 {
                Val::Bytes(vals.into_iter().map(|v| if let Val::U8(b) = v { b } else { 0 }).collect())
            } else {
                Val::List(vals)
            }
        }
        Shape::Option(inner) => match json {
            Value::Null => Val::none(),
            v => Val::some(to_val(inner, v, path)?),
        },
        Shape::Result { ok, err } => {
            let object =
                json.as_object().filter(|o| o.len() == 1).ok_or_else(|| wrong("{\"ok\": …} or {\"err\": …}"))?;
            let (case, side, key) = match (object.get("ok"), object.get("err")) {
                (Some(v), _) => (0, ok, ("ok", v)),
                (_, Some(v)) => (1, err, ("err", v)),
                _ => return Err(wrong("{\"ok\": …} or {\"err\": …}")),
            };
            let payload = side.as_deref().map(|s| to_val(s, key.1, &format!("{path}/{}", key.0))).transpose()?;
            Val::Variant(case, payload.map(Box::new))
        }
        Shape::Record(fields) => {
            let object = json.as_object().ok_or_else(|| wrong("an object"))?;
            if let Some(unknown) = object.keys().find(|k| !fields.iter().any(|(n, _)| n == *k)) {
                return Err(format!("`{path}`: no field `{unknown}`"));
            }
            Val::Record(
                fields
                    .iter()
                    .map(|(n, s)| to_val(s, object.get(n).unwrap_or(&Value::Null), &format!("{path}/{n}")))
                    .collect::<Result<_, _>>()?,
            )
        }
        Shape::Tuple(items) => {
            let array = json.as_array().filter(|a| a.len() == items.len());
            let array = array.ok_or_else(|| wrong(&format!("an array of {}", items.len())))?;
            Val::Record(
                items
                    .iter()
                    .zip(array)
                    .enumerate()
                    .map(|(i, (s, v))| to_val(s, v, &format!("{path}/{i}")))
                    .collect::<Result<_, _>>()?,
            )
        }
        Shape::Variant(cases) => {
            let tag = json.get("tag").and_then(Value::as_str).ok_or_else(|| wrong("{\"tag\": case, \"val\": …}"))?;
            let i = cases.iter().position(|(n, _)| n == tag).ok_or_else(|| format!("`{path}`: no case `{tag}`"))?;
            let payload = match &cases[i].1 {
                Some(s) => Some(Box::new(to_val(s, json.get("val").unwrap_or(&Value::Null), &format!("{path}/val"))?)),
                None => None,
            };
            Val::Variant(i as u32, payload)
        }
        Shape::Enum(cases) => {
            let name = json.as_str().ok_or_else(|| wrong("a case name"))?;
            Val::Enum(cases.iter().position(|c| c == name).ok_or_else(|| format!("`{path}`: no case `{name}`"))? as u32)
        }
        Shape::Flags(names) => {
            let set = json.as_array().ok_or_else(|| wrong("an array of flag names"))?;
            let mut bits = 0u32;
            for flag in set {
                let i = flag.as_str().and_then(|f| names.iter().position(|n| n == f));
                bits |= 1 << i.ok_or_else(|| format!("`{path}`: no flag {flag}"))?;
            }
            Val::Flags(bits)
        }
    })
}

/// The JSON form of `val`, a value of `shape` the guest returned (lifted
/// and checked by the ABI layer, so a mismatch is reported as `null`).
pub fn from_val(shape: &Shape, val: &Val) -> Value {
    match (shape, val) {
        (Shape::Bool, Val::Bool(b)) => json!(b),
        (Shape::U8, Val::U8(n)) => json!(n),
        (Shape::S8, Val::S8(n)) => json!(n),
        (Shape::U16, Val::U16(n)) => json!(n),
        (Shape::S16, Val::S16(n)) => json!(n),
        (Shape::U32, Val::U32(n)) => json!(n),
        (Shape::S32, Val::S32(n)) => json!(n),
        (Shape::U64, Val::U64(n)) => json!(n),
        (Shape::S64, Val::S64(n)) => json!(n),
        (Shape::F32, Val::F32(n)) => json!(n),
        (Shape::F64, Val::F64(n)) => json!(n),
        (Shape::Char, Val::Char(c)) => json!(c.to_string()),
        (Shape::String, Val::String(s)) => json!(s),
        (Shape::List(_), Val::Bytes(bytes)) => json!(bytes),
        (Shape::List(item), Val::List(items)) => Value::Array(items.iter().map(|v| from_val(item, v)).collect()),
        (Shape::Option(_), Val::Variant(0, _)) => Value::Null,
        (Shape::Option(inner), Val::Variant(1, Some(v))) => from_val(inner, v),
        (Shape::Result { ok, err }, Val::Variant(case, payload)) => {
            let (key, side) = if *case == 0 { ("ok", ok) } else { ("err", err) };
            let value = match (side, payload) {
                (Some(s), Some(v)) => from_val(s, v),
                _ => Value::Null,
            };
            json!({ key: value })
        }
        (Shape::Record(fields), Val::Record(vals)) => {
            Value::Object(fields.iter().zip(vals).map(|((n, s), v)| (n.clone(), from_val(s, v))).collect())
        }
        (Shape::Tuple(items), Val::Record(vals)) => {
            Value::Array(items.iter().zip(vals).map(|(s, v)| from_val(s, v)).collect())
        }
        (Shape::Variant(cases), Val::Variant(case, payload)) => match cases.get(*case as usize) {
            Some((name, Some(s))) => {
                json!({"tag": name, "val": payload.as_deref().map_or(Value::Null, |v| from_val(s, v))})
            }
            Some((name, None)) => json!({"tag": name}),
            None => Value::Null,
        },
        (Shape::Enum(cases), Val::Enum(i)) => cases.get(*i as usize).map_or(Value::Null, |c| json!(c)),
        (Shape::Flags(names), Val::Flags(bits)) => Value::Array(
            names.iter().enumerate().filter(|(i, _)| bits & (1 << i) != 0).map(|(_, n)| json!(n)).collect(),
        ),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trips_through_every_shape() {
        let shape = Shape::Record(vec![
            ("name".into(), Shape::String),
            ("count".into(), Shape::U8),
            ("tags".into(), Shape::List(Box::new(Shape::String))),
            ("maybe".into(), Shape::Option(Box::new(Shape::S64))),
            ("pair".into(), Shape::Tuple(vec![Shape::Char, Shape::F64])),
            ("mode".into(), Shape::Enum(vec!["fast".into(), "slow".into()])),
            ("perms".into(), Shape::Flags(vec!["read".into(), "write".into()])),
            ("shape".into(), Shape::Variant(vec![("circle".into(), Some(Shape::F32)), ("none".into(), None)])),
            ("outcome".into(), Shape::Result { ok: Some(Box::new(Shape::Bool)), err: None }),
            ("bytes".into(), Shape::List(Box::new(Shape::U8))),
        ]);
        let value = json!({
            "name": "n", "count": 7, "tags": ["a", "b"], "maybe": null, "pair": ["é", 1.5], "mode": "slow",
            "perms": ["write"], "shape": {"tag": "circle", "val": 2.0}, "outcome": {"ok": true}, "bytes": [1, 2]
        });
        let val = to_val(&shape, &value, "").unwrap();
        assert_eq!(from_val(&shape, &val), value);
        assert_eq!(
            schema(&Shape::Record(vec![("a".into(), Shape::U8), ("b".into(), Shape::Option(Box::new(Shape::Bool)))])),
            json!({"type": "object", "additionalProperties": false, "required": ["a"], "properties": {
                "a": {"type": "integer", "minimum": 0, "maximum": 255},
                "b": {"anyOf": [{"type": "null"}, {"type": "boolean"}]}
            }})
        );
    }

    #[test]
    fn bad_arguments_name_their_path() {
        let shape = Shape::Record(vec![("n".into(), Shape::List(Box::new(Shape::U8)))]);
        assert_eq!(
            to_val(&shape, &json!({"n": [1, 300]}), "").unwrap_err(),
            "`/n/1`: 300 is not an integer from 0 to 255"
        );
        assert!(to_val(&shape, &json!({"m": []}), "").unwrap_err().ends_with("no field `m`"));
        let e = Shape::Enum(vec!["a".into()]);
        assert_eq!(to_val(&e, &json!("b"), "/e").unwrap_err(), "`/e`: no case `b`");
    }
}
