//! Driving a request's futures from its own timer.
//!
//! workerd runs every piece of work on behalf of one request, and cancels
//! a request whose code is run from another request's context ("the
//! Worker's code had hung"). The engine's shared state crosses requests:
//! a legacy session's stream is fed by the POSTs that follow it, and a
//! tool waiting for a client's answer is woken by the POST that carries
//! it, and the engine's locks (audit, rate buckets, registry) are released
//! by whichever request holds them. With ordinary wakers the waking
//! request would poll the waiting request's future in its own context. Here a wake only sets a flag, and each
//! request polls its own future again on its own timer (backing off to
//! [`MAX_WAIT_MS`] while idle), so every poll runs in the right context.

use futures_util::{Stream, StreamExt};
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

/// The longest an idle request sleeps between looks at its flag.
const MAX_WAIT_MS: u64 = 32;

struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Runs `future` to completion, polled only from this request's timers.
pub async fn on_own_timer<F: Future>(future: F) -> F::Output {
    let flag = Arc::new(Flag(AtomicBool::new(false)));
    let waker = Waker::from(flag.clone());
    let mut future = pin!(future);
    loop {
        flag.0.store(false, Ordering::SeqCst);
        if let Poll::Ready(output) = future.as_mut().poll(&mut Context::from_waker(&waker)) {
            return output;
        }
        let mut wait_ms = 0;
        while !flag.0.load(Ordering::SeqCst) {
            worker::Delay::from(Duration::from_millis(wait_ms)).await;
            wait_ms = (wait_ms * 2).clamp(1, MAX_WAIT_MS);
        }
    }
}

/// `stream`, each item awaited with [`on_own_timer`].
pub fn stream_on_own_timer<S: Stream + Unpin + 'static>(stream: S) -> impl Stream<Item = S::Item> {
    futures_util::stream::unfold(stream, |mut stream| async move {
        let item = on_own_timer(stream.next()).await?;
        Some((item, stream))
    })
}
