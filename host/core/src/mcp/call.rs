//! One request as the protocol serves it: who asks, for which server,
//! with what, and what it knows of the server's tools. The era's front
//! ([`super::stateless`], [`super::sessions`]) builds it; methods are
//! served on it by [`super::dispatch`] and, for the tasks extension, by
//! [`super::tasks`].

use super::exchange::Exchange;
use super::jsonrpc::excerpt;
use super::protocol::Protocol;
use super::version::Era;
use crate::auth::{Principal, Role};
use crate::capabilities::{CallHost, Notification, Notifier};
use crate::guest::{Hosted, Server};
use crate::platform::{Backends, Scope};
use serde_json::{Map, Value};

/// What one request may use and send.
pub struct Call<'a> {
    pub protocol: &'a Protocol,
    pub hosted: &'a Hosted,
    pub backends: Backends<'a>,
    pub era: Era,
    /// From `_meta.progressToken`.
    pub progress_token: Option<Value>,
    /// Index into [`LOG_LEVELS`]: log notifications at or above it are sent.
    pub log_level: Option<usize>,
    /// The client's declared capabilities (current era: per request).
    pub client_capabilities: Value,
    /// Where notifications (and legacy requests to the client) go.
    pub exchange: &'a Exchange<'a>,
    pub principal: &'a Principal,
    /// Set when a guest call of this request ran out of fuel (metrics).
    pub out_of_fuel: core::cell::Cell<bool>,
    /// The id of a task this request made runnable (created it, or
    /// answered its input): the era's front runs it after the answer.
    pub continue_task: core::cell::RefCell<Option<String>>,
}

/// A JSON-RPC error with the HTTP status the current era wants for it.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcFailure {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
    pub status: u16,
}

impl RpcFailure {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        RpcFailure { code, message: message.into(), data: None, status: 200 }
    }

    pub fn data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    pub fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }
}

impl Call<'_> {
    /// Who a guest call of this request runs for, with a fresh request id.
    pub(super) fn scope(&self) -> Scope {
        let mut id = [0u8; 6];
        self.backends.random.fill(&mut id);
        let request = id.iter().map(|b| format!("{b:02x}")).collect();
        Scope { tenant: self.hosted.tenant.clone(), server: self.hosted.server.clone(), request }
    }

    /// The role `method` needs beyond what the principal has, and what it
    /// is: only `tools/call` of a tool not annotated read-only needs more
    /// than read-only.
    pub async fn missing_role(&self, method: &str, params: &Map<String, Value>) -> Option<(Role, String)> {
        if method != "tools/call" || self.principal.role >= Role::McpUser {
            return None;
        }
        let name = params.get("name").and_then(Value::as_str).unwrap_or_default();
        let facts = self.tool_facts().await;
        (!facts.read_only.contains(name))
            .then(|| (Role::McpUser, format!("calling tool `{}`, which is not annotated read-only,", excerpt(name))))
    }

    /// Checks the `Mcp-Param-*` headers of a `tools/call` against its
    /// arguments (2026-07-28): `Err` with the HeaderMismatch message.
    pub async fn check_param_headers(
        &self,
        params: &Map<String, Value>,
        header: impl Fn(&str) -> Option<String>,
    ) -> Result<(), String> {
        let name = params.get("name").and_then(Value::as_str).unwrap_or_default();
        let facts = self.tool_facts().await;
        let Some(expected) = facts.param_headers.get(name) else { return Ok(()) };
        let empty = Map::new();
        let arguments = params.get("arguments").and_then(Value::as_object).unwrap_or(&empty);
        super::params::check(expected, arguments, header)
    }

    /// What this server's tools declare, worked out once per component:
    /// from the tools its deployment kept at upload, else by listing them.
    pub(super) async fn tool_facts(&self) -> std::sync::Arc<super::params::ToolFacts> {
        let key = (self.hosted.component.digest(), self.hosted.tools.is_some());
        if let Some(found) = self.protocol.tool_facts.lock().ok().and_then(|cache| cache.get(&key).cloned()) {
            return found;
        }
        let facts = match &self.hosted.tools {
            Some(declared) => super::params::ToolFacts::of(declared),
            None => super::params::ToolFacts::of(&self.list_declared_tools().await),
        };
        let facts = std::sync::Arc::new(facts);
        if let Ok(mut cache) = self.protocol.tool_facts.lock() {
            cache.insert(key, facts.clone());
        }
        facts
    }

    /// The guest's tools as it lists them now (none when it cannot).
    async fn list_declared_tools(&self) -> Vec<crate::guest::DeclaredTool> {
        let scope = self.scope();
        let mut ignore = Quiet;
        let mut host = CallHost::new(self.backends, &self.hosted.grant, &scope, &mut ignore);
        let server = Server {
            runtime: &self.protocol.runtime,
            component: &self.hosted.component,
            limits: self.protocol.limits_of(&self.hosted.grant),
        };
        // A guest that cannot list its tools has none a read-only caller may use.
        let tools = server.list_tools(&mut host).await.unwrap_or_default();
        // …and one that cannot say which may be tasks has none.
        let task_tools = server.task_tools(&mut host).await.unwrap_or_default();
        tools.iter().map(|tool| crate::guest::DeclaredTool::of(tool, &task_tools)).collect()
    }

    /// The grant's task bounds, when this request's era has tasks and the
    /// grant allows them.
    pub(super) fn tasks_allowed(&self) -> Option<crate::policy::TaskLimits> {
        self.hosted.grant.tasks.filter(|_| self.era == Era::Stateless)
    }
}

/// Drops a guest's notifications: for the host's own calls (listing
/// tools to learn what they declare).
struct Quiet;

impl Notifier for Quiet {
    fn notify(&mut self, _: Notification) {}
}
