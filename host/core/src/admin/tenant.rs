//! A tenant's API keys, audit trail and settings.

use super::Call;
use super::reply::{ApiError, Reply, body_json, flag, json, no_content, ok};
use crate::auth::Role;
use crate::auth::api_keys::KeyRecord;
use crate::deploy::records;
use serde_json::{Value, json};

/// Most audit records one page returns.
const AUDIT_PAGE: u32 = 1000;

/// A key record without its hash.
fn key_view(record: &KeyRecord) -> Value {
    json!({
        "id": record.id,
        "role": record.role,
        "name": record.name,
        "created_ms": record.created_ms,
        "expires_ms": record.expires_ms,
        "revoked_ms": record.revoked_ms,
        "last_used_ms": record.last_used_ms,
    })
}

pub(super) async fn keys(call: &Call<'_>, path: &[&str]) -> Reply {
    let keys = call.services.gate.api_keys(call.backends.kv);
    let now = call.backends.clock.now_ms();
    match (call.request.method.as_str(), path) {
        ("GET", []) => {
            let list = keys.list(call.tenant).await.map_err(ApiError::storage)?;
            ok(&json!({ "keys": list.iter().map(key_view).collect::<Vec<_>>() }))
        }
        ("POST", []) => {
            let body = body_json(&call.request.body)?;
            let role = body
                .get("role")
                .and_then(Value::as_str)
                .and_then(Role::parse)
                .ok_or_else(|| ApiError::bad_request("`role` must be admin, mcp-user or read-only"))?;
            let name = body.get("name").and_then(Value::as_str).unwrap_or_default();
            let expires = match body.get("expires_in_days") {
                None | Some(Value::Null) => None,
                Some(days) => {
                    let days = days.as_u64().filter(|d| (1..=3650).contains(d)).ok_or_else(|| {
                        ApiError::bad_request("`expires_in_days` must be a whole number from 1 to 3650")
                    })?;
                    Some(now + days * 86_400_000)
                }
            };
            let (key, record) = keys
                .create(call.tenant, role, name, expires, now, call.backends.random)
                .await
                .map_err(ApiError::storage)?;
            call.audit("key.create", None, json!({ "key": record.id, "role": role.name(), "name": record.name }));
            let mut view = key_view(&record);
            // Shown once: the host keeps only its hash.
            view["key"] = Value::String(key);
            Ok(json(201, &view))
        }
        ("DELETE", [id]) => {
            let list = keys.list(call.tenant).await.map_err(ApiError::storage)?;
            let Some(record) = list.iter().find(|r| r.id == *id) else {
                return Err(ApiError::new(404, "key_not_found", format!("tenant has no key `{id}`")));
            };
            // Revoking again changes nothing and records nothing.
            if record.revoked_ms.is_none() {
                keys.revoke(call.tenant, id, now).await.map_err(ApiError::storage)?;
                call.audit("key.revoke", None, json!({ "key": id }));
            }
            no_content()
        }
        _ => Err(ApiError::not_found()),
    }
}

pub(super) async fn audit(call: &Call<'_>, path: &[&str]) -> Reply {
    let method = call.request.method.as_str();
    if method != "GET" && !(method == "POST" && path == ["checkpoint"]) {
        return Err(ApiError::not_found());
    }
    // What this process queued is part of the trail the caller asks for.
    call.services.audit.flush(call.backends.kv).await.map_err(ApiError::storage)?;
    match path {
        ["checkpoint"] => checkpoint(call).await,
        ["export"] => export(call).await,
        [] => {
            let from = call.query_number("from", 0)?;
            let limit = call.query_number("limit", u64::from(AUDIT_PAGE))?.min(u64::from(AUDIT_PAGE)) as u32;
            let records =
                crate::audit::list(call.backends.kv, call.tenant, from, limit).await.map_err(ApiError::storage)?;
            let next = records.last().map(|r| r.seq + 1);
            ok(&json!({ "records": records, "next": next }))
        }
        ["verify"] => match crate::audit::verify(call.backends.kv, call.tenant).await {
            Ok(count) => ok(&json!({ "ok": true, "records": count })),
            Err(crate::audit::AuditError::Broken { seq, why }) => {
                let mut error =
                    ApiError::new(409, "audit_broken", format!("the audit chain is broken at record {seq}: {why}"));
                error.details = Some(json!({ "seq": seq, "why": why }));
                Err(error)
            }
            Err(e) => Err(ApiError::storage(e)),
        },
        _ => Err(ApiError::not_found()),
    }
}

/// Records an export answers at most.
const EXPORT_PAGE: u32 = 10_000;

/// `GET …/audit/export?from=N&limit=L`: records from `N` as JSON lines, for
/// a SIEM to collect; the `smcp-audit-next` header is the `from` of the
/// next request (an empty body: nothing newer yet).
async fn export(call: &Call<'_>) -> Reply {
    let from = call.query_number("from", 0)?;
    let limit = call.query_number("limit", u64::from(EXPORT_PAGE))?.clamp(1, u64::from(EXPORT_PAGE)) as u32;
    let records = crate::audit::list(call.backends.kv, call.tenant, from, limit).await.map_err(ApiError::storage)?;
    let next = records.last().map_or(from, |r| r.seq + 1);
    let mut lines = Vec::new();
    for record in &records {
        serde_json::to_writer(&mut lines, record).map_err(|e| ApiError::storage(e.to_string()))?;
        lines.push(b'\n');
    }
    let headers = vec![("cache-control".into(), "no-store".into()), ("smcp-audit-next".into(), next.to_string())];
    Ok(crate::http::Response { status: 200, headers, body: crate::http::Body::JsonLines(lines) })
}

/// `GET …/audit/checkpoint`: the latest signed checkpoint; `POST`: one
/// signed now. Both with the tenant's public keys (JWKS), for convenience:
/// an auditor pins those from a source of their own.
async fn checkpoint(call: &Call<'_>) -> Reply {
    use crate::audit::checkpoint;
    let unavailable = |e: crate::oauth::OAuthError| ApiError::new(503, "checkpoint_unavailable", e.to_string());
    let token = if call.request.method == "POST" {
        let issuer = crate::oauth::issuer(&call.services.gate.settings.public_url, call.tenant);
        match crate::oauth::signing_keys::checkpoint_audit(call.backends, call.tenant, &issuer)
            .await
            .map_err(unavailable)?
        {
            Some((token, _)) => token,
            None => return Err(ApiError::new(409, "audit_empty", "the trail has no records to checkpoint yet")),
        }
    } else {
        checkpoint::latest(call.backends.kv, call.tenant)
            .await
            .map_err(ApiError::storage)?
            .ok_or_else(|| ApiError::new(404, "no_checkpoint", "no checkpoint was signed yet: POST to sign one"))?
    };
    let jwks = crate::oauth::signing_keys::jwks(call.backends, call.tenant).await.map_err(unavailable)?;
    let stated = checkpoint::verify_token(&token, &jwks)
        .map_err(|e| ApiError::new(503, "checkpoint_unavailable", e.to_string()))?;
    let status = if call.request.method == "POST" { 201 } else { 200 };
    Ok(super::reply::json(status, &json!({ "token": token, "checkpoint": stated, "jwks": jwks })))
}

pub(super) async fn settings(call: &Call<'_>) -> Reply {
    // PUT sets every setting (a missing one to its default); PATCH changes
    // only those named, so that adding a signer cannot turn pinning off.
    let base = match call.request.method.as_str() {
        "GET" => return ok(&records::settings(call.backends, call.tenant).await?),
        "PUT" => records::TenantSettings::default(),
        "PATCH" => records::settings(call.backends, call.tenant).await?,
        _ => return Err(ApiError::not_found()),
    };
    let listed_before = base.signers.clone();
    let settings = settings_from(&body_json(&call.request.body)?, base)?;
    // A keyless signer on a host that cannot check keyless signatures would
    // lock the tenant's uploads out: refused when added, so that it is
    // known now rather than at the next release.
    let unverifiable = settings.signers.iter().find(|s| s.identity.is_some() && !listed_before.contains(s));
    if let Some(signer) = unverifiable.filter(|_| !call.services.deployments.verifies_keyless()) {
        return Err(ApiError::new(
            400,
            "invalid_signer",
            format!(
                "signer `{}` signs keyless, and this host has no Sigstore trusted root to check such signatures against (its operator sets one with --sigstore-trusted-root)",
                signer.name
            ),
        ));
    }
    records::put_settings(call.backends, call.tenant, &settings).await?;
    call.audit("settings.change", None, serde_json::to_value(&settings).unwrap_or_default());
    ok(&settings)
}

/// Refuses an object `setting` with a field other than `known`.
fn only_fields(value: &serde_json::Value, setting: &str, known: &[&str]) -> Result<(), ApiError> {
    let fields = value.as_object().ok_or_else(|| ApiError::bad_request(format!("`{setting}` is an object")))?;
    match fields.keys().find(|k| !known.contains(&k.as_str())) {
        Some(unknown) => Err(ApiError::bad_request(format!("unknown setting `{setting}.{unknown}`"))),
        None => Ok(()),
    }
}

/// `base` with the settings `body` names, each checked.
fn settings_from(body: &serde_json::Value, base: records::TenantSettings) -> Result<records::TenantSettings, ApiError> {
    use serde_json::Value;
    let known = ["require_digest", "separate_approver", "signers", "audit_retention_days", "oauth_clients", "branding"];
    let Some(fields) = body.as_object() else { return Err(ApiError::bad_request("send a JSON object of settings")) };
    if let Some(unknown) = fields.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(ApiError::bad_request(format!("unknown setting `{unknown}`")));
    }
    let mut settings = base;
    if fields.contains_key("require_digest") {
        settings.require_digest = flag(body, "require_digest")?;
    }
    if fields.contains_key("separate_approver") {
        settings.separate_approver = flag(body, "separate_approver")?;
    }
    match body.get("signers") {
        None => {}
        Some(Value::Null) => settings.signers = Vec::new(),
        Some(list) => {
            settings.signers =
                serde_json::from_value(list.clone()).map_err(|e| ApiError::bad_request(format!("`signers`: {e}")))?;
        }
    }
    crate::signing::check_signers(&settings.signers)
        .map_err(|e| ApiError::from(crate::deploy::DeployError::from(e)))?;
    match body.get("audit_retention_days") {
        None => {}
        Some(Value::Null) => settings.audit_retention_days = None,
        Some(days) => {
            let days = days
                .as_u64()
                .and_then(|d| u32::try_from(d).ok())
                .filter(|d| (1..=records::MAX_AUDIT_RETENTION_DAYS).contains(d))
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "`audit_retention_days` is a whole number of days from 1 to {}",
                        records::MAX_AUDIT_RETENTION_DAYS
                    ))
                })?;
            settings.audit_retention_days = Some(days);
        }
    }
    match body.get("oauth_clients") {
        None => {}
        Some(Value::Null) => settings.oauth_clients = Default::default(),
        Some(policy) => {
            // A misspelt field must not leave the policy open.
            only_fields(policy, "oauth_clients", &["registration", "registered", "document_hosts"])?;
            let policy: records::ClientPolicy = serde_json::from_value(policy.clone())
                .map_err(|e| ApiError::bad_request(format!("`oauth_clients`: {e}")))?;
            if let Some(hosts) = &policy.document_hosts {
                records::ClientPolicy::check_document_hosts(hosts)
                    .map_err(|why| ApiError::bad_request(format!("`oauth_clients.document_hosts`: {why}")))?;
            }
            settings.oauth_clients = policy;
        }
    }
    match body.get("branding") {
        None => {}
        Some(Value::Null) => settings.branding = Default::default(),
        Some(branding) => {
            only_fields(branding, "branding", &["display_name", "support_url"])?;
            let branding: records::Branding = serde_json::from_value(branding.clone())
                .map_err(|e| ApiError::bad_request(format!("`branding`: {e}")))?;
            branding.check().map_err(|why| ApiError::bad_request(format!("`branding`: {why}")))?;
            settings.branding = branding;
        }
    }
    Ok(settings)
}
