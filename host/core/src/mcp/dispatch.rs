//! MCP methods served from the guest's server interface, shared by both
//! eras: the era decides only framing (sessions, `_meta`, `resultType`).

use super::call::{Call, RpcFailure};
use super::exchange::{AskError, Exchange};
use super::jsonrpc::{
    BAD_REQUEST, INTERNAL_ERROR, INVALID_PARAMS, METHOD_NOT_FOUND, RESOURCE_NOT_FOUND_LEGACY, excerpt,
};
use super::protocol::Protocol;
use super::state;
use super::subscriptions::Change;
use super::version::Era;
use crate::capabilities::{CallHost, Notification, Notifier};
use crate::guest::{CompletionRef, InputRequired, InputResponse, Outcome, ResourceListing, Server, ServerError};
use crate::names::TenantId;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Map, Value, json};

/// MCP log levels, lowest first.
/// The index of a log level's name in [`LOG_LEVELS`].
pub(crate) fn log_level_index(level: &str) -> Option<usize> {
    LOG_LEVELS.iter().position(|l| *l == level)
}

pub const LOG_LEVELS: [&str; 8] = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"];
/// Items per page of a list result.
pub const PAGE_SIZE: usize = 100;
/// Most rounds of input a legacy call may ask for before it must finish.
pub const MAX_INPUT_ROUNDS: usize = 8;
/// Most checkpoints one request goes through when it does not become a task.
pub const MAX_CHECKPOINTS: usize = 64;

/// Passes the notifications a running tool sends to the exchange,
/// filtered as the protocol demands.
struct Collect<'a> {
    progress_token: &'a Option<Value>,
    log_level: Option<usize>,
    exchange: &'a Exchange<'a>,
    protocol: &'a Protocol,
    server: (TenantId, String),
}

impl Notifier for Collect<'_> {
    fn notify(&mut self, notification: Notification) {
        match notification {
            Notification::Progress { progress, total, message } => {
                if let Some(token) = self.progress_token {
                    let mut params = json!({ "progressToken": token, "progress": progress });
                    if let Some(total) = total {
                        params["total"] = json!(total);
                    }
                    if let Some(message) = message {
                        params["message"] = json!(message);
                    }
                    self.exchange.send(super::jsonrpc::notification("notifications/progress", params));
                }
            }
            Notification::Log { level, logger, data } => {
                let rank = LOG_LEVELS.iter().position(|l| *l == level).unwrap_or(0);
                if self.log_level.is_some_and(|min| rank >= min) {
                    let mut params = json!({ "level": level, "data": data });
                    if let Some(logger) = logger {
                        params["logger"] = json!(logger);
                    }
                    self.exchange.send(super::jsonrpc::notification("notifications/message", params));
                }
            }
            Notification::ListChanged(kind) => self.protocol.subscriptions.publish(&self.server, &Change::List(kind)),
            Notification::ResourceUpdated(uri) => {
                self.protocol.subscriptions.publish(&self.server, &Change::Resource(uri))
            }
        }
    }
}

impl Call<'_> {
    /// Runs `method`; its notifications go to the exchange as they come.
    /// Tool calls are recorded in the audit trail.
    pub async fn dispatch(&self, method: &str, params: &Map<String, Value>) -> Result<Value, RpcFailure> {
        let started = self.backends.clock.now_ms();
        let (result, fuel, unavailable) = self.run_method(method, params).await;
        // The grant's output limit holds for what is sent: JSON escaping
        // can make a guest's text six times longer.
        let limit = self.protocol.limits_of(&self.hosted.grant).output_bytes;
        let result = result.and_then(|value| match super::jsonrpc::encoded_len(&value) {
            len if len as u64 > limit.saturating_add(ENVELOPE_BYTES) => Err(RpcFailure::new(
                INTERNAL_ERROR,
                format!("the result is {len} bytes encoded as JSON, over the grant's output limit of {limit} bytes"),
            )),
            _ => Ok(value),
        });
        if method == "tools/call" {
            let outcome = match &result {
                Ok(r) if r.get("resultType").and_then(Value::as_str) == Some("input_required") => {
                    "input_required".to_owned()
                }
                Ok(r) if r.get("resultType").and_then(Value::as_str) == Some("task") => "task".to_owned(),
                Ok(r) if r.get("isError") == Some(&Value::Bool(true)) => "tool_error".to_owned(),
                Ok(_) => "ok".to_owned(),
                Err(e) => format!("rpc_error {}", e.code),
            };
            let mut detail = json!({
                "tool": params.get("name").and_then(Value::as_str).unwrap_or_default(),
                "outcome": outcome,
                "duration_ms": self.backends.clock.now_ms().saturating_sub(started),
                "fuel": fuel,
            });
            // What failed under the guest: unavailable backends, the wall time.
            if !unavailable.is_empty() {
                detail["failures"] = json!(unavailable);
            }
            let event = crate::audit::Event {
                kind: "tool.call".into(),
                principal: Some(self.principal.id.clone()),
                server: Some(self.hosted.server.clone()),
                detail,
            };
            self.protocol.record(self.backends, &self.hosted.tenant, event);
            let record = crate::metrics::CallRecord {
                error: !matches!(outcome.as_str(), "ok" | "input_required" | "task"),
                out_of_fuel: self.out_of_fuel.get(),
                fuel,
                ms: self.backends.clock.now_ms().saturating_sub(started),
            };
            self.protocol.metrics.record(&self.hosted.tenant, &self.hosted.server, record);
        }
        result
    }

    /// Runs `method`: its result, the fuel its guest calls burned, and the
    /// capability calls whose backend was unavailable.
    async fn run_method(
        &self,
        method: &str,
        params: &Map<String, Value>,
    ) -> (Result<Value, RpcFailure>, u64, Vec<String>) {
        let max = self.protocol.config.quotas.calls_per_tenant;
        let Some(_slot) = self.protocol.quotas.call(&self.hosted.tenant, max) else {
            let message = format!("Too Many Requests: this tenant already has {max} calls running; retry shortly");
            return (Err(RpcFailure::new(BAD_REQUEST, message).status(429)), 0, vec!["calls_per_tenant".into()]);
        };
        let scope = self.scope();
        let mut collect = Collect {
            progress_token: &self.progress_token,
            log_level: self.log_level,
            exchange: self.exchange,
            protocol: self.protocol,
            server: (self.hosted.tenant.clone(), self.hosted.server.clone()),
        };
        let mut host = CallHost::new(self.backends, &self.hosted.grant, &scope, &mut collect);
        let limits = self.protocol.limits_of(&self.hosted.grant);
        // Checked inside the guest call too, where a guest that never waits
        // would keep the timer below from firing.
        host.set_deadline(self.backends.clock.now_ms().saturating_add(limits.wall_time_ms));
        let server = Server { runtime: &self.protocol.runtime, component: &self.hosted.component, limits };
        let finished = {
            let work = core::pin::pin!(self.method(&server, &mut host, method, params));
            // Fuel bounds computing; this bounds the waiting on capabilities
            // (and, in legacy sessions, on the client's answers) too.
            let deadline = self.backends.clock.sleep(limits.wall_time_ms);
            match futures_util::future::select(work, deadline).await {
                futures_util::future::Either::Left((result, _)) => Some(result),
                futures_util::future::Either::Right(_) => None,
            }
        };
        let timed_out = finished.is_none() || host.timed_out();
        let result = finished.unwrap_or_else(|| {
            let message = format!("the request took longer than its grant's {} ms of wall time", limits.wall_time_ms);
            match method {
                "tools/call" => Ok(json!({ "content": [{ "type": "text", "text": message }], "isError": true })),
                _ => Err(RpcFailure::new(INTERNAL_ERROR, message)),
            }
        });
        let mut failures = host.unavailable().to_vec();
        if timed_out {
            failures.push("wall_time".into());
        }
        (result, host.fuel(), failures)
    }

    async fn method(
        &self,
        server: &Server<'_>,
        host: &mut CallHost<'_>,
        method: &str,
        params: &Map<String, Value>,
    ) -> Result<Value, RpcFailure> {
        let cursor =
            params.get("cursor").map(|c| c.as_str().ok_or_else(|| invalid("`cursor` must be a string"))).transpose()?;
        match method {
            "tools/list" => {
                let tools = server.list_tools(host).await.map_err(|e| self.failure(e))?;
                page("tools", to_values(&tools), cursor)
            }
            "tools/call" => self.call_tool(server, host, params).await,
            "resources/list" => match server.list_resources(host, cursor).await {
                Ok(ResourceListing::All(all)) => page("resources", to_values(&all), cursor),
                Ok(ResourceListing::Page { resources, next_cursor }) => {
                    let mut result = json!({ "resources": resources });
                    if let Some(next) = next_cursor {
                        result["nextCursor"] = json!(next);
                    }
                    Ok(result)
                }
                Err(e) => Err(self.failure(e)),
            },
            "resources/templates/list" => {
                let templates = server.list_resource_templates(host).await.map_err(|e| self.failure(e))?;
                page("resourceTemplates", to_values(&templates), cursor)
            }
            "resources/read" => {
                let uri = string_param(params, "uri")?;
                match server.read_resource(host, uri).await {
                    Ok(contents) => Ok(json!({ "contents": contents })),
                    Err(ServerError::NotFound(message)) => Err(self.resource_not_found(uri, message)),
                    Err(e) => Err(self.failure(e)),
                }
            }
            "prompts/list" => {
                let prompts = server.list_prompts(host).await.map_err(|e| self.failure(e))?;
                page("prompts", to_values(&prompts), cursor)
            }
            "prompts/get" => {
                let name = string_param(params, "name")?;
                let arguments = match params.get("arguments") {
                    None | Some(Value::Null) => vec![],
                    Some(Value::Object(args)) => args
                        .iter()
                        .map(|(k, v)| {
                            Ok((
                                k.clone(),
                                v.as_str().ok_or_else(|| invalid("prompt arguments must be strings"))?.to_owned(),
                            ))
                        })
                        .collect::<Result<_, RpcFailure>>()?,
                    Some(_) => return Err(invalid("`arguments` must be an object")),
                };
                self.interactive(server, host, Target::Prompt { name, arguments }, params).await
            }
            "completion/complete" => {
                let reference = params.get("ref").ok_or_else(|| invalid("`ref` is required"))?;
                let reference =
                    match (reference["type"].as_str(), reference["name"].as_str(), reference["uri"].as_str()) {
                        (Some("ref/prompt"), Some(name), _) => CompletionRef::Prompt(name.to_owned()),
                        (Some("ref/resource"), _, Some(uri)) => CompletionRef::ResourceTemplate(uri.to_owned()),
                        _ => {
                            return Err(invalid("`ref` must be a ref/prompt with a name or a ref/resource with a uri"));
                        }
                    };
                let argument = params.get("argument").ok_or_else(|| invalid("`argument` is required"))?;
                let (Some(name), Some(value)) = (argument["name"].as_str(), argument["value"].as_str()) else {
                    return Err(invalid("`argument` needs string `name` and `value`"));
                };
                let context: Vec<(String, String)> = params
                    .get("context")
                    .and_then(|c| c["arguments"].as_object())
                    .map(|args| args.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
                    .unwrap_or_default();
                let completion =
                    server.complete(host, &reference, (name, value), &context).await.map_err(|e| self.failure(e))?;
                Ok(json!({ "completion": completion }))
            }
            _ => Err(RpcFailure::new(METHOD_NOT_FOUND, format!("Method not found: {}", excerpt(method))).status(404)),
        }
    }

    async fn call_tool(
        &self,
        server: &Server<'_>,
        host: &mut CallHost<'_>,
        params: &Map<String, Value>,
    ) -> Result<Value, RpcFailure> {
        let name = string_param(params, "name")?;
        let arguments = match params.get("arguments") {
            None | Some(Value::Null) => json!({}),
            Some(args @ Value::Object(_)) => args.clone(),
            Some(_) => return Err(invalid("`arguments` must be an object")),
        };
        let facts = self.tool_facts().await;
        // A tool that only runs as a task needs a client that takes one.
        if self.tasks_allowed().is_some()
            && facts.task_support.get(name) == Some(&crate::guest::TaskSupport::Required)
            && !super::tasks::declared(&self.client_capabilities)
        {
            return Err(super::tasks::missing_extension());
        }
        // Checked against the tool's schema before any guest runs; like the
        // guests' own checks, a mismatch is a tool error the model can read.
        if let Err(problem) = facts.arguments.check(name, &arguments, "the arguments") {
            let refused =
                crate::guest::CallToolResult::error(format!("invalid arguments for tool `{name}`: {problem}"));
            return Ok(serde_json::to_value(refused).unwrap_or_default());
        }
        self.interactive(server, host, Target::Tool { name, arguments, facts }, params).await
    }

    /// Runs a tool or prompt that may need input from the client. In the
    /// current era an input request becomes an `InputRequiredResult` whose
    /// `requestState` the host seals; a legacy session's client is asked on
    /// the call's stream and the guest called again with its answers.
    async fn interactive(
        &self,
        server: &Server<'_>,
        host: &mut CallHost<'_>,
        target: Target<'_>,
        params: &Map<String, Value>,
    ) -> Result<Value, RpcFailure> {
        let scope = format!("{}/{}/{}", self.hosted.tenant, self.hosted.server, target.label());
        let now = self.backends.clock.now_ms();
        let mut state = match params.get("requestState") {
            None | Some(Value::Null) => None,
            Some(Value::String(token)) if self.era == Era::Stateless => {
                Some(state::open(&self.protocol.config.state_key, &scope, token, now).map_err(invalid)?)
            }
            Some(_) => return Err(invalid("`requestState` must be a string from this server's input_required result")),
        };
        let mut responses: Vec<InputResponse> = match params.get("inputResponses") {
            None | Some(Value::Null) => vec![],
            Some(Value::Object(map)) => {
                map.iter().map(|(k, v)| InputResponse { key: k.clone(), response: v.clone() }).collect()
            }
            Some(_) => return Err(invalid("`inputResponses` must be an object")),
        };
        let (mut rounds, mut checkpoints) = (0, 0);
        loop {
            // Every guest call of one request shares its fuel.
            let fuel = server.limits.fuel.saturating_sub(host.fuel());
            if fuel == 0 {
                let message = format!("used all of the call's {} fuel over its checkpoints", server.limits.fuel);
                return target.failure(self, ServerError::Internal(message));
            }
            let step = Server {
                runtime: server.runtime,
                component: server.component,
                limits: crate::runtime::Limits { fuel, ..server.limits },
            };
            let required = match target.invoke(&step, host, &responses, state.as_deref()).await {
                Ok(Outcome::Complete(result)) => return Ok(result),
                Ok(Outcome::InputRequired(required)) => required,
                Err(e) => return target.failure(self, e),
            };
            if required.is_checkpoint() {
                // A tool that may be a task becomes one at its first
                // checkpoint, when the client takes tasks…
                if let Target::Tool { name, arguments, facts } = &target
                    && let Some(budget) = self.tasks_allowed()
                    && facts.task_support.contains_key(*name)
                    && super::tasks::declared(&self.client_capabilities)
                {
                    return self.create_task(&budget, name, arguments, required.state, host.fuel()).await;
                }
                // …and goes on within the request otherwise.
                checkpoints += 1;
                if checkpoints > MAX_CHECKPOINTS {
                    let message = format!("reached more than {MAX_CHECKPOINTS} checkpoints in one request");
                    return target.failure(self, ServerError::Internal(message));
                }
                (state, responses) = (Some(required.state), vec![]);
                continue;
            }
            rounds += 1;
            if rounds > MAX_INPUT_ROUNDS {
                break;
            }
            let missing = required.missing_capabilities(&self.client_capabilities);
            if self.era == Era::Stateless {
                if !missing.is_empty() {
                    return Err(RpcFailure::new(
                        super::jsonrpc::MISSING_CLIENT_CAPABILITY,
                        "Missing required client capability",
                    )
                    .data(json!({ "requiredCapabilities": missing }))
                    .status(400));
                }
                return Ok(self.input_required(&required, &scope, now));
            }
            if !missing.is_empty() {
                let names: Vec<&String> = missing.keys().collect();
                return target.failure(
                    self,
                    ServerError::Internal(format!("needs client capabilities the session did not declare: {names:?}")),
                );
            }
            let requests = required.requests.iter().map(|(key, request)| {
                let (_, method, params) = request.to_mcp();
                (key.clone(), method, params)
            });
            responses = match self.exchange.ask(requests.collect()).await {
                Ok(responses) => responses,
                Err(AskError::Unsupported) => {
                    return target.failure(
                        self,
                        ServerError::Internal(
                            "needs input from the client, which this connection cannot ask for".into(),
                        ),
                    );
                }
                Err(AskError::Busy) => {
                    return Err(RpcFailure::new(
                        INTERNAL_ERROR,
                        "the host is waiting on too many client answers; try again",
                    ));
                }
                Err(AskError::Refused(error)) => {
                    let message = error.get("message").and_then(Value::as_str).unwrap_or("no message");
                    return target.failure(
                        self,
                        ServerError::Internal(format!("the client refused the input request: {message}")),
                    );
                }
                Err(AskError::Gone) => {
                    return Err(RpcFailure::new(INTERNAL_ERROR, "the stream ended before the client answered"));
                }
            };
            state = Some(required.state);
        }
        target.failure(self, ServerError::Internal(format!("asked for input more than {MAX_INPUT_ROUNDS} times")))
    }

    /// 2026-07-28's `InputRequiredResult`, its state sealed for this target.
    fn input_required(&self, required: &InputRequired, scope: &str, now: u64) -> Value {
        let input_requests = required.wire_requests();
        let token = state::seal(&self.protocol.config.state_key, scope, &required.state, now);
        json!({ "resultType": "input_required", "inputRequests": input_requests, "requestState": token })
    }

    fn note_fuel(&self, error: &ServerError) {
        use crate::runtime::CallError;
        if matches!(error, ServerError::Call(CallError::FuelExhausted { .. } | CallError::UnyieldingFuel { .. })) {
            self.out_of_fuel.set(true);
        }
    }

    fn resource_not_found(&self, uri: &str, message: String) -> RpcFailure {
        let code = if self.era == Era::Sessions { RESOURCE_NOT_FOUND_LEGACY } else { INVALID_PARAMS };
        RpcFailure::new(code, format!("Resource not found: {}", excerpt(&message)))
            .data(json!({ "uri": if uri.len() <= 1024 { uri.to_owned() } else { excerpt(uri) } }))
    }

    /// A server call that failed outside a tool.
    fn failure(&self, error: ServerError) -> RpcFailure {
        self.note_fuel(&error);
        match error {
            ServerError::NotFound(m) | ServerError::InvalidParams(m) => invalid(m),
            other => RpcFailure::new(INTERNAL_ERROR, other.to_string()),
        }
    }
}

/// What a result may add to the guest's output when encoded: field names,
/// and the host's own fields around it.
const ENVELOPE_BYTES: u64 = 64 << 10;

/// What [`Call::interactive`] runs.
enum Target<'p> {
    /// A tool, with what its listing declared (its result is checked
    /// against its output schema).
    Tool {
        name: &'p str,
        arguments: Value,
        facts: std::sync::Arc<super::params::ToolFacts>,
    },
    Prompt {
        name: &'p str,
        arguments: Vec<(String, String)>,
    },
}

impl Target<'_> {
    /// Names the target in sealed state, so a tool's state is no good to
    /// a prompt of the same name.
    fn label(&self) -> String {
        match self {
            Target::Tool { name, .. } => format!("tool:{name}"),
            Target::Prompt { name, .. } => format!("prompt:{name}"),
        }
    }

    async fn invoke(
        &self,
        server: &Server<'_>,
        host: &mut CallHost<'_>,
        responses: &[InputResponse],
        state: Option<&str>,
    ) -> Result<Outcome<Value>, ServerError> {
        let to_value = |v: Result<Value, serde_json::Error>| v.unwrap_or_default();
        Ok(match self {
            Target::Tool { name, arguments, facts } => {
                match server.call_tool(host, name, arguments, responses, state).await? {
                    Outcome::Complete(result) => {
                        Outcome::Complete(to_value(serde_json::to_value(facts.checked_result(name, result))))
                    }
                    Outcome::InputRequired(required) => Outcome::InputRequired(required),
                }
            }
            Target::Prompt { name, arguments } => {
                match server.get_prompt(host, name, arguments, responses, state).await? {
                    Outcome::Complete(result) => Outcome::Complete(to_value(serde_json::to_value(result))),
                    Outcome::InputRequired(required) => Outcome::InputRequired(required),
                }
            }
        })
    }

    /// How a failure of the guest reaches the client: a tool's own failure
    /// is a tool result the model sees; everything else is a JSON-RPC error.
    fn failure(&self, call: &Call<'_>, error: ServerError) -> Result<Value, RpcFailure> {
        call.note_fuel(&error);
        match (self, error) {
            (Target::Tool { name, .. }, ServerError::NotFound(message)) => {
                Err(invalid(format!("Unknown tool: {} ({})", excerpt(name), excerpt(&message))))
            }
            (Target::Tool { .. }, ServerError::InvalidParams(message)) => Err(invalid(message)),
            (Target::Tool { .. }, e) => {
                Ok(json!({ "content": [{ "type": "text", "text": e.to_string() }], "isError": true }))
            }
            (Target::Prompt { .. }, e) => Err(call.failure(e)),
        }
    }
}

fn invalid(message: impl Into<String>) -> RpcFailure {
    RpcFailure::new(INVALID_PARAMS, message)
}

fn string_param<'p>(params: &'p Map<String, Value>, name: &str) -> Result<&'p str, RpcFailure> {
    params.get(name).and_then(Value::as_str).ok_or_else(|| invalid(format!("`{name}` must be a string")))
}

fn to_values<T: serde::Serialize>(items: &[T]) -> Vec<Value> {
    items.iter().map(|i| serde_json::to_value(i).unwrap_or_default()).collect()
}

/// One page of `items` under `field`, after the opaque `cursor`.
fn page(field: &str, items: Vec<Value>, cursor: Option<&str>) -> Result<Value, RpcFailure> {
    let start = match cursor {
        None => 0,
        Some(c) => B64
            .decode(c)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix("offset:").and_then(|n| n.parse::<usize>().ok()))
            .filter(|n| *n <= items.len())
            .ok_or_else(|| invalid("invalid cursor"))?,
    };
    let end = (start + PAGE_SIZE).min(items.len());
    let mut result = json!({ field: items[start..end] });
    if end < items.len() {
        result["nextCursor"] = json!(B64.encode(format!("offset:{end}")));
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_opaque_and_checked() {
        let items: Vec<Value> = (0..250).map(|i| json!(i)).collect();
        let first = page("tools", items.clone(), None).unwrap();
        assert_eq!(first["tools"].as_array().unwrap().len(), 100);
        let next = first["nextCursor"].as_str().unwrap();
        let second = page("tools", items.clone(), Some(next)).unwrap();
        assert_eq!(second["tools"][0], 100);
        let third = page("tools", items.clone(), second["nextCursor"].as_str()).unwrap();
        assert_eq!(third["tools"].as_array().unwrap().len(), 50);
        assert!(third.get("nextCursor").is_none());
        assert!(page("tools", items.clone(), Some("nonsense")).is_err());
        assert!(page("tools", items, Some(&B64.encode("offset:999"))).is_err());
    }
}
