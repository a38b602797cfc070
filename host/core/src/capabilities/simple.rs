//! The small capabilities: secrets, operator logs, clock, randomness and
//! notifications to the MCP client.

use super::{CallHost, CapabilityError, LocalFuture, args, to_result};
use crate::abi::{AbiError, Val};

/// The server's secrets, decrypted by the platform. Names are checked
/// against the grant before the store is asked. Guests only read; `put`
/// and `delete` serve the admin API.
pub trait SecretStore {
    fn get<'a>(
        &'a self,
        tenant: &'a str,
        server: &'a str,
        name: &'a str,
    ) -> LocalFuture<'a, Result<Option<String>, CapabilityError>>;

    fn put<'a>(
        &'a self,
        _tenant: &'a str,
        _server: &'a str,
        _name: &'a str,
        _value: &'a str,
    ) -> LocalFuture<'a, Result<(), CapabilityError>> {
        Box::pin(core::future::ready(Err(CapabilityError::Unavailable("this host stores no secrets".into()))))
    }

    fn delete<'a>(
        &'a self,
        _tenant: &'a str,
        _server: &'a str,
        _name: &'a str,
    ) -> LocalFuture<'a, Result<(), CapabilityError>> {
        Box::pin(core::future::ready(Err(CapabilityError::Unavailable("this host stores no secrets".into()))))
    }
}

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

/// Operator log lines one call may write; past it they are dropped, and
/// the first drop is reported once.
pub const MAX_LOG_LINES_PER_CALL: u32 = 100;

pub trait Clock {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;

    /// Completes after `ms` milliseconds: what bounds a request's wall
    /// time. The default never completes (a clock that does not advance,
    /// as in tests).
    fn sleep(&self, ms: u64) -> LocalFuture<'_, ()> {
        let _ = ms;
        Box::pin(core::future::pending())
    }

    /// Lets the executor run other ready work (IO included) before the
    /// caller goes on: how a long guest call shares its thread. The
    /// default returns to the executor once.
    fn pause(&self) -> LocalFuture<'_, ()> {
        Box::pin(crate::runtime::YieldNow::default())
    }

    /// Runs `job`, CPU-heavy work of the host's own (password hashing), off
    /// the thread that serves requests where the platform can, with a
    /// bound on how many run at once; `false` when it was refused (too
    /// many waiting). The default runs it in place.
    fn offload(&self, job: Box<dyn FnOnce() + Send>) -> LocalFuture<'_, bool> {
        job();
        Box::pin(core::future::ready(true))
    }
}

/// Runs `work` through [`Clock::offload`]; `None` when the platform
/// refused it.
pub async fn offloaded<T: Send + 'static>(clock: &dyn Clock, work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (sender, receiver) = futures_channel::oneshot::channel();
    if !clock.offload(Box::new(move || drop(sender.send(work())))).await {
        return None;
    }
    receiver.await.ok()
}

pub trait Random {
    /// Fills `buf` from a cryptographically secure source.
    fn fill(&self, buf: &mut [u8]);
}

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

/// Longest log message kept; longer ones are cut.
pub const MAX_LOG_BYTES: usize = 16 << 10;
/// Most bytes of one MCP log notification's data (and its logger's
/// name): it goes to the client, and into the stream's replay.
pub const MAX_NOTIFY_DATA_BYTES: usize = 64 << 10;
/// Most random bytes one call returns.
pub const MAX_RANDOM_BYTES: u32 = 65536;
const MCP_LOG_LEVELS: [&str; 8] = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"];

pub(crate) async fn dispatch(
    host: &mut CallHost<'_>,
    interface: &str,
    name: &str,
    args_in: Vec<Val>,
) -> Result<Option<Val>, AbiError> {
    let scope = host.scope;
    match (interface, name) {
        ("secrets", "get") => {
            let [secret] = args(args_in)?;
            let secret = secret.into_string()?;
            let result = if host.grant.secrets.contains(&secret) {
                host.backends.secrets.get(&scope.tenant, &scope.server, &secret).await
            } else {
                Err(CapabilityError::Denied(format!("secret `{secret}` is not granted to this server")))
            };
            Ok(to_result(result.map(|v| Some(Val::from_option(v, Val::String)))))
        }
        ("log", "write") => {
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
        ("clock", "now-ms") => Ok(Some(Val::U64(host.backends.clock.now_ms()))),
        ("random", "bytes") => {
            let [len] = args(args_in)?;
            let mut buf = vec![0; len.as_u32()?.min(MAX_RANDOM_BYTES) as usize];
            host.backends.random.fill(&mut buf);
            Ok(Some(Val::Bytes(buf)))
        }
        ("notify", "progress") => {
            let [progress, total, message] = args(args_in)?;
            host.notifier.notify(Notification::Progress {
                progress: progress.as_f64()?,
                total: total.into_option()?.map(|t| t.as_f64()).transpose()?,
                message: message.into_opt_string()?.map(|m| truncate(&m, MAX_LOG_BYTES).to_owned()),
            });
            Ok(None)
        }
        ("notify", "log") => {
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
        ("notify", "list-changed") => {
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
        ("notify", "resource-updated") => {
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
    use crate::capabilities::memory::InMemory;
    use crate::capabilities::{Grant, Scope};

    struct Ignore;

    impl Notifier for Ignore {
        fn notify(&mut self, _: Notification) {}
    }

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
        futures::executor::block_on(dispatch(
            &mut host,
            "notify",
            "log",
            vec![Val::Enum(1), logger, Val::String(huge)],
        ))
        .unwrap();
        futures::executor::block_on(dispatch(
            &mut host,
            "notify",
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

    #[test]
    fn operator_logs_are_capped_per_call_and_cut_per_line() {
        let memory = InMemory::new();
        let (grant, scope) = (Grant::default(), Scope { tenant: "t".into(), server: "s".into(), request: "r".into() });
        let mut notifier = Ignore;
        let mut host = CallHost::new(memory.backends(), &grant, &scope, &mut notifier);
        for i in 0..MAX_LOG_LINES_PER_CALL + 50 {
            let message = if i == 0 { "x".repeat(MAX_LOG_BYTES * 2) } else { format!("line {i}") };
            futures::executor::block_on(dispatch(&mut host, "log", "write", vec![Val::Enum(1), Val::String(message)]))
                .unwrap();
        }
        let lines = memory.log.lines.borrow();
        assert_eq!(lines.len() as u32, MAX_LOG_LINES_PER_CALL + 1, "the cap, plus one line saying so");
        assert_eq!(lines[0].3.len(), MAX_LOG_BYTES);
        assert!(lines.last().unwrap().3.contains("log limit"));
    }
}
