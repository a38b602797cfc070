//! `smcp audit`: a tenant's audit trail: list it and verify its chain
//! through a running host's admin API (`--url`, `--key`) or in a data
//! directory, keep a signed checkpoint of it and verify the trail against
//! one later, and prune it to the retention (data directory only; it must
//! not be in use by a running server).

use super::DataDir;
use super::remote::{Client, Remote};
use anyhow::{Context, anyhow};
use smcp_core::audit;
use smcp_core::names::TenantId;
use smcp_core::platform::Clock;
use smcp_core::policy::address::AddressPolicy;
use smcp_native::Storage;
use std::path::{Path, PathBuf};

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
    /// With --checkpoint, also that the trail still holds, unaltered, every
    /// record up to the one the checkpoint signed.
    Verify {
        /// Defaults to the tenant of --key with --url.
        #[arg(long, value_parser = super::tenant_id)]
        tenant: Option<TenantId>,
        /// A checkpoint saved by `smcp audit checkpoint`.
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// The tenant's signing keys (a JWKS document) to check the
        /// checkpoint with [default: those saved in the checkpoint file].
        #[arg(long, requires = "checkpoint")]
        jwks: Option<PathBuf>,
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        data: DataDir,
    },
    /// Saves the latest signed checkpoint of the trail (with the keys that
    /// verify it) to a file, to check the trail against later.
    Checkpoint {
        /// Defaults to the tenant of --key.
        #[arg(long, value_parser = super::tenant_id)]
        tenant: Option<TenantId>,
        /// Where to save it.
        #[arg(long, short)]
        out: PathBuf,
        /// Have the host sign one now rather than fetch its latest.
        #[arg(long)]
        now: bool,
        #[command(flatten)]
        remote: Remote,
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
            // Page by page through the JSON-lines export (at most 10,000 a page).
            let mut out = std::io::stdout().lock();
            while left > 0 {
                let (lines, next) = client.audit_export(from, left.min(10_000)).await?;
                if lines.is_empty() {
                    break;
                }
                std::io::Write::write_all(&mut out, &lines)?;
                left = left.saturating_sub(lines.iter().filter(|b| **b == b'\n').count() as u64);
                from = next;
            }
            return Ok(());
        }
        AuditCommand::Verify { tenant, checkpoint, jwks, remote, data } if remote.chosen_over(&data) => {
            let client = remote.client(tenant.as_deref())?;
            let verdict = client.get("/audit/verify").await?;
            eprintln!("the audit trail of {} is intact: {} record(s)", client.tenant, verdict["records"]);
            if let Some(saved) = checkpoint {
                let records = remote_records(&client).await?;
                against_checkpoint(&client.tenant, &saved, jwks.as_deref(), &records)?;
            }
            return Ok(());
        }
        AuditCommand::Checkpoint { tenant, out, now, remote } => {
            let client = remote.client(tenant.as_deref())?;
            let answer = if now {
                client.call(reqwest::Method::POST, "/audit/checkpoint", None).await?
            } else {
                client.get("/audit/checkpoint").await?
            };
            let saved = serde_json::json!({ "token": answer["token"], "jwks": answer["jwks"] });
            std::fs::write(&out, serde_json::to_string_pretty(&saved)? + "\n")
                .with_context(|| out.display().to_string())?;
            let stated = &answer["checkpoint"];
            eprintln!(
                "saved the checkpoint of {} at record {} (head {}) to {}",
                client.tenant,
                stated["seq"],
                stated["head"].as_str().unwrap_or_default(),
                out.display()
            );
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
        AuditCommand::Checkpoint { .. } => unreachable!("answered above"),
    };
    let storage = Storage::open(&data, AddressPolicy::public_only(), None)?;
    match command {
        AuditCommand::List { tenant, from, limit, .. } => {
            for record in audit::list(&storage.kv, &tenant_of(tenant)?, from, limit).await? {
                println!("{}", serde_json::to_string(&record)?);
            }
        }
        AuditCommand::Verify { tenant, checkpoint, jwks, .. } => {
            let tenant = tenant_of(tenant)?;
            let count = audit::verify(&storage.kv, &tenant).await?;
            eprintln!("the audit trail of {tenant} is intact: {count} record(s)");
            if let Some(saved) = checkpoint {
                let mut records = Vec::new();
                loop {
                    let from = records.last().map_or(0, |r: &audit::Record| r.seq + 1);
                    let page = audit::list(&storage.kv, &tenant, from, 1000).await?;
                    if page.is_empty() {
                        break;
                    }
                    records.extend(page);
                }
                against_checkpoint(tenant.as_str(), &saved, jwks.as_deref(), &records)?;
            }
        }
        AuditCommand::Checkpoint { .. } => {}
        AuditCommand::Prune { tenant, days, .. } => {
            let pass = audit::Pruning {
                retention_ms: days.saturating_mul(86_400_000),
                now_ms: storage.clock.now_ms(),
                max: u64::MAX,
            };
            let removed = audit::prune(&storage.kv, &tenant, pass).await?;
            eprintln!("removed {removed} record(s) older than {days} days");
        }
    }
    Ok(())
}

/// Every record the host lists, oldest first.
async fn remote_records(client: &Client) -> anyhow::Result<Vec<audit::Record>> {
    let (mut records, mut from) = (Vec::new(), 0);
    loop {
        let (lines, next) = client.audit_export(from, 10_000).await?;
        if lines.is_empty() {
            return Ok(records);
        }
        for line in lines.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let record: audit::Record = serde_json::from_slice(line)
                .map_err(|e| anyhow!("the host exported a record this command cannot read: {e}"))?;
            records.push(record);
        }
        from = next;
    }
}

/// Checks `records` against the checkpoint saved in `saved`, with the keys
/// saved beside it or those in `jwks`.
fn against_checkpoint(
    tenant: &str,
    saved: &Path,
    jwks: Option<&Path>,
    records: &[audit::Record],
) -> anyhow::Result<()> {
    use audit::checkpoint;
    let read = |path: &Path| -> anyhow::Result<serde_json::Value> {
        let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
        serde_json::from_str(&text).map_err(|e| anyhow!("{}: {e}", path.display()))
    };
    let file = read(saved)?;
    let token = file["token"].as_str().ok_or_else(|| anyhow!("{}: no `token`", saved.display()))?;
    let keys = match jwks {
        Some(path) => read(path)?,
        None => file["jwks"].clone(),
    };
    let stated = checkpoint::verify_token(token, &keys)?;
    if stated.tenant != tenant {
        anyhow::bail!("the checkpoint is of tenant {}, not {tenant}", stated.tenant);
    }
    let vouched = checkpoint::check(&stated, records)?;
    let reaches = records.last().map_or(0, |r| r.seq);
    eprintln!(
        "the checkpoint of {tenant} at record {} (signed at {} ms) holds: {vouched} record(s) up to it unaltered and in order, and the trail goes on to record {reaches}",
        stated.seq, stated.at_ms
    );
    Ok(())
}
