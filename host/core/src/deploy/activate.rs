//! Servers' lifecycle: creating one, activating a deployment (deploy and
//! rollback), deleting; and loading the active deployment to serve it.

use super::Deployments;
use super::records::{self, Activation, Deployment, HISTORY, ServerRecord, component_key, valid_name};
use super::{Changes, DeployError};
use crate::audit::Event;
use crate::auth::Principal;
use crate::capabilities::Grant;
use crate::component::PreparedComponent;
use crate::guest::Hosted;
use crate::names::TenantId;
use crate::platform::Backends;
use serde_json::json;

/// Every way a version importing `imports_added` (beyond the old
/// version's imports) under `grant` allows more than the old one under
/// `old_grant`: what activating it needs approval for. A new import widens
/// when a grant section governs it; log, clock, random, notify and the WASI
/// subset but `wasi:http/outgoing-handler` reach nothing more.
pub fn widenings(imports_added: &[String], old_grant: &Grant, grant: &Grant) -> Vec<String> {
    let mut widened: Vec<String> = imports_added
        .iter()
        .filter(|i| crate::world::grant_section(i).is_some())
        .map(|i| format!("imports {i}"))
        .collect();
    widened.extend(grant.widenings_from(old_grant));
    widened
}

fn grant_of(deployment: &Deployment) -> Result<Grant, DeployError> {
    if deployment.grant.trim().is_empty() { Ok(Grant::default()) } else { Ok(Grant::from_toml(&deployment.grant)?) }
}

/// What `imports` under `grant` changes relative to `from` (none: a
/// server with nothing deployed, which may do nothing).
fn changes(from: Option<&Deployment>, imports: &[String], grant: &Grant) -> Result<Changes, DeployError> {
    let (old_imports, old_grant) = match from {
        Some(d) => (d.imports.clone(), grant_of(d)?),
        None => (Vec::new(), Grant::default()),
    };
    let imports_added: Vec<String> = imports.iter().filter(|i| !old_imports.contains(i)).cloned().collect();
    let widened = widenings(&imports_added, &old_grant, grant);
    Ok(Changes {
        from: from.map(|d| d.id.clone()),
        imports_removed: old_imports.iter().filter(|i| !imports.contains(i)).cloned().collect(),
        imports_added,
        widened,
    })
}

async fn active_deployment(
    backends: Backends<'_>,
    tenant: &TenantId,
    record: &ServerRecord,
) -> Result<Option<Deployment>, DeployError> {
    match &record.active {
        Some(id) => records::deployment(backends, tenant, &record.name, id).await,
        None => Ok(None),
    }
}

/// What activating `component` under `grant` would change on `server`.
pub(crate) async fn changes_from_active(
    backends: Backends<'_>,
    tenant: &TenantId,
    server: &str,
    component: &PreparedComponent,
    grant: &Grant,
) -> Result<Changes, DeployError> {
    let record =
        records::server(backends, tenant, server).await?.ok_or_else(|| DeployError::ServerNotFound(server.into()))?;
    let active = active_deployment(backends, tenant, &record).await?;
    changes(active.as_ref(), &component.imports, grant)
}

/// Servers one tenant may have.
pub const MAX_SERVERS_PER_TENANT: usize = 100;
/// Deployments one server may keep.
pub const MAX_DEPLOYMENTS_PER_SERVER: usize = 200;

/// Creates server `server` of `tenant`; an existing one is returned as
/// it is (`false`: not created).
pub async fn create_server(
    deployments: &Deployments,
    backends: Backends<'_>,
    tenant: &TenantId,
    server: &str,
    by: &Principal,
) -> Result<(ServerRecord, bool), DeployError> {
    if !valid_name(server) {
        return Err(DeployError::InvalidName(server.into()));
    }
    let _serialized = deployments.lock.lock().await;
    if let Some(existing) = records::server(backends, tenant, server).await? {
        return Ok((existing, false));
    }
    if records::server_count(backends, tenant).await? >= MAX_SERVERS_PER_TENANT {
        return Err(DeployError::Quota(format!(
            "a tenant has at most {MAX_SERVERS_PER_TENANT} servers: delete one first"
        )));
    }
    let record = ServerRecord {
        v: 1,
        name: server.into(),
        created_ms: backends.clock.now_ms(),
        created_by: by.id.clone(),
        active: None,
        active_digest: None,
        history: Vec::new(),
    };
    // Created by another request since the read above: that one stands.
    if !records::swap_server(backends, tenant, None, &record).await? {
        let existing = records::server(backends, tenant, server).await?;
        return existing.map(|e| (e, false)).ok_or_else(|| DeployError::Contended(server.into()));
    }
    deployments.record(
        backends,
        tenant,
        Event {
            kind: "server.create".into(),
            principal: Some(by.id.clone()),
            server: Some(server.into()),
            detail: json!({}),
        },
    );
    Ok((record, true))
}

/// Reads deployment `deployment`'s component back from storage and
/// loads it (a cache hit when this process has run it before).
async fn hosted(
    deployments: &Deployments,
    backends: Backends<'_>,
    tenant: &TenantId,
    deployment: &Deployment,
) -> Result<Hosted, DeployError> {
    let bytes = component_bytes(backends, tenant, &deployment.digest).await?;
    hosted_from(deployments, tenant, deployment, bytes)
}

/// The stored component with digest `digest`, if any.
async fn component_bytes(
    backends: Backends<'_>,
    tenant: &TenantId,
    digest: &str,
) -> Result<Option<Vec<u8>>, DeployError> {
    let stored = backends.objects.get(&component_key(tenant, digest)).await;
    Ok(stored.map_err(|e| DeployError::Storage(e.to_string()))?.map(|(_, bytes)| bytes))
}

/// `deployment` ready to serve from its component's stored `bytes`, which
/// must be the component it names.
fn hosted_from(
    deployments: &Deployments,
    tenant: &TenantId,
    deployment: &Deployment,
    bytes: Option<Vec<u8>>,
) -> Result<Hosted, DeployError> {
    let missing = || DeployError::ComponentMissing(deployment.id.clone());
    let bytes = bytes.ok_or_else(missing)?;
    let component =
        deployments.runtime.load(&bytes).map_err(|e| DeployError::ComponentRefused(deployment.id.clone(), e))?;
    if component.prepared.digest.to_hex() != deployment.digest {
        return Err(missing());
    }
    Ok(Hosted {
        tenant: tenant.into(),
        server: deployment.server.clone(),
        component,
        grant: grant_of(deployment)?,
        tools: deployment.tools.as_deref().map(Into::into),
    })
}

/// Makes deployment `id` the one `server` serves. Refused, and recorded
/// in the audit trail, when it widens what the active one may do and
/// `approve` is false. `kind` is `activate` or `rollback`.
pub async fn activate(
    deployments: &Deployments,
    backends: Backends<'_>,
    tenant: &TenantId,
    server: &str,
    id: &str,
    approve: bool,
    by: &Principal,
) -> Result<(ServerRecord, Changes), DeployError> {
    let switch = Switch { tenant, server, id, approve, by, kind: "activate" };
    switch.run(deployments, backends).await
}

/// Times an activation starts over when another writer changed the
/// server's record under it.
const SWITCH_ATTEMPTS: u32 = 8;

/// The longest wait, in milliseconds, before the first retry; it doubles
/// with each retry after. Two writers that retried in step would collide
/// again: a random wait up to this bound puts one ahead of the other.
const SWITCH_BACKOFF_MS: u64 = 20;

/// One activation or rollback: deployment `id` to be served at `server`.
struct Switch<'a> {
    tenant: &'a TenantId,
    server: &'a str,
    id: &'a str,
    approve: bool,
    by: &'a Principal,
    /// `activate` or `rollback`.
    kind: &'a str,
}

/// A random wait before retry `attempt` (1-based), between 1 ms and
/// `SWITCH_BACKOFF_MS * 2^(attempt-1)`.
fn backoff_ms(backends: Backends<'_>, attempt: u32) -> u64 {
    let mut bytes = [0; 8];
    backends.random.fill(&mut bytes);
    let bound = SWITCH_BACKOFF_MS << (attempt - 1).min(6);
    1 + u64::from_le_bytes(bytes) % bound
}

impl Switch<'_> {
    async fn run(
        &self,
        deployments: &Deployments,
        backends: Backends<'_>,
    ) -> Result<(ServerRecord, Changes), DeployError> {
        // Two activations interleaving at an await would lose one's history
        // entry, or leave the served version and the record disagreeing: in
        // this process they take turns; across processes (the Worker's
        // isolates) the record is written only over what was read, and an
        // activation that lost the race starts over on the new record.
        let _serialized = deployments.lock.lock().await;
        for attempt in 0..SWITCH_ATTEMPTS {
            if attempt > 0 {
                backends.clock.sleep(backoff_ms(backends, attempt)).await;
            }
            if let Some(switched) = self.attempt(deployments, backends).await? {
                return Ok(switched);
            }
        }
        Err(DeployError::Contended(self.server.into()))
    }

    /// One attempt of [`Switch::run`]: `Ok(None)` when another writer
    /// changed the server's record since it was read (nothing was written).
    async fn attempt(
        &self,
        deployments: &Deployments,
        backends: Backends<'_>,
    ) -> Result<Option<(ServerRecord, Changes)>, DeployError> {
        let Switch { tenant, server, id, approve, by, kind } = *self;
        let (mut record, read) = records::server_for_update(backends, tenant, server)
            .await?
            .ok_or_else(|| DeployError::ServerNotFound(server.into()))?;
        let target = records::deployment(backends, tenant, server, id)
            .await?
            .ok_or_else(|| DeployError::DeploymentNotFound(id.into()))?;
        let active = active_deployment(backends, tenant, &record).await?;
        let changes = changes(active.as_ref(), &target.imports, &grant_of(&target)?)?;
        let audit = |event: &str, detail: serde_json::Value| {
            deployments.record(
                backends,
                tenant,
                Event { kind: event.into(), principal: Some(by.id.clone()), server: Some(server.into()), detail },
            )
        };
        if changes.requires_approval() && !approve {
            audit(
                "deploy.refused",
                json!({ "deployment": id, "action": kind, "from": changes.from, "reason": "approval_required", "widens": changes.widened }),
            );
            return Err(DeployError::ApprovalRequired(Box::new(changes)));
        }
        let settings = records::settings(backends, tenant).await?;
        if changes.requires_approval() && target.uploaded_by == by.id && settings.separate_approver {
            audit(
                "deploy.refused",
                json!({ "deployment": id, "action": kind, "from": changes.from, "reason": "approver_is_uploader", "uploaded_by": target.uploaded_by, "widens": changes.widened }),
            );
            return Err(DeployError::SelfApproval(target.uploaded_by.clone()));
        }
        // Signers listed since the upload, or a signer revoked or expired since,
        // stop a version from being activated (or rolled back to).
        if let Err(e) =
            crate::signing::still_vouched(&settings.signers, target.signed_by.as_ref(), backends.clock.now_ms())
        {
            let error = DeployError::from(e);
            audit(
                "deploy.refused",
                json!({ "deployment": id, "action": kind, "reason": error.code(), "signed_by": target.signed_by }),
            );
            return Err(error);
        }
        // Everything that can fail comes before the record is written: the
        // component must load and its grant must cover its imports.
        let hosted = hosted(deployments, backends, tenant, &target).await?;
        hosted.grant.check_imports(&hosted.component.prepared.imports)?;
        record.active = Some(target.id.clone());
        record.active_digest = Some(target.digest.clone());
        record.history.push(Activation {
            deployment: target.id.clone(),
            at_ms: backends.clock.now_ms(),
            by: by.id.clone(),
            kind: kind.into(),
            approved: if approve { changes.widened.clone() } else { Vec::new() },
        });
        if record.history.len() > HISTORY {
            record.history.drain(..record.history.len() - HISTORY);
        }
        if !records::swap_server(backends, tenant, Some(&read), &record).await? {
            return Ok(None);
        }
        deployments.serve_deployment(hosted, &target.id, backends.clock.now_ms())?;
        audit(
            &format!("deploy.{kind}"),
            json!({
                "deployment": target.id,
                "digest": target.digest,
                "from": changes.from,
                "approved_widening": changes.requires_approval(),
                "uploaded_by": target.uploaded_by,
                "signed_by": target.signed_by,
                "widens": changes.widened,
            }),
        );
        Ok(Some((record, changes)))
    }
}

/// Activates `to`, or when `None` the deployment that was active before
/// the current one.
pub async fn rollback(
    deployments: &Deployments,
    backends: Backends<'_>,
    tenant: &TenantId,
    server: &str,
    to: Option<&str>,
    approve: bool,
    by: &Principal,
) -> Result<(ServerRecord, Changes), DeployError> {
    let record =
        records::server(backends, tenant, server).await?.ok_or_else(|| DeployError::ServerNotFound(server.into()))?;
    let target = match to {
        Some(id) => id.to_owned(),
        None => {
            let current = record.active.as_deref();
            // The newest activation before the current one's latest.
            let mut earlier = record.history.iter().rev().skip_while(|a| Some(a.deployment.as_str()) == current);
            earlier.next().map(|a| a.deployment.clone()).ok_or(DeployError::NoEarlierDeployment)?
        }
    };
    let switch = Switch { tenant, server, id: &target, approve, by, kind: "rollback" };
    switch.run(deployments, backends).await
}

/// Deletes `server`: it stops being served at once, its deployment
/// records go, and so do the components no other server of the tenant
/// uses. The data it stored (kv, objects) stays.
pub async fn delete_server(
    deployments: &Deployments,
    backends: Backends<'_>,
    tenant: &TenantId,
    server: &str,
    by: &Principal,
) -> Result<(), DeployError> {
    let _serialized = deployments.lock.lock().await;
    if records::server(backends, tenant, server).await?.is_none() {
        return Err(DeployError::ServerNotFound(server.into()));
    }
    records::delete_key(backends, &records::server_key(tenant, server)).await?;
    deployments.unhost(tenant, server);
    let versions = records::deployments(backends, tenant, server).await?;
    for d in &versions {
        records::delete_key(backends, &records::deployment_key(tenant, server, &d.id)).await?;
    }
    let in_use = records::digests_in_use(backends, tenant).await?;
    let mut removed = Vec::new();
    for d in &versions {
        if !in_use.contains(&d.digest) && !removed.contains(&d.digest) {
            backends
                .objects
                .delete(&component_key(tenant, &d.digest))
                .await
                .map_err(|e| DeployError::Storage(e.to_string()))?;
            removed.push(d.digest.clone());
        }
    }
    let detail = json!({ "deployments": versions.len(), "components_removed": removed.len() });
    deployments.record(
        backends,
        tenant,
        Event { kind: "server.delete".into(), principal: Some(by.id.clone()), server: Some(server.into()), detail },
    );
    Ok(())
}

/// The active deployment of `server` ready to serve, with its id; `None`
/// when the server does not exist or has nothing active.
pub async fn load_active(
    deployments: &Deployments,
    backends: Backends<'_>,
    tenant: &TenantId,
    server: &str,
) -> Result<Option<(Hosted, String)>, DeployError> {
    let Some(record) = records::server(backends, tenant, server).await? else { return Ok(None) };
    // The component the record names is fetched while the deployment
    // record is read; the deployment's own digest decides what is loaded.
    let named = &record.active_digest;
    let prefetch = async {
        match named {
            Some(digest) => Some(component_bytes(backends, tenant, digest).await),
            None => None,
        }
    };
    let (active, prefetched) = futures_util::future::join(active_deployment(backends, tenant, &record), prefetch).await;
    let Some(active) = active? else { return Ok(None) };
    let bytes = match prefetched {
        Some(bytes) if named.as_deref() == Some(active.digest.as_str()) => bytes?,
        _ => component_bytes(backends, tenant, &active.digest).await?,
    };
    Ok(Some((hosted_from(deployments, tenant, &active, bytes)?, active.id)))
}
