//! `smcp secrets`: tenants' secrets, encrypted under the host's master
//! keys. `set` and `delete` go to a host's admin API with `--url`/`--key`
//! (any host, the Worker included), or to a data directory (encrypted
//! under `SMCP_MASTER_KEYS`; it must not be in use by a running server).
//! Values are read from standard input, never from the command line (where
//! `ps` and shell history would see them).

use super::DataDir;
use super::remote::Remote;
use smcp_core::names::TenantId;
use smcp_core::policy::address::AddressPolicy;
use smcp_core::vault::{Keyring, Vault};
use smcp_native::{OsRandom, RedbKv, Storage, master_keys};
use std::io::Read;

#[derive(clap::Subcommand, Debug)]
pub enum SecretsCommand {
    /// Stores a secret of a tenant's server; the value comes from stdin.
    Set {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        data: DataDir,
    },
    /// Deletes a secret.
    Delete {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        data: DataDir,
    },
    /// Re-wraps every tenant's data key under the current (first) master
    /// key; afterwards the older keys can be dropped from SMCP_MASTER_KEYS.
    Rotate {
        #[command(flatten)]
        data: DataDir,
    },
    /// Prints a new random master key as `ID:BASE64`, for SMCP_MASTER_KEYS.
    NewKey {
        /// The key's id (letters, digits, `-`, `_`).
        id: String,
    },
}

#[derive(clap::Args, Debug)]
pub struct Target {
    /// Defaults to the tenant of --key with --url.
    #[arg(long, value_parser = super::tenant_id)]
    tenant: Option<TenantId>,
    #[arg(long)]
    server: String,
    /// The secret's name, as the server's grant lists it.
    name: String,
    /// Print what was done as JSON (never the value).
    #[arg(long)]
    json: bool,
}

impl Target {
    /// Says what was done to the secret of `tenant`, as text or JSON.
    fn done(&self, tenant: &str, action: &str) {
        let Target { server, name, json, .. } = self;
        if *json {
            println!("{}", serde_json::json!({ "tenant": tenant, "server": server, "secret": name, "action": action }));
        } else {
            eprintln!("{action} secret {name} of {tenant}/{server}");
        }
    }
}

fn open(data: &DataDir) -> anyhow::Result<Vault<RedbKv>> {
    let dir = data.dir();
    let spec = std::env::var(master_keys::ENV).ok().filter(|v| !v.is_empty());
    let keyring = master_keys::load(spec.as_deref(), &dir, false)?
        .ok_or_else(|| anyhow::anyhow!("set {} to the master keys (see `smcp secrets new-key`)", master_keys::ENV))?;
    let storage = Storage::open(&dir, AddressPolicy::public_only(), None)?;
    Ok(Vault::new(storage.kv.clone(), Some(keyring), Box::new(OsRandom)))
}

fn read_value() -> anyhow::Result<zeroize::Zeroizing<String>> {
    let mut value = zeroize::Zeroizing::new(String::new());
    std::io::stdin().read_to_string(&mut value)?;
    if value.ends_with('\n') {
        value.pop();
    }
    Ok(value)
}

/// The tenant of a local command, which must be named.
fn local_tenant(target: &Target) -> anyhow::Result<&TenantId> {
    target.tenant.as_ref().ok_or_else(|| anyhow::anyhow!("pass --tenant (or --url and --key to use a host)"))
}

pub async fn run(command: SecretsCommand) -> anyhow::Result<()> {
    match command {
        SecretsCommand::Set { target, remote, data } if remote.chosen_over(&data) => {
            let client = remote.client(target.tenant.as_deref())?;
            let value = read_value()?;
            let path = format!("/servers/{}/secrets/{}", target.server, target.name);
            client.call(reqwest::Method::PUT, &path, Some(serde_json::json!({ "value": value.as_str() }))).await?;
            target.done(&client.tenant, "stored");
        }
        SecretsCommand::Delete { target, remote, data } if remote.chosen_over(&data) => {
            let client = remote.client(target.tenant.as_deref())?;
            let path = format!("/servers/{}/secrets/{}", target.server, target.name);
            client.call(reqwest::Method::DELETE, &path, None).await?;
            target.done(&client.tenant, "deleted");
        }
        SecretsCommand::Set { target, data, .. } => {
            let value = read_value()?;
            let tenant = local_tenant(&target)?;
            open(&data)?.put(tenant, &target.server, &target.name, &value).await?;
            target.done(tenant, "stored");
        }
        SecretsCommand::Delete { target, data, .. } => {
            let tenant = local_tenant(&target)?;
            open(&data)?.delete(tenant, &target.server, &target.name).await?;
            target.done(tenant, "deleted");
        }
        SecretsCommand::Rotate { data } => {
            let report = open(&data)?.rotate().await?;
            eprintln!(
                "re-wrapped {} data key(s); {} already under the current key",
                report.rewrapped, report.already_current
            );
        }
        SecretsCommand::NewKey { id } => {
            let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
            getrandom::fill(&mut *bytes).map_err(|e| anyhow::anyhow!("the OS random source failed: {e}"))?;
            let line = Keyring::format(&id, &bytes);
            Keyring::parse(&line)?;
            println!("{line}");
        }
    }
    Ok(())
}
