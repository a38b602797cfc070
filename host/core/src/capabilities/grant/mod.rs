//! What a server may touch: its grant, the call limits and one section per
//! capability that has one, read from the grant file a tenant deploys beside
//! a component. Deny by default: a capability missing from the grant
//! answers `denied` to every call, whatever the component imports, and a
//! component importing a capability its grant does not mention is refused
//! when it is hosted ([`Grant::check_imports`]).
//!
//! The file, format version 1. Every field is optional except `version`; a
//! missing section grants nothing, a missing field takes the safe default.
//! Unknown fields are errors, so a typo never silently grants less or more
//! than intended. Values above the host's ceilings are refused.
//!
//! ```toml
//! version = 1
//!
//! [limits]            # per call
//! fuel = 100_000_000  # ~ wasm instructions
//! memory_bytes = 67_108_864
//! output_bytes = 4_194_304
//! wall_time_ms = 30_000
//! host_calls = 1_000
//!
//! [kv]                # present: the server may use kv
//! max_value_bytes = 1_048_576
//!
//! [objects]
//! max_object_bytes = 4_194_304
//!
//! [http]
//! allowed_hosts = ["api.example.com", "*.example.org"]
//! methods = ["GET", "POST"]      # default: all
//! timeout_ms = 10_000
//!
//! [[http.inject]]     # the host adds this header; the guest never sees it
//! host = "api.example.com"
//! header = "authorization"
//! secret = "API_TOKEN"
//! prefix = "Bearer "
//!
//! [secrets]
//! names = ["API_TOKEN"]
//!
//! [environment]       # what wasi:cli/environment shows; not for secrets
//! REGION = "eu-west"
//!
//! [tasks]             # present: tools the component lists may run as MCP tasks
//! fuel = 1_000_000_000          # per task, all its checkpoints together
//! wall_time_ms = 300_000        # running time per task
//! ttl_ms = 3_600_000            # how long a task can be read after it starts
//! per_principal = 16            # tasks one caller may hold at once
//! ```

#[cfg(test)]
mod tests;

use super::http::grant::{HttpGrant, HttpSection};
use super::kv::grant::{KvGrant, KvSection};
use super::objects::grant::{ObjectsGrant, ObjectsSection};
use super::secrets::grant::{self as secrets, SecretsSection};
use super::wasi::environment::{self, EnvironmentSection};
use crate::policy::limits::LimitsSection;
use crate::policy::tasks::TasksSection;
use crate::policy::{GrantFileError, Limits, TaskLimits};
use serde::Deserialize;

/// The format version this host reads.
pub const GRANT_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Grant {
    pub kv: Option<KvGrant>,
    pub objects: Option<ObjectsGrant>,
    pub http: Option<HttpGrant>,
    /// Names of the secrets the server may read.
    pub secrets: Vec<String>,
    /// The variables `wasi:cli/environment` gives, sorted by name.
    pub environment: Vec<(String, String)>,
    pub limits: Limits,
    /// Present: the tools the component lists in `task-tools` may run as
    /// MCP tasks, within these bounds.
    pub tasks: Option<TaskLimits>,
}

/// The grant file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantFile {
    version: u32,
    #[serde(default)]
    limits: LimitsSection,
    kv: Option<KvSection>,
    objects: Option<ObjectsSection>,
    http: Option<HttpSection>,
    secrets: Option<SecretsSection>,
    environment: Option<EnvironmentSection>,
    tasks: Option<TasksSection>,
}

impl Grant {
    /// Parses a grant file (see the module docs for the format).
    pub fn from_toml(text: &str) -> Result<Grant, GrantFileError> {
        let file: GrantFile = toml::from_str(text)
            .map_err(|e| GrantFileError::syntax_at(e.message(), text, e.span().map_or(0, |span| span.start)))?;
        if file.version != GRANT_FORMAT_VERSION {
            return Err(GrantFileError::Version { found: file.version, reads: GRANT_FORMAT_VERSION });
        }
        Ok(Grant {
            limits: file.limits.limits()?,
            kv: file.kv.map(KvSection::grant).transpose()?,
            objects: file.objects.map(ObjectsSection::grant).transpose()?,
            http: file.http.map(HttpSection::grant).transpose()?,
            secrets: file.secrets.map(SecretsSection::grant).transpose()?.unwrap_or_default(),
            environment: file.environment.map(environment::grant).transpose()?.unwrap_or_default(),
            tasks: file.tasks.map(TasksSection::grant).transpose()?,
        })
    }

    /// The grant as its file names the fields, with every default filled
    /// in: what the review's JSON shows and `smcp diff` compares field by
    /// field. A section the grant does not have is absent.
    pub fn to_json(&self) -> serde_json::Value {
        let Grant { kv, objects, http, secrets, environment, limits, tasks } = self;
        let mut json = serde_json::json!({ "version": GRANT_FORMAT_VERSION, "limits": limits.to_json() });
        if let Some(kv) = kv {
            json["kv"] = kv.to_json();
        }
        if let Some(objects) = objects {
            json["objects"] = objects.to_json();
        }
        if let Some(http) = http {
            json["http"] = http.to_json();
        }
        if !secrets.is_empty() {
            json["secrets"] = serde_json::json!({ "names": secrets });
        }
        if !environment.is_empty() {
            json["environment"] = environment.iter().map(|(k, v)| (k.clone(), serde_json::json!(v))).collect();
        }
        if let Some(tasks) = tasks {
            json["tasks"] = tasks.to_json();
        }
        json
    }

    /// Every way `self` allows more than `old`, in words an auditor reads
    /// (`http: host api.example.com added`); empty when it allows nothing
    /// more. Narrowing is not reported. Activating a deployment whose grant
    /// widens the active one's needs an explicit approval (see `deploy`),
    /// so this must never miss a widening: the grant is taken apart without
    /// `..`, and each section does the same with its fields, so a field
    /// added anywhere does not compile until it has a rule.
    pub fn widenings_from(&self, old: &Grant) -> Vec<String> {
        let Grant { kv, objects, http, secrets, environment, limits, tasks } = self;
        let mut out = Vec::new();
        section(&mut out, "kv", &old.kv, kv, KvGrant::widenings_from);
        section(&mut out, "objects", &old.objects, objects, ObjectsGrant::widenings_from);
        section(&mut out, "http", &old.http, http, HttpGrant::widenings_from);
        if let (None, Some(new)) = (&old.http, http) {
            out.extend(new.allowed_hosts.iter().map(|h| format!("http: host {h} added")));
        }
        secrets::widenings_from(secrets, &old.secrets, &mut out);
        environment::widenings_from(environment, &old.environment, &mut out);
        limits.widenings_from(&old.limits, &mut out);
        section(&mut out, "tasks", &old.tasks, tasks, TaskLimits::widenings_from);
        out
    }

    /// Effective capability = imported AND granted: every capability
    /// interface in `imports` (as a component lists them, e.g.
    /// `smcp:mcp/kv@0.1.0`, or `wasi:http/outgoing-handler@0.2.3` for http)
    /// must be granted. Logs, clock, randomness and
    /// notifications are always granted.
    pub fn check_imports(&self, imports: &[String]) -> Result<(), NotGranted> {
        match self.not_granted(imports).into_iter().next() {
            Some(missing) => Err(missing),
            None => Ok(()),
        }
    }

    /// Every import of `imports` this grant does not cover (see
    /// [`Grant::check_imports`]).
    pub fn not_granted(&self, imports: &[String]) -> Vec<NotGranted> {
        imports
            .iter()
            .filter_map(|interface| {
                let section = match crate::world::grant_section(interface)? {
                    "kv" if self.kv.is_none() => "[kv] section",
                    "objects" if self.objects.is_none() => "[objects] section",
                    "http" if self.http.is_none() => "[http] section",
                    "secrets" if self.secrets.is_empty() => "[secrets] names",
                    _ => return None,
                };
                Some(NotGranted { interface: interface.clone(), section })
            })
            .collect()
    }
}

/// A section newly present is `granted`; one present before is compared
/// field by field; one removed narrows.
fn section<T>(
    out: &mut Vec<String>,
    name: &str,
    old: &Option<T>,
    new: &Option<T>,
    fields: fn(&T, &T, &mut Vec<String>),
) {
    match (old, new) {
        (_, None) => {}
        (None, Some(_)) => out.push(format!("{name}: granted")),
        (Some(old), Some(new)) => fields(new, old, out),
    }
}

/// A component imports a capability its grant does not give.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the component imports `{interface}`, but its grant has no {section}: add it to the grant or remove the import"
)]
pub struct NotGranted {
    pub interface: String,
    pub section: &'static str,
}
