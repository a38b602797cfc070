//! `smcp secrets`: tenants' secrets in a data directory, encrypted under
//! the master keys of `SMCP_MASTER_KEYS`. Values are read from standard
//! input, never from the command line (where `ps` and shell history would
//! see them). The data directory must not be in use by a running server.

use super::DataDir;
use smcp_core::capabilities::net::AddressPolicy;
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
        data: DataDir,
    },
    /// Deletes a secret.
    Delete {
        #[command(flatten)]
        target: Target,
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
    #[arg(long)]
    tenant: String,
    #[arg(long)]
    server: String,
    /// The secret's name, as the server's grant lists it.
    name: String,
}

fn open(data: &DataDir) -> anyhow::Result<Vault<RedbKv>> {
    let dir = data.dir();
    let spec = std::env::var(master_keys::ENV).ok().filter(|v| !v.is_empty());
    let mut config = smcp_native::Config::new(&dir);
    config.master_keys = spec;
    let keyring = master_keys::load(&config)?
        .ok_or_else(|| anyhow::anyhow!("set {} to the master keys (see `smcp secrets new-key`)", master_keys::ENV))?;
    let storage = Storage::open(&dir, AddressPolicy::public_only(), None)?;
    Ok(Vault::new(storage.kv.clone(), Some(keyring), Box::new(OsRandom)))
}

pub async fn run(command: SecretsCommand) -> anyhow::Result<()> {
    match command {
        SecretsCommand::Set { target, data } => {
            let mut value = String::new();
            std::io::stdin().read_to_string(&mut value)?;
            let value = value.strip_suffix('\n').unwrap_or(&value);
            open(&data)?.put(&target.tenant, &target.server, &target.name, value).await?;
            eprintln!("stored secret {} of {}/{}", target.name, target.tenant, target.server);
        }
        SecretsCommand::Delete { target, data } => {
            open(&data)?.delete(&target.tenant, &target.server, &target.name).await?;
            eprintln!("deleted secret {} of {}/{}", target.name, target.tenant, target.server);
        }
        SecretsCommand::Rotate { data } => {
            let report = open(&data)?.rotate().await?;
            eprintln!("re-wrapped {} data key(s); {} already under the current key", report.rewrapped, report.already_current);
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
