//! `smcp:mcp/notify`: progress, log and change notifications to the MCP
//! client of the current call.

use super::CallHost;
use super::bindings::notify::{Host, ListKind as WitListKind, LogLevel};
use super::log::{MAX_LOG_BYTES, truncate};

/// A notification for the client of the current call.
#[derive(Debug, Clone, PartialEq)]
pub enum Notification {
    Progress {
        progress: f64,
        total: Option<f64>,
        message: Option<String>,
    },
    /// MCP log level name (`debug` … `emergency`), logger and JSON data.
    Log {
        level: &'static str,
        logger: Option<String>,
        data: serde_json::Value,
    },
    /// The server's `tools`, `prompts` or `resources` list changed.
    ListChanged(ListKind),
    /// The resource at this URI changed.
    ResourceUpdated(String),
}

/// The lists a server can announce as changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Tools,
    Prompts,
    Resources,
}

impl ListKind {
    /// The notification method announcing the change.
    pub fn method(self) -> &'static str {
        match self {
            ListKind::Tools => "notifications/tools/list_changed",
            ListKind::Prompts => "notifications/prompts/list_changed",
            ListKind::Resources => "notifications/resources/list_changed",
        }
    }
}

/// Where a call's notifications go (the protocol engine's stream).
pub trait Notifier {
    fn notify(&mut self, notification: Notification);
}

/// Notifications nobody receives: calls the host makes on its own (health
/// checks, the listing checks of an upload).
pub struct Discard;

impl Notifier for Discard {
    fn notify(&mut self, _: Notification) {}
}

/// Most bytes of one MCP log notification's data (and its logger's
/// name): it goes to the client, and into the stream's replay.
pub const MAX_NOTIFY_DATA_BYTES: usize = 64 << 10;

impl Host for CallHost<'_> {
    async fn progress(&mut self, progress: f64, total: Option<f64>, message: Option<String>) {
        let message = message.map(|m| truncate(&m, MAX_LOG_BYTES).to_owned());
        self.notifier.notify(Notification::Progress { progress, total, message });
    }

    async fn log(&mut self, level: LogLevel, logger: Option<String>, data: String) {
        // Broken JSON from the guest is passed on as a string, not
        // dropped; too much of it is cut, and then a string too.
        let data = if data.len() > MAX_NOTIFY_DATA_BYTES {
            serde_json::Value::String(format!(
                "{} … (cut at {MAX_NOTIFY_DATA_BYTES} bytes)",
                truncate(&data, MAX_NOTIFY_DATA_BYTES)
            ))
        } else {
            serde_json::from_str(&data).unwrap_or(serde_json::Value::String(data))
        };
        let logger = logger.map(|l| truncate(&l, MAX_LOG_BYTES).to_owned());
        // The WIT's level names are MCP's.
        self.notifier.notify(Notification::Log { level: level.name(), logger, data });
    }

    async fn list_changed(&mut self, kind: WitListKind) {
        let kind = match kind {
            WitListKind::Tools => ListKind::Tools,
            WitListKind::Prompts => ListKind::Prompts,
            WitListKind::Resources => ListKind::Resources,
        };
        self.notifier.notify(Notification::ListChanged(kind));
    }

    async fn resource_updated(&mut self, uri: String) {
        // A URI is not a log line, but it is guest output all the same.
        if uri.len() <= MAX_LOG_BYTES {
            self.notifier.notify(Notification::ResourceUpdated(uri));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::testing::Call;

    struct Keep(Vec<Notification>);

    impl Notifier for Keep {
        fn notify(&mut self, notification: Notification) {
            self.0.push(notification);
        }
    }

    #[test]
    fn log_notifications_are_cut_to_their_bound() {
        let call = Call::new(Default::default());
        let mut notifier = Keep(Vec::new());
        let mut host = call.host_notifying(&mut notifier);
        let huge = format!("[\"{}\"]", "x".repeat(MAX_NOTIFY_DATA_BYTES * 4));
        let logger = Some("l".repeat(MAX_LOG_BYTES * 2));
        futures::executor::block_on(host.log(LogLevel::Info, logger, huge));
        futures::executor::block_on(host.log(LogLevel::Info, None, "{\"ok\":1}".into()));
        drop(host);
        let [Notification::Log { data: cut, logger, .. }, Notification::Log { data: whole, .. }] = &notifier.0[..]
        else {
            panic!("two log notifications")
        };
        let cut = cut.as_str().expect("cut data is a string");
        assert!(cut.len() < MAX_NOTIFY_DATA_BYTES + 64 && cut.ends_with("(cut at 65536 bytes)"), "{} bytes", cut.len());
        assert_eq!(logger.as_ref().map(String::len), Some(MAX_LOG_BYTES));
        assert_eq!(whole["ok"], 1);
    }
}
