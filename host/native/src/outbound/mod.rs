//! Outbound HTTP for guests: reqwest on tokio, TLS by rustls with the
//! Mozilla roots, never to an address the [`AddressPolicy`] refuses.
//!
//! The core checked the grant and follows redirects; this sends one
//! request: no redirects, no proxy from the environment, no decompression
//! (the size limit counts the bytes on the wire), a deadline over the
//! whole exchange, and a body read as a stream and cut at the limit.

mod resolve;

use resolve::{CheckedResolver, Unreachable};
use smcp_core::platform::{CapabilityError, LocalFuture};
use smcp_core::platform::{HttpClient, HttpRequest, HttpResponse};
use smcp_core::policy::address::AddressPolicy;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// How long an idle pooled connection is kept.
const POOL_IDLE: Duration = Duration::from_secs(30);

/// The native host's [`HttpClient`].
pub struct OutboundHttp {
    policy: Arc<AddressPolicy>,
    /// For ports no opening names.
    any_port: reqwest::Client,
    /// One client per port some opening names (none unless the operator
    /// opened an address with a port).
    per_port: Vec<(u16, reqwest::Client)>,
}

impl OutboundHttp {
    /// A client under `policy`. Fails only if TLS or reqwest cannot be set
    /// up, which is a build problem, not a runtime one.
    pub fn new(policy: AddressPolicy) -> anyhow::Result<OutboundHttp> {
        // reqwest is built without a default TLS provider (no aws-lc); any
        // other reqwest client in this process (an embedding application,
        // the tests' MCP clients) then finds ring as the process default.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let policy = Arc::new(policy);
        let tls = tls_config()?;
        let any_port = client(&policy, None, tls.clone())?;
        let per_port = policy
            .opened_ports()
            .into_iter()
            .map(|port| Ok((port, client(&policy, Some(port), tls.clone())?)))
            .collect::<anyhow::Result<_>>()?;
        Ok(OutboundHttp { policy, any_port, per_port })
    }

    pub fn policy(&self) -> &AddressPolicy {
        &self.policy
    }

    fn client_for(&self, port: u16) -> &reqwest::Client {
        self.per_port.iter().find(|(p, _)| *p == port).map_or(&self.any_port, |(_, client)| client)
    }

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, CapabilityError> {
        let port = request.url.port_or_known_default().ok_or_else(|| invalid("URL has no port"))?;
        // reqwest skips the resolver for IP literals: check them here. The
        // url crate has already turned 2130706433, 0177.0.0.1, 0x7f.1 and
        // the like into the IPv4 address they mean.
        if let Some(ip) = literal_ip(&request.url) {
            self.policy.check(ip, Some(port)).map_err(|refused| CapabilityError::Denied(refused.to_string()))?;
        }
        let method = reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|_| invalid("bad method"))?;
        let mut builder = self.client_for(port).request(method, request.url);
        for (name, value) in request.headers {
            builder = builder.header(name, value);
        }
        if let Some(body) = request.body {
            builder = builder.body(body);
        }
        let response = builder.send().await.map_err(to_capability_error)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
            .collect();
        let body = read_body(response, request.max_response_bytes).await?;
        Ok(HttpResponse { status, headers, body })
    }
}

impl HttpClient for OutboundHttp {
    fn fetch(&self, request: HttpRequest) -> LocalFuture<'_, Result<HttpResponse, CapabilityError>> {
        Box::pin(async move {
            let timeout_ms = request.timeout_ms;
            tokio::time::timeout(Duration::from_millis(timeout_ms.into()), self.send(request))
                .await
                .unwrap_or_else(|_| Err(CapabilityError::Unavailable(format!("timed out after {timeout_ms} ms"))))
        })
    }
}

fn client(
    policy: &Arc<AddressPolicy>,
    port: Option<u16>,
    tls: rustls::ClientConfig,
) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        // HTTP_PROXY and friends would hand resolution to the proxy.
        .no_proxy()
        .dns_resolver(CheckedResolver { policy: policy.clone(), port })
        .tls_backend_preconfigured(tls)
        .pool_idle_timeout(POOL_IDLE)
        .build()
}

/// A client for the `smcp` command line's calls to a host's admin API:
/// the same TLS as guests' fetches, no proxy, no redirects (a redirect
/// would carry the admin key elsewhere).
pub fn admin_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .tls_backend_preconfigured(tls_config()?)
        .build()?)
}

/// rustls on ring with webpki-roots: the same trust on every machine,
/// whatever the system's store holds.
fn tls_config() -> anyhow::Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn literal_ip(url: &url::Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(_) => None,
    }
}

/// Reads the body chunk by chunk, holding at most `max` bytes.
async fn read_body(mut response: reqwest::Response, max: usize) -> Result<Vec<u8>, CapabilityError> {
    let too_large = || CapabilityError::TooLarge(format!("response body over {max} bytes"));
    let declared = response.content_length().unwrap_or(0);
    if declared > max as u64 {
        return Err(too_large());
    }
    let mut body = Vec::with_capacity(declared as usize);
    while let Some(chunk) = response.chunk().await.map_err(to_capability_error)? {
        if chunk.len() > max - body.len() {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn invalid(message: &str) -> CapabilityError {
    CapabilityError::InvalidInput(message.into())
}

/// A reqwest error as the guest sees it: a refused address is `denied`,
/// anything else `unavailable` with the deepest cause (never the URL,
/// which may carry a token in its query).
fn to_capability_error(error: reqwest::Error) -> CapabilityError {
    use std::error::Error as _;
    let mut deepest = None;
    let mut next = error.source();
    while let Some(cause) = next {
        if let Some(unreachable) = cause.downcast_ref::<Unreachable>() {
            return match unreachable {
                Unreachable::Refused { .. } => CapabilityError::Denied(unreachable.to_string()),
                Unreachable::NotFound { .. } => CapabilityError::Unavailable(unreachable.to_string()),
            };
        }
        deepest = Some(cause.to_string());
        next = cause.source();
    }
    let (builder, connect) = (error.is_builder(), error.is_connect());
    let cause = deepest.unwrap_or_else(|| error.without_url().to_string());
    if builder {
        return CapabilityError::InvalidInput(format!("request could not be built: {cause}"));
    }
    let kind = if connect { "could not connect" } else { "request failed" };
    CapabilityError::Unavailable(format!("{kind}: {cause}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The url crate turns every IPv4 spelling WHATWG knows into an IPv4
    /// host, so [`literal_ip`] sees them all.
    #[test]
    fn numeric_host_spellings_become_ip_literals() {
        for url in [
            "http://2130706433/",
            "http://0177.0.0.1/",
            "http://0x7f.0.0.1/",
            "http://0x7f000001/",
            "http://127.1/",
            "http://017700000001/",
            "http://127.0.0.1./",
        ] {
            let parsed = url::Url::parse(url).unwrap();
            assert_eq!(literal_ip(&parsed), Some("127.0.0.1".parse().unwrap()), "{url}");
        }
        let mapped = url::Url::parse("http://[::ffff:127.0.0.1]/").unwrap();
        assert_eq!(literal_ip(&mapped), Some("::ffff:7f00:1".parse().unwrap()));
        assert_eq!(literal_ip(&url::Url::parse("http://localhost/").unwrap()), None);
    }

    #[test]
    fn clients_are_made_per_opened_port() {
        let policy = AddressPolicy::with_openings(
            ["127.0.0.1:8081", "[::1]:8081", "10.0.0.1:9000", "10.0.0.2"].map(|o| o.parse().unwrap()),
        );
        let http = OutboundHttp::new(policy).unwrap();
        assert_eq!(http.per_port.iter().map(|(p, _)| *p).collect::<Vec<_>>(), [8081, 9000]);
    }
}
