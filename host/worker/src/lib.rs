//! The SMCP host as a Cloudflare Worker: a thin front end over
//! `smcp-core`. Requests go through the same engine as on the native
//! server (auth, routing, protocol, sandbox); this crate only converts
//! HTTP and provides the Cloudflare backends:
//!
//! - [`kv`]: Workers KV for sessions, metadata, rate limits, the audit
//!   trail, secrets (encrypted) and guests' KV;
//! - [`tenant_store`]: a Durable Object per tenant holding its audit trail,
//!   deployment registry and tasks, strongly consistent across isolates;
//! - [`session_host`]: a Durable Object per legacy session, serving all of
//!   its requests in one engine whatever isolate received them;
//! - [`objects`]: R2 for components and guests' objects;
//! - [`fetch`]: the Fetch API for guests' outbound HTTP;
//! - [`platform`]: clock, randomness and operator logs;
//! - [`config`]: settings from vars and secrets;
//! - `suite`: the core's backend suite, run inside workerd on request (built
//!   only with the `backend-suite` feature, for tests).
//!
//! One engine per isolate: compiled components, served deployments and
//! rate buckets are cached there, keyed by digest and server.

mod config;
mod drive;
mod fetch;
mod kv;
mod objects;
mod platform;
mod session_host;
#[cfg(feature = "backend-suite")]
mod suite;
mod tenant_store;

use config::Settings;
use fetch::FetchHttp;
use futures_channel::oneshot;
use futures_util::StreamExt;
use kv::WorkersKv;
use objects::R2Objects;
use platform::{ConsoleLog, WorkerClock, WorkerRandom};
use smcp_core::engine::{Engine, SessionRoute};
use smcp_core::http::{Body, Request as CoreRequest, Response as CoreResponse};
use smcp_core::platform::Backends;
use smcp_core::policy::address::AddressPolicy;
use smcp_core::runtime::{Runtime, RuntimeLimits};
use smcp_core::vault::Vault;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use worker::{Context, Env, Headers, Request, Response, event};

/// Binding names (wrangler.toml).
const KV_BINDING: &str = "SMCP_KV";
const R2_BINDING: &str = "SMCP_R2";

/// What an isolate keeps between requests.
struct Isolate {
    engine: Engine,
    settings: Settings,
    outbound: Rc<AddressPolicy>,
    log: ConsoleLog,
}

thread_local! {
    static ISOLATE: RefCell<Option<Rc<Isolate>>> = const { RefCell::new(None) };
}

/// Guest memory of all calls running in one isolate together.
const GUEST_MEMORY_BYTES: usize = 80 << 20;

/// The isolate's state, made on its first request.
fn isolate(env: &Env, origin: &str) -> Result<Rc<Isolate>, String> {
    if let Some(existing) = ISOLATE.with(|i| i.borrow().clone()) {
        return Ok(existing);
    }
    let settings = config::load(env, origin)?;
    // An isolate has 128 MB in all: guests' memories together get at most
    // this much of it, so that concurrent calls fail with a typed error
    // instead of the isolate being killed for everyone it serves.
    let limits = RuntimeLimits {
        guest_memory_bytes: GUEST_MEMORY_BYTES,
        max_component_bytes: RuntimeLimits::component_bytes_for_upload(settings.engine.max_upload_bytes),
        ..RuntimeLimits::default()
    };
    let runtime = Runtime::new(limits).map_err(|e| format!("host world: {e}"))?;
    let engine = Engine::new(Arc::new(runtime), settings.engine.clone());
    let outbound = Rc::new(settings.outbound.clone());
    let isolate = Rc::new(Isolate { engine, settings, outbound, log: ConsoleLog::default() });
    ISOLATE.with(|i| *i.borrow_mut() = Some(isolate.clone()));
    Ok(isolate)
}

/// The backends of one request (bindings come with each request's env).
pub(crate) struct Platform {
    /// Workers KV, with tenants' audit trails and registries in their
    /// Durable Objects.
    pub(crate) kv: tenant_store::TenantKv,
    /// Workers KV alone (the backend suite tests it as it is).
    #[cfg(feature = "backend-suite")]
    pub(crate) plain_kv: WorkersKv,
    objects: R2Objects,
    http: FetchHttp,
    secrets: Vault<WorkersKv>,
    clock: WorkerClock,
    random: WorkerRandom,
    isolate: Rc<Isolate>,
}

impl Platform {
    fn new(env: &Env, isolate: Rc<Isolate>) -> worker::Result<Platform> {
        let kv = WorkersKv(env.kv(KV_BINDING)?);
        Ok(Platform {
            secrets: Vault::new(kv.clone(), isolate.settings.keyring.clone(), Box::new(WorkerRandom)),
            kv: tenant_store::TenantKv { kv: kv.clone(), tenants: env.durable_object(tenant_store::BINDING)? },
            #[cfg(feature = "backend-suite")]
            plain_kv: kv,
            objects: R2Objects(env.bucket(R2_BINDING)?),
            http: FetchHttp { policy: isolate.outbound.clone() },
            clock: WorkerClock,
            random: WorkerRandom,
            isolate,
        })
    }

    pub(crate) fn backends(&self) -> Backends<'_> {
        Backends {
            kv: &self.kv,
            objects: &self.objects,
            http: &self.http,
            secrets: &self.secrets,
            clock: &self.clock,
            random: &self.random,
            log: &self.isolate.log,
        }
    }
}

#[event(fetch)]
async fn fetch(request: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    let url = request.url()?;
    // Tests: a second Worker on the same code and Durable Objects, in an
    // isolate of its own, reached under `/__peer/` (a test deployment's
    // wrangler config binds it; production has no such binding).
    #[cfg(feature = "backend-suite")]
    if let Some(path) = url.path().strip_prefix("/__peer")
        && let Ok(peer) = env.service("SMCP_PEER")
    {
        let mut target = url.clone();
        target.set_path(path);
        return peer.fetch_request(Request::new_with_init(target.as_str(), &forwarded_init(request).await?)?).await;
    }
    let isolate = match isolate(&env, &url.origin().ascii_serialization()) {
        Ok(isolate) => isolate,
        Err(why) => {
            worker::console_error!("smcp: the Worker is misconfigured: {why}");
            return plain(500, &format!("the host is misconfigured: {why}\n"));
        }
    };
    let platform = Rc::new(Platform::new(&env, isolate.clone())?);
    let mut request = match read_request(request, &url, &isolate.engine).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    // Only the front may say which session a request opens.
    request.headers.retain(|(name, _)| name != session_host::NEW_SESSION_HEADER);
    #[cfg(feature = "backend-suite")]
    if let Some(answer) = suite::handle(&isolate.engine, &isolate.settings, &request, &platform).await {
        return to_worker(answer);
    }
    // On this request's own timer, as all engine work (see `drive`): the
    // checks take locks other requests may be holding.
    let route = drive::on_own_timer(isolate.engine.session_route(&request, platform.backends())).await;
    match route {
        Ok(None) => {}
        Ok(Some(route)) => {
            let (session, new) = match route {
                SessionRoute::Existing(id) => (id, false),
                SessionRoute::New => (WorkerRandom.hex_id(), true),
            };
            return session_host::forward(&env, &session, new, &request, &url).await;
        }
        Err(refused) => {
            // The refusal's audit record, written after the answer.
            let upkeep_platform = platform.clone();
            ctx.wait_until(drive::on_own_timer(async move { upkeep_soon(&upkeep_platform).await }));
            return to_worker(isolate.engine.mcp.with_cors(request.header("origin"), refused));
        }
    }
    serve(isolate, platform, request, |work| ctx.wait_until(work)).await
}

/// Serves a request of a legacy session in its object (see
/// [`session_host`]): the session it opens is the one the front named.
async fn serve_session(request: Request, env: &Env, keep: impl FnOnce(LocalWork)) -> worker::Result<Response> {
    let url = request.url()?;
    let isolate = isolate(env, &url.origin().ascii_serialization()).map_err(worker::Error::RustError)?;
    let platform = Rc::new(Platform::new(env, isolate.clone())?);
    let mut request = match read_request(request, &url, &isolate.engine).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    if let Some(at) = request.headers.iter().position(|(name, _)| name == session_host::NEW_SESSION_HEADER) {
        request.new_session_id = Some(request.headers.remove(at).1);
    }
    serve(isolate, platform, request, keep).await
}

/// Work that must go on after the response is returned.
type LocalWork = std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>;

/// Runs `request` through the engine. The exchange runs as `keep`'s work
/// (`waitUntil`), which keeps it going after the head is returned (SSE
/// streams) and writes the audit records after it.
async fn serve(
    isolate: Rc<Isolate>,
    platform: Rc<Platform>,
    request: CoreRequest,
    keep: impl FnOnce(LocalWork),
) -> worker::Result<Response> {
    let (head_tx, head_rx) = oneshot::channel();
    keep(Box::pin(drive::on_own_timer(async move {
        let engine = &isolate.engine;
        engine.handle_streaming(request, platform.backends(), head_tx).await;
        upkeep_soon(&platform).await;
    })));
    // The head comes from this request's own exchange: an ordinary wake.
    match head_rx.await {
        Ok(response) => to_worker(response),
        Err(_) => plain(500, "internal error\n"),
    }
}

/// How long queued audit records wait to be written together.
const UPKEEP_BATCH: Duration = Duration::from_millis(20);

thread_local! {
    /// Whether some request of this isolate will run the upkeep soon.
    static UPKEEP_DUE: Cell<bool> = const { Cell::new(false) };
}

/// Runs the engine's upkeep (the audit records queued by then, and what
/// is due of retention and checkpoints) within [`UPKEEP_BATCH`], in the
/// `waitUntil` work of a request that queued records, so that the records
/// outlive its response. One Durable Object write serves every request of
/// the batch, not one each, as on the native server (every 25 ms).
async fn upkeep_soon(platform: &Platform) {
    // Another request's upkeep comes after this one's records were queued.
    if UPKEEP_DUE.with(|due| due.replace(true)) {
        return;
    }
    worker::Delay::from(UPKEEP_BATCH).await;
    // Records queued from here on are for the next batch.
    UPKEEP_DUE.with(|due| due.set(false));
    if let Err(e) = platform.isolate.engine.upkeep(platform.backends()).await {
        worker::console_error!("smcp: writing audit records failed: {e}");
    }
}

/// `request`'s method, headers and body, to send on.
#[cfg(feature = "backend-suite")]
async fn forwarded_init(mut request: Request) -> worker::Result<worker::RequestInit> {
    let mut init = worker::RequestInit::new();
    init.with_method(request.method()).with_headers(request.headers().clone());
    let body = request.bytes().await?;
    if !body.is_empty() {
        init.with_body(Some(js_sys::Uint8Array::from(&body[..]).into()));
    }
    Ok(init)
}

/// The request as the engine takes it, or the answer to a body over the
/// limit (per path, as on the native host: uploads may be larger).
async fn read_request(
    mut request: Request,
    url: &worker::Url,
    engine: &Engine,
) -> Result<CoreRequest, worker::Result<Response>> {
    let limit =
        if url.path().starts_with("/admin/") { engine.config.max_upload_bytes } else { engine.config.max_body_bytes };
    let mut headers: Vec<(String, String)> =
        request.headers().entries().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect();
    smcp_core::engine::split_joined_headers(&mut headers);
    let declared = headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large(url));
    }
    let mut body = Vec::new();
    if let Ok(mut stream) = request.stream() {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| plain(400, &format!("reading the request body failed: {e}\n")))?;
            if body.len() + chunk.len() > limit {
                return Err(too_large(url));
            }
            body.extend_from_slice(&chunk);
        }
    }
    // Cloudflare sets it on every request reaching a Worker from outside.
    let client = headers.iter().find(|(name, _)| name == "cf-connecting-ip").map(|(_, value)| value.clone());
    Ok(CoreRequest {
        method: request.method().to_string(),
        path: url.path().to_owned(),
        query: url.query().unwrap_or_default().to_owned(),
        headers,
        body,
        client,
        new_session_id: None,
    })
}

/// 413 in the format of the API the path belongs to.
fn too_large(url: &worker::Url) -> worker::Result<Response> {
    let body = if url.path().starts_with("/admin/") {
        serde_json::json!({ "error": { "code": "too_large", "message": "the request body is over this host's limit" } })
    } else {
        serde_json::json!({ "jsonrpc": "2.0", "id": null, "error": { "code": -32600, "message": "Payload Too Large" } })
    };
    Ok(Response::from_json(&body)?.with_status(413))
}

fn plain(status: u16, text: &str) -> worker::Result<Response> {
    Ok(Response::ok(text)?.with_status(status))
}

/// The engine's response as a Worker response; a streamed body becomes a
/// `ReadableStream` fed by the exchange.
fn to_worker(response: CoreResponse) -> worker::Result<Response> {
    let headers = Headers::new();
    for (name, value) in &response.headers {
        headers.append(name, value)?;
    }
    if let Some(content_type) = response.body.content_type() {
        headers.set("content-type", content_type)?;
    }
    let out = match response.body {
        Body::Empty => Response::empty()?,
        Body::Stream(events) => {
            headers.set("cache-control", "no-cache")?;
            let events = drive::stream_on_own_timer(events);
            Response::from_stream(events.map(|event| Ok::<Vec<u8>, worker::Error>(event.to_wire().into_bytes())))?
        }
        body => Response::from_bytes(body.to_bytes())?,
    };
    Ok(out.with_status(response.status).with_headers(headers))
}
