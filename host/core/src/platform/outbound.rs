//! The outbound HTTP port: guests' `http` capability, and the host's own
//! fetches (client metadata documents, issuers' keys).

use super::{CapabilityError, LocalFuture};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: &'static str,
    pub url: url::Url,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub timeout_ms: u32,
    /// The backend must stop reading the body past this many bytes.
    pub max_response_bytes: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A platform's HTTP client: sends one request and returns its response.
///
/// - It must never follow redirects: a 3xx comes back as it is, and the
///   core decides whether to follow it under the grant.
/// - It must refuse addresses [`crate::policy::address::AddressPolicy`] refuses, both
///   for IP-literal hosts and for every address a name resolves to, and
///   connect only to an address it checked.
/// - It must give up after `timeout_ms` and stop reading a body past
///   `max_response_bytes` with [`CapabilityError::TooLarge`].
/// - It must not send through a proxy taken from the environment.
pub trait HttpClient {
    fn fetch(&self, request: HttpRequest) -> LocalFuture<'_, Result<HttpResponse, CapabilityError>>;
}
