//! `smcp:mcp/clock`: wall-clock time; also the platform's timer, yield and
//! offloading of the host's own CPU-heavy work.

use super::{CallHost, LocalFuture};
use crate::abi::{AbiError, Val};

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

pub(crate) async fn dispatch(host: &mut CallHost<'_>, name: &str, _args: Vec<Val>) -> Result<Option<Val>, AbiError> {
    match name {
        "now-ms" => Ok(Some(Val::U64(host.backends.clock.now_ms()))),
        _ => Err(AbiError::HostMismatch("unknown capability function")),
    }
}
