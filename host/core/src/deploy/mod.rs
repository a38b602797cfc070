//! Deployment: tenants' servers, the component versions uploaded for them,
//! and which one is active. Platform-neutral: records in the KV backend,
//! component bytes in the object backend (see [`records`]).
//!
//! - An upload is checked completely (component, grant, imports against
//!   the grant, the digest the uploader states) before anything is
//!   stored; a refused upload stores nothing.
//! - Activation swaps the served version in one step: a request runs
//!   entirely on the version it started with.
//! - A tenant that lists signers gets only uploads signed by one of them
//!   over exactly their component and grant ([`crate::signing`]).
//! - A version that imports a capability the active one did not, or whose
//!   grant allows more, is activated only with an explicit approval,
//!   which the audit trail records with the approving principal.

mod activate;
pub mod records;
mod served;
mod upload;

pub use activate::{activate, create_server, delete_server, load_active, rollback, widenings};
pub use records::{Activation, Deployment, ServerRecord, TenantSettings};
pub use upload::{Upload, Uploaded, upload};

use crate::audit::{Event, Recorder};
use crate::component::LoadError;
use crate::mcp::Protocol;
use crate::names::TenantId;
use crate::platform::Backends;
use crate::policy::GrantFileError;
use crate::runtime::Runtime;
use crate::signing::SignatureError;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Deploying in this process: the servers it serves, and what uploading
/// and activating use.
pub struct Deployments {
    runtime: Arc<Runtime>,
    audit: Arc<Recorder>,
    /// Told when a served server changes (its lists may have).
    mcp: Arc<Protocol>,
    /// How long a served deployment is trusted before the registry is read
    /// again to see whether another process activated a different one;
    /// `None` when this process is the registry's only writer.
    recheck_ms: Option<u64>,
    /// Serializes this process's changes to the registry (read-modify-write
    /// of server records).
    lock: futures_util::lock::Mutex<()>,
    servers: RwLock<HashMap<(TenantId, String), served::Served>>,
    /// What keyless signatures are checked against (see
    /// [`crate::signing::sigstore`]).
    sigstore_root: Option<Arc<crate::signing::sigstore::TrustedRoot>>,
}

impl Deployments {
    pub fn new(runtime: Arc<Runtime>, audit: Arc<Recorder>, mcp: Arc<Protocol>, recheck_ms: Option<u64>) -> Self {
        Deployments {
            runtime,
            audit,
            mcp,
            recheck_ms,
            lock: Default::default(),
            servers: Default::default(),
            sigstore_root: None,
        }
    }

    /// Whether keyless signatures can be checked (a trusted root is set).
    pub fn verifies_keyless(&self) -> bool {
        self.sigstore_root.is_some()
    }

    /// Keyless signatures are checked against `root`.
    pub fn with_sigstore_root(mut self, root: Option<Arc<crate::signing::sigstore::TrustedRoot>>) -> Self {
        self.sigstore_root = root;
        self
    }

    fn record(&self, backends: Backends<'_>, tenant: &TenantId, event: Event) {
        self.audit.record(tenant, event, backends.clock.now_ms());
    }
}

/// What a deployment changes relative to the active one (or, for a
/// server's first, relative to nothing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Changes {
    /// The active deployment compared against; none for the first.
    pub from: Option<String>,
    pub imports_added: Vec<String>,
    pub imports_removed: Vec<String>,
    /// Everything the new version may do that the active one may not:
    /// new capability imports and wider grants. Activation needs approval
    /// when this is not empty.
    pub widened: Vec<String>,
}

impl Changes {
    pub fn requires_approval(&self) -> bool {
        !self.widened.is_empty()
    }
}

/// Why a deployment operation was refused. Each maps to one HTTP status
/// and a stable `code` for clients.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeployError {
    #[error("`{0}` is not a valid name: use 1-63 of [a-z0-9-], not starting with `-`")]
    InvalidName(String),
    #[error("tenant has no server `{0}`: create it first (PUT …/servers/{0})")]
    ServerNotFound(String),
    #[error("server has no deployment `{0}`")]
    DeploymentNotFound(String),
    #[error("this tenant requires uploads to state the component's blake3 digest")]
    DigestRequired,
    #[error("the component's blake3 digest is {actual}, not the stated {stated}")]
    DigestMismatch { stated: String, actual: String },
    #[error("the upload is missing its `{0}` part")]
    MissingPart(&'static str),
    #[error("component is {size} bytes, over the limit of {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("the component was refused: {0}")]
    InvalidComponent(#[from] LoadError),
    #[error("the grant was refused: {0}")]
    InvalidGrant(#[from] GrantFileError),
    #[error("the grant was refused: it is not UTF-8 text")]
    GrantNotText,
    #[error(transparent)]
    NotGranted(#[from] crate::capabilities::NotGranted),
    #[error("the component's lists were refused: {0}")]
    InvalidListing(crate::guest::OutputError),
    #[error("activating this deployment widens what the server may do; approve it explicitly: {}", .0.widened.join("; "))]
    ApprovalRequired(Box<Changes>),
    #[error(
        "this tenant wants widenings approved by someone other than their uploader ({0}): another admin must approve it"
    )]
    SelfApproval(String),
    #[error(transparent)]
    Signature(#[from] crate::signing::SignatureError),
    #[error("there is no earlier deployment to roll back to")]
    NoEarlierDeployment,
    #[error("the stored component of deployment {0} is missing or damaged")]
    ComponentMissing(String),
    /// The stored component no longer loads (a host upgrade that refuses
    /// what an older host accepted).
    #[error("the component of deployment {0} no longer loads on this host: {1}")]
    ComponentRefused(String, LoadError),
    #[error("{0}")]
    Quota(String),
    #[error("storage: {0}")]
    Storage(String),
    /// Another writer kept changing the server's record (an activation
    /// elsewhere, at the same moment).
    #[error("the server `{0}` was changed by another request at the same time, repeatedly; try again")]
    Contended(String),
}

impl DeployError {
    pub fn status(&self) -> u16 {
        match self {
            DeployError::ServerNotFound(_) | DeployError::DeploymentNotFound(_) => 404,
            DeployError::TooLarge { .. } => 413,
            DeployError::SelfApproval(_) => 403,
            DeployError::Signature(
                SignatureError::Required(_)
                | SignatureError::UnknownSigner
                | SignatureError::Expired(_)
                | SignatureError::Revoked(_)
                | SignatureError::Untrusted(_),
            ) => 403,
            DeployError::ApprovalRequired(_)
            | DeployError::NoEarlierDeployment
            | DeployError::Quota(_)
            | DeployError::Contended(_) => 409,
            DeployError::ComponentMissing(_) | DeployError::ComponentRefused(..) | DeployError::Storage(_) => 503,
            _ => 400,
        }
    }

    /// A stable identifier of the kind of error.
    pub fn code(&self) -> &'static str {
        match self {
            DeployError::InvalidName(_) => "invalid_name",
            DeployError::ServerNotFound(_) => "server_not_found",
            DeployError::DeploymentNotFound(_) => "deployment_not_found",
            DeployError::DigestRequired => "digest_required",
            DeployError::DigestMismatch { .. } => "digest_mismatch",
            DeployError::MissingPart(_) => "missing_part",
            DeployError::TooLarge { .. } => "too_large",
            DeployError::InvalidComponent(LoadError::NotAComponent) => "not_a_component",
            DeployError::InvalidComponent(LoadError::ForbiddenImport(_) | LoadError::UnknownFunction { .. }) => {
                "forbidden_import"
            }
            DeployError::InvalidComponent(LoadError::TooLarge { .. }) => "too_large",
            DeployError::InvalidComponent(_) => "invalid_component",
            DeployError::InvalidGrant(_) | DeployError::GrantNotText => "invalid_grant",
            DeployError::NotGranted(_) => "not_granted",
            DeployError::InvalidListing(_) => "invalid_listing",
            DeployError::Quota(_) => "quota_exceeded",
            DeployError::Contended(_) => "conflict",
            DeployError::ApprovalRequired(_) => "approval_required",
            DeployError::SelfApproval(_) => "separate_approver_required",
            DeployError::Signature(e) => match e {
                SignatureError::Required(_) => "signature_required",
                SignatureError::Malformed(_) => "signature_invalid",
                SignatureError::Mismatch { .. } => "signature_mismatch",
                SignatureError::UnknownSigner => "unknown_signer",
                SignatureError::Expired(_) => "signer_expired",
                SignatureError::Revoked(_) => "signer_revoked",
                SignatureError::BadSigner { .. } => "invalid_signer",
                SignatureError::Untrusted(_) => "signature_untrusted",
            },
            DeployError::NoEarlierDeployment => "no_earlier_deployment",
            DeployError::ComponentMissing(_) => "component_missing",
            DeployError::ComponentRefused(..) => "component_refused",
            DeployError::Storage(_) => "storage",
        }
    }
}
