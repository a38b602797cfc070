//! The tasks extension (`io.modelcontextprotocol/tasks`, 2026-07-28).
//!
//! A `tools/call` becomes a task when the guest reaches a checkpoint (an
//! `input-required` without requests) in a tool it lists in `task-tools`,
//! the request declares the extension, and the grant has `[tasks]`. The
//! request is answered with the task; the guest goes on after the answer,
//! checkpoint by checkpoint, each step in a fresh instance under the call
//! limits and all of them within the task's own budget. A step runs on the
//! request that made it runnable (the creating `tools/call`, or the
//! `tasks/update` that answered its input), and everything about a task is
//! in the store ([`record`]): any thread, process or isolate serving the
//! server answers any request of it, and cancellation reaches a running
//! step through the store.

mod record;

use super::call::{Call, RpcFailure};
use super::jsonrpc::{INTERNAL_ERROR, INVALID_PARAMS, METHOD_NOT_FOUND, MISSING_CLIENT_CAPABILITY, excerpt};
use crate::capabilities::{CallHost, Notification, Notifier};
use crate::guest::{InputRequired, InputResponse, Outcome, Server, ServerError};
use crate::policy::TaskLimits;
use crate::runtime::Limits;
use futures_util::future::{Either, select};
use record::{Status, TaskKey, TaskRecord};
use serde_json::{Map, Value, json};

/// The extension's identifier, in capabilities.
pub const EXTENSION: &str = "io.modelcontextprotocol/tasks";
/// How often clients are asked to poll.
const POLL_INTERVAL_MS: u64 = 500;
/// How often a running step looks in the store for a cancellation.
const CANCEL_CHECK_MS: u64 = 200;
/// How long a step may overrun its wall time before its task counts as
/// lost (the host stopped under it).
const LOST_AFTER_MS: u64 = 10_000;
/// How long a step waits for one of its tenant's call slots.
const SLOT_WAIT_MS: u64 = 5_000;
/// Times a `tasks/update` starts over when another request changed the
/// task under it.
const UPDATE_ATTEMPTS: usize = 4;

/// True when `client_capabilities` (one request's) declare the extension.
pub fn declared(client_capabilities: &Value) -> bool {
    client_capabilities.get("extensions").and_then(|e| e.get(EXTENSION)).is_some()
}

/// -32021, naming the extension the request needed.
pub fn missing_extension() -> RpcFailure {
    RpcFailure::new(MISSING_CLIENT_CAPABILITY, "Missing required client capability")
        .data(json!({ "requiredCapabilities": { "extensions": { EXTENSION: {} } } }))
        .status(400)
}

fn invalid(message: impl Into<String>) -> RpcFailure {
    RpcFailure::new(INVALID_PARAMS, message)
}

fn not_found() -> RpcFailure {
    invalid("Failed to retrieve task: Task not found")
}

fn unavailable() -> RpcFailure {
    RpcFailure::new(INTERNAL_ERROR, "the task store is unavailable; try again").status(503)
}

/// The ids of `ids` that name tasks `principal` created at `hosted`.
pub(super) async fn owned(
    backends: crate::platform::Backends<'_>,
    hosted: &crate::guest::Hosted,
    principal: &crate::auth::Principal,
    ids: &std::collections::BTreeSet<String>,
) -> std::collections::BTreeSet<String> {
    let mut owned = std::collections::BTreeSet::new();
    for id in ids {
        let key = TaskKey::new(hosted.tenant.as_str(), &hosted.server, principal, id);
        if let Ok(Some(_)) = record::load(backends, &key).await {
            owned.insert(id.clone());
        }
    }
    owned
}

impl Call<'_> {
    fn task_key(&self, id: &str) -> TaskKey {
        TaskKey::new(self.hosted.tenant.as_str(), &self.hosted.server, self.principal, id)
    }

    /// Creates the task a call became at its first checkpoint, stored
    /// before the client hears of it; returns its `CreateTaskResult`.
    /// The caller runs it after answering ([`Call::continue_task`]).
    pub(super) async fn create_task(
        &self,
        budget: &TaskLimits,
        tool: &str,
        arguments: &Value,
        state: String,
        fuel: u64,
    ) -> Result<Value, RpcFailure> {
        let mut id = [0u8; 16];
        self.backends.random.fill(&mut id);
        let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
        let key = self.task_key(&id);
        let held = record::count(self.backends, &key, budget.per_principal).await.map_err(|_| unavailable())?;
        if held >= budget.per_principal {
            let message = format!(
                "Too Many Requests: you hold {held} tasks at this server, its grant's limit; wait for one to expire"
            );
            return Err(RpcFailure::new(super::jsonrpc::BAD_REQUEST, message).status(429));
        }
        let now = self.backends.clock.now_ms();
        let task = TaskRecord {
            id: id.clone(),
            tool: tool.to_owned(),
            arguments: arguments.clone(),
            client_capabilities: self.client_capabilities.clone(),
            status: Status::Working,
            status_message: None,
            created_ms: now,
            updated_ms: now,
            ttl_ms: budget.ttl_ms,
            state: Some(state),
            round: 0,
            pending: Default::default(),
            answers: Default::default(),
            result: None,
            error: None,
            fuel,
            run_ms: 0,
            checkpoints: 1,
            running_until_ms: None,
        };
        record::save(self.backends, &key, &task).await.map_err(|_| unavailable())?;
        self.audit_task("task.start", &task, json!({}));
        *self.continue_task.borrow_mut() = Some(id);
        let mut created = task.detailed(POLL_INTERVAL_MS);
        created["resultType"] = json!("task");
        Ok(created)
    }

    /// `tasks/get`, `tasks/update` and `tasks/cancel`; the removed
    /// `tasks/result` and `tasks/list` and anything else under `tasks/`
    /// are unknown methods.
    pub(super) async fn task_method(&self, method: &str, params: &Map<String, Value>) -> Result<Value, RpcFailure> {
        if !matches!(method, "tasks/get" | "tasks/update" | "tasks/cancel") {
            return Err(RpcFailure::new(METHOD_NOT_FOUND, format!("Method not found: {}", excerpt(method))).status(404));
        }
        if !declared(&self.client_capabilities) {
            return Err(missing_extension());
        }
        let id = params.get("taskId").and_then(Value::as_str).ok_or_else(|| invalid("`taskId` must be a string"))?;
        let key = self.task_key(id);
        let task = record::load(self.backends, &key).await.map_err(|_| unavailable())?.ok_or_else(not_found)?;
        let mut task = self.reconcile(&key, task).await;
        let now = self.backends.clock.now_ms();
        if task.status == Status::Working && task.running_until_ms.is_some_and(|until| until < now) {
            let error = json!({ "code": INTERNAL_ERROR, "message": "the host stopped while the task ran" });
            task = self.settle(&key, task, Settled::Failed(error)).await;
        }
        // A working task nobody runs (its last request's slice ended) goes
        // on after this request's answer.
        if task.status == Status::Working && task.running_until_ms.is_none() && method != "tasks/cancel" {
            *self.continue_task.borrow_mut() = Some(task.id.clone());
        }
        match method {
            "tasks/get" => Ok(task.detailed(POLL_INTERVAL_MS)),
            "tasks/cancel" => {
                if !task.status.is_terminal() {
                    // The flag first: a runner's write that races this
                    // one cannot undo it (see `reconcile`).
                    let left_s = (task.created_ms + task.ttl_ms).saturating_sub(now).div_ceil(1000);
                    let left_s = u32::try_from(left_s).unwrap_or(u32::MAX);
                    record::mark_cancelled(self.backends, &key, left_s).await.map_err(|_| unavailable())?;
                    task.status_message = Some("cancelled by the client".into());
                    self.settle(&key, task, Settled::Cancelled).await;
                }
                Ok(json!({}))
            }
            _ => self.answer_task(&key, task, params).await,
        }
    }

    /// `tasks/update`: records the answers to outstanding requests (others
    /// are ignored); once every request of the round is answered, the
    /// task is working again and this request runs it after its answer.
    /// Written over the record it read, so that answers sent at once in
    /// several requests are all kept.
    async fn answer_task(
        &self,
        key: &TaskKey,
        task: TaskRecord,
        params: &Map<String, Value>,
    ) -> Result<Value, RpcFailure> {
        let responses = match params.get("inputResponses") {
            Some(Value::Object(responses)) => responses,
            _ => return Err(invalid("`inputResponses` must be an object")),
        };
        if let Some((key, _)) = responses.iter().find(|(_, response)| !response.is_object()) {
            return Err(invalid(format!("the response to `{}` must be an object", excerpt(key))));
        }
        // Resuming runs the tool again: the caller must still be allowed to.
        let call = Map::from_iter([("name".to_owned(), json!(task.tool))]);
        if let Some((role, what)) = self.missing_role("tools/call", &call).await {
            return Err(invalid(format!("{what} needs role {role}")));
        }
        for _ in 0..UPDATE_ATTEMPTS {
            let read = record::load_for_update(self.backends, key).await.map_err(|_| unavailable())?;
            let Some((mut task, read)) = read else { return Err(not_found()) };
            if task.status != Status::InputRequired {
                return Ok(json!({}));
            }
            for (wire, response) in responses {
                if let Some(guest_key) = task.guest_key(wire).map(str::to_owned) {
                    task.answers.insert(guest_key, response.clone());
                }
            }
            let complete = task.pending.keys().all(|k| task.answers.contains_key(k));
            if complete {
                task.status = Status::Working;
                task.updated_ms = self.backends.clock.now_ms();
            }
            if !record::swap(self.backends, key, &read, &task).await.map_err(|_| unavailable())? {
                continue;
            }
            if complete {
                self.announce(&task);
                *self.continue_task.borrow_mut() = Some(key.id.clone());
            }
            return Ok(json!({}));
        }
        Err(RpcFailure::new(INTERNAL_ERROR, "the task kept changing under this update; try again").status(409))
    }

    /// Runs task `id`'s steps until it finishes, asks for input, is
    /// cancelled, or has used its budget.
    pub(crate) async fn run_task(&self, id: &str) {
        let key = &self.task_key(id);
        let Some(budget) = self.hosted.grant.tasks else { return };
        let limits = self.protocol.limits_of(&self.hosted.grant);
        // One runner at a time, wherever the requests land: the lease
        // lasts a step and is renewed at every step.
        let lease_s = u32::try_from((limits.wall_time_ms + LOST_AFTER_MS).div_ceil(1000)).unwrap_or(u32::MAX);
        if !record::lease(self.backends, key, lease_s).await {
            return;
        }
        self.run_steps(key, budget, limits, lease_s).await;
        record::release(self.backends, key).await;
    }

    /// The steps of [`Call::run_task`], under its lease: until the task
    /// ends, waits for input, or this request's slice is used (then it
    /// waits, working, for the next request of the task to go on).
    async fn run_steps(&self, key: &TaskKey, budget: TaskLimits, limits: Limits, lease_s: u32) {
        let slice_started = self.backends.clock.now_ms();
        let mut slice_fuel = 0u64;
        loop {
            let Ok(Some(task)) = record::load(self.backends, key).await else { return };
            let mut task = self.reconcile(key, task).await;
            if task.status != Status::Working {
                return;
            }
            if task.fuel >= budget.fuel || task.run_ms >= budget.wall_time_ms {
                let what = if task.fuel >= budget.fuel {
                    format!("all of its grant's {} fuel", budget.fuel)
                } else {
                    format!("all of its grant's {} ms of running time", budget.wall_time_ms)
                };
                let error = json!({ "code": INTERNAL_ERROR, "message": format!("the task used {what}") });
                self.settle(key, task, Settled::Failed(error)).await;
                return;
            }
            let left_ms = budget.wall_time_ms - task.run_ms;
            let step = Limits {
                fuel: limits.fuel.min(budget.fuel - task.fuel),
                wall_time_ms: limits.wall_time_ms.min(left_ms),
                ..limits
            };
            // What a step that runs out of time ran out of.
            let out_of_time = if left_ms <= limits.wall_time_ms {
                format!("the task used all of its grant's {} ms of running time", budget.wall_time_ms)
            } else {
                format!(
                    "a step of the task ran past the grant's {} ms of wall time per call: a long task must checkpoint",
                    limits.wall_time_ms
                )
            };
            let started = self.backends.clock.now_ms();
            // While it is set, no request takes the task up (see
            // `task_method`): it stays set from step to step.
            task.running_until_ms = Some(started + step.wall_time_ms + LOST_AFTER_MS);
            if record::save(self.backends, key, &task).await.is_err()
                || !record::renew(self.backends, key, lease_s).await
            {
                return;
            }
            let Some((outcome, fuel)) = self.step(key, &task, step, out_of_time).await else { return };
            // Cancelled while the step ran: the cancellation stands.
            let Ok(Some(task)) = record::load(self.backends, key).await else { return };
            let mut task = self.reconcile(key, task).await;
            if task.status != Status::Working {
                return;
            }
            task.fuel = task.fuel.saturating_add(fuel);
            slice_fuel = slice_fuel.saturating_add(fuel);
            task.run_ms = task.run_ms.saturating_add(self.backends.clock.now_ms().saturating_sub(started));
            task.checkpoints += 1;
            task.answers.clear();
            task.pending.clear();
            match outcome {
                Step::Checkpoint(state) => {
                    task.state = Some(state);
                    // Where a request's time is bounded (the Worker's CPU
                    // limit), the next request of the task goes on.
                    let slice_used = self.protocol.config.max_fuel.is_some_and(|max| slice_fuel >= max)
                        || self
                            .protocol
                            .config
                            .task_slice_ms
                            .is_some_and(|ms| self.backends.clock.now_ms().saturating_sub(slice_started) >= ms);
                    if slice_used {
                        task.running_until_ms = None;
                    }
                    if record::save(self.backends, key, &task).await.is_err() || slice_used {
                        return;
                    }
                }
                Step::Input(required) => {
                    task.running_until_ms = None;
                    let settled = self.ask(&mut task, required);
                    match settled {
                        Some(settled) => {
                            self.settle(key, task, settled).await;
                        }
                        None => {
                            if record::save(self.backends, key, &task).await.is_ok() {
                                self.announce(&task);
                            }
                        }
                    }
                    return;
                }
                Step::Done(settled) => {
                    self.settle(key, task, settled).await;
                    return;
                }
            }
        }
    }

    /// Puts the task in `input_required` for `required`'s requests, or
    /// fails it when the client that created it cannot answer them.
    fn ask(&self, task: &mut TaskRecord, required: InputRequired) -> Option<Settled> {
        let missing = required.missing_capabilities(&task.client_capabilities);
        if !missing.is_empty() {
            return Some(Settled::Failed(json!({
                "code": MISSING_CLIENT_CAPABILITY,
                "message": "Missing required client capability",
                "data": { "requiredCapabilities": missing },
            })));
        }
        task.round += 1;
        task.pending = required.wire_requests().into_iter().collect();
        task.state = Some(required.state);
        task.status = Status::InputRequired;
        task.updated_ms = self.backends.clock.now_ms();
        None
    }

    /// One step: the guest called with the task's state and answers, in a
    /// fresh instance, until it returns, its wall time ends, or the task is
    /// cancelled (`None`). Returns what it came to and the fuel it burned.
    async fn step(&self, key: &TaskKey, task: &TaskRecord, limits: Limits, out_of_time: String) -> Option<(Step, u64)> {
        let tenant = &self.hosted.tenant;
        let max = self.protocol.config.quotas.calls_per_tenant;
        let waited_from = self.backends.clock.now_ms();
        let _slot = loop {
            if let Some(slot) = self.protocol.quotas.call(tenant, max) {
                break slot;
            }
            if self.backends.clock.now_ms().saturating_sub(waited_from) > SLOT_WAIT_MS {
                let message = format!("this tenant had {max} calls running for {SLOT_WAIT_MS} ms");
                return Some((Step::Done(Settled::Failed(json!({ "code": INTERNAL_ERROR, "message": message }))), 0));
            }
            self.backends.clock.sleep(50).await;
        };
        let scope = self.scope();
        let mut notices = TaskNotices { call: self };
        let mut host = CallHost::new(self.backends, &self.hosted.grant, &scope, &mut notices);
        host.set_deadline(self.backends.clock.now_ms().saturating_add(limits.wall_time_ms));
        let server = Server { runtime: &self.protocol.runtime, component: &self.hosted.component, limits };
        let responses: Vec<InputResponse> = task
            .answers
            .iter()
            .map(|(key, response)| InputResponse { key: key.clone(), response: response.clone() })
            .collect();
        let outcome = {
            let work = core::pin::pin!(server.call_tool(
                &mut host,
                &task.tool,
                &task.arguments,
                &responses,
                task.state.as_deref()
            ));
            let (deadline, cancelled) =
                (self.backends.clock.sleep(limits.wall_time_ms), core::pin::pin!(self.cancelled(key)));
            let stop = select(deadline, cancelled);
            match select(work, stop).await {
                Either::Left((outcome, _)) => Some(outcome),
                Either::Right((Either::Left(_), _)) => None,
                Either::Right((Either::Right(_), _)) => return None,
            }
        };
        let outcome = match outcome {
            Some(outcome) if !host.timed_out() => outcome,
            _ => {
                let failed = Settled::Failed(json!({ "code": INTERNAL_ERROR, "message": out_of_time }));
                return Some((Step::Done(failed), host.fuel()));
            }
        };
        let step = match outcome {
            Ok(Outcome::Complete(result)) => {
                let result = self.tool_facts().await.checked_result(&task.tool, result);
                Step::Done(Settled::Completed(serde_json::to_value(result).unwrap_or_default()))
            }
            Ok(Outcome::InputRequired(required)) if required.is_checkpoint() => Step::Checkpoint(required.state),
            Ok(Outcome::InputRequired(required)) => Step::Input(required),
            // The tool's own failure is its result, which the model reads.
            Err(ServerError::Internal(message)) => Step::Done(Settled::Completed(
                json!({ "content": [{ "type": "text", "text": message }], "isError": true }),
            )),
            Err(ServerError::NotFound(message)) => Step::Done(Settled::Failed(
                json!({ "code": INVALID_PARAMS, "message": format!("Unknown tool: {}", excerpt(&message)) }),
            )),
            Err(ServerError::InvalidParams(message)) => {
                Step::Done(Settled::Failed(json!({ "code": INVALID_PARAMS, "message": message })))
            }
            // The guest did not finish: a trap, a limit, output MCP cannot carry.
            Err(e) => Step::Done(Settled::Failed(json!({ "code": INTERNAL_ERROR, "message": e.to_string() }))),
        };
        Some((step, host.fuel()))
    }

    /// Resolves once the client cancels the task, looking every
    /// [`CANCEL_CHECK_MS`].
    async fn cancelled(&self, key: &TaskKey) {
        loop {
            self.backends.clock.sleep(CANCEL_CHECK_MS).await;
            if record::is_cancelled(self.backends, key).await {
                return;
            }
        }
    }

    /// The task as it stands: a task the client cancelled is cancelled,
    /// whatever a runner wrote after the cancellation (the record is
    /// mended, without a second `task.end`).
    async fn reconcile(&self, key: &TaskKey, mut task: TaskRecord) -> TaskRecord {
        if task.status.is_terminal() || !record::is_cancelled(self.backends, key).await {
            return task;
        }
        task.status = Status::Cancelled;
        task.status_message = Some("cancelled by the client".into());
        task.updated_ms = self.backends.clock.now_ms();
        task.running_until_ms = None;
        task.pending.clear();
        task.answers.clear();
        task.state = None;
        if record::save(self.backends, key, &task).await.is_ok() {
            self.announce(&task);
        }
        task
    }

    /// Ends the task as `settled`, unless it already ended, and records
    /// its end in the audit trail.
    async fn settle(&self, key: &TaskKey, mut task: TaskRecord, settled: Settled) -> TaskRecord {
        if task.status.is_terminal() {
            return task;
        }
        let status = match settled {
            Settled::Completed(result) => {
                task.result = Some(result);
                Status::Completed
            }
            Settled::Failed(error) => {
                task.status_message = error.get("message").and_then(Value::as_str).map(str::to_owned);
                task.error = Some(error);
                Status::Failed
            }
            Settled::Cancelled => Status::Cancelled,
        };
        task.status = status;
        task.updated_ms = self.backends.clock.now_ms();
        task.running_until_ms = None;
        task.pending.clear();
        task.answers.clear();
        task.state = None;
        let _ = record::save(self.backends, key, &task).await;
        self.announce(&task);
        let error = task.error.as_ref().and_then(|e| e.get("code")).cloned();
        self.audit_task("task.end", &task, json!({ "error_code": error }));
        task
    }

    /// `notifications/tasks` to the listen streams following the task (in
    /// this process: a listener elsewhere polls).
    fn announce(&self, task: &TaskRecord) {
        let server = (self.hosted.tenant.clone(), self.hosted.server.clone());
        let change = super::Change::Task { id: task.id.clone(), task: task.detailed(POLL_INTERVAL_MS) };
        self.protocol.subscriptions.publish(&server, &change);
    }

    fn audit_task(&self, kind: &str, task: &TaskRecord, extra: Value) {
        let mut detail = json!({
            "task": task.id,
            "tool": task.tool,
            "status": task.status.wire(),
            "fuel": task.fuel,
            "run_ms": task.run_ms,
            "checkpoints": task.checkpoints,
        });
        if let (Some(detail), Value::Object(extra)) = (detail.as_object_mut(), extra) {
            detail.extend(extra.into_iter().filter(|(_, v)| !v.is_null()));
        }
        let event = crate::audit::Event {
            kind: kind.into(),
            principal: Some(self.principal.id.clone()),
            server: Some(self.hosted.server.clone()),
            detail,
        };
        self.protocol.record(self.backends, &self.hosted.tenant, event);
    }
}

/// What one step came to.
enum Step {
    Checkpoint(String),
    Input(InputRequired),
    Done(Settled),
}

/// How a task ends.
enum Settled {
    Completed(Value),
    Failed(Value),
    Cancelled,
}

/// A task's notifications: list changes reach subscribers; progress and
/// log messages have no request to go with and are dropped (the extension
/// does not carry them).
struct TaskNotices<'c, 'a> {
    call: &'c Call<'a>,
}

impl Notifier for TaskNotices<'_, '_> {
    fn notify(&mut self, notification: Notification) {
        let server = (self.call.hosted.tenant.clone(), self.call.hosted.server.clone());
        match notification {
            Notification::ListChanged(kind) => {
                self.call.protocol.subscriptions.publish(&server, &super::Change::List(kind))
            }
            Notification::ResourceUpdated(uri) => {
                self.call.protocol.subscriptions.publish(&server, &super::Change::Resource(uri))
            }
            Notification::Progress { .. } | Notification::Log { .. } => {}
        }
    }
}
