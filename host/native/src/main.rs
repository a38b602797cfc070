//! `smcp`: the native SMCP host.

mod cli;

use clap::Parser;
use cli::{Cli, Command};
use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: smcp_allocator::HostAllocator = smcp_allocator::HostAllocator;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    // Written to stderr in batches by a thread of its own; nothing is
    // dropped, and what waits is written when `_written_at_exit` is dropped.
    let (stderr, _written_at_exit) = match smcp_native::log_writer::BatchedWriter::new(std::io::stderr()) {
        Ok(batched) => batched,
        Err(e) => {
            eprintln!("smcp: cannot start the log writer: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(stderr).init();
    match cli.command {
        Command::Serve(args) => cli::serve::run((*args).into_config()),
        Command::New(args) => local("new", cli::new::run(args).map_err(anyhow::Error::msg)),
        Command::Secrets(command) => offline("secrets", cli::secrets::run(command)),
        Command::Keys(command) => offline("keys", cli::keys::run(command)),
        Command::Audit(command) => offline("audit", cli::audit::run(command)),
        Command::Deploy(args) => offline("deploy", cli::deploy::deploy(args)),
        Command::Activate(args) => offline("activate", cli::deploy::activate(args)),
        Command::Rollback(args) => offline("rollback", cli::deploy::rollback(args)),
        Command::Servers(command) => offline("servers", cli::deploy::servers(command)),
        Command::Dev(args) => local("dev", cli::dev::run(args)),
        Command::Settings(command) => offline("settings", cli::settings::run(command)),
        Command::Sign(args) => local("sign", cli::sign::run(args)),
        Command::Build(args) => verdict("build", cli::build::build(args)),
        Command::Inspect(args) => verdict("inspect", cli::inspect::inspect(args)),
        Command::Diff(args) => verdict("diff", cli::inspect::diff(args)),
        Command::Users(command) => offline("users", cli::users::run(command)),
        Command::SigningKeys(command) => offline("signing-keys", cli::users::signing_keys(command)),
        Command::Upstream(command) => offline("upstream", cli::users::upstream(command)),
        Command::OperatorKey => cli::keys::operator_key(),
    }
}

/// Runs a command that needs no host and no runtime: a failure exits 1.
fn local(name: &str, result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("smcp {name}: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The exit of a review: its verdict's code (0 fine, 3 the host would
/// refuse, 4 needs approval), or 1 when it could not be made.
fn verdict(name: &str, result: anyhow::Result<cli::inspect::Verdict>) -> ExitCode {
    match result {
        Ok(verdict) => ExitCode::from(verdict.exit_code()),
        Err(e) => {
            eprintln!("smcp {name}: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs an async command (on a data directory, or against a host); a
/// failure exits with [`cli::remote::exit_code`].
fn offline(name: &str, work: impl std::future::Future<Output = anyhow::Result<()>>) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
    let result = runtime.map_err(anyhow::Error::from).and_then(|rt| tokio::task::LocalSet::new().block_on(&rt, work));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("smcp {name}: {e:#}");
            ExitCode::from(cli::remote::exit_code(&e))
        }
    }
}
