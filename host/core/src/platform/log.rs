//! The operator log port.

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

/// Operator-facing logs from guests, tagged with the call's scope
/// (tenant, server, request id).
pub trait LogSink {
    fn write(&self, scope: &super::Scope, level: LogLevel, message: &str);
}
