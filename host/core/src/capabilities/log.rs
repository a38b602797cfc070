//! `smcp:mcp/log`: operator-facing log lines, bounded per line and per call.

use super::{CallHost, args};
use crate::abi::{AbiError, Val};
use crate::platform::log::LogLevel;

/// Operator log lines one call may write; past it they are dropped, and
/// the first drop is reported once.
pub const MAX_LOG_LINES_PER_CALL: u32 = 100;

/// Longest log message kept; longer ones are cut.
pub const MAX_LOG_BYTES: usize = 16 << 10;
pub(crate) async fn dispatch(host: &mut CallHost<'_>, name: &str, args_in: Vec<Val>) -> Result<Option<Val>, AbiError> {
    let scope = host.scope;
    match name {
        "write" => {
            let [level, message] = args(args_in)?;
            let level = [LogLevel::Debug, LogLevel::Info, LogLevel::Warn, LogLevel::Error]
                .get(level.into_enum()? as usize)
                .copied()
                .ok_or(AbiError::HostMismatch("log level"))?;
            let message = message.into_string()?;
            host.log_lines = host.log_lines.saturating_add(1);
            match host.log_lines.cmp(&(MAX_LOG_LINES_PER_CALL + 1)) {
                core::cmp::Ordering::Less => host.backends.log.write(scope, level, truncate(&message, MAX_LOG_BYTES)),
                core::cmp::Ordering::Equal => {
                    let note =
                        format!("log limit of {MAX_LOG_LINES_PER_CALL} lines per call reached: dropping the rest");
                    host.backends.log.write(scope, LogLevel::Warn, &note);
                }
                core::cmp::Ordering::Greater => {}
            }
            Ok(None)
        }
        _ => Err(AbiError::HostMismatch("unknown capability function")),
    }
}

/// Cuts `s` to at most `max` bytes on a character boundary.
pub fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::{Discard, Grant, Scope};
    use crate::platform::memory::InMemory;

    #[test]
    fn operator_logs_are_capped_per_call_and_cut_per_line() {
        let memory = InMemory::new();
        let (grant, scope) = (Grant::default(), Scope { tenant: "t".into(), server: "s".into(), request: "r".into() });
        let mut notifier = Discard;
        let mut host = CallHost::new(memory.backends(), &grant, &scope, &mut notifier);
        for i in 0..MAX_LOG_LINES_PER_CALL + 50 {
            let message = if i == 0 { "x".repeat(MAX_LOG_BYTES * 2) } else { format!("line {i}") };
            futures::executor::block_on(dispatch(&mut host, "write", vec![Val::Enum(1), Val::String(message)]))
                .unwrap();
        }
        let lines = memory.log.lines.borrow();
        assert_eq!(lines.len() as u32, MAX_LOG_LINES_PER_CALL + 1, "the cap, plus one line saying so");
        assert_eq!(lines[0].3.len(), MAX_LOG_BYTES);
        assert!(lines.last().unwrap().3.contains("log limit"));
    }
}
