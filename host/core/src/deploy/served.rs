//! The servers this process serves, by tenant and name: each the version
//! it was deployed as, kept within the compiled-module budget, and
//! re-read from the deployment registry when another process may have
//! activated a different one.

use super::Deployments;
use crate::capabilities::ListKind;
use crate::capabilities::NotGranted;
use crate::guest::Hosted;
use crate::mcp::Change;
use crate::names::TenantId;
use crate::platform::Backends;
use std::collections::HashMap;
use std::sync::Arc;

/// A server as this process serves it.
#[derive(Clone)]
pub(super) struct Served {
    /// Shared with the requests using it: a request keeps its version.
    hosted: Arc<Hosted>,
    /// The deployment it comes from; `None` when hosted directly with
    /// [`Deployments::host`] (tests, embedding), which the registry never
    /// overrides.
    deployment: Option<String>,
    /// When the registry last confirmed it (ms).
    checked_ms: u64,
    /// When a request last used it (ms), for evicting the least used.
    used_ms: Arc<std::sync::atomic::AtomicU64>,
}

impl Served {
    fn new(hosted: Arc<Hosted>, deployment: Option<String>, checked_ms: u64) -> Served {
        Served { hosted, deployment, checked_ms, used_ms: Arc::new(checked_ms.into()) }
    }

    /// What its compiled component is counted as weighing in memory.
    fn weight(&self) -> usize {
        self.hosted.component.prepared.core_bytes().saturating_mul(3)
    }
}

impl Deployments {
    /// Serves `hosted` at `/t/{tenant}/s/{server}/mcp`, replacing any
    /// server already there. Refused when the component imports a
    /// capability its grant does not give.
    pub fn host(&self, hosted: Hosted) -> Result<(), NotGranted> {
        self.serve(Served::new(Arc::new(hosted), None, 0))
    }

    /// Serves deployment `id` (see [`crate::deploy`]): requests that
    /// already started keep the version they started with.
    pub(crate) fn serve_deployment(&self, hosted: Hosted, id: &str, now_ms: u64) -> Result<(), NotGranted> {
        self.serve(Served::new(Arc::new(hosted), Some(id.to_owned()), now_ms))
    }

    fn serve(&self, served: Served) -> Result<(), NotGranted> {
        let hosted = &served.hosted;
        hosted.grant.check_imports(&hosted.component.prepared.imports)?;
        let key = (hosted.tenant.clone(), hosted.server.clone());
        let budget = self.runtime.limits().module_cache_bytes;
        let replaced = match self.servers.write() {
            Ok(mut servers) => {
                let replaced = servers.insert(key.clone(), served).is_some();
                evict_least_used(&mut servers, &key, budget);
                replaced
            }
            Err(_) => false,
        };
        // A new component may list anything: every list may have changed.
        if replaced {
            for kind in [ListKind::Tools, ListKind::Prompts, ListKind::Resources] {
                self.mcp.subscriptions.publish(&key, &Change::List(kind));
            }
        }
        Ok(())
    }

    /// Stops serving `server` (deleted).
    pub(crate) fn unhost(&self, tenant: &TenantId, server: &str) {
        if let Ok(mut servers) = self.servers.write() {
            servers.remove(&(tenant.to_owned(), server.to_owned()));
        }
    }

    fn cached(&self, tenant: &TenantId, server: &str) -> Option<Served> {
        self.servers.read().ok()?.get(&(tenant.to_owned(), server.to_owned())).cloned()
    }

    /// The server at `tenant`/`server` as it is to serve this request:
    /// what this process serves, or the registry's active deployment when
    /// it serves nothing there yet (or, with
    /// a recheck window, when what it serves may
    /// be stale).
    pub(crate) async fn lookup(
        &self,
        backends: Backends<'_>,
        tenant: &TenantId,
        server: &str,
    ) -> Result<Option<Arc<Hosted>>, crate::deploy::DeployError> {
        let now = backends.clock.now_ms();
        let cached = self.cached(tenant, server);
        if let Some(Served { hosted, deployment, checked_ms, used_ms }) = &cached {
            used_ms.store(now, std::sync::atomic::Ordering::Relaxed);
            let fresh = match (deployment, self.recheck_ms) {
                (None, _) | (Some(_), None) => true,
                (Some(_), Some(window)) => now.saturating_sub(*checked_ms) < window,
            };
            if fresh {
                return Ok(Some(hosted.clone()));
            }
            // Still the same deployment: trust it for another window.
            let active = crate::deploy::records::server(backends, tenant, server).await?.and_then(|r| r.active);
            if active.is_some() && active == *deployment {
                self.renew(tenant, server, deployment, now);
                return Ok(Some(hosted.clone()));
            }
        }
        match super::load_active(self, backends, tenant, server).await? {
            Some((hosted, id)) => {
                let hosted = Arc::new(hosted);
                let _ = self.serve(Served::new(hosted.clone(), Some(id), now));
                Ok(Some(hosted))
            }
            None => {
                if cached.is_some_and(|c| c.deployment.is_some()) {
                    self.unhost(tenant, server);
                }
                Ok(None)
            }
        }
    }

    /// Marks what is served at `tenant`/`server` as confirmed at `now_ms`,
    /// if it is still `deployment` (nothing else changes, nobody is told).
    fn renew(&self, tenant: &TenantId, server: &str, deployment: &Option<String>, now_ms: u64) {
        if let Ok(mut servers) = self.servers.write()
            && let Some(served) = servers.get_mut(&(tenant.to_owned(), server.to_owned()))
            && served.deployment == *deployment
        {
            served.checked_ms = now_ms;
        }
    }
}

/// Drops the least recently used servers loaded from the registry until
/// their compiled components weigh no more than `budget` together (`keep`
/// stays): a request for one loads it again. Servers hosted directly have
/// nothing to reload from and stay.
fn evict_least_used(servers: &mut HashMap<(TenantId, String), Served>, keep: &(TenantId, String), budget: usize) {
    use std::sync::atomic::Ordering;
    let loaded = |s: &Served| s.deployment.is_some();
    let mut total: usize = servers.values().filter(|s| loaded(s)).map(Served::weight).sum();
    while total > budget {
        let oldest = servers
            .iter()
            .filter(|(key, served)| loaded(served) && *key != keep)
            .min_by_key(|(_, served)| served.used_ms.load(Ordering::Relaxed))
            .map(|(key, served)| (key.clone(), served.weight()));
        let Some((key, weight)) = oldest else { break };
        servers.remove(&key);
        total -= weight;
    }
}
