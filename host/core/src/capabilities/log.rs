//! `smcp:mcp/log`: operator-facing log lines, bounded per line and per call.

use super::CallHost;
use super::bindings::log::{Host, Level};
use crate::platform::log::LogLevel;
use core::cmp::Ordering;

/// Operator log lines one call may write; past it they are dropped, and
/// the first drop is reported once.
pub const MAX_LOG_LINES_PER_CALL: u32 = 100;

/// Longest log message kept; longer ones are cut.
pub const MAX_LOG_BYTES: usize = 16 << 10;

/// Operator log lines written (or dropped) in the current call.
#[derive(Default)]
pub(super) struct Budget {
    lines: u32,
}

impl Host for CallHost<'_> {
    async fn write(&mut self, level: Level, message: String) {
        let level = match level {
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
            Level::Error => LogLevel::Error,
        };
        let scope = self.scope;
        self.spent.log.lines = self.spent.log.lines.saturating_add(1);
        match self.spent.log.lines.cmp(&(MAX_LOG_LINES_PER_CALL + 1)) {
            Ordering::Less => self.backends.log.write(scope, level, truncate(&message, MAX_LOG_BYTES)),
            Ordering::Equal => {
                let note = format!("log limit of {MAX_LOG_LINES_PER_CALL} lines per call reached: dropping the rest");
                self.backends.log.write(scope, LogLevel::Warn, &note);
            }
            Ordering::Greater => {}
        }
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
    use crate::capabilities::testing::Call;

    #[test]
    fn operator_logs_are_capped_per_call_and_cut_per_line() {
        let mut call = Call::new(Default::default());
        let mut host = call.host();
        for i in 0..MAX_LOG_LINES_PER_CALL + 50 {
            let message = if i == 0 { "x".repeat(MAX_LOG_BYTES * 2) } else { format!("line {i}") };
            futures::executor::block_on(host.write(Level::Info, message));
        }
        drop(host);
        let lines = call.memory.log.lines.borrow();
        assert_eq!(lines.len() as u32, MAX_LOG_LINES_PER_CALL + 1, "the cap, plus one line saying so");
        assert_eq!(lines[0].3.len(), MAX_LOG_BYTES);
        assert!(lines.last().unwrap().3.contains("log limit"));
    }
}
