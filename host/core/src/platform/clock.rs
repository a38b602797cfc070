//! The clock port: wall-clock time, the timer that bounds a request, yielding
//! to other work, and offloading the host's own CPU-heavy work.

use super::LocalFuture;

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
        Box::pin(YieldNow::default())
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

/// Returns `Pending` once, waking itself: the executor runs whatever else
/// is ready before it polls this again.
#[derive(Default)]
pub(crate) struct YieldNow(bool);

impl std::future::Future for YieldNow {
    type Output = ();

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}
