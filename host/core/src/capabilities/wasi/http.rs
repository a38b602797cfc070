//! `wasi:http/outgoing-handler` and `wasi:http/types`, served by the http
//! capability: a request a guest builds from WASI resources is sent by the
//! same code as `smcp:mcp/http`'s `fetch`, under the same grant (allowed
//! hosts, schemes and methods, the address policy, redirects re-checked hop
//! by hop, injected secrets, byte, time and request limits). The guest
//! gains an interface, never reach.
//!
//! The capability sends whole bodies, so a request's body is gathered in
//! the host (at most the grant's `max_request_bytes`) and sent when the
//! guest has both handed the request over and finished the body, in either
//! order; a response's body is read from the host's copy (at most
//! `max_response_bytes`). Every object lives in a per-call table of at most
//! [`MAX_LIVE`] of its kind, freed when the guest drops its handle.
//!
//! Where the WASI interface has no room for the capability's reason (a
//! refusal is `HTTP-request-denied`), the reason goes to the server's log.
//! Server-side resources (incoming requests, response outparams) never
//! exist: this host serves no `wasi:http/incoming-handler`.

use super::super::CallHost;
use super::super::bindings::log::{Host as _, Level};
use crate::abi::Val;
use crate::capabilities::CapabilityError;
use crate::capabilities::http::{self as capability, GuestRequest};
use crate::platform::outbound::HttpResponse;
use crate::runtime::CallError;

/// Objects of one kind one call may hold at once.
pub const MAX_LIVE: usize = 64;
/// Entries of one `fields`, and their bytes together: the capability's
/// own header limits.
const MAX_FIELDS: usize = capability::MAX_HEADERS;
const MAX_FIELD_BYTES: usize = capability::MAX_HEADER_BYTES;

/// The most one read of a response body returns.
const READ_CHUNK: usize = 64 << 10;

/// Stream representations from here on are bodies'; below are the
/// standard streams.
pub(super) const BODY_STREAMS: u32 = 16;

/// Headers wasi:http refuses to let a guest set (as wasmtime-wasi-http
/// does): they describe the connection, which is the host's.
const FORBIDDEN: [&str; 7] =
    ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host", "http2-settings"];

/// `error-code` cases this module returns.
const HTTP_REQUEST_DENIED: u32 = 15;
const HTTP_REQUEST_BODY_SIZE: u32 = 17;
const HTTP_REQUEST_METHOD_INVALID: u32 = 18;
const HTTP_REQUEST_URI_INVALID: u32 = 19;
const INTERNAL_ERROR: u32 = 38;

/// `header-error` cases.
const INVALID_SYNTAX: u32 = 0;
const FORBIDDEN_HEADER: u32 = 1;
const IMMUTABLE: u32 = 2;

type Entries = Vec<(String, Vec<u8>)>;

/// The live objects of one kind, by representation.
struct Table<T> {
    slots: Vec<Option<T>>,
    live: usize,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table { slots: Vec::new(), live: 0 }
    }
}

impl<T> Table<T> {
    fn insert(&mut self, kind: &str, item: T) -> Result<u32, CallError> {
        if self.live >= MAX_LIVE {
            return Err(CallError::Host(format!("wasi:http: more than {MAX_LIVE} {kind} at once")));
        }
        self.live += 1;
        match self.slots.iter().position(Option::is_none) {
            Some(free) => {
                self.slots[free] = Some(item);
                Ok(free as u32)
            }
            None => {
                self.slots.push(Some(item));
                Ok((self.slots.len() - 1) as u32)
            }
        }
    }

    fn get(&mut self, rep: u32) -> Result<&mut T, CallError> {
        self.slots.get_mut(rep as usize).and_then(Option::as_mut).ok_or_else(gone)
    }

    fn remove(&mut self, rep: u32) -> Option<T> {
        let item = self.slots.get_mut(rep as usize).and_then(Option::take);
        self.live -= usize::from(item.is_some());
        item
    }
}

/// A representation the runtime vouched for that this table no longer
/// has: a child used after its parent was consumed.
fn gone() -> CallError {
    CallError::Trap("wasi:http: a resource used after what it belongs to was consumed".into())
}

struct Fields {
    entries: Entries,
    /// Headers of a request or response: read-only, as the interface says.
    immutable: bool,
}

#[derive(Clone)]
struct Request {
    method: Val,
    scheme: Option<Val>,
    authority: Option<String>,
    path: Option<String>,
    headers: Entries,
    /// The `outgoing-body` taken from it, if any.
    body: Option<u32>,
}

#[derive(Default)]
struct OutgoingBody {
    bytes: Vec<u8>,
    stream_taken: bool,
    finished: bool,
    /// Writes past the grant's request size: refused at `finish`.
    overflowed: bool,
}

struct Options {
    timeout_ms: Option<u32>,
    /// The three timeouts as set, in nanoseconds.
    set: [Option<u64>; 3],
}

enum Future {
    /// Handed over, waiting for its body to finish.
    Waiting {
        request: Request,
        timeout_ms: Option<u32>,
    },
    /// `result<incoming-response, error-code>`, the response not yet made
    /// a resource.
    Ready(Result<HttpResponse, Val>),
    Taken,
}

struct Response {
    status: u16,
    headers: Entries,
    body: Option<Vec<u8>>,
}

struct IncomingBody {
    bytes: Vec<u8>,
    read: usize,
}

/// The wasi:http objects of one call.
#[derive(Default)]
pub(super) struct State {
    fields: Table<Fields>,
    requests: Table<Request>,
    bodies_out: Table<OutgoingBody>,
    options: Table<Options>,
    futures: Table<Future>,
    responses: Table<Response>,
    bodies_in: Table<IncomingBody>,
    trailers: Table<()>,
    /// `wasi:io/error`s of body streams, each with its `error-code`.
    errors: Table<Val>,
}

fn ok(v: Option<Val>) -> Val {
    Val::ok(v)
}

fn err(v: Option<Val>) -> Val {
    Val::err(v)
}

fn header_error(case: u32) -> Val {
    err(Some(Val::Variant(case, None)))
}

fn error_code(case: u32, payload: Option<Val>) -> Val {
    Val::Variant(case, payload.map(Box::new))
}

fn internal(message: String) -> Val {
    error_code(INTERNAL_ERROR, Some(Val::some(Val::String(message))))
}

fn arg_rep(args: &[Val], i: usize) -> u32 {
    match args.get(i) {
        Some(Val::Resource(rep)) => *rep,
        _ => u32::MAX,
    }
}

fn arg_string(args: &[Val], i: usize) -> Result<String, CallError> {
    match args.get(i) {
        Some(Val::String(s)) => Ok(s.clone()),
        _ => Err(CallError::Internal("wasi:http: expected a string argument".into())),
    }
}

fn arg_option_string(args: &[Val], i: usize) -> Option<String> {
    match args.get(i) {
        Some(Val::Variant(1, Some(v))) => match v.as_ref() {
            Val::String(s) => Some(s.clone()),
            _ => None,
        },
        _ => None,
    }
}

fn bytes_of(v: &Val) -> Option<Vec<u8>> {
    match v {
        Val::Bytes(b) => Some(b.clone()),
        Val::List(items) => items.iter().map(|i| if let Val::U8(b) = i { Some(*b) } else { None }).collect(),
        _ => None,
    }
}

/// An RFC 9110 token.
fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn valid_value(value: &[u8]) -> bool {
    std::str::from_utf8(value).is_ok() && !value.iter().any(|b| matches!(b, b'\r' | b'\n' | 0))
}

/// Why `name: value` may not be set, as a `header-error` case.
fn refuse_field(name: &str, value: Option<&[u8]>) -> Option<u32> {
    if !valid_name(name) || value.is_some_and(|v| !valid_value(v)) {
        return Some(INVALID_SYNTAX);
    }
    FORBIDDEN.contains(&name.to_ascii_lowercase().as_str()).then_some(FORBIDDEN_HEADER)
}

impl Fields {
    fn fits(&self, extra: usize) -> bool {
        let bytes: usize = self.entries.iter().map(|(n, v)| n.len() + v.len()).sum();
        self.entries.len() < MAX_FIELDS && bytes + extra <= MAX_FIELD_BYTES
    }

    fn list(&self) -> Val {
        Val::List(
            self.entries
                .iter()
                .map(|(n, v)| Val::Record(vec![Val::String(n.clone()), Val::Bytes(v.clone())]))
                .collect(),
        )
    }
}

/// The method's name, when the http capability can send it.
fn method_name(method: &Val) -> Option<&'static str> {
    Some(match method {
        Val::Variant(0, _) => "GET",
        Val::Variant(1, _) => "HEAD",
        Val::Variant(2, _) => "POST",
        Val::Variant(3, _) => "PUT",
        Val::Variant(4, _) => "DELETE",
        Val::Variant(6, _) => "OPTIONS",
        Val::Variant(8, _) => "PATCH",
        _ => return None,
    })
}

fn timeout_ms(ns: u64) -> u32 {
    u32::try_from(ns.div_ceil(1_000_000)).unwrap_or(u32::MAX)
}

impl CallHost<'_> {
    /// Serves one function of `wasi:http/types` or `outgoing-handler`.
    pub(super) async fn wasi_http(&mut self, name: &str, args: Vec<Val>) -> Result<Option<Val>, CallError> {
        let http = &mut self.wasi.http;
        let this = arg_rep(&args, 0);
        Ok(Some(match name {
            "[constructor]fields" => {
                Val::Resource(http.fields.insert("fields", Fields { entries: Vec::new(), immutable: false })?)
            }
            "[static]fields.from-list" => {
                let Some(Val::List(list)) = args.first() else { return Err(shape()) };
                let mut fields = Fields { entries: Vec::new(), immutable: false };
                for entry in list {
                    let Val::Record(pair) = entry else { return Err(shape()) };
                    let (Some(Val::String(name)), Some(value)) = (pair.first(), pair.get(1).and_then(bytes_of)) else {
                        return Err(shape());
                    };
                    if let Some(case) = refuse_field(name, Some(&value)) {
                        return Ok(Some(header_error(case)));
                    }
                    if !fields.fits(name.len() + value.len()) {
                        return Ok(Some(header_error(INVALID_SYNTAX)));
                    }
                    fields.entries.push((name.clone(), value));
                }
                ok(Some(Val::Resource(http.fields.insert("fields", fields)?)))
            }
            "[method]fields.get" => {
                let key = arg_string(&args, 1)?;
                let fields = http.fields.get(this)?;
                let values = fields.entries.iter().filter(|(n, _)| n.eq_ignore_ascii_case(&key));
                Val::List(values.map(|(_, v)| Val::Bytes(v.clone())).collect())
            }
            "[method]fields.has" => {
                let key = arg_string(&args, 1)?;
                Val::Bool(http.fields.get(this)?.entries.iter().any(|(n, _)| n.eq_ignore_ascii_case(&key)))
            }
            "[method]fields.set" | "[method]fields.append" | "[method]fields.delete" => {
                let key = arg_string(&args, 1)?;
                let values: Vec<Vec<u8>> = match (name, args.get(2)) {
                    ("[method]fields.set", Some(Val::List(values))) => {
                        values.iter().map(bytes_of).collect::<Option<_>>().ok_or_else(shape)?
                    }
                    ("[method]fields.append", Some(value)) => vec![bytes_of(value).ok_or_else(shape)?],
                    _ => Vec::new(),
                };
                let fields = http.fields.get(this)?;
                if fields.immutable {
                    return Ok(Some(header_error(IMMUTABLE)));
                }
                let refused =
                    refuse_field(&key, None).or_else(|| values.iter().find_map(|v| refuse_field(&key, Some(v))));
                if let Some(case) = refused {
                    return Ok(Some(header_error(case)));
                }
                if name != "[method]fields.append" {
                    fields.entries.retain(|(n, _)| !n.eq_ignore_ascii_case(&key));
                }
                for value in values {
                    if !fields.fits(key.len() + value.len()) {
                        return Ok(Some(header_error(INVALID_SYNTAX)));
                    }
                    fields.entries.push((key.clone(), value));
                }
                ok(None)
            }
            "[method]fields.entries" => http.fields.get(this)?.list(),
            "[method]fields.clone" => {
                let entries = http.fields.get(this)?.entries.clone();
                Val::Resource(http.fields.insert("fields", Fields { entries, immutable: false })?)
            }
            "[constructor]outgoing-request" => {
                let headers = http.fields.remove(this).ok_or_else(gone)?.entries;
                let request = Request {
                    method: Val::Variant(0, None),
                    scheme: None,
                    authority: None,
                    path: None,
                    headers,
                    body: None,
                };
                Val::Resource(http.requests.insert("requests", request)?)
            }
            "[method]outgoing-request.body" => {
                let request = http.requests.get(this)?;
                if request.body.is_some() {
                    return Ok(Some(err(None)));
                }
                let body = http.bodies_out.insert("bodies", OutgoingBody::default())?;
                http.requests.get(this)?.body = Some(body);
                ok(Some(Val::Resource(body)))
            }
            "[method]outgoing-request.method" => http.requests.get(this)?.method.clone(),
            "[method]outgoing-request.set-method" => {
                let method = args.get(1).cloned().ok_or_else(shape)?;
                if let Val::Variant(9, Some(other)) = &method
                    && !matches!(other.as_ref(), Val::String(s) if valid_name(s))
                {
                    return Ok(Some(err(None)));
                }
                http.requests.get(this)?.method = method;
                ok(None)
            }
            "[method]outgoing-request.path-with-query" => {
                Val::from_option(http.requests.get(this)?.path.clone(), Val::String)
            }
            "[method]outgoing-request.set-path-with-query" => {
                let path = arg_option_string(&args, 1);
                if path.as_deref().is_some_and(|p| !p.starts_with('/') && !p.is_empty() || p.contains(['#', ' '])) {
                    return Ok(Some(err(None)));
                }
                http.requests.get(this)?.path = path;
                ok(None)
            }
            "[method]outgoing-request.scheme" => Val::from_option(http.requests.get(this)?.scheme.clone(), |s| s),
            "[method]outgoing-request.set-scheme" => {
                let scheme = match args.get(1) {
                    Some(Val::Variant(1, Some(s))) => Some(s.as_ref().clone()),
                    _ => None,
                };
                http.requests.get(this)?.scheme = scheme;
                ok(None)
            }
            "[method]outgoing-request.authority" => {
                Val::from_option(http.requests.get(this)?.authority.clone(), Val::String)
            }
            "[method]outgoing-request.set-authority" => {
                let authority = arg_option_string(&args, 1);
                if authority.as_deref().is_some_and(|a| a.contains(['/', '?', '#', '@', ' '])) {
                    return Ok(Some(err(None)));
                }
                http.requests.get(this)?.authority = authority;
                ok(None)
            }
            "[method]outgoing-request.headers" => {
                let entries = http.requests.get(this)?.headers.clone();
                Val::Resource(http.fields.insert("fields", Fields { entries, immutable: true })?)
            }
            "[constructor]request-options" => {
                Val::Resource(http.options.insert("request options", Options { timeout_ms: None, set: [None; 3] })?)
            }
            "[method]request-options.connect-timeout"
            | "[method]request-options.first-byte-timeout"
            | "[method]request-options.between-bytes-timeout" => {
                let i = option_index(name);
                Val::from_option(http.options.get(this)?.set[i], Val::U64)
            }
            "[method]request-options.set-connect-timeout"
            | "[method]request-options.set-first-byte-timeout"
            | "[method]request-options.set-between-bytes-timeout" => {
                let ns = match args.get(1) {
                    Some(Val::Variant(1, Some(v))) => match v.as_ref() {
                        Val::U64(ns) => Some(*ns),
                        _ => None,
                    },
                    _ => None,
                };
                let options = http.options.get(this)?;
                options.set[option_index(name)] = ns;
                // The capability has one timeout for the whole exchange:
                // the longest the guest allows for any part of it.
                options.timeout_ms = options.set.iter().flatten().map(|ns| timeout_ms(*ns)).max();
                ok(None)
            }
            "[method]outgoing-body.write" => {
                // One stream per body, as the interface allows.
                let body = http.bodies_out.get(this)?;
                if body.finished || body.stream_taken {
                    return Ok(Some(err(None)));
                }
                body.stream_taken = true;
                ok(Some(Val::Resource(BODY_STREAMS + this)))
            }
            "[static]outgoing-body.finish" => {
                // The capability sends no trailers (nor can the Worker's
                // fetch): a request that has some is refused, not sent
                // without them. Empty trailers are no trailers.
                let trailers = match args.get(1) {
                    Some(Val::Variant(1, Some(trailers))) => match trailers.as_ref() {
                        Val::Resource(rep) => http.fields.remove(*rep),
                        _ => None,
                    },
                    _ => None,
                };
                let with_trailers = trailers.is_some_and(|t| !t.entries.is_empty());
                return self.finish_body(this, with_trailers).await.map(Some);
            }
            "[method]future-incoming-response.subscribe" | "[method]future-trailers.subscribe" => Val::Resource(0),
            "[method]future-incoming-response.get" => self.take_response(this)?,
            "[method]incoming-response.status" => Val::U16(http.responses.get(this)?.status),
            "[method]incoming-response.headers" => {
                let entries = http.responses.get(this)?.headers.clone();
                Val::Resource(http.fields.insert("fields", Fields { entries, immutable: true })?)
            }
            "[method]incoming-response.consume" => match http.responses.get(this)?.body.take() {
                Some(bytes) => {
                    ok(Some(Val::Resource(http.bodies_in.insert("bodies", IncomingBody { bytes, read: 0 })?)))
                }
                None => err(None),
            },
            "[method]incoming-body.stream" => {
                http.bodies_in.get(this)?;
                ok(Some(Val::Resource(BODY_STREAMS + this)))
            }
            "[static]incoming-body.finish" => {
                http.bodies_in.remove(this).ok_or_else(gone)?;
                Val::Resource(http.trailers.insert("trailers", ())?)
            }
            // No trailers: `some(ok(ok(none)))`.
            "[method]future-trailers.get" => Val::some(ok(Some(ok(Some(Val::none()))))),
            "http-error-code" => match http.errors.get(this) {
                Ok(code) => Val::some(code.clone()),
                Err(_) => Val::none(),
            },
            "handle" => self.handle(args).await?,
            other => {
                return Err(CallError::Trap(format!(
                    "wasi:http: `{other}` is for serving requests, and this host serves none through wasi:http"
                )));
            }
        }))
    }

    /// `outgoing-handler.handle`: sends now if the body is done (or there
    /// is none), else when it finishes.
    async fn handle(&mut self, args: Vec<Val>) -> Result<Val, CallError> {
        let http = &mut self.wasi.http;
        let request = http.requests.remove(arg_rep(&args, 0)).ok_or_else(gone)?;
        let timeout_ms = match args.get(1) {
            Some(Val::Variant(1, Some(options))) => match options.as_ref() {
                Val::Resource(rep) => http.options.remove(*rep).and_then(|o| o.timeout_ms),
                _ => None,
            },
            _ => None,
        };
        let ready = match request.body {
            None => true,
            Some(body) => http.bodies_out.get(body).is_ok_and(|b| b.finished),
        };
        let future = if ready {
            let body = request.body.and_then(|b| http.bodies_out.remove(b)).map(|b| b.bytes);
            Future::Ready(self.send(request, body, timeout_ms).await)
        } else {
            Future::Waiting { request, timeout_ms }
        };
        Ok(ok(Some(Val::Resource(self.wasi.http.futures.insert("responses", future)?))))
    }

    /// `outgoing-body.finish`: the body is complete; a request waiting for
    /// it is sent.
    /// Finishes body `rep`, sending the request waiting for it; refused
    /// (and the request with it, its response an error) when the body went
    /// over the grant's size or came `with_trailers`.
    async fn finish_body(&mut self, rep: u32, with_trailers: bool) -> Result<Val, CallError> {
        let body = self.wasi.http.bodies_out.get(rep)?;
        body.finished = true;
        let refusal = match (body.overflowed, with_trailers) {
            (true, _) => Some(self.too_large_body()),
            (false, true) => {
                Some(internal("request trailers are not sent by this host: the request was not sent".into()))
            }
            (false, false) => None,
        };
        let http = &mut self.wasi.http;
        let waiting = http
            .futures
            .slots
            .iter()
            .position(|f| matches!(f, Some(Future::Waiting { request, .. }) if request.body == Some(rep)));
        if let Some(code) = refusal {
            http.bodies_out.remove(rep);
            if let Some(i) = waiting {
                http.futures.slots[i] = Some(Future::Ready(Err(code.clone())));
            }
            return Ok(err(Some(code)));
        }
        if let Some(i) = waiting {
            let Some(Future::Waiting { request, timeout_ms }) = http.futures.slots[i].replace(Future::Taken) else {
                return Err(gone());
            };
            let bytes = http.bodies_out.remove(rep).map(|b| b.bytes);
            let result = self.send(request, bytes, timeout_ms).await;
            self.wasi.http.futures.slots[i] = Some(Future::Ready(result));
        }
        Ok(ok(None))
    }

    fn too_large_body(&self) -> Val {
        let limit = self.grant.http.as_ref().map(|g| g.max_request_bytes as u64);
        error_code(HTTP_REQUEST_BODY_SIZE, Some(Val::from_option(limit, Val::U64)))
    }

    /// Sends `request` through the http capability; the error as an
    /// `error-code`.
    async fn send(
        &mut self,
        request: Request,
        body: Option<Vec<u8>>,
        timeout_ms: Option<u32>,
    ) -> Result<HttpResponse, Val> {
        let Some(method) = method_name(&request.method) else {
            return Err(error_code(HTTP_REQUEST_METHOD_INVALID, None));
        };
        let scheme = match &request.scheme {
            None | Some(Val::Variant(1, _)) => "https",
            Some(Val::Variant(0, _)) => "http",
            // Any other scheme is refused by the grant, which names it.
            Some(Val::Variant(_, Some(other))) => match other.as_ref() {
                Val::String(s) => s.as_str(),
                _ => "https",
            },
            Some(_) => "https",
        };
        let Some(authority) = &request.authority else {
            return Err(error_code(HTTP_REQUEST_URI_INVALID, None));
        };
        let url = format!("{scheme}://{authority}{}", request.path.as_deref().unwrap_or("/"));
        let mut headers = Vec::with_capacity(request.headers.len());
        for (name, value) in request.headers {
            // The host frames the body it sends.
            if name.eq_ignore_ascii_case("content-length") {
                continue;
            }
            headers.push((name, String::from_utf8(value).unwrap_or_default()));
        }
        let asked = GuestRequest { method, url, headers, body, timeout_ms };
        match capability::fetch(self, asked).await {
            Ok(response) => Ok(response),
            Err(CapabilityError::Denied(why)) => {
                self.write(Level::Warn, format!("wasi:http: request denied: {why}")).await;
                Err(error_code(HTTP_REQUEST_DENIED, None))
            }
            Err(other) => Err(internal(other.to_string())),
        }
    }

    /// `future-incoming-response.get`.
    fn take_response(&mut self, rep: u32) -> Result<Val, CallError> {
        let http = &mut self.wasi.http;
        let slot = http.futures.get(rep)?;
        Ok(match std::mem::replace(slot, Future::Taken) {
            waiting @ Future::Waiting { .. } => {
                *slot = waiting;
                Val::none()
            }
            // A second `get`: `some(err)`, as the interface says.
            Future::Taken => Val::some(err(None)),
            Future::Ready(Err(code)) => Val::some(ok(Some(err(Some(code))))),
            Future::Ready(Ok(fetched)) => {
                let headers = fetched.headers.into_iter().map(|(n, v)| (n, v.into_bytes())).collect();
                let response = Response { status: fetched.status, headers, body: Some(fetched.body) };
                Val::some(ok(Some(ok(Some(Val::Resource(http.responses.insert("responses", response)?))))))
            }
        })
    }

    /// Writes of a body's output stream (`rep` from [`BODY_STREAMS`]).
    pub(super) fn write_body(&mut self, rep: u32, contents: &[u8]) -> Result<Val, CallError> {
        let limit = self.grant.http.as_ref().map_or(0, |g| g.max_request_bytes);
        // A body already sent is gone: its stream is closed.
        let Ok(body) = self.wasi.http.bodies_out.get(rep - BODY_STREAMS) else { return Ok(super::closed()) };
        if body.finished {
            return Ok(super::closed());
        }
        if body.bytes.len() + contents.len() > limit {
            body.overflowed = true;
            // `last-operation-failed`, with an error that says why.
            let code = self.too_large_body();
            let error = self.wasi.http.errors.insert("stream errors", code)?;
            return Ok(Val::err(Some(Val::Variant(0, Some(Box::new(Val::Resource(error)))))));
        }
        body.bytes.extend_from_slice(contents);
        Ok(ok(None))
    }

    /// What a body's output stream accepts now.
    pub(super) fn body_permit(&mut self, rep: u32) -> Result<Val, CallError> {
        let limit = self.grant.http.as_ref().map_or(0, |g| g.max_request_bytes);
        let Ok(body) = self.wasi.http.bodies_out.get(rep - BODY_STREAMS) else { return Ok(super::closed()) };
        if body.finished || body.overflowed {
            return Ok(super::closed());
        }
        // At least one byte, so a writer past the limit writes and learns.
        Ok(ok(Some(Val::U64((limit.saturating_sub(body.bytes.len()).clamp(1, super::WRITE_PERMIT as usize)) as u64))))
    }

    /// Reads (and skips) of a body's input stream: at most `len` bytes,
    /// `closed` at the end.
    pub(super) fn read_body(&mut self, rep: u32, len: u64, skip: bool) -> Result<Val, CallError> {
        // A body already finished is gone: its stream is closed.
        let Ok(body) = self.wasi.http.bodies_in.get(rep - BODY_STREAMS) else { return Ok(super::closed()) };
        let left = body.bytes.len() - body.read;
        if left == 0 {
            return Ok(super::closed());
        }
        let n = left.min(usize::try_from(len).unwrap_or(usize::MAX)).min(READ_CHUNK);
        let chunk = &body.bytes[body.read..body.read + n];
        body.read += n;
        Ok(ok(Some(if skip { Val::U64(n as u64) } else { Val::Bytes(chunk.to_vec()) })))
    }

    /// `error.to-debug-string` of a body stream's error.
    pub(super) fn http_error_text(&mut self, rep: u32) -> Option<String> {
        self.wasi.http.errors.get(rep).ok().map(|code| format!("wasi:http error-code {code:?}"))
    }

    /// The guest dropped its handle to a wasi:http object (or an io error
    /// of a body stream).
    pub(super) fn drop_http(&mut self, name: &str, rep: u32) {
        let http = &mut self.wasi.http;
        match name {
            "fields" => drop(http.fields.remove(rep)),
            "outgoing-request" => drop(http.requests.remove(rep)),
            "outgoing-body" => {
                let unfinished = http.bodies_out.remove(rep).is_some_and(|b| !b.finished);
                // Dropped unfinished: a request waiting for it fails.
                let waiting =
                    |f: &&mut Future| matches!(f, Future::Waiting { request, .. } if request.body == Some(rep));
                for slot in http.futures.slots.iter_mut().flatten().filter(waiting).filter(|_| unfinished) {
                    *slot = Future::Ready(Err(internal("the request body was dropped unfinished".into())));
                }
            }
            "request-options" => drop(http.options.remove(rep)),
            "future-incoming-response" => drop(http.futures.remove(rep)),
            "incoming-response" => drop(http.responses.remove(rep)),
            "incoming-body" => drop(http.bodies_in.remove(rep)),
            "future-trailers" => drop(http.trailers.remove(rep)),
            "error" => drop(http.errors.remove(rep)),
            _ => {}
        }
    }
}

fn option_index(name: &str) -> usize {
    if name.contains("connect") {
        0
    } else if name.contains("first-byte") {
        1
    } else {
        2
    }
}

fn shape() -> CallError {
    CallError::Internal("wasi:http: arguments of an unexpected shape".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_refuse_what_wasmtime_refuses() {
        assert_eq!(refuse_field("x-test", Some(b"ok")), None);
        assert_eq!(refuse_field("Host", Some(b"evil.example")), Some(FORBIDDEN_HEADER));
        assert_eq!(refuse_field("transfer-encoding", None), Some(FORBIDDEN_HEADER));
        for (name, value) in [("bad name", &b"v"[..]), ("", b"v"), ("x", b"a\r\nb: c"), ("x", b"\xff"), ("x", b"a\0")] {
            assert_eq!(refuse_field(name, Some(value)), Some(INVALID_SYNTAX), "{name:?}: {value:?}");
        }
    }

    #[test]
    fn a_table_holds_at_most_its_bound_and_reuses_freed_slots() {
        let mut table = Table::default();
        let reps: Vec<u32> = (0..MAX_LIVE).map(|i| table.insert("things", i).unwrap()).collect();
        assert!(matches!(table.insert("things", 0), Err(CallError::Host(_))));
        assert_eq!(table.remove(reps[3]), Some(3));
        assert_eq!(table.remove(reps[3]), None, "removed once");
        assert_eq!(table.insert("things", 99).unwrap(), reps[3]);
        assert!(table.get(u32::MAX).is_err());
    }
}
