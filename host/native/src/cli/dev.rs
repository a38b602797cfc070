//! `smcp dev [DIR]`: a guest project's inner loop. It builds the project
//! (as `smcp build` does), serves it on a local host as server `<DIR's
//! name>` of tenant `dev`, and on every change to its sources builds and
//! deploys it again through the admin API, as `smcp deploy` would. A build
//! that fails, or a version the host refuses, leaves the last good version
//! serving. The dev key is the same at every start on one data directory.

use super::build::{build_component, project_grant, step};
use super::remote::{Client, Remote};
use smcp_native::dev::{DEV_TENANT, DevGuests};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

#[derive(clap::Args, Debug)]
pub struct DevArgs {
    /// The project (as for `smcp build`).
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:8787")]
    listen: SocketAddr,
    #[command(flatten)]
    data: super::DataDir,
    /// Largest component upload, in bytes (a Python project's CPython needs about 20 MB).
    #[arg(long, default_value_t = smcp_native::DEFAULT_MAX_UPLOAD_BYTES)]
    max_upload_bytes: usize,
}

/// How often the sources are looked at.
const POLL: Duration = Duration::from_millis(400);
/// Directories that hold what builds make, not sources.
const NOT_SOURCES: [&str; 6] = ["target", "node_modules", ".venv", ".git", "__pycache__", ".smcp"];
/// Files looked at, at most: past this a change may go unseen.
const MAX_FILES: usize = 10_000;

pub fn run(args: DevArgs) -> anyhow::Result<()> {
    let dir = args.dir.canonicalize().map_err(|e| anyhow::anyhow!("{}: {e}", args.dir.display()))?;
    let server = dir
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| super::new::valid_name(n))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "{}: the directory's name names the server: lowercase letters, digits and `-`",
                dir.display()
            )
        })?
        .to_owned();
    let mut config = smcp_native::Config::new(args.data.dir());
    config.listen = args.listen;
    config.max_upload_bytes = args.max_upload_bytes;
    config.dev = Some(DevGuests::none());
    let host = smcp_native::spawn(config)?;
    let key = host.dev_key.clone().ok_or_else(|| anyhow::anyhow!("dev mode made no key"))?;
    let remote = Remote { url: Some(format!("http://{}", host.addr)), key: Some(key.clone()) };
    let client = remote.client(Some(DEV_TENANT))?;
    println!("\nsmcp dev: {server} from {}", dir.display());
    println!("  MCP server  http://{}{}", host.addr, smcp_core::names::endpoint(DEV_TENANT, &server));
    println!("  API key     {key}");
    println!("              (admin of tenant `dev`, the same at every start on {})", args.data.dir().display());
    println!("  rebuilds and redeploys when {} changes; Ctrl-C stops", dir.display());

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut seen = None;
    loop {
        let now = fingerprint(&dir);
        if seen.as_ref() != Some(&now) {
            if seen.is_some() {
                // Let an editor finish writing.
                std::thread::sleep(POLL);
            }
            seen = Some(fingerprint(&dir));
            match build_component(&dir) {
                Ok(component) => match runtime.block_on(deploy(&client, &server, &component, &dir)) {
                    Ok(id) => println!("==> deployed {server}: deployment {id}"),
                    Err(e) => println!("==> not deployed ({e:#}); the last good version keeps serving"),
                },
                Err(e) => println!("==> build failed ({e:#}); the last good version keeps serving"),
            }
        }
        let stop = runtime.block_on(async {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => true,
                _ = tokio::time::sleep(POLL) => false,
            }
        });
        if stop {
            step("stopping");
            host.stop();
            return Ok(());
        }
    }
}

/// Uploads and activates `component` with the project's grant, approving
/// what it widens (this is the developer's own dev host): the deployment's
/// id.
async fn deploy(client: &Client, server: &str, component: &Path, dir: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(component).map_err(|e| anyhow::anyhow!("{}: {e}", component.display()))?;
    let grant = project_grant(dir).map(std::fs::read).transpose()?;
    client.call(reqwest::Method::PUT, &format!("/servers/{server}"), None).await?;
    let uploaded = client.upload(server, bytes, super::remote::UploadParts { grant, ..Default::default() }).await?;
    let id = uploaded["deployment"]["id"].as_str().unwrap_or_default().to_owned();
    for widened in uploaded["changes"]["widened"].as_array().into_iter().flatten() {
        eprintln!("  + {}", widened.as_str().unwrap_or_default());
    }
    let body = serde_json::json!({ "approve_widening": true });
    client.call(reqwest::Method::POST, &format!("/servers/{server}/deployments/{id}/activate"), Some(body)).await?;
    Ok(id)
}

/// What the project's sources look like now: each file's path, size and
/// modification time, outside build outputs.
fn fingerprint(dir: &Path) -> Vec<(PathBuf, u64, SystemTime)> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(at) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&at) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            let name = entry.file_name();
            if meta.is_dir() {
                if !NOT_SOURCES.iter().any(|n| name == *n) {
                    pending.push(path);
                }
            } else if path.extension().is_none_or(|e| e != "wasm") && files.len() < MAX_FILES {
                files.push((path, meta.len(), meta.modified().unwrap_or(SystemTime::UNIX_EPOCH)));
            }
        }
    }
    files.sort();
    files
}
