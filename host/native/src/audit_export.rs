//! Ships every tenant's audit trail to an OpenTelemetry logs endpoint
//! (OTLP/HTTP with JSON bodies; see `smcp_core::audit::otlp`), for the
//! SIEM an auditor already uses. Records are read back from the trail
//! after they are written, and each tenant's cursor moves only when the
//! collector acknowledged a batch (2xx), so a collector that is down, a
//! refused batch or a restart delays records and never loses them (a batch
//! whose acknowledgement was lost is sent again: at least once).

use smcp_core::audit::otlp;
use smcp_core::engine::Engine;
use smcp_core::names::TenantId;
use smcp_core::platform::Backends;
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::sync::watch;

/// Where to ship, set by `smcp serve --otlp-logs-endpoint`.
#[derive(Clone)]
pub struct OtlpLogs {
    /// The full URL, e.g. `http://collector:4318/v1/logs`.
    pub endpoint: url::Url,
    /// Headers sent with every request (a collector's credentials); their
    /// values are never logged.
    pub headers: Vec<(String, String)>,
}

impl OtlpLogs {
    /// The endpoint as logs may show it: no user, password or query.
    pub fn shown_endpoint(&self) -> String {
        let mut shown = self.endpoint.clone();
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
        shown.set_query(None);
        shown.to_string()
    }
}

impl std::fmt::Debug for OtlpLogs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("OtlpLogs").field("endpoint", &self.shown_endpoint()).field("headers", &names).finish()
    }
}

/// How often new records are looked for.
const EVERY: Duration = Duration::from_secs(1);
/// The longest wait after failures in a row.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Ships until `stop`, with one last round then. Records written after
/// it (the last flush) go with the next start.
pub async fn ship_until_stopped<'a>(
    target: OtlpLogs,
    engine: &Engine,
    backends: impl Fn() -> Backends<'a>,
    mut stop: watch::Receiver<bool>,
) {
    let client = match crate::outbound::admin_client() {
        Ok(client) => client,
        Err(e) => return tracing::error!(error = %e, "the audit exporter could not start"),
    };
    let service = engine.config.server_name.clone();
    let mut shipper = Shipper { target, client, service, backlog: BTreeSet::new(), failures: 0 };
    // Trails written before this process started may not all be shipped.
    match otlp::tenants_with_trails(backends().kv).await {
        Ok(tenants) => shipper.backlog.extend(tenants),
        Err(e) => tracing::error!(error = %e, "listing the audit trails to export failed"),
    }
    loop {
        let wait =
            if shipper.failures == 0 { EVERY } else { (EVERY * 2u32.pow(shipper.failures.min(6))).min(MAX_BACKOFF) };
        let stopping = tokio::select! {
            _ = stop.wait_for(|stop| *stop) => true,
            () = tokio::time::sleep(wait) => false,
        };
        shipper.backlog.extend(engine.audit.moved_for_export());
        shipper.round(backends()).await;
        if stopping {
            return;
        }
    }
}

struct Shipper {
    target: OtlpLogs,
    client: reqwest::Client,
    service: String,
    /// Tenants that may have records not yet acknowledged.
    backlog: BTreeSet<TenantId>,
    /// Failed rounds in a row (the backoff).
    failures: u32,
}

impl Shipper {
    /// One batch of every tenant in the backlog; stops at the first
    /// failure (the collector is likely down for all of them).
    async fn round(&mut self, backends: Backends<'_>) {
        for tenant in self.backlog.clone() {
            match self.ship(backends, &tenant).await {
                Ok(true) => {}
                Ok(false) => {
                    self.backlog.remove(&tenant);
                }
                Err(why) => {
                    self.failures += 1;
                    // The URL and the status or error only: never the headers.
                    tracing::warn!(endpoint = %self.target.shown_endpoint(), tenant = %tenant, failures = self.failures, "exporting audit records failed: {why}");
                    return;
                }
            }
        }
        self.failures = 0;
    }

    /// Sends `tenant`'s next batch; whether more may follow.
    async fn ship(&self, backends: Backends<'_>, tenant: &TenantId) -> Result<bool, String> {
        let from = otlp::cursor(backends.kv, tenant).await.map_err(|e| e.to_string())?;
        let records =
            smcp_core::audit::list(backends.kv, tenant, from, otlp::BATCH).await.map_err(|e| e.to_string())?;
        let Some(last) = records.last() else { return Ok(false) };
        let next = last.seq + 1;
        let body = otlp::logs_request(&self.service, tenant, &records);
        let mut request = self
            .client
            .post(self.target.endpoint.clone())
            .timeout(REQUEST_TIMEOUT)
            .header("content-type", "application/json")
            .body(body.to_string());
        for (name, value) in &self.target.headers {
            request = request.header(name, value);
        }
        let response = request.send().await.map_err(|e| format!("{}", e.without_url()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("the collector answered {status}"));
        }
        otlp::acknowledge(backends.kv, tenant, next).await.map_err(|e| e.to_string())?;
        Ok(records.len() == otlp::BATCH as usize)
    }
}
