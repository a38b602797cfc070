//! `smcp`: the native SMCP host.

use smcp_native::{Config, Running, dev::DevGuests};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
smcp: hosts MCP servers built as WebAssembly components

usage:
  smcp serve [options]
  smcp --version

serve options:
  --listen ADDR          address to listen on (default 127.0.0.1:8787)
  --data-dir DIR         where state is kept (default $XDG_DATA_HOME/smcp or ~/.local/share/smcp)
  --dev                  build the example guests and host them under tenant `dev`
  --dev-guests A,B       like --dev, with these guests of guests/ (e.g. calc,conformance)
  --allowed-host HOST    also accept this Host header (repeatable; HOST:PORT pins a port)
  --max-body-bytes N     largest request body accepted (default 4194304)
  --allow-private-address ADDR
                         let guests' outbound HTTP reach this non-public address
                         (IP:PORT or IP; repeatable; for local development only)

logs go to stderr; RUST_LOG filters them (default info).
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => match parse_serve(&args[1..]) {
            Ok(config) => run(config),
            Err(message) => {
                eprintln!("smcp serve: {message}\n\n{USAGE}");
                ExitCode::from(2)
            }
        },
        Some("--version" | "-V" | "version") => {
            println!("smcp {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some("--help" | "-h" | "help") => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn parse_serve(args: &[String]) -> Result<Config, String> {
    let mut config = Config::new(default_data_dir());
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_owned())),
            _ => (arg.as_str(), None),
        };
        let mut value = || inline.clone().or_else(|| args.next().cloned()).ok_or(format!("{flag} needs a value"));
        match flag {
            "--listen" => {
                let v = value()?;
                config.listen =
                    v.parse().map_err(|_| format!("--listen: `{v}` is not an address like 127.0.0.1:8787"))?;
            }
            "--data-dir" => config.data_dir = PathBuf::from(value()?),
            "--allowed-host" => {
                let v = value()?;
                if v.is_empty() || v.contains(['/', ' ']) {
                    return Err(format!("--allowed-host: `{v}` is not a host name"));
                }
                config.allowed_hosts.push(v.to_ascii_lowercase());
            }
            "--max-body-bytes" => {
                let v = value()?;
                config.max_body_bytes = v.parse().map_err(|_| format!("--max-body-bytes: `{v}` is not a number"))?;
            }
            "--allow-private-address" => {
                let v = value()?;
                config.open_addresses.push(v.parse().map_err(|e| format!("--allow-private-address: {e}"))?);
            }
            "--dev" if inline.is_none() => config.dev = Some(DevGuests::examples()),
            "--dev-guests" => {
                let v = value()?;
                let names: Vec<&str> = v.split(',').map(str::trim).filter(|n| !n.is_empty()).collect();
                if names.is_empty()
                    || names.iter().any(|n| !n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
                {
                    return Err(format!("--dev-guests: `{v}` is not a comma-separated list of guest names"));
                }
                config.dev = Some(DevGuests::only(&names));
            }
            "--help" | "-h" => return Err("help".into()),
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    Ok(config)
}

fn default_data_dir() -> PathBuf {
    let base = match std::env::var_os("XDG_DATA_HOME") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default().join(".local/share"),
    };
    base.join("smcp")
}

fn run(config: Config) -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(std::io::stderr).init();

    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("smcp: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let local = tokio::task::LocalSet::new();
    let result = local.block_on(&runtime, async move {
        let running = smcp_native::serve(config).await?;
        print_ready(&running);
        let shutdown = running.shutdown_handle();
        tokio::task::spawn_local(async move {
            let signal = wait_for_signal().await;
            tracing::info!(signal, "shutting down (again to stop at once)");
            shutdown.trigger();
            let signal = wait_for_signal().await;
            tracing::warn!(signal, "stopping at once");
            std::process::exit(130);
        });
        running.wait().await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("smcp: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The name of the first of SIGINT or SIGTERM to arrive.
async fn wait_for_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return "SIGINT";
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

fn print_ready(running: &Running) {
    let addr = running.local_addr();
    let mut out = format!("\nsmcp {} is ready\n  listening  http://{addr}\n", env!("CARGO_PKG_VERSION"));
    out.push_str(&format!("  data dir   {}\n", running.data_dir().display()));
    if running.endpoints().is_empty() {
        out.push_str("  no MCP servers are hosted yet (deployment comes later; --dev hosts the examples)\n");
    } else {
        out.push_str("  MCP servers:\n");
        let width = running.endpoints().iter().map(|e| e.server.len()).max().unwrap_or(0);
        for endpoint in running.endpoints() {
            out.push_str(&format!("    {:width$}  {}\n", endpoint.server, endpoint.url(addr)));
        }
    }
    out.push_str("  Ctrl-C stops the server\n");
    println!("{out}");
}
