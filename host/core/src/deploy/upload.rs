//! Uploading a version of a server: check everything, then store the
//! component (once per digest) and the deployment record.

use super::Deployments;
use super::activate::changes_from_active;
use super::records::{self, Deployment, component_key, deployment_id};
use super::{Changes, DeployError};
use crate::auth::Principal;
use crate::capabilities::Grant;
use crate::component::Digest;
use crate::names::TenantId;
use crate::platform::Backends;
use crate::review::{self, Review};

/// Largest listing a deployment keeps (as JSON): a record must fit one
/// value of the Worker's tenant store. A larger one is not kept, and the
/// host lists the tools itself when it first serves them.
pub const MAX_KEPT_TOOLS_BYTES: usize = 1 << 20;

fn kept_size(tools: &[crate::guest::DeclaredTool]) -> usize {
    serde_json::to_vec(tools).map_or(usize::MAX, |json| json.len())
}

/// What an uploader sends.
#[derive(Debug, Clone, Default)]
pub struct Upload {
    pub component: Vec<u8>,
    /// The grant file (TOML); none grants nothing but the default limits.
    pub grant: Option<Vec<u8>>,
    /// The blake3 digest (hex) the uploader says the component has.
    pub digest: Option<String>,
    /// A signature file ([`crate::signing::SignatureFile`]) over the
    /// component and the grant.
    pub signature: Option<Vec<u8>>,
}

/// A stored (or already present) deployment, what it may touch, and what
/// activating it would change.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Uploaded {
    pub deployment: Deployment,
    /// False when the same component and grant were uploaded before.
    pub created: bool,
    pub review: Review,
    pub changes: Changes,
}

/// Checks `upload` and stores it as a deployment of `server`. Nothing is
/// stored unless every check passes; a failed write removes what the
/// upload added; a refusal is recorded (`deploy.refused`, with its code).
pub async fn upload(
    deployments: &Deployments,
    backends: Backends<'_>,
    tenant: &TenantId,
    server: &str,
    upload: Upload,
    by: &Principal,
) -> Result<Uploaded, DeployError> {
    let digest = Digest::of(&upload.component).to_hex();
    let signed = upload.signature.is_some();
    // Every check and the writes, so that any refusal is recorded below.
    let result: Result<Uploaded, DeployError> = async {
        let digest = digest.clone();
        if records::server(backends, tenant, server).await?.is_none() {
            return Err(DeployError::ServerNotFound(server.to_owned()));
        }
        let limit = deployments.runtime.limits().max_component_bytes;
        if upload.component.len() > limit {
            return Err(DeployError::TooLarge { size: upload.component.len(), limit });
        }
        let settings = records::settings(backends, tenant).await?;
        match upload.digest.as_deref().map(|d| d.trim().trim_start_matches("blake3:").to_ascii_lowercase()) {
            Some(stated) if stated != digest => return Err(DeployError::DigestMismatch { stated, actual: digest }),
            Some(_) => {}
            None if settings.require_digest => return Err(DeployError::DigestRequired),
            None => {}
        }
        let grant_text = match upload.grant {
            Some(bytes) => String::from_utf8(bytes).map_err(|_| DeployError::GrantNotText)?,
            None => String::new(),
        };
        // Before the component is even loaded: an unsigned upload costs the
        // host nothing more.
        let now = backends.clock.now_ms();
        let signed_by = crate::signing::verify(
            &settings.signers,
            upload.signature.as_deref(),
            &digest,
            grant_text.as_bytes(),
            now,
            deployments.sigstore_root.as_deref(),
        )?;
        let grant = if grant_text.trim().is_empty() { Grant::default() } else { Grant::from_toml(&grant_text)? };
        let component = deployments.runtime.load(&upload.component)?;
        let prepared = &component.prepared;
        grant.check_imports(&prepared.imports)?;
        let listing = check_listings(deployments, backends, tenant, server, &component, &grant).await?;

        let id = deployment_id(&digest, &grant_text);
        let mut review = review::review(deployments.runtime.world(), prepared, Some(&grant));
        let tools =
            listing.as_ref().map(|l| l.declared.clone()).filter(|tools| kept_size(tools) <= MAX_KEPT_TOOLS_BYTES);
        review.tools = listing.map(|l| l.shown).unwrap_or_default();
        let changes = changes_from_active(backends, tenant, server, prepared, &grant).await?;
        if let Some(mut existing) = records::deployment(backends, tenant, server, &id).await? {
            // The same version signed now, unsigned before: it is vouched
            // for. One stored before the host kept tools gets them now.
            let vouched = existing.signed_by.is_none() && signed_by.is_some();
            let listed = existing.tools.is_none() && tools.is_some();
            if vouched || listed {
                existing.signed_by = existing.signed_by.or(signed_by);
                existing.tools = existing.tools.or(tools);
                records::put_deployment(backends, tenant, &existing).await?;
            }
            return Ok(Uploaded { deployment: existing, created: false, review, changes });
        }

        let _serialized = deployments.lock.lock().await;
        let limit = super::activate::MAX_DEPLOYMENTS_PER_SERVER;
        if records::deployment_count(backends, tenant, server).await? >= limit {
            return Err(DeployError::Quota(format!("a server keeps at most {limit} deployments")));
        }
        let object = component_key(tenant, &digest);
        let stored_before =
            backends.objects.head(&object).await.map_err(|e| DeployError::Storage(e.to_string()))?.is_some();
        if !stored_before {
            backends
                .objects
                .put(&object, upload.component, Some("application/wasm".into()))
                .await
                .map_err(|e| DeployError::Storage(e.to_string()))?;
        }
        let deployment = Deployment {
            v: 1,
            id,
            server: server.to_owned(),
            digest: digest.clone(),
            size: prepared.size as u64,
            grant: grant_text,
            imports: prepared.imports.clone(),
            exports: prepared.exports.clone(),
            created_ms: backends.clock.now_ms(),
            uploaded_by: by.id.clone(),
            signed_by,
            tools,
        };
        if let Err(e) = records::put_deployment(backends, tenant, &deployment).await {
            if !stored_before {
                let _ = backends.objects.delete(&object).await;
            }
            return Err(e);
        }
        let detail = serde_json::json!({
            "deployment": deployment.id,
            "digest": digest,
            "size": deployment.size,
            "imports": deployment.imports,
            "widens": changes.widened,
            "signed_by": deployment.signed_by,
        });
        deployments.record(
            backends,
            tenant,
            crate::audit::Event {
                kind: "deploy.upload".into(),
                principal: Some(by.id.clone()),
                server: Some(server.into()),
                detail,
            },
        );
        Ok(Uploaded { deployment, created: true, review, changes })
    }
    .await;
    if let Err(e) = &result {
        // Who tried to deploy what, and why it was refused: the code, never
        // the message (it may quote the upload).
        let detail = serde_json::json!({ "action": "upload", "digest": digest, "signed": signed, "reason": e.code() });
        let event = crate::audit::Event {
            kind: "deploy.refused".into(),
            principal: Some(by.id.clone()),
            server: Some(server.into()),
            detail,
        };
        deployments.record(backends, tenant, event);
    }
    result
}

/// Lists the component's tools, prompts and resources as a client would,
/// refusing the upload when a list breaks the rules
/// ([`crate::guest`] checks them at every listing too): the tools, for the
/// review and the deployment (none when listing them failed). Other
/// failures are left to the health check: a list may need a capability
/// that only works once deployed.
async fn check_listings(
    deployments: &Deployments,
    backends: Backends<'_>,
    tenant: &TenantId,
    server: &str,
    component: &crate::runtime::Component,
    grant: &Grant,
) -> Result<Option<review::Listing>, DeployError> {
    use crate::guest::{OutputError, Server, ServerError};
    let scope = crate::platform::Scope { tenant: tenant.into(), server: server.into(), request: "upload".into() };
    let mut discard = crate::capabilities::Discard;
    let mut host = crate::capabilities::CallHost::new(backends, grant, &scope, &mut discard);
    let limits = deployments.mcp.limits_of(grant);
    let guest = Server { runtime: &deployments.runtime, component, limits };
    let refused = |result: Result<(), ServerError>| match result {
        Err(ServerError::Output(e @ OutputError::Listing { .. })) => Err(DeployError::InvalidListing(e)),
        _ => Ok(()),
    };
    let tools = review::listed_tools(&deployments.runtime, component, limits, &mut host).await;
    let tools = match tools {
        Ok(tools) => Some(tools),
        Err(e) => {
            refused(Err(e))?;
            None
        }
    };
    refused(guest.list_prompts(&mut host).await.map(drop))?;
    refused(guest.list_resources(&mut host, None).await.map(drop))?;
    refused(guest.list_resource_templates(&mut host).await.map(drop))?;
    Ok(tools)
}
