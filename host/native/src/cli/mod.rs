//! The `smcp` command line (clap): one module per command.

pub mod audit;
pub mod inspect;
pub mod keys;
pub mod secrets;
pub mod serve;

use std::path::PathBuf;

#[derive(clap::Parser, Debug)]
#[command(name = "smcp", version, about = "Hosts MCP servers built as WebAssembly components", after_help = "Logs go to stderr; RUST_LOG filters them (default info).")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Serves the hosted MCP servers over HTTP.
    Serve(serve::ServeArgs),
    /// Manages tenants' encrypted secrets in a data directory.
    #[command(subcommand)]
    Secrets(secrets::SecretsCommand),
    /// Manages tenants' API keys in a data directory.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Shows what a component may touch: its imports and, with a grant,
    /// what the grant allows for each.
    Inspect(inspect::InspectArgs),
    /// Shows the capability difference between two versions of a component.
    Diff(inspect::DiffArgs),
    /// Reads, verifies and prunes tenants' audit trails in a data directory.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
}

/// Where state is kept.
#[derive(clap::Args, Debug, Clone)]
pub struct DataDir {
    /// Data directory [default: $XDG_DATA_HOME/smcp or ~/.local/share/smcp].
    #[arg(long = "data-dir")]
    data_dir: Option<PathBuf>,
}

impl DataDir {
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
