//! The three kinds of failure a server meets: a capability call the host
//! refused, a tool that failed (shown to the model), and a request the
//! server cannot serve at all (a JSON-RPC error).

use core::fmt;

/// Why a capability call (kv, objects, http, secrets) failed.
///
/// The first five variants come from the host and mirror the WIT
/// `capability-error`; their messages are safe to show. [`Decode`](Self::Decode)
/// is raised by this SDK when a value the host returned cannot be decoded
/// as the caller asked (for example [`kv::get_json`](crate::kv::get_json)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CapabilityError {
    /// The grant does not allow this.
    Denied(String),
    /// A quota of the grant was reached.
    QuotaExceeded(String),
    /// The argument is malformed (bad key, URL or header).
    InvalidInput(String),
    /// The value is larger than the grant allows.
    TooLarge(String),
    /// The backend failed or timed out; retrying later may work.
    Unavailable(String),
    /// The host's answer could not be decoded into the requested type.
    Decode(String),
}

impl CapabilityError {
    /// The message without the kind.
    pub fn message(&self) -> &str {
        match self {
            Self::Denied(m)
            | Self::QuotaExceeded(m)
            | Self::InvalidInput(m)
            | Self::TooLarge(m)
            | Self::Unavailable(m)
            | Self::Decode(m) => m,
        }
    }

    /// `value` as JSON bytes, for capability calls that store or send JSON.
    pub(crate) fn encode_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Self> {
        serde_json::to_vec(value).map_err(|e| Self::InvalidInput(format!("cannot encode as JSON: {e}")))
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::Denied(_) => "denied",
            Self::QuotaExceeded(_) => "quota exceeded",
            Self::InvalidInput(_) => "invalid input",
            Self::TooLarge(_) => "too large",
            Self::Unavailable(_) => "unavailable",
            Self::Decode(_) => "cannot decode",
        }
    }
}

impl fmt::Display for CapabilityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind(), self.message())
    }
}

impl std::error::Error for CapabilityError {}

impl From<crate::bindings::smcp::mcp::types::CapabilityError> for CapabilityError {
    fn from(e: crate::bindings::smcp::mcp::types::CapabilityError) -> Self {
        use crate::bindings::smcp::mcp::types::CapabilityError as Wire;
        match e {
            Wire::Denied(m) => Self::Denied(m),
            Wire::QuotaExceeded(m) => Self::QuotaExceeded(m),
            Wire::InvalidInput(m) => Self::InvalidInput(m),
            Wire::TooLarge(m) => Self::TooLarge(m),
            Wire::Unavailable(m) => Self::Unavailable(m),
        }
    }
}

/// A tool failure the model should see: it becomes a call result with
/// `is-error` set and the message as its text, which is MCP's convention
/// for errors a model can react to (as opposed to protocol errors).
///
/// Any [`std::error::Error`] converts into it, so `?` works on capability
/// calls, JSON decoding and the like. For a plain message use
/// [`ToolError::new`].
///
/// Like `anyhow::Error`, it deliberately does not implement
/// `std::error::Error` itself, which is what makes the blanket `From` possible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolError {
    message: String,
}

impl ToolError {
    /// A tool error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into() }
    }

    /// The text shown to the model.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl<E: std::error::Error> From<E> for ToolError {
    fn from(e: E) -> Self {
        Self::new(e.to_string())
    }
}

/// A request the server cannot serve at all; the host maps it onto a
/// JSON-RPC error. Tool failures are [`ToolError`]s instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerError {
    /// Unknown tool, resource or prompt.
    NotFound(String),
    /// The arguments do not fit the request.
    InvalidParams(String),
    /// Anything else.
    Internal(String),
}

impl ServerError {
    /// [`ServerError::NotFound`] with this message.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(message.into())
    }

    /// [`ServerError::InvalidParams`] with this message.
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::InvalidParams(message.into())
    }

    /// [`ServerError::Internal`] with this message.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::Internal(message.into())
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound(m) => write!(f, "not found: {m}"),
            Self::InvalidParams(m) => write!(f, "invalid params: {m}"),
            Self::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl std::error::Error for ServerError {}

/// Capability failures inside resource or prompt handlers are the server's
/// problem, not the client's.
impl From<CapabilityError> for ServerError {
    fn from(e: CapabilityError) -> Self {
        Self::Internal(e.to_string())
    }
}
