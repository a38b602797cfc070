//! The `smcp` command line (clap): one module per command.

pub mod audit;
pub mod build;
pub mod deploy;
pub mod dev;
pub mod inspect;
pub mod keys;
pub mod new;
pub mod remote;
pub mod secrets;
pub mod serve;
pub mod settings;
pub mod sign;
pub mod users;

use std::path::PathBuf;

#[derive(clap::Parser, Debug)]
#[command(
    name = "smcp",
    version,
    about = "Hosts MCP servers built as WebAssembly components",
    after_help = "Logs go to stderr; RUST_LOG filters them (default info)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Serves the hosted MCP servers over HTTP.
    Serve(Box<serve::ServeArgs>),
    /// Creates a new guest project (a Rust crate using the guest SDK).
    New(new::NewArgs),
    /// Builds a guest project into a component and reviews it (exit codes
    /// as `inspect`'s).
    Build(build::BuildArgs),
    /// Builds a guest project, serves it locally, and rebuilds and
    /// redeploys it on every change.
    Dev(dev::DevArgs),
    /// Manages tenants' encrypted secrets in a data directory.
    #[command(subcommand)]
    Secrets(secrets::SecretsCommand),
    /// Manages a tenant's API keys on a host (--url) or in a data directory.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Uploads a component to a host and activates it.
    Deploy(deploy::DeployArgs),
    /// Activates an uploaded deployment of a server.
    Activate(deploy::ActivateArgs),
    /// Activates an earlier deployment of a server.
    Rollback(deploy::RollbackArgs),
    /// Lists, creates, checks and deletes a tenant's servers on a host.
    #[command(subcommand)]
    Servers(deploy::ServersCommand),
    /// Shows or changes a tenant's settings on a host: pinning, separate
    /// approvers, signers, audit retention.
    #[command(subcommand)]
    Settings(settings::SettingsCommand),
    /// Signs a component and its grant for a tenant that requires signed
    /// uploads, or makes a signing key (--new-key).
    Sign(sign::SignArgs),
    /// Shows what a component may touch: its imports and, with a grant,
    /// what the grant allows for each.
    Inspect(inspect::InspectArgs),
    /// Shows the capability difference between two versions of a component.
    Diff(inspect::DiffArgs),
    /// Reads and verifies a tenant's audit trail on a host (--url) or in a
    /// data directory; prunes it in a data directory.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Manages people's accounts of a tenant and the grants they gave to
    /// OAuth clients, on a host (--url, --key).
    #[command(subcommand)]
    Users(users::UsersCommand),
    /// Lists or rotates the signing keys of a tenant's authorization server.
    #[command(subcommand)]
    SigningKeys(users::SigningKeysCommand),
    /// Sets, shows or removes a tenant's upstream OpenID Connect provider.
    #[command(subcommand)]
    Upstream(users::UpstreamCommand),
    /// Prints a new operator key and the hash to configure
    /// (SMCP_OPERATOR_KEY_HASH, or the Worker's secret of that name).
    OperatorKey,
}

/// Where state is kept.
#[derive(clap::Args, Debug, Clone)]
pub struct DataDir {
    /// Data directory [default: $XDG_DATA_HOME/smcp or ~/.local/share/smcp].
    #[arg(long = "data-dir")]
    data_dir: Option<PathBuf>,
}

impl DataDir {
    /// True when `--data-dir` was given.
    pub fn explicit(&self) -> bool {
        self.data_dir.is_some()
    }

    pub fn dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(|| {
            let base = match std::env::var_os("XDG_DATA_HOME") {
                Some(dir) if !dir.is_empty() => PathBuf::from(dir),
                _ => std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default().join(".local/share"),
            };
            base.join("smcp")
        })
    }
}

/// `--tenant`, checked as the host checks every tenant id.
pub(crate) fn tenant_id(text: &str) -> Result<smcp_core::names::TenantId, String> {
    smcp_core::names::TenantId::parse(text).map_err(|e| e.to_string())
}
