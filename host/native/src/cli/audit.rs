//! `smcp audit`: a tenant's audit trail in a data directory: list it,
//! verify its chain, prune it to the retention. The data directory must not
//! be in use by a running server.

use super::DataDir;
use smcp_core::audit;
use smcp_core::capabilities::Clock;
use smcp_core::capabilities::net::AddressPolicy;
use smcp_native::Storage;

#[derive(clap::Subcommand, Debug)]
pub enum AuditCommand {
    /// Prints records as JSON lines, oldest first.
    List {
        #[arg(long)]
        tenant: String,
        /// First sequence number.
        #[arg(long, default_value_t = 0)]
        from: u64,
        #[arg(long, default_value_t = 1000)]
        limit: u32,
        #[command(flatten)]
        data: DataDir,
    },
    /// Checks the chain; names the first broken record and fails if any.
    Verify {
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        data: DataDir,
    },
    /// Removes records older than the retention (default 30 days).
    Prune {
        #[arg(long)]
        tenant: String,
        #[arg(long, default_value_t = 30)]
        days: u64,
        #[command(flatten)]
        data: DataDir,
    },
}

pub async fn run(command: AuditCommand) -> anyhow::Result<()> {
    let data = match &command {
        AuditCommand::List { data, .. } | AuditCommand::Verify { data, .. } | AuditCommand::Prune { data, .. } => data.dir(),
    };
    let storage = Storage::open(&data, AddressPolicy::public_only(), None)?;
    match command {
        AuditCommand::List { tenant, from, limit, .. } => {
            for record in audit::list(&storage.kv, &tenant, from, limit).await? {
                println!("{}", serde_json::to_string(&record)?);
            }
        }
        AuditCommand::Verify { tenant, .. } => {
            let count = audit::verify(&storage.kv, &tenant).await?;
            eprintln!("the audit trail of {tenant} is intact: {count} record(s)");
        }
        AuditCommand::Prune { tenant, days, .. } => {
            let removed = audit::prune(&storage.kv, &tenant, days * 86_400_000, storage.clock.now_ms()).await?;
            eprintln!("removed {removed} record(s) older than {days} days");
        }
    }
    Ok(())
}
