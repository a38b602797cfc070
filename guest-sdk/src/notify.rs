//! Messages to MCP clients (always granted): progress and logs to the
//! client making the current call (dropped when it cannot receive them),
//! list and resource changes to every subscribed client of this server.

use serde::Serialize;

use crate::bindings::smcp::mcp::notify as host;

/// MCP log levels (RFC 5424), lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Debug,
    Info,
    Notice,
    Warning,
    Error,
    Critical,
    Alert,
    Emergency,
}

impl From<LogLevel> for host::LogLevel {
    fn from(level: LogLevel) -> Self {
        match level {
            LogLevel::Debug => Self::Debug,
            LogLevel::Info => Self::Info,
            LogLevel::Notice => Self::Notice,
            LogLevel::Warning => Self::Warning,
            LogLevel::Error => Self::Error,
            LogLevel::Critical => Self::Critical,
            LogLevel::Alert => Self::Alert,
            LogLevel::Emergency => Self::Emergency,
        }
    }
}

/// A `notifications/progress` for the current call: `progress` so far, of
/// `total` when known.
pub fn progress(progress: f64, total: Option<f64>, message: Option<&str>) {
    host::progress(progress, total, message);
}

/// A `notifications/message` whose data is `data` as JSON. Values that
/// cannot be serialized are sent as their error message.
pub fn log<T: Serialize + ?Sized>(level: LogLevel, logger: Option<&str>, data: &T) {
    let json = serde_json::to_string(data)
        .unwrap_or_else(|e| serde_json::to_string(&format!("unserializable log data: {e}")).unwrap_or_default());
    host::log(level.into(), logger, &json);
}

/// The lists [`list_changed`] announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Tools,
    Prompts,
    Resources,
}

/// Tells subscribed clients that this server's `kind` list changed (for
/// example, after a tool call created a resource).
pub fn list_changed(kind: ListKind) {
    host::list_changed(match kind {
        ListKind::Tools => host::ListKind::Tools,
        ListKind::Prompts => host::ListKind::Prompts,
        ListKind::Resources => host::ListKind::Resources,
    });
}

/// Tells the clients subscribed to `uri` that the resource changed.
pub fn resource_updated(uri: &str) {
    host::resource_updated(uri);
}
