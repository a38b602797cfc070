//! [`HttpClient`] on the Workers Fetch API.
//!
//! The core has already checked the grant (scheme, host, method, headers,
//! sizes) and follows redirects itself, re-checking every hop; this sends
//! one request with `redirect: "manual"`, a deadline enforced by an
//! `AbortController`, and reads the body as a stream, cut at the limit.
//!
//! What Workers cannot do: see the address a name resolves to, so the
//! native host's check of every resolved address has no equivalent here.
//! What it does instead: IP-literal hosts are checked against the
//! [`AddressPolicy`] as on the native host, `localhost` names count as
//! loopback, and everything else goes out through Cloudflare's network,
//! which reaches the public internet only, not the operator's private
//! networks. The grant's host allow-list (exact names) stays the main
//! defence.

use futures_util::StreamExt;
use futures_util::future::Either;
use smcp_core::platform::{CapabilityError, LocalFuture};
use smcp_core::platform::{HttpClient, HttpRequest, HttpResponse};
use smcp_core::policy::address::AddressPolicy;
use std::net::{IpAddr, Ipv4Addr};
use std::rc::Rc;
use std::time::Duration;
use worker::{AbortController, Fetch, Headers, Method, Request, RequestInit, RequestRedirect};

pub struct FetchHttp {
    pub policy: Rc<AddressPolicy>,
}

fn failed(e: impl std::fmt::Display) -> CapabilityError {
    CapabilityError::Unavailable(format!("fetch failed: {e}"))
}

impl FetchHttp {
    /// Refuses hosts the address policy refuses, as far as the URL shows.
    fn check_host(&self, url: &url::Url) -> Result<(), CapabilityError> {
        let port = url.port_or_known_default();
        let ip = match url.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
            Some(url::Host::Domain(name)) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                if name == "localhost" || name.ends_with(".localhost") {
                    IpAddr::V4(Ipv4Addr::LOCALHOST)
                } else {
                    return Ok(());
                }
            }
            None => return Err(CapabilityError::InvalidInput("the URL has no host".into())),
        };
        self.policy.check(ip, port).map_err(|refused| CapabilityError::Denied(refused.to_string()))
    }

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, CapabilityError> {
        self.check_host(&request.url)?;
        let headers = Headers::new();
        for (name, value) in &request.headers {
            headers
                .append(name, value)
                .map_err(|_| CapabilityError::InvalidInput(format!("header `{name}` is not valid")))?;
        }
        let mut init = RequestInit::new();
        init.with_method(Method::from(request.method.to_owned()))
            .with_headers(headers)
            .with_redirect(RequestRedirect::Manual);
        if let Some(body) = &request.body {
            init.with_body(Some(js_sys::Uint8Array::from(body.as_slice()).into()));
        }
        let outgoing = Request::new_with_init(request.url.as_str(), &init).map_err(failed)?;
        let controller = AbortController::default();
        let signal = controller.signal();
        let deadline = worker::Delay::from(Duration::from_millis(u64::from(request.timeout_ms)));
        let exchange = async {
            let fetch = Fetch::Request(outgoing);
            let mut response = fetch.send_with_signal(&signal).await.map_err(failed)?;
            let status = response.status_code();
            let headers: Vec<(String, String)> = response.headers().entries().collect();
            let mut body = Vec::new();
            let mut stream = response.stream().map_err(failed)?;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(failed)?;
                if body.len() + chunk.len() > request.max_response_bytes {
                    return Err(CapabilityError::TooLarge(format!(
                        "the response body is over {} bytes",
                        request.max_response_bytes
                    )));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(HttpResponse { status, headers, body })
        };
        match futures_util::future::select(std::pin::pin!(exchange), deadline).await {
            Either::Left((result, _)) => result,
            Either::Right(((), _)) => {
                controller.abort();
                Err(CapabilityError::Unavailable(format!("no complete response within {} ms", request.timeout_ms)))
            }
        }
    }
}

impl HttpClient for FetchHttp {
    fn fetch(&self, request: HttpRequest) -> LocalFuture<'_, Result<HttpResponse, CapabilityError>> {
        Box::pin(self.send(request))
    }
}
