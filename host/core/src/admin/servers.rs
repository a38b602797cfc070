//! `…/servers`: create, list, read and delete servers; upload, list and
//! activate deployments; roll back; check a server's health.

use super::reply::{ApiError, Reply, body_json, flag, json, no_content, ok};
use super::{Call, multipart};
use crate::capabilities::{CallHost, Discard};
use crate::deploy::{self, DeployError, ServerRecord, records};
use crate::guest::Server;
use crate::platform::Scope;
use serde_json::{Value, json};

pub(super) async fn route(call: &Call<'_>, path: &[&str]) -> Reply {
    let method = call.request.method.as_str();
    match (method, path) {
        ("GET", []) => list(call).await,
        (_, [server, rest @ ..]) => {
            if !records::valid_name(server) {
                return Err(DeployError::InvalidName((*server).into()).into());
            }
            match (method, rest) {
                ("PUT", []) => create(call, server).await,
                ("GET", []) => show(call, server).await,
                ("DELETE", []) => {
                    deploy::delete_server(
                        call.services.deployments,
                        call.backends,
                        call.tenant,
                        server,
                        call.principal,
                    )
                    .await?;
                    no_content()
                }
                ("GET", ["deployments"]) => deployments(call, server).await,
                ("POST", ["deployments"]) => upload(call, server).await,
                ("GET", ["deployments", id]) => deployment(call, server, id).await,
                ("POST", ["deployments", id, "activate"]) => {
                    let approve = flag(&body_json(&call.request.body)?, "approve_widening")?;
                    let (record, changes) = deploy::activate(
                        call.services.deployments,
                        call.backends,
                        call.tenant,
                        server,
                        id,
                        approve,
                        call.principal,
                    )
                    .await?;
                    ok(&json!({ "server": view(call, &record), "changes": changes }))
                }
                ("POST", ["rollback"]) => {
                    let body = body_json(&call.request.body)?;
                    let to = match body.get("to") {
                        None | Some(Value::Null) => None,
                        Some(Value::String(id)) => Some(id.as_str()),
                        Some(_) => return Err(ApiError::bad_request("`to` must be a deployment id")),
                    };
                    let approve = flag(&body, "approve_widening")?;
                    let (record, changes) = deploy::rollback(
                        call.services.deployments,
                        call.backends,
                        call.tenant,
                        server,
                        to,
                        approve,
                        call.principal,
                    )
                    .await?;
                    ok(&json!({ "server": view(call, &record), "changes": changes }))
                }
                ("GET", ["health"]) => health(call, server).await,
                ("PUT" | "DELETE", ["secrets", name]) => secret(call, server, name).await,
                ("GET", ["metrics"]) => {
                    find(call, server).await?;
                    ok(&call.services.metrics.server(call.tenant, server))
                }
                _ => Err(ApiError::not_found()),
            }
        }
        _ => Err(ApiError::not_found()),
    }
}

/// A server record as the API shows it, with its MCP endpoint URL.
fn view(call: &Call<'_>, record: &ServerRecord) -> Value {
    let mut value = serde_json::to_value(record).unwrap_or_default();
    value["endpoint"] = Value::String(call.services.gate.settings.resource(call.tenant, &record.name));
    value
}

async fn list(call: &Call<'_>) -> Reply {
    let servers = records::servers(call.backends, call.tenant).await?;
    ok(&json!({ "servers": servers.iter().map(|s| view(call, s)).collect::<Vec<_>>() }))
}

async fn find(call: &Call<'_>, server: &str) -> Result<ServerRecord, ApiError> {
    Ok(records::server(call.backends, call.tenant, server)
        .await?
        .ok_or_else(|| DeployError::ServerNotFound(server.into()))?)
}

async fn create(call: &Call<'_>, server: &str) -> Reply {
    let (record, created) =
        deploy::create_server(call.services.deployments, call.backends, call.tenant, server, call.principal).await?;
    Ok(json(if created { 201 } else { 200 }, &view(call, &record)))
}

async fn show(call: &Call<'_>, server: &str) -> Reply {
    ok(&view(call, &find(call, server).await?))
}

async fn deployments(call: &Call<'_>, server: &str) -> Reply {
    let record = find(call, server).await?;
    let list = records::deployments(call.backends, call.tenant, server).await?;
    ok(&json!({ "active": record.active, "deployments": list }))
}

async fn deployment(call: &Call<'_>, server: &str, id: &str) -> Reply {
    find(call, server).await?;
    let found = records::deployment(call.backends, call.tenant, server, id)
        .await?
        .ok_or_else(|| DeployError::DeploymentNotFound(id.into()))?;
    ok(&found)
}

async fn upload(call: &Call<'_>, server: &str) -> Reply {
    let max = call.services.max_upload_bytes;
    if call.request.body.len() > max {
        return Err(ApiError::new(413, "too_large", format!("uploads are limited to {max} bytes")));
    }
    let content_type = call.request.header("content-type").unwrap_or_default();
    let upload = multipart::parse(content_type, call.request.body.clone(), max).await?;
    let uploaded =
        deploy::upload(call.services.deployments, call.backends, call.tenant, server, upload, call.principal).await?;
    Ok(json(if uploaded.created { 201 } else { 200 }, &uploaded))
}

/// Loads the active deployment and lists its tools: the server works as
/// far as the host can tell without calling a tool.
async fn health(call: &Call<'_>, server: &str) -> Reply {
    let record = find(call, server).await?;
    let started = call.backends.clock.now_ms();
    let Some((hosted, id)) = deploy::load_active(call.services.deployments, call.backends, call.tenant, server).await?
    else {
        return Err(ApiError::new(
            503,
            "no_active_deployment",
            format!("server {} has no active deployment", record.name),
        ));
    };
    let scope = Scope { tenant: call.tenant.into(), server: server.into(), request: "health".into() };
    let mut discard = Discard;
    let mut host = CallHost::new(call.backends, &hosted.grant, &scope, &mut discard);
    let guest = Server {
        runtime: call.services.runtime,
        component: &hosted.component,
        limits: call.services.mcp.limits_of(&hosted.grant),
    };
    let listed = guest.list_tools(&mut host).await;
    let ms = call.backends.clock.now_ms().saturating_sub(started);
    match listed {
        Ok(tools) => ok(&json!({
            "status": "ok",
            "deployment": id,
            "digest": hosted.component.digest().to_hex(),
            "endpoint": call.services.gate.settings.resource(call.tenant, server),
            "tools": tools.iter().map(|t| t.name.clone()).collect::<Vec<_>>(),
            "ms": ms,
        })),
        Err(e) => {
            let mut error = ApiError::new(503, "unhealthy", format!("deployment {id} failed to list its tools: {e}"));
            error.details = Some(json!({ "deployment": id, "ms": ms }));
            Err(error)
        }
    }
}

/// `PUT` (body `{"value": "…"}`) or `DELETE` one secret of `server`.
/// Write-only: no route reads a secret back, and the trail records its
/// name, never its value.
async fn secret(call: &Call<'_>, server: &str, name: &str) -> Reply {
    find(call, server).await?;
    let secrets = call.backends.secrets;
    let to_api = |e: crate::platform::CapabilityError| match e {
        crate::platform::CapabilityError::InvalidInput(why) => ApiError::bad_request(why),
        other => ApiError::new(503, "secrets_unavailable", other.to_string()),
    };
    if call.request.method == "DELETE" {
        secrets.delete(call.tenant, server, name).await.map_err(to_api)?;
        call.audit("secret.delete", Some(server), json!({ "name": name }));
        return no_content();
    }
    let body = body_json(&call.request.body)?;
    let value =
        body.get("value").and_then(Value::as_str).ok_or_else(|| ApiError::bad_request("`value` must be a string"))?;
    secrets.put(call.tenant, server, name, value).await.map_err(to_api)?;
    call.audit("secret.set", Some(server), json!({ "name": name }));
    no_content()
}
