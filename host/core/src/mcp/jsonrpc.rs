//! JSON-RPC 2.0 messages: parsing with a clear, typed error for every way a
//! body can be wrong, and the shapes of responses.

use serde_json::{Map, Value, json};

pub use crate::guest::excerpt;

/// The length of `value` encoded as compact JSON, without encoding it.
pub fn encoded_len(value: &Value) -> usize {
    fn string(s: &str) -> usize {
        2 + s
            .bytes()
            .map(|b| match b {
                b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
                0..0x20 => 6,
                _ => 1,
            })
            .sum::<usize>()
    }
    match value {
        Value::Null => 4,
        Value::Bool(b) => {
            if *b {
                4
            } else {
                5
            }
        }
        Value::Number(n) => n.to_string().len(),
        Value::String(s) => string(s),
        Value::Array(items) => 2 + items.len().saturating_sub(1) + items.iter().map(encoded_len).sum::<usize>(),
        Value::Object(fields) => {
            2 + fields.len().saturating_sub(1)
                + fields.iter().map(|(k, v)| string(k) + 1 + encoded_len(v)).sum::<usize>()
        }
    }
}

pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;
pub const INTERNAL_ERROR: i64 = -32603;
/// Legacy session errors (TypeScript SDK convention).
pub const SESSION_NOT_FOUND: i64 = -32001;
pub const BAD_REQUEST: i64 = -32000;
/// 2026-07-28.
pub const HEADER_MISMATCH: i64 = -32020;
pub const MISSING_CLIENT_CAPABILITY: i64 = -32021;
pub const UNSUPPORTED_VERSION: i64 = -32022;
/// Legacy resource-not-found (2025-11-25).
pub const RESOURCE_NOT_FOUND_LEGACY: i64 = -32002;

/// A request id: a string or an integer (JSON-RPC also allows null in
/// error responses whose request id could not be read).
pub type Id = Value;

/// One message a client sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Request {
        id: Id,
        method: String,
        params: Option<Map<String, Value>>,
    },
    Notification {
        method: String,
        params: Option<Map<String, Value>>,
    },
    /// A response to a server-to-client request.
    Response {
        id: Id,
        result: Result<Value, Value>,
    },
}

/// A POST body: one message or a batch (2025-03-26 only).
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    Single(Message),
    Batch(Vec<Message>),
}

/// Why a body is not JSON-RPC.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RpcError {
    #[error("Parse error: {0}")]
    Parse(String),
    #[error("Invalid Request: {message}")]
    Invalid { id: Id, message: String },
}

impl RpcError {
    pub fn code(&self) -> i64 {
        match self {
            RpcError::Parse(_) => PARSE_ERROR,
            RpcError::Invalid { .. } => INVALID_REQUEST,
        }
    }

    /// The error response to send.
    pub fn response(&self) -> Value {
        let id = match self {
            RpcError::Invalid { id, .. } => id.clone(),
            RpcError::Parse(_) => Value::Null,
        };
        error_response(&id, self.code(), &self.to_string(), None)
    }
}

/// Parses a POST body.
pub fn parse(body: &[u8]) -> Result<Incoming, RpcError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| RpcError::Parse(e.to_string()))?;
    match value {
        Value::Array(items) if items.is_empty() => Err(invalid(Value::Null, "empty batch")),
        Value::Array(items) => Ok(Incoming::Batch(items.into_iter().map(message).collect::<Result<_, _>>()?)),
        other => Ok(Incoming::Single(message(other)?)),
    }
}

fn invalid(id: Id, message: &str) -> RpcError {
    RpcError::Invalid { id, message: message.to_owned() }
}

fn message(value: Value) -> Result<Message, RpcError> {
    let Value::Object(mut obj) = value else {
        return Err(invalid(Value::Null, "a message must be a JSON object"));
    };
    let id = obj.remove("id");
    let reply_id = id.clone().filter(valid_id).unwrap_or(Value::Null);
    if obj.get("jsonrpc") != Some(&Value::String("2.0".into())) {
        return Err(invalid(reply_id, "`jsonrpc` must be \"2.0\""));
    }
    if let Some(id) = &id
        && !valid_id(id)
    {
        return Err(invalid(Value::Null, "`id` must be a string or an integer"));
    }
    let params = match obj.remove("params") {
        None => None,
        Some(Value::Object(params)) => Some(params),
        Some(_) => return Err(invalid(reply_id, "`params` must be an object")),
    };
    match (obj.remove("method"), id) {
        (Some(Value::String(method)), Some(id)) => Ok(Message::Request { id, method, params }),
        (Some(Value::String(method)), None) => Ok(Message::Notification { method, params }),
        (Some(_), _) => Err(invalid(reply_id, "`method` must be a string")),
        (None, Some(id)) => match (obj.remove("result"), obj.remove("error")) {
            (Some(result), None) => Ok(Message::Response { id, result: Ok(result) }),
            (None, Some(error)) => Ok(Message::Response { id, result: Err(error) }),
            _ => Err(invalid(reply_id, "a response needs exactly one of `result` and `error`")),
        },
        (None, None) => Err(invalid(Value::Null, "a message needs `method` or `id`")),
    }
}

fn valid_id(id: &Value) -> bool {
    id.is_string() || id.as_i64().is_some() || id.as_u64().is_some()
}

pub fn result_response(id: &Id, result: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "result": result })
}

pub fn error_response(id: &Id, code: i64, message: &str, data: Option<Value>) -> Value {
    let mut error = json!({ "code": code, "message": message });
    if let Some(data) = data {
        error["data"] = data;
    }
    json!({ "jsonrpc": "2.0", "id": id, "error": error })
}

pub fn notification(method: &str, params: Value) -> Value {
    json!({ "jsonrpc": "2.0", "method": method, "params": params })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(body: &str) -> RpcError {
        parse(body.as_bytes()).unwrap_err()
    }

    #[test]
    fn requests_notifications_and_responses() {
        let req = parse(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#).unwrap();
        assert!(matches!(req, Incoming::Single(Message::Request { ref method, .. }) if method == "tools/list"));
        let note = parse(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).unwrap();
        assert!(matches!(note, Incoming::Single(Message::Notification { .. })));
        let resp = parse(br#"{"jsonrpc":"2.0","id":"a","result":{}}"#).unwrap();
        assert!(matches!(resp, Incoming::Single(Message::Response { result: Ok(_), .. })));
        for value in [
            json!({ "a": [1, -2.5, null, true, false], "b\u{1}": "x\u{1}\"\\\n\t\u{7f}é" }),
            json!([]),
            json!({}),
            json!(""),
        ] {
            assert_eq!(encoded_len(&value), value.to_string().len(), "{value}");
        }
        let batch = parse(br#"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"x"}]"#).unwrap();
        assert!(matches!(batch, Incoming::Batch(ref items) if items.len() == 2));
    }

    #[test]
    fn every_malformed_shape_has_a_typed_error() {
        assert_eq!(err("{").code(), PARSE_ERROR);
        assert_eq!(err("").code(), PARSE_ERROR);
        assert_eq!(err("[]").code(), INVALID_REQUEST);
        assert_eq!(err("42").code(), INVALID_REQUEST);
        assert_eq!(err(r#"{"id":1,"method":"ping"}"#).code(), INVALID_REQUEST);
        assert_eq!(err(r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#).code(), INVALID_REQUEST);
        assert_eq!(err(r#"{"jsonrpc":"2.0","id":{},"method":"ping"}"#).code(), INVALID_REQUEST);
        assert_eq!(err(r#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#).code(), INVALID_REQUEST);
        assert_eq!(err(r#"{"jsonrpc":"2.0","id":1,"method":7}"#).code(), INVALID_REQUEST);
        assert_eq!(err(r#"{"jsonrpc":"2.0","id":1,"method":"x","params":[1]}"#).code(), INVALID_REQUEST);
        assert_eq!(err(r#"{"jsonrpc":"2.0","id":1}"#).code(), INVALID_REQUEST);
        assert_eq!(err(r#"{"jsonrpc":"2.0"}"#).code(), INVALID_REQUEST);
        assert_eq!(err(r#"[1]"#).code(), INVALID_REQUEST);
    }

    #[test]
    fn invalid_request_keeps_a_readable_id() {
        let e = err(r#"{"jsonrpc":"2.0","id":7,"method":"x","params":"no"}"#);
        assert_eq!(e.response()["id"], 7);
        assert_eq!(e.response()["error"]["code"], INVALID_REQUEST);
        assert_eq!(err("{").response()["id"], Value::Null);
    }
}
