//! The admin API's answers: JSON bodies, and errors as
//! `{"error": {"code", "message", "details"?}}` with a stable `code`.

use crate::deploy::DeployError;
use crate::http::{Body, Response};
use serde::Serialize;
use serde_json::{Value, json};

/// A refused admin request.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), details: None }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "bad_request", message)
    }

    pub fn not_found() -> ApiError {
        ApiError::new(404, "not_found", "no such admin API route (see docs/admin-api.md)")
    }

    pub fn storage(e: impl std::fmt::Display) -> ApiError {
        ApiError::new(503, "storage", format!("storage: {e}"))
    }

    pub fn response(&self) -> Response {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(details) = &self.details {
            error["details"] = details.clone();
        }
        let mut response = json(self.status, &json!({ "error": error }));
        if self.status == 405 {
            response.headers.push(("allow".into(), "GET, POST, PUT, DELETE".into()));
        }
        response
    }
}

impl From<DeployError> for ApiError {
    fn from(e: DeployError) -> ApiError {
        let details = match &e {
            DeployError::ApprovalRequired(changes) => serde_json::to_value(changes).ok(),
            DeployError::DigestMismatch { stated, actual } => Some(json!({ "stated": stated, "actual": actual })),
            _ => None,
        };
        ApiError { status: e.status(), code: e.code(), message: e.to_string(), details }
    }
}

pub type Reply = Result<Response, ApiError>;

pub fn json(status: u16, body: &impl Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    Response { status, headers: vec![("cache-control".into(), "no-store".into())], body: Body::Json(bytes) }
}

pub fn ok(body: &impl Serialize) -> Reply {
    Ok(json(200, body))
}

pub fn no_content() -> Reply {
    Ok(Response { status: 204, headers: vec![], body: Body::Empty })
}

/// The request body as JSON (an empty body is `{}`).
pub fn body_json(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => Err(ApiError::bad_request("the body must be a JSON object")),
        Err(e) => Err(ApiError::bad_request(format!("the body is not valid JSON: {e}"))),
    }
}

/// `field` of a JSON body as a boolean (absent: false).
pub fn flag(body: &Value, field: &str) -> Result<bool, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(ApiError::bad_request(format!("`{field}` must be true or false"))),
    }
}
