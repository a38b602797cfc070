//! `smcp audit`: a tenant's audit trail: list it and verify its chain
//! through a running host's admin API (`--url`, `--key`) or in a data
//! directory, and prune it to the retention (data directory only; it must
//! not be in use by a running server).

use super::DataDir;
use super::remote::Remote;
use smcp_core::audit;
use smcp_core::names::TenantId;
use smcp_core::platform::Clock;
use smcp_core::policy::address::AddressPolicy;
use smcp_native::Storage;

#[derive(clap::Subcommand, Debug)]
pub enum AuditCommand {
    /// Prints records as JSON lines, oldest first.
    List {
        /// Defaults to the tenant of --key with --url.
        #[arg(long, value_parser = super::tenant_id)]
        tenant: Option<TenantId>,
        /// First sequence number.
        #[arg(long, default_value_t = 0)]
        from: u64,
        #[arg(long, default_value_t = 1000)]
        limit: u32,
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        data: DataDir,
    },
    /// Checks the chain; names the first broken record and fails if any.
    Verify {
        /// Defaults to the tenant of --key with --url.
        #[arg(long, value_parser = super::tenant_id)]
        tenant: Option<TenantId>,
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        data: DataDir,
    },
    /// Removes records older than the retention (default 30 days).
    Prune {
        #[arg(long, value_parser = super::tenant_id)]
        tenant: TenantId,
        #[arg(long, default_value_t = 30)]
        days: u64,
        #[command(flatten)]
        data: DataDir,
    },
}

pub async fn run(command: AuditCommand) -> anyhow::Result<()> {
    match command {
        AuditCommand::List { tenant, from, limit, remote, data } if remote.chosen_over(&data) => {
            let client = remote.client(tenant.as_deref())?;
            let (mut from, mut left) = (from, u64::from(limit));
            // Page by page (the host returns at most 1000 at a time).
            while left > 0 {
                let page = client.get(&format!("/audit?from={from}&limit={}", left.min(1000))).await?;
                let records = page["records"].as_array().cloned().unwrap_or_default();
                for record in &records {
                    println!("{}", serde_json::to_string(record)?);
                }
                left = left.saturating_sub(records.len() as u64);
                match page["next"].as_u64() {
                    Some(next) if !records.is_empty() => from = next,
                    _ => break,
                }
            }
            return Ok(());
        }
        AuditCommand::Verify { tenant, remote, data } if remote.chosen_over(&data) => {
            let client = remote.client(tenant.as_deref())?;
            let verdict = client.get("/audit/verify").await?;
            eprintln!("the audit trail of {} is intact: {} record(s)", client.tenant, verdict["records"]);
            return Ok(());
        }
        _ => {}
    }
    let tenant_of = |tenant: Option<TenantId>| {
        tenant.ok_or_else(|| anyhow::anyhow!("pass --tenant (or --url and --key to use a running host)"))
    };
    let data = match &command {
        AuditCommand::List { data, .. } | AuditCommand::Verify { data, .. } | AuditCommand::Prune { data, .. } => {
            data.dir()
        }
    };
    let storage = Storage::open(&data, AddressPolicy::public_only(), None)?;
    match command {
        AuditCommand::List { tenant, from, limit, .. } => {
            for record in audit::list(&storage.kv, &tenant_of(tenant)?, from, limit).await? {
                println!("{}", serde_json::to_string(&record)?);
            }
        }
        AuditCommand::Verify { tenant, .. } => {
            let tenant = tenant_of(tenant)?;
            let count = audit::verify(&storage.kv, &tenant).await?;
            eprintln!("the audit trail of {tenant} is intact: {count} record(s)");
        }
        AuditCommand::Prune { tenant, days, .. } => {
            let removed =
                audit::prune(&storage.kv, &tenant, days.saturating_mul(86_400_000), storage.clock.now_ms()).await?;
            eprintln!("removed {removed} record(s) older than {days} days");
        }
    }
    Ok(())
}
