//! The requests of `http_request` through the streaming path the front
//! ends use (`Engine::handle_streaming`): the response head sent as soon as
//! it is known, events as they happen, legacy sessions' server-to-client
//! requests, resumable and standalone streams. Deadlines pass at once (the
//! clock's sleeps end immediately), so a request waiting on a client's
//! answer ends instead of hanging; a stream that stays open until its
//! client leaves (`subscriptions/listen`, a standalone GET) is left after
//! [`POLLS`] turns, as a client closing the connection would. Every
//! response that has a head must have a valid status, its events must
//! drain, and nothing may panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use smcp_core::http::Body;
use smcp_fuzz::{InstantSleep, fill, requests, with_host};
use std::future::Future;

/// Turns an exchange gets before its client is taken to have left.
const POLLS: usize = 10_000;

fuzz_target!(|data: &[u8]| {
    with_host(|engine, platform| {
        let clock = InstantSleep(platform.manual_clock());
        let backends = platform.backends_with(&clock);
        let mut session: Option<String> = None;
        for mut request in requests(data) {
            fill(&mut request, &platform.api_key, session.as_deref());
            let (head, mut answered) = futures::channel::oneshot::channel();
            let exchange = std::pin::pin!(engine.handle_streaming(request, backends, head));
            let mut exchange = exchange;
            let waker = futures::task::noop_waker();
            let mut cx = std::task::Context::from_waker(&waker);
            for _ in 0..POLLS {
                if exchange.as_mut().poll(&mut cx).is_ready() {
                    break;
                }
            }
            let Ok(Some(response)) = answered.try_recv() else { continue };
            assert!((100..600).contains(&response.status), "status {}", response.status);
            if let Some((_, id)) = response.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("mcp-session-id")) {
                session = Some(id.clone());
            }
            if let Body::Stream(mut events) = response.body {
                while events.try_recv().is_some() {}
            }
        }
        let _ = futures::executor::block_on(engine.flush_audit(platform.backends()));
    });
});
