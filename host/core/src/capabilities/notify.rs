//! `smcp:mcp/notify`: progress, log and change notifications to the MCP
//! client of the current call.

use super::log::{MAX_LOG_BYTES, truncate};
use super::{CallHost, args};
use crate::abi::{AbiError, Val};

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
const MCP_LOG_LEVELS: [&str; 8] = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"];

pub(crate) async fn dispatch(host: &mut CallHost<'_>, name: &str, args_in: Vec<Val>) -> Result<Option<Val>, AbiError> {
    match name {
        "progress" => {
            let [progress, total, message] = args(args_in)?;
            host.notifier.notify(Notification::Progress {
                progress: progress.as_f64()?,
                total: total.into_option()?.map(|t| t.as_f64()).transpose()?,
                message: message.into_opt_string()?.map(|m| truncate(&m, MAX_LOG_BYTES).to_owned()),
            });
            Ok(None)
        }
        "log" => {
            let [level, logger, data] = args(args_in)?;
            let level =
                MCP_LOG_LEVELS.get(level.into_enum()? as usize).copied().ok_or(AbiError::HostMismatch("level"))?;
            let data = data.into_string()?;
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
            let logger = logger.into_opt_string()?.map(|l| truncate(&l, MAX_LOG_BYTES).to_owned());
            host.notifier.notify(Notification::Log { level, logger, data });
            Ok(None)
        }
        "list-changed" => {
            let [kind] = args(args_in)?;
            let kind = match kind.into_enum()? {
                0 => ListKind::Tools,
                1 => ListKind::Prompts,
                2 => ListKind::Resources,
                _ => return Err(AbiError::HostMismatch("list-kind")),
            };
            host.notifier.notify(Notification::ListChanged(kind));
            Ok(None)
        }
        "resource-updated" => {
            let [uri] = args(args_in)?;
            let uri = uri.into_string()?;
            // A URI is not a log line, but it is guest output all the same.
            if uri.len() <= MAX_LOG_BYTES {
                host.notifier.notify(Notification::ResourceUpdated(uri));
            }
            Ok(None)
        }
        _ => Err(AbiError::HostMismatch("unknown capability function")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::{Grant, Scope};
    use crate::platform::memory::InMemory;

    struct Keep(Vec<Notification>);

    impl Notifier for Keep {
        fn notify(&mut self, notification: Notification) {
            self.0.push(notification);
        }
    }

    #[test]
    fn log_notifications_are_cut_to_their_bound() {
        let memory = InMemory::new();
        let (grant, scope) = (Grant::default(), Scope { tenant: "t".into(), server: "s".into(), request: "r".into() });
        let mut notifier = Keep(Vec::new());
        let mut host = CallHost::new(memory.backends(), &grant, &scope, &mut notifier);
        let huge = format!("[\"{}\"]", "x".repeat(MAX_NOTIFY_DATA_BYTES * 4));
        let logger = Val::some(Val::String("l".repeat(MAX_LOG_BYTES * 2)));
        futures::executor::block_on(dispatch(&mut host, "log", vec![Val::Enum(1), logger, Val::String(huge)])).unwrap();
        futures::executor::block_on(dispatch(
            &mut host,
            "log",
            vec![Val::Enum(1), Val::none(), Val::String("{\"ok\":1}".into())],
        ))
        .unwrap();
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
