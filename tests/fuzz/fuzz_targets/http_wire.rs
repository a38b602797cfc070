//! Raw bytes on the native server's HTTP/1 connection: hyper's parsing,
//! the front end's bounded body reading, its conversion of hyper's request
//! into the engine's (`smcp_native::wire`) and of the engine's response back,
//! with a real engine behind it. Seeds are the recorded HTTP corpus written
//! out as wire requests. Nothing may panic, and every exchange ends.

#![no_main]

use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use libfuzzer_sys::fuzz_target;
use smcp_fuzz::with_host;
use smcp_native::wire::{WireBody, core_request, plain, read_body, to_hyper};
use std::convert::Infallible;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Bodies kept at most, as the server's default for MCP requests.
const MAX_BODY: usize = 4 << 20;

thread_local! {
    static RUNTIME: tokio::runtime::Runtime =
        tokio::runtime::Builder::new_current_thread().enable_time().build().expect("a runtime");
}

fuzz_target!(|data: &[u8]| {
    with_host(|engine, platform| {
        // The recorded key's placeholder, so that seeds get past authentication.
        let data = replace(data, b"{api-key}", platform.api_key.as_bytes());
        let data = data.as_slice();
        RUNTIME.with(|runtime| {
            runtime.block_on(async {
                let (mut client, server) = tokio::io::duplex(64 << 10);
                let service = hyper::service::service_fn(|request: hyper::Request<Incoming>| async move {
                    let (parts, body) = request.into_parts();
                    let response: hyper::Response<WireBody> = match read_body(&parts.headers, body, MAX_BODY).await {
                        Ok(body) => {
                            let request = core_request(&parts, body, Some("192.0.2.1".into()));
                            to_hyper(engine.handle(request, platform.backends()).await)
                        }
                        Err(_) => plain(hyper::StatusCode::BAD_REQUEST, "unreadable body\n".into()),
                    };
                    Ok::<_, Infallible>(response)
                });
                let connection =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(server), service);
                let exchange = async {
                    let _ = client.write_all(data).await;
                    let _ = client.shutdown().await;
                    let mut answer = Vec::new();
                    let _ = client.read_to_end(&mut answer).await;
                };
                let both = async { tokio::join!(connection, exchange) };
                // Bounded on the runtime's clock: a request the engine
                // cannot finish must not hang the fuzzer.
                let _ = tokio::time::timeout(Duration::from_secs(5), both).await;
            })
        })
    });
});

/// `data` with every `from` replaced by `to`.
fn replace(data: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut rest = data;
    while let Some(at) = rest.windows(from.len()).position(|w| w == from) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(to);
        rest = &rest[at + from.len()..];
    }
    out.extend_from_slice(rest);
    out
}
