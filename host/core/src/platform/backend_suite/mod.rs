//! One conformance suite for storage backends, written against the
//! [`KvStore`] and [`ObjectStore`] traits and run against every
//! implementation: the in-memory ones, the native ones (redb, files) and
//! later the Cloudflare ones (Workers KV, R2) inside workerd.
//!
//! Runtime-free on purpose: every case is a plain `async fn` over trait
//! objects, so any executor (a test's `block_on`, tokio, a Worker's event
//! loop) can drive it. Time moves through [`TimeControl`], which a manual
//! clock implements by advancing and a real platform by sleeping.
//!
//! Each case works under its own `<root><case>/` prefix, so the cases can
//! share one store (a real KV namespace, say) and a fresh `root` per run
//! keeps runs apart. TTLs are at least 60 s, Workers KV's minimum.
//!
//! ```ignore
//! let clock = Rc::new(ManualClock::new(1_000));
//! let kv = MemoryKv::new(clock.clone());
//! let time = |ms| clock.advance(ms);
//! block_on(backend_suite::run_kv(&KvTarget { store: &kv, time: &time, root: "t/x/s/y/kv/".into() }))?;
//! ```

mod kv;
mod listing;
#[cfg(test)]
mod memory_tests;
mod objects;

pub use kv::{KV_CASES, run_kv, run_kv_case};
pub use objects::{OBJECT_CASES, run_object_case, run_objects};

use super::kv::KvStore;
use super::objects::ObjectStore;
use super::{CapabilityError, LocalFuture};

/// How the suite moves the store's clock forward.
pub trait TimeControl {
    /// Completes once the store's clock has moved at least `ms` forward:
    /// a manual clock advances at once, a real one is waited on.
    fn advance(&self, ms: u64) -> LocalFuture<'_, ()>;
}

/// A closure that advances a manual clock by `ms` is a time control.
impl<F: Fn(u64)> TimeControl for F {
    fn advance(&self, ms: u64) -> LocalFuture<'_, ()> {
        self(ms);
        Box::pin(core::future::ready(()))
    }
}

/// A key-value store under test.
pub struct KvTarget<'a> {
    pub store: &'a dyn KvStore,
    /// Moves the clock the store measures TTLs on.
    pub time: &'a dyn TimeControl,
    /// Every key the suite writes starts with this (include the trailing `/`).
    pub root: String,
}

/// An object store under test.
pub struct ObjectTarget<'a> {
    pub store: &'a dyn ObjectStore,
    /// Moves the clock the store stamps uploads with.
    pub time: &'a dyn TimeControl,
    pub root: String,
}

/// What a case returns: `Err` explains the first broken expectation.
pub type Outcome = Result<(), String>;

/// Runs the named cases in order, all of them even after a failure, and
/// reports every failure by name.
async fn run_all<'a, F>(cases: &[&'static str], mut run: F) -> Outcome
where
    F: FnMut(&'static str) -> LocalFuture<'a, Outcome>,
{
    let mut failures = Vec::new();
    for &case in cases {
        if let Err(why) = run(case).await {
            failures.push(format!("{case}: {why}"));
        }
    }
    if failures.is_empty() { Ok(()) } else { Err(failures.join("\n")) }
}

/// Turns a backend error into the suite's message, saying what was tried.
trait Context<T> {
    fn ctx(self, what: impl core::fmt::Display) -> Result<T, String>;
}

impl<T> Context<T> for Result<T, CapabilityError> {
    fn ctx(self, what: impl core::fmt::Display) -> Result<T, String> {
        self.map_err(|e| format!("{what} failed: {e}"))
    }
}

/// Fails the case with a message unless `left == right`.
fn expect_eq<T: PartialEq + core::fmt::Debug>(got: T, want: T, what: impl core::fmt::Display) -> Outcome {
    if got == want { Ok(()) } else { Err(format!("{what}: got {got:?}, expected {want:?}")) }
}

/// Compares bodies without printing megabytes: length and first difference.
fn expect_bytes(got: Option<&[u8]>, want: &[u8], what: impl core::fmt::Display) -> Outcome {
    let Some(got) = got else { return Err(format!("{what}: missing, expected {} bytes", want.len())) };
    if got == want {
        return Ok(());
    }
    let at = got.iter().zip(want).position(|(a, b)| a != b).unwrap_or(got.len().min(want.len()));
    Err(format!("{what}: {} bytes, expected {}; first difference at byte {at}", got.len(), want.len()))
}

/// `len` reproducible, varied bytes (xorshift): every byte value occurs,
/// and two seeds give different data.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// Every byte value once, in order.
pub fn all_bytes() -> Vec<u8> {
    (0..=255u8).collect()
}

/// Keys that are easy to get wrong: separators, unicode (several byte
/// lengths), spaces, percent signs, and prefixes of each other.
pub const ODD_KEYS: [&str; 12] = [
    "a",
    "a/",
    "a/b",
    "a/b/c",
    "a/bc",
    "ab",
    "a:b",
    "user:42/notes",
    "ünïcödé/ключ",
    "emoji/🦀",
    "with space/and%25percent",
    "z~tilde",
];
