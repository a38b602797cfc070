//! `smcp keys`: API keys of a tenant, through a running host's admin API
//! (`--url`, `--key`) or in a data directory (the operator's way to make
//! a tenant's first admin key; the directory must not be in use by a
//! running server). A new key is printed once, on stdout; the host keeps
//! only its hash.

use super::DataDir;
use super::remote::Remote;
use smcp_core::auth::Role;
use smcp_core::auth::api_keys::ApiKeys;
use smcp_core::names::TenantId;
use smcp_core::platform::Clock;
use smcp_core::policy::address::AddressPolicy;
use smcp_native::Storage;

#[derive(clap::Subcommand, Debug)]
pub enum KeysCommand {
    /// Makes a key and prints it (once).
    Create {
        /// Defaults to the tenant of --key with --url.
        #[arg(long, value_parser = super::tenant_id)]
        tenant: Option<TenantId>,
        /// admin, mcp-user or read-only.
        #[arg(long, value_parser = role)]
        role: Role,
        /// A label to recognise the key by.
        #[arg(long, default_value = "")]
        name: String,
        /// Days until it expires (1 to 3650); never when unset.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=3650))]
        expires_in_days: Option<u64>,
        #[command(flatten)]
        remote: Remote,
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataDir,
    },
    /// Lists a tenant's keys (ids, roles, dates; never the keys).
    List {
        /// Defaults to the tenant of --key with --url.
        #[arg(long, value_parser = super::tenant_id)]
        tenant: Option<TenantId>,
        #[command(flatten)]
        remote: Remote,
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataDir,
    },
    /// Sets the token issuers a tenant trusts, from a JSON file (see
    /// docs/auth.md); `[]` trusts none.
    Issuers {
        #[arg(long, value_parser = super::tenant_id)]
        tenant: TenantId,
        file: std::path::PathBuf,
        #[command(flatten)]
        data: DataDir,
    },
    /// Revokes a key by id; it fails from its next use.
    Revoke {
        /// Defaults to the tenant of --key with --url.
        #[arg(long, value_parser = super::tenant_id)]
        tenant: Option<TenantId>,
        id: String,
        #[command(flatten)]
        remote: Remote,
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataDir,
    },
}

fn role(name: &str) -> Result<Role, String> {
    Role::parse(name).ok_or_else(|| format!("`{name}` is not admin, mcp-user, approver or read-only"))
}

pub async fn run(command: KeysCommand) -> anyhow::Result<()> {
    match &command {
        KeysCommand::Create { remote, data, .. }
        | KeysCommand::List { remote, data, .. }
        | KeysCommand::Revoke { remote, data, .. }
            if remote.chosen_over(data) =>
        {
            return run_remote(command).await;
        }
        _ => {}
    }
    let data = match &command {
        KeysCommand::Create { data, .. }
        | KeysCommand::List { data, .. }
        | KeysCommand::Revoke { data, .. }
        | KeysCommand::Issuers { data, .. } => data.dir(),
    };
    let storage = Storage::open(&data, AddressPolicy::public_only(), None)?;
    let hash_key = smcp_native::state_key::api_key_hash_key(&data)?;
    let keys = ApiKeys::new(&storage.kv, hash_key);
    let now = storage.clock.now_ms();
    match command {
        KeysCommand::Create { tenant, role, name, expires_in_days, json, .. } => {
            let tenant = local_tenant(tenant)?;
            let expires = expires_in_days.map(|days| now + days * 86_400_000);
            let (key, record) = keys.create(&tenant, role, &name, expires, now, &storage.random).await?;
            let detail =
                serde_json::json!({ "key": record.id, "role": role.name(), "name": record.name, "by": "smcp keys" });
            record_event(&storage, &tenant, "key.create", detail, now).await;
            eprintln!("key {} ({role}) of tenant {tenant}; it is shown once:", record.id);
            print_made(json, &key, &record.id, role.name(), &tenant, &record.name, record.expires_ms);
        }
        KeysCommand::List { tenant, json, .. } => {
            let tenant = local_tenant(tenant)?;
            let listed: Vec<Listed> = keys
                .list(&tenant)
                .await?
                .into_iter()
                .map(|r| Listed {
                    state: state(r.revoked_ms, r.expires_ms, now),
                    id: r.id,
                    role: r.role.to_string(),
                    name: r.name,
                    expires_ms: r.expires_ms,
                    revoked_ms: r.revoked_ms,
                })
                .collect();
            print_list(json, &listed)?;
        }
        KeysCommand::Issuers { tenant, file, .. } => {
            let text = std::fs::read_to_string(&file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let issuers: Vec<smcp_core::auth::jwt::Issuer> =
                serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            smcp_core::engine::set_issuers(storage.backends(), &tenant, &issuers).await?;
            eprintln!("tenant {tenant} now trusts {} issuer(s)", issuers.len());
        }
        KeysCommand::Revoke { tenant, id, json, .. } => {
            let tenant = local_tenant(tenant)?;
            if !keys.revoke(&tenant, &id, now).await? {
                anyhow::bail!("tenant {tenant} has no key {id}");
            }
            record_event(&storage, &tenant, "key.revoke", serde_json::json!({ "key": id, "by": "smcp keys" }), now)
                .await;
            print_revoked(json, &id, &tenant);
        }
    }
    Ok(())
}

fn local_tenant(tenant: Option<TenantId>) -> anyhow::Result<TenantId> {
    tenant.ok_or_else(|| anyhow::anyhow!("pass --tenant (or --url and --key to use a running host)"))
}

/// The same commands through a host's admin API.
async fn run_remote(command: KeysCommand) -> anyhow::Result<()> {
    use reqwest::Method;
    match command {
        KeysCommand::Create { tenant, role, name, expires_in_days, remote, json, .. } => {
            let client = remote.client(tenant.as_deref())?;
            let body = serde_json::json!({ "role": role.name(), "name": name, "expires_in_days": expires_in_days });
            let made = client.call(Method::POST, "/keys", Some(body)).await?;
            let id = made["id"].as_str().unwrap_or_default();
            eprintln!("key {id} ({role}) of tenant {}; it is shown once:", client.tenant);
            let key = made["key"].as_str().unwrap_or_default();
            print_made(json, key, id, role.name(), &client.tenant, &name, made["expires_ms"].as_u64());
        }
        KeysCommand::List { tenant, remote, json, .. } => {
            let client = remote.client(tenant.as_deref())?;
            let now = smcp_native::unix_ms();
            let listed: Vec<Listed> = client.get("/keys").await?["keys"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|key| {
                    let text = |f: &str| key[f].as_str().unwrap_or_default().to_owned();
                    let (expires_ms, revoked_ms) = (key["expires_ms"].as_u64(), key["revoked_ms"].as_u64());
                    Listed {
                        id: text("id"),
                        role: text("role"),
                        state: state(revoked_ms, expires_ms, now),
                        name: text("name"),
                        expires_ms,
                        revoked_ms,
                    }
                })
                .collect();
            print_list(json, &listed)?;
        }
        KeysCommand::Revoke { tenant, id, remote, json, .. } => {
            let client = remote.client(tenant.as_deref())?;
            client.call(Method::DELETE, &format!("/keys/{id}"), None).await?;
            print_revoked(json, &id, &client.tenant);
        }
        KeysCommand::Issuers { .. } => unreachable!("issuers are set in a data directory"),
    }
    Ok(())
}

/// A key as `keys list` shows it (never the key itself).
#[derive(serde::Serialize)]
struct Listed {
    id: String,
    role: String,
    /// active, expired or revoked.
    state: &'static str,
    name: String,
    expires_ms: Option<u64>,
    revoked_ms: Option<u64>,
}

fn state(revoked_ms: Option<u64>, expires_ms: Option<u64>, now: u64) -> &'static str {
    match (revoked_ms, expires_ms) {
        (Some(_), _) => "revoked",
        (None, Some(at)) if at <= now => "expired",
        _ => "active",
    }
}

fn print_list(json: bool, listed: &[Listed]) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "keys": listed }))?);
    } else {
        for key in listed {
            println!("{}  {:<9}  {:<8}  {}", key.id, key.role, key.state, key.name);
        }
    }
    Ok(())
}

/// A new key on stdout (shown once): the key alone, or with `--json` its
/// record beside it.
fn print_made(json: bool, key: &str, id: &str, role: &str, tenant: &str, name: &str, expires_ms: Option<u64>) {
    if json {
        let made = serde_json::json!({ "key": key, "id": id, "role": role, "tenant": tenant, "name": name, "expires_ms": expires_ms });
        println!("{made:#}");
    } else {
        println!("{key}");
    }
}

fn print_revoked(json: bool, id: &str, tenant: &str) {
    if json {
        println!("{:#}", serde_json::json!({ "revoked": id, "tenant": tenant }));
    } else {
        eprintln!("revoked key {id} of tenant {tenant}");
    }
}

/// Records an operator's action in the tenant's audit trail.
async fn record_event(storage: &Storage, tenant: &TenantId, kind: &str, detail: serde_json::Value, now: u64) {
    let event = smcp_core::audit::Event { kind: kind.into(), principal: Some("operator".into()), server: None, detail };
    if let Err(e) = smcp_core::audit::append(&storage.kv, tenant, event, now).await {
        eprintln!("warning: not recorded in the audit trail: {e}");
    }
}

/// `smcp operator-key`: a random operator key (shown once) and its hash.
pub fn operator_key() -> std::process::ExitCode {
    let mut bytes = [0u8; 32];
    if let Err(e) = getrandom::fill(&mut bytes) {
        eprintln!("error: the OS random source failed: {e}");
        return std::process::ExitCode::FAILURE;
    }
    let key = format!("smcpop_{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>());
    println!("operator key (keep it secret; it is not stored): {key}");
    println!("SMCP_OPERATOR_KEY_HASH={}", smcp_core::admin::operator::operator_key_hash(&key));
    std::process::ExitCode::SUCCESS
}
