//! The WASI 0.2 subset, deny by default: each interface served on top of a
//! capability the grant already governs, so that what an auditor reads of
//! a component does not change with the language it was written in.
//!
//! | WASI | served as |
//! |---|---|
//! | `cli/stdout`, `cli/stderr` | the log capability (its per-call line budget) |
//! | `clocks/*` | the clock capability, millisecond resolution; pollables sleep within the call's wall time |
//! | `random/*` | the random capability |
//! | `cli/environment` | the grant's `[environment]` variables; no arguments, no working directory |
//! | `cli/stdin` | an empty, closed stream |
//! | `cli/terminal-*` | no terminals |
//! | `cli/exit` | ends the call with an error |
//! | `filesystem/preopens` | no directories, so no `filesystem/types` descriptor can exist |
//! | `http/outgoing-handler`, `http/types` | the http capability, under the grant's `[http]` ([`http`]) |
//! | `keyvalue/store`, `keyvalue/batch` (drafts) | the kv capability, under the grant's `[kv]` ([`keyvalue`]) |
//!
//! Resources are the host's: the runtime keeps the guest's handles and
//! passes this module their representations. Those of the standard
//! streams and pollables are stateless (a stream names its standard stream,
//! a pollable its deadline); wasi:http's objects live in bounded per-call
//! tables ([`http`]), freed when the guest drops them.

pub mod environment;
pub mod http;
pub mod keyvalue;

use super::CallHost;
use super::bindings::log::{Host as _, Level};
use super::random::MAX_RANDOM_BYTES;
use crate::abi::Val;
use crate::runtime::CallError;
use crate::world::{ResourceDef, WorldFunc};

/// Standard streams: the representations of `get-stdin`/`stdout`/`stderr`.
const STDIN: u32 = 0;
const STDOUT: u32 = 1;
const STDERR: u32 = 2;

/// What `check-write` allows per write: the log capability's line cap is
/// larger, so a permitted write is never cut.
const WRITE_PERMIT: u64 = 4096;

/// The most zeroes one `write-zeroes` writes.
const MAX_ZEROES: usize = 64 << 10;

/// The longest one wait of a call without a deadline of its own.
/// Nanoseconds per millisecond: the host's clocks tick in milliseconds.
const NS_PER_MS: u64 = 1_000_000;

/// WASI state of one [`CallHost`]: when its monotonic clock started and
/// the last reading, which it never goes below.
#[derive(Default)]
pub(super) struct State {
    epoch_ms: Option<u64>,
    last_ms: u64,
    http: http::State,
    keyvalue: keyvalue::State,
}

/// A pollable's representation: 0 is always ready; otherwise one more
/// than its deadline in milliseconds after the host's epoch.
fn pollable_at(epoch_ms: u64, deadline_ms: u64) -> u32 {
    u32::try_from(deadline_ms.saturating_sub(epoch_ms).saturating_add(1)).unwrap_or(u32::MAX)
}

fn ok(v: Option<Val>) -> Val {
    Val::Variant(0, v.map(Box::new))
}

/// `stream-error.closed`, as a `result`'s error.
fn closed() -> Val {
    Val::Variant(1, Some(Box::new(Val::Variant(1, None))))
}

fn datetime(ms: u64) -> Val {
    Val::Record(vec![Val::U64(ms / 1000), Val::U32((ms % 1000) as u32 * NS_PER_MS as u32)])
}

fn arg_u64(args: &[Val], i: usize) -> u64 {
    match args.get(i) {
        Some(Val::U64(v)) => *v,
        _ => 0,
    }
}

fn arg_rep(args: &[Val], i: usize) -> u32 {
    match args.get(i) {
        Some(Val::Resource(rep)) => *rep,
        _ => u32::MAX,
    }
}

impl CallHost<'_> {
    /// Milliseconds on the monotonic clock: the backends' clock, never
    /// going back.
    fn monotonic_ms(&mut self) -> u64 {
        let now = self.backends.clock.now_ms();
        let state = &mut self.wasi;
        state.epoch_ms.get_or_insert(now);
        state.last_ms = state.last_ms.max(now);
        state.last_ms
    }

    fn epoch_ms(&mut self) -> u64 {
        self.monotonic_ms();
        self.wasi.epoch_ms.unwrap_or(0)
    }

    /// The deadline of pollable `rep`, `None` for one always ready.
    fn deadline_of(&mut self, rep: u32) -> Option<u64> {
        (rep != 0).then(|| self.epoch_ms() + u64::from(rep) - 1)
    }

    fn subscribe_until(&mut self, deadline_ms: u64) -> Val {
        let epoch = self.epoch_ms();
        Val::Resource(pollable_at(epoch, deadline_ms))
    }

    /// Waits until `deadline_ms` or the call's own deadline, whichever is
    /// first: the driver ends a call past its deadline after this returns.
    async fn sleep_until(&mut self, deadline_ms: u64) {
        let now = self.monotonic_ms();
        self.sleep_for(deadline_ms.saturating_sub(now)).await;
    }

    async fn write_stream(&mut self, rep: u32, contents: &[u8]) -> Val {
        let level = match rep {
            STDOUT => Level::Info,
            STDERR => Level::Warn,
            _ => return closed(),
        };
        let text = String::from_utf8_lossy(contents);
        let text = text.trim_end_matches(['\n', '\r']);
        if !text.is_empty() {
            self.write(level, text.to_owned()).await;
        }
        ok(None)
    }

    fn random_bytes(&mut self, len: u64) -> Result<Option<Val>, CallError> {
        if len > u64::from(MAX_RANDOM_BYTES) {
            return Err(CallError::Host(format!(
                "wasi:random: {len} bytes asked for at once, more than the {MAX_RANDOM_BYTES} the random capability gives"
            )));
        }
        let mut buf = vec![0; len as usize];
        self.backends.random.fill(&mut buf);
        Ok(Some(Val::Bytes(buf)))
    }

    fn random_u64(&mut self) -> u64 {
        let mut buf = [0; 8];
        self.backends.random.fill(&mut buf);
        u64::from_le_bytes(buf)
    }

    /// The guest dropped its handle to a WASI resource.
    pub(super) fn wasi_drop(&mut self, resource: &ResourceDef, rep: u32) {
        if resource.interface.starts_with("wasi:http/types@") || resource.interface.starts_with("wasi:io/error@") {
            self.drop_http(&resource.name, rep);
        }
    }

    /// Serves one call of a WASI function.
    pub(super) async fn wasi(&mut self, func: &WorldFunc, args: Vec<Val>) -> Result<Option<Val>, CallError> {
        let interface = func.interface.split('@').next().unwrap_or_default();
        let stream = arg_rep(&args, 0);
        if interface == "wasi:io/streams" && stream >= http::BODY_STREAMS && stream != u32::MAX {
            return self.body_stream(&func.name, stream, &args).map(Some);
        }
        Ok(match (interface, func.name.as_str()) {
            ("wasi:http/types" | "wasi:http/outgoing-handler", name) => return self.wasi_http(name, args).await,
            ("wasi:keyvalue/store" | "wasi:keyvalue/batch", name) => {
                let version = func.interface.split_once('@').map_or("", |(_, v)| v);
                Some(self.wasi_keyvalue(version, name, args).await?)
            }
            ("wasi:cli/stdout", "get-stdout") => Some(Val::Resource(STDOUT)),
            ("wasi:cli/stderr", "get-stderr") => Some(Val::Resource(STDERR)),
            ("wasi:cli/stdin", "get-stdin") => Some(Val::Resource(STDIN)),
            ("wasi:cli/terminal-stdin", _) | ("wasi:cli/terminal-stdout", _) | ("wasi:cli/terminal-stderr", _) => {
                Some(Val::none())
            }
            ("wasi:cli/environment", "get-environment") => Some(Val::List(
                self.grant
                    .environment
                    .iter()
                    .map(|(name, value)| Val::Record(vec![Val::string(name.as_str()), Val::string(value.as_str())]))
                    .collect(),
            )),
            ("wasi:cli/environment", "get-arguments") => Some(Val::List(vec![])),
            ("wasi:cli/environment", "initial-cwd") => Some(Val::none()),
            ("wasi:cli/exit", "exit") => {
                let success = matches!(args.first(), Some(Val::Variant(0, _)));
                return Err(CallError::Exited { code: if success { 0 } else { 1 } });
            }
            ("wasi:cli/exit", "exit-with-code") => {
                let code = match args.first() {
                    Some(Val::U8(code)) => *code,
                    _ => 1,
                };
                return Err(CallError::Exited { code });
            }
            ("wasi:clocks/wall-clock", "now") => Some(datetime(self.backends.clock.now_ms())),
            ("wasi:clocks/wall-clock", "resolution") => Some(datetime(1)),
            ("wasi:clocks/monotonic-clock", "now") => Some(Val::U64(self.monotonic_ms().saturating_mul(NS_PER_MS))),
            ("wasi:clocks/monotonic-clock", "resolution") => Some(Val::U64(NS_PER_MS)),
            ("wasi:clocks/monotonic-clock", "subscribe-instant") => {
                Some(self.subscribe_until(arg_u64(&args, 0).div_ceil(NS_PER_MS)))
            }
            ("wasi:clocks/monotonic-clock", "subscribe-duration") => {
                let now = self.monotonic_ms();
                Some(self.subscribe_until(now.saturating_add(arg_u64(&args, 0).div_ceil(NS_PER_MS))))
            }
            ("wasi:random/random", "get-random-bytes") | ("wasi:random/insecure", "get-insecure-random-bytes") => {
                self.random_bytes(arg_u64(&args, 0))?
            }
            ("wasi:random/random", "get-random-u64") | ("wasi:random/insecure", "get-insecure-random-u64") => {
                Some(Val::U64(self.random_u64()))
            }
            ("wasi:random/insecure-seed", "insecure-seed") => {
                Some(Val::Record(vec![Val::U64(self.random_u64()), Val::U64(self.random_u64())]))
            }
            ("wasi:io/poll", "[method]pollable.ready") => {
                let now = self.monotonic_ms();
                let deadline = self.deadline_of(arg_rep(&args, 0));
                Some(Val::Bool(deadline.is_none_or(|at| at <= now)))
            }
            ("wasi:io/poll", "[method]pollable.block") => {
                if let Some(at) = self.deadline_of(arg_rep(&args, 0)) {
                    self.sleep_until(at).await;
                }
                None
            }
            ("wasi:io/poll", "poll") => Some(self.poll(args).await?),
            ("wasi:io/streams", "[method]input-stream.subscribe" | "[method]output-stream.subscribe") => {
                Some(Val::Resource(0))
            }
            ("wasi:io/streams", name) if name.starts_with("[method]input-stream.") => Some(closed()),
            ("wasi:io/streams", "[method]output-stream.check-write") => {
                let rep = arg_rep(&args, 0);
                Some(if rep == STDOUT || rep == STDERR { ok(Some(Val::U64(WRITE_PERMIT))) } else { closed() })
            }
            ("wasi:io/streams", "[method]output-stream.write" | "[method]output-stream.blocking-write-and-flush") => {
                let contents = match args.get(1) {
                    Some(Val::Bytes(bytes)) => bytes.as_slice(),
                    _ => &[],
                };
                Some(self.write_stream(arg_rep(&args, 0), contents).await)
            }
            (
                "wasi:io/streams",
                "[method]output-stream.flush"
                | "[method]output-stream.blocking-flush"
                | "[method]output-stream.write-zeroes"
                | "[method]output-stream.blocking-write-zeroes-and-flush",
            ) => Some(ok(None)),
            // Splicing reads stdin, which is closed.
            ("wasi:io/streams", "[method]output-stream.splice" | "[method]output-stream.blocking-splice") => {
                Some(closed())
            }
            ("wasi:io/error", "[method]error.to-debug-string") => {
                let text = self.http_error_text(arg_rep(&args, 0));
                Some(Val::String(text.unwrap_or_else(|| "stream error".into())))
            }
            ("wasi:filesystem/preopens", "get-directories") => Some(Val::List(vec![])),
            ("wasi:filesystem/types", "filesystem-error-code") => Some(Val::none()),
            // Every other filesystem function takes a descriptor, and none
            // exists: the runtime refuses the handle before it gets here.
            (interface, name) => {
                return Err(CallError::Internal(format!("{interface}#{name} is not served")));
            }
        })
    }

    /// A wasi:http body's stream: reads of a response's, writes to a
    /// request's. Every one is ready at once: the bytes are the host's.
    fn body_stream(&mut self, name: &str, rep: u32, args: &[Val]) -> Result<Val, CallError> {
        Ok(match name {
            "[method]input-stream.read" | "[method]input-stream.blocking-read" => {
                self.read_body(rep, arg_u64(args, 1), false)?
            }
            "[method]input-stream.skip" | "[method]input-stream.blocking-skip" => {
                self.read_body(rep, arg_u64(args, 1), true)?
            }
            "[method]output-stream.check-write" => self.body_permit(rep)?,
            "[method]output-stream.write" | "[method]output-stream.blocking-write-and-flush" => {
                let contents = match args.get(1) {
                    Some(Val::Bytes(bytes)) => bytes.as_slice(),
                    _ => &[],
                };
                self.write_body(rep, contents)?
            }
            "[method]output-stream.write-zeroes" | "[method]output-stream.blocking-write-zeroes-and-flush" => {
                let zeroes = vec![0; usize::try_from(arg_u64(args, 1)).unwrap_or(usize::MAX).min(MAX_ZEROES)];
                self.write_body(rep, &zeroes)?
            }
            "[method]output-stream.flush" | "[method]output-stream.blocking-flush" => ok(None),
            "[method]input-stream.subscribe" | "[method]output-stream.subscribe" => Val::Resource(0),
            // Splicing from another stream: refused, as stdin's is.
            _ => closed(),
        })
    }

    /// `poll`: the indices of the ready pollables, after waiting until at
    /// least one is (an empty list is a guest error, as in wasmtime).
    async fn poll(&mut self, args: Vec<Val>) -> Result<Val, CallError> {
        let Some(Val::List(pollables)) = args.into_iter().next() else {
            return Err(CallError::Internal("poll: arguments".into()));
        };
        if pollables.is_empty() {
            return Err(CallError::Trap("wasi:io/poll: poll with an empty list".into()));
        }
        let deadlines: Vec<Option<u64>> = pollables
            .iter()
            .map(|p| match p {
                Val::Resource(rep) => self.deadline_of(*rep),
                _ => None,
            })
            .collect();
        let earliest = deadlines.iter().map(|d| d.unwrap_or(0)).min().unwrap_or(0);
        self.sleep_until(earliest).await;
        let now = self.monotonic_ms();
        let ready = deadlines.iter().enumerate().filter(|(_, d)| d.is_none_or(|at| at <= now));
        Ok(Val::List(ready.map(|(i, _)| Val::U32(i as u32)).collect()))
    }
}
