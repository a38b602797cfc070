//! What the host stores about servers and deployments, and where: records
//! in the KV backend under `deploy/<tenant>/…`, component bytes in the
//! object backend under `components/<tenant>/<blake3 hex>` (content
//! addressed: the same bytes are stored once however often they are
//! deployed). Guests' own data lives under `t/…` and never meets these.

use super::DeployError;
use crate::names::TenantId;
use crate::platform::Backends;
use serde::{Deserialize, Serialize};

/// A hosted server of a tenant: which deployment is active and how it
/// got there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerRecord {
    pub v: u8,
    pub name: String,
    pub created_ms: u64,
    pub created_by: String,
    /// The deployment requests are served by; none before the first
    /// activation.
    pub active: Option<String>,
    /// The active deployment's component digest, so that loading the
    /// server fetches the component while it reads the deployment record
    /// (on a Worker isolate's first request, two round trips at once
    /// instead of in turn). Checked against that record before use; absent
    /// from records written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_digest: Option<String>,
    /// Activations, oldest first (the last [`HISTORY`] kept).
    pub history: Vec<Activation>,
}

/// How many activations a server record keeps.
pub const HISTORY: usize = 100;

/// One activation (a deploy or a rollback).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activation {
    pub deployment: String,
    pub at_ms: u64,
    /// The principal that activated it.
    pub by: String,
    /// `activate` or `rollback`.
    pub kind: String,
    /// The widenings this activation approved (empty: none needed).
    pub approved: Vec<String>,
}

/// One uploaded version of a server: a component and the grant it runs
/// under. Immutable once stored; its id is derived from both, so the same
/// component and grant uploaded again is the same deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    pub v: u8,
    pub id: String,
    pub server: String,
    /// blake3 of the component bytes, hex.
    pub digest: String,
    pub size: u64,
    /// The grant file as uploaded (TOML).
    pub grant: String,
    /// Capability interfaces the component imports.
    pub imports: Vec<String>,
    pub exports: Vec<String>,
    pub created_ms: u64,
    pub uploaded_by: String,
    /// The tenant's signer whose signature the upload carried, when it
    /// carried one ([`crate::signing`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_by: Option<crate::signing::SignedBy>,
    /// Its tools as the component listed them at upload, which the host
    /// enforces wherever it is served; absent when that listing failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<crate::guest::DeclaredTool>>,
}

/// A tenant's deployment policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantSettings {
    /// Uploads must state the component's blake3 digest, and a mismatch
    /// is refused (pinning: what was reviewed is what runs).
    #[serde(default)]
    pub require_digest: bool,
    /// A widening must be approved by a principal other than the one that
    /// uploaded the version (separation of duties): its uploader may
    /// activate it only when it widens nothing.
    #[serde(default)]
    pub separate_approver: bool,
    /// The keys whose signatures this tenant trusts. When any is listed,
    /// every upload must be signed by one of them, over its component and
    /// grant, and activation re-checks that the signer still vouches.
    #[serde(default)]
    pub signers: Vec<crate::signing::Signer>,
    /// Days the audit trail keeps records (default
    /// [`crate::audit::DEFAULT_RETENTION_MS`], 30 days); older ones are
    /// pruned automatically.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_retention_days: Option<u32>,
    /// Which applications may ask the tenant's people to sign in.
    #[serde(default)]
    pub oauth_clients: ClientPolicy,
    /// How the tenant's sign-in and account pages name it.
    #[serde(default)]
    pub branding: Branding,
}

/// How a tenant's pages name it, beside its id and this host's name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Branding {
    /// The organisation's name, at most 60 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Where people get help: an https URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_url: Option<String>,
}

impl Branding {
    /// Why `self` cannot be a tenant's branding, if it cannot.
    pub fn check(&self) -> Result<(), String> {
        if let Some(name) = &self.display_name {
            let length = name.chars().count();
            if length == 0 || length > 60 || name.chars().any(|c| c.is_control()) || name.trim() != name {
                return Err("`display_name` is 1 to 60 characters, no control characters or outer spaces".into());
            }
        }
        if let Some(link) = &self.support_url {
            let parsed = url::Url::parse(link).ok();
            let https =
                parsed.as_ref().is_some_and(|u| u.scheme() == "https" && u.host().is_some() && u.username().is_empty());
            if !https || link.len() > 500 {
                return Err("`support_url` is an https URL of at most 500 characters".into());
            }
        }
        Ok(())
    }
}

/// Which applications a tenant's authorization server deals with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientPolicy {
    /// Anyone may register a client (RFC 7591 dynamic registration).
    #[serde(default = "yes")]
    pub registration: bool,
    /// Clients registered with this host may sign people in; `false`
    /// requires a client ID metadata document, whose host people can check.
    #[serde(default = "yes")]
    pub registered: bool,
    /// The hosts whose client ID metadata documents are accepted
    /// (`*.example.com`: its subdomains); `None`: any host; empty: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_hosts: Option<Vec<String>>,
}

fn yes() -> bool {
    true
}

impl Default for ClientPolicy {
    fn default() -> ClientPolicy {
        ClientPolicy { registration: true, registered: true, document_hosts: None }
    }
}

/// Hosts a tenant may list at most.
pub const MAX_DOCUMENT_HOSTS: usize = 100;

impl ClientPolicy {
    /// Whether a client ID metadata document served from `host` is accepted.
    pub fn accepts_document_host(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        self.document_hosts.as_ref().is_none_or(|hosts| {
            hosts.iter().any(|allowed| match allowed.strip_prefix("*.") {
                Some(parent) => host.strip_suffix(parent).is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
                None => *allowed == host,
            })
        })
    }

    /// Why `hosts` cannot be a document-host list, if it cannot.
    pub fn check_document_hosts(hosts: &[String]) -> Result<(), String> {
        if hosts.len() > MAX_DOCUMENT_HOSTS {
            return Err(format!("at most {MAX_DOCUMENT_HOSTS} document hosts"));
        }
        for host in hosts {
            let name = host.strip_prefix("*.").unwrap_or(host);
            let valid = !name.is_empty()
                && name.len() <= 253
                && name.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                });
            if !valid {
                return Err("each document host is a lowercase host name, or `*.` and one for its subdomains".into());
            }
        }
        Ok(())
    }
}

/// The longest audit retention a tenant may set: ten years.
pub const MAX_AUDIT_RETENTION_DAYS: u32 = 3650;

impl TenantSettings {
    /// How long the tenant's audit records are kept (ms).
    pub fn audit_retention_ms(&self) -> u64 {
        self.audit_retention_days.map_or(crate::audit::DEFAULT_RETENTION_MS, |days| u64::from(days) * 86_400_000)
    }
}

pub use crate::names::valid_server as valid_name;

/// Deployment ids: 16 hex digits.
pub fn valid_deployment_id(id: &str) -> bool {
    id.len() == 16 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The id of the deployment of `digest` with `grant`.
pub fn deployment_id(digest: &str, grant: &str) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(digest.as_bytes()).update(&[0]).update(grant.as_bytes());
    hasher.finalize().to_hex()[..16].to_owned()
}

pub(crate) fn server_key(tenant: &TenantId, server: &str) -> String {
    format!("deploy/{tenant}/servers/{server}")
}

fn servers_prefix(tenant: &TenantId) -> String {
    format!("deploy/{tenant}/servers/")
}

pub(crate) fn deployment_key(tenant: &TenantId, server: &str, id: &str) -> String {
    format!("deploy/{tenant}/deployments/{server}/{id}")
}

fn deployments_prefix(tenant: &TenantId, server: &str) -> String {
    format!("deploy/{tenant}/deployments/{server}/")
}

fn settings_key(tenant: &TenantId) -> String {
    format!("deploy/{tenant}/settings")
}

pub(crate) fn component_key(tenant: &TenantId, digest: &str) -> String {
    format!("components/{tenant}/{digest}")
}

fn storage(e: impl std::fmt::Display) -> DeployError {
    DeployError::Storage(e.to_string())
}

async fn get_json<T: for<'de> Deserialize<'de>>(backends: Backends<'_>, key: &str) -> Result<Option<T>, DeployError> {
    match backends.kv.get(key).await.map_err(storage)? {
        Some(bytes) => {
            serde_json::from_slice(&bytes).map(Some).map_err(|e| DeployError::Storage(format!("{key}: {e}")))
        }
        None => Ok(None),
    }
}

async fn put_json<T: Serialize>(backends: Backends<'_>, key: &str, value: &T) -> Result<(), DeployError> {
    let bytes = serde_json::to_vec(value).map_err(storage)?;
    backends.kv.set(key, bytes, None).await.map_err(storage)
}

/// Every key under `prefix`, all pages.
async fn keys_under(backends: Backends<'_>, prefix: &str) -> Result<Vec<String>, DeployError> {
    let mut keys = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = backends.kv.list(prefix, cursor.as_deref(), 1000).await.map_err(storage)?;
        keys.extend(page.keys);
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(keys),
        }
    }
}

pub async fn server(
    backends: Backends<'_>,
    tenant: &TenantId,
    server: &str,
) -> Result<Option<ServerRecord>, DeployError> {
    get_json(backends, &server_key(tenant, server)).await
}

/// Server `server`'s record with the bytes it was read from, to write
/// back with [`swap_server`].
pub(crate) async fn server_for_update(
    backends: Backends<'_>,
    tenant: &TenantId,
    server: &str,
) -> Result<Option<(ServerRecord, Vec<u8>)>, DeployError> {
    let key = server_key(tenant, server);
    let Some(bytes) = backends.kv.get(&key).await.map_err(storage)? else { return Ok(None) };
    let record = serde_json::from_slice(&bytes).map_err(|e| DeployError::Storage(format!("{key}: {e}")))?;
    Ok(Some((record, bytes)))
}

/// Writes `record` only over `read`, the bytes it was made from (`None`:
/// a new server); false when another writer changed the record since, so
/// that no activation's entry is lost.
pub(crate) async fn swap_server(
    backends: Backends<'_>,
    tenant: &TenantId,
    read: Option<&[u8]>,
    record: &ServerRecord,
) -> Result<bool, DeployError> {
    let bytes = serde_json::to_vec(record).map_err(storage)?;
    backends.kv.compare_and_swap(&server_key(tenant, &record.name), read, bytes, None).await.map_err(storage)
}

/// How many servers `tenant` has (keys only: no record is read).
pub(crate) async fn server_count(backends: Backends<'_>, tenant: &TenantId) -> Result<usize, DeployError> {
    Ok(keys_under(backends, &servers_prefix(tenant)).await?.len())
}

/// How many deployments `server` keeps (keys only).
pub(crate) async fn deployment_count(
    backends: Backends<'_>,
    tenant: &TenantId,
    server: &str,
) -> Result<usize, DeployError> {
    Ok(keys_under(backends, &deployments_prefix(tenant, server)).await?.len())
}

pub async fn servers(backends: Backends<'_>, tenant: &TenantId) -> Result<Vec<ServerRecord>, DeployError> {
    let mut out = Vec::new();
    for key in keys_under(backends, &servers_prefix(tenant)).await? {
        if let Some(record) = get_json(backends, &key).await? {
            out.push(record);
        }
    }
    Ok(out)
}

pub async fn deployment(
    backends: Backends<'_>,
    tenant: &TenantId,
    server: &str,
    id: &str,
) -> Result<Option<Deployment>, DeployError> {
    if !valid_deployment_id(id) {
        return Ok(None);
    }
    get_json(backends, &deployment_key(tenant, server, id)).await
}

pub(crate) async fn put_deployment(
    backends: Backends<'_>,
    tenant: &TenantId,
    deployment: &Deployment,
) -> Result<(), DeployError> {
    put_json(backends, &deployment_key(tenant, &deployment.server, &deployment.id), deployment).await
}

/// A server's deployments, oldest first.
pub async fn deployments(
    backends: Backends<'_>,
    tenant: &TenantId,
    server: &str,
) -> Result<Vec<Deployment>, DeployError> {
    let mut out: Vec<Deployment> = Vec::new();
    for key in keys_under(backends, &deployments_prefix(tenant, server)).await? {
        if let Some(record) = get_json(backends, &key).await? {
            out.push(record);
        }
    }
    out.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
    Ok(out)
}

pub(crate) async fn delete_key(backends: Backends<'_>, key: &str) -> Result<(), DeployError> {
    backends.kv.delete(key).await.map_err(storage)
}

pub async fn settings(backends: Backends<'_>, tenant: &TenantId) -> Result<TenantSettings, DeployError> {
    Ok(get_json(backends, &settings_key(tenant)).await?.unwrap_or_default())
}

pub async fn put_settings(
    backends: Backends<'_>,
    tenant: &TenantId,
    settings: &TenantSettings,
) -> Result<(), DeployError> {
    put_json(backends, &settings_key(tenant), settings).await
}

/// Digests of every component a deployment of `tenant` still uses.
pub(crate) async fn digests_in_use(backends: Backends<'_>, tenant: &TenantId) -> Result<Vec<String>, DeployError> {
    let mut digests = Vec::new();
    for key in keys_under(backends, &format!("deploy/{tenant}/deployments/")).await? {
        if let Some(d) = get_json::<Deployment>(backends, &key).await? {
            digests.push(d.digest);
        }
    }
    Ok(digests)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_hosts_match_exactly_or_as_subdomains() {
        let listed = |hosts: &[&str]| ClientPolicy {
            document_hosts: Some(hosts.iter().map(|h| (*h).to_owned()).collect()),
            ..ClientPolicy::default()
        };
        let policy = listed(&["notes.example.com", "*.corp.example"]);
        assert!(policy.accepts_document_host("notes.example.com") && policy.accepts_document_host("NOTES.example.com"));
        assert!(policy.accepts_document_host("a.corp.example") && policy.accepts_document_host("a.b.corp.example"));
        for refused in ["corp.example", "evilcorp.example", "x.notes.example.com", "notes.example.com.evil", ""] {
            assert!(!policy.accepts_document_host(refused), "{refused}");
        }
        assert!(ClientPolicy::default().accepts_document_host("anything.example"));
        assert!(!listed(&[]).accepts_document_host("notes.example.com"));
        assert!(ClientPolicy::check_document_hosts(&["a.example".into(), "*.b.example".into()]).is_ok());
        for bad in ["https://a.example/", "A.example", "*.", "a..example", "a.example:443", "*.*.example"] {
            assert!(ClientPolicy::check_document_hosts(&[bad.into()]).is_err(), "{bad}");
        }
    }

    #[test]
    fn deployment_ids_are_stable_16_hex_digits_of_component_and_grant() {
        let id = deployment_id("abc", "version = 1\n");
        assert!(valid_deployment_id(&id), "{id}");
        assert_eq!(id, deployment_id("abc", "version = 1\n"), "the same upload, the same id");
        assert_ne!(id, deployment_id("abc", "version = 1\n[kv]\n"), "another grant, another deployment");
        assert_ne!(deployment_id("ab", "cversion"), deployment_id("abc", "version"), "the parts cannot run together");
        for bad in ["", "0123456789abcdeF", "0123456789abcde", "0123456789abcdefa", "../../../../etc/x"] {
            assert!(!valid_deployment_id(bad), "{bad}");
        }
    }

    #[test]
    fn records_are_kept_under_their_tenant() {
        assert_eq!(server_key(&TenantId::from_static("acme"), "notes"), "deploy/acme/servers/notes");
        assert!(
            deployment_key(&TenantId::from_static("acme"), "notes", "0123456789abcdef")
                .starts_with("deploy/acme/deployments/notes/")
        );
        assert!(component_key(&TenantId::from_static("acme"), "ff").starts_with("components/acme/"));
        assert!(!valid_name("../x") && !valid_name("") && valid_name("notes-2"));
    }
}
