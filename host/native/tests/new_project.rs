//! A tenant's own project, outside this repository: `smcp new` makes it,
//! its native test passes, `smcp build` builds it into a component with its
//! language's own tools (cargo's `wasm32-wasip2` target, componentize-js,
//! componentize-py) and reviews it with its grant, `smcp deploy` puts it on
//! a real server, and calls over real HTTP reach its tools.

mod support;

use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::{DevHost, dev_tool_call, smcp, tenant_command};

/// Runs `smcp new ARGS`.
fn smcp_new(args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_smcp")).arg("new").args(args).output().unwrap();
    (
        output.status.success(),
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)),
    )
}

fn cargo(project: &Path, args: &[&str]) {
    let output = tenant_command("cargo", project).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "cargo {args:?} in {}:\n{}",
        project.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `smcp build --json` in `project`: the component, which the host would
/// run with the project's grant, and the steps it reported.
fn build_and_review(project: &Path) -> PathBuf {
    let output = tenant_command(env!("CARGO_BIN_EXE_smcp"), project).args(["build", "--json"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let built: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
    assert_eq!(output.status.code(), Some(0), "smcp build in {}:\n{stderr}\n{built}", project.display());
    assert_eq!(built["review"]["runnable"], json!(true), "{built}");
    assert_eq!(built["grant"].as_str().map(PathBuf::from), Some(project.join("grant.toml")), "{built}");
    assert!(built["review"]["imported_not_granted"].as_array().is_some_and(Vec::is_empty), "{built}");
    assert!(stderr.contains("==> reviewing "), "progress per step: {stderr}");
    let component = PathBuf::from(built["component"].as_str().unwrap());
    assert!(component.is_file(), "{built}");
    // What `smcp inspect --json` says of it, as the auditor guide's schema says.
    let inspect = ["inspect", component.to_str().unwrap(), "--grant", "grant.toml", "--json"];
    let output = tenant_command(env!("CARGO_BIN_EXE_smcp"), project).args(inspect).output().unwrap();
    let review: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
    assert_eq!(output.status.code(), Some(0), "{review}");
    support::doc_schema("review")
        .validate(&review)
        .unwrap_or_else(|e| panic!("inspect --json against its schema: {e}"));
    assert_eq!(review, built["review"], "build reviews exactly as inspect does");
    component
}

/// `smcp deploy`s `component` as `server` with `grant`, approving the
/// widening the test has reviewed.
fn deploy(host: &DevHost, component: &Path, server: &str, grant: &Path) {
    let args = [
        "deploy",
        component.to_str().unwrap(),
        "--server",
        server,
        "--grant",
        grant.to_str().unwrap(),
        "--approve-widening",
    ];
    let (ok, _, err) = smcp(&host.url(), host.key(), &args);
    assert!(ok, "deploying {server}: {err}");
}

#[test]
fn a_new_project_goes_from_scaffold_to_first_call() {
    let dir = tempfile::tempdir().unwrap();
    let tool = dir.path().join("divider");
    let (ok, out) = smcp_new(&[tool.to_str().unwrap()]);
    assert!(ok, "{out}");
    cargo(&tool, &["test", "--quiet"]);
    build_and_review(&tool);
    let fetch = dir.path().join("pages");
    assert!(smcp_new(&[fetch.to_str().unwrap(), "--template", "fetch"]).0);
    build_and_review(&fetch);

    let project = dir.path().join("bookmarks");
    let (ok, out) = smcp_new(&[project.to_str().unwrap(), "--template", "storage"]);
    assert!(ok && out.contains("&& smcp build"), "{out}");
    let (again, out) = smcp_new(&[project.to_str().unwrap()]);
    assert!(!again && out.contains("already exists"), "{out}");
    let (bad, out) = smcp_new(&[dir.path().join("Bad_Name").to_str().unwrap()]);
    assert!(!bad && out.contains("names the server"), "{out}");
    let component = build_and_review(&project);
    let grant = project.join("grant.toml");
    // Reviewed with the tool's grant, which has no [kv]: the host would
    // refuse it, and build says so as inspect does (exit 3).
    let output = tenant_command(env!("CARGO_BIN_EXE_smcp"), &project)
        .args(["build", "--grant", tool.join("grant.toml").to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("NOT GRANTED") && stdout.contains("smcp:mcp/kv"), "{stdout}");

    let host = DevHost::start(&["calc"], |_| {});
    // Its kv is new to the server: approved, having been reviewed above.
    deploy(&host, &component, "bookmarks", &grant);
    let (status, saved) =
        dev_tool_call(host.addr(), host.key(), "bookmarks", "save", json!({"name": "w3", "url": "https://w3.org"}));
    assert_eq!((status, saved["result"]["content"][0]["text"].as_str()), (200, Some("saved w3")), "{saved}");
    let (_, opened) = dev_tool_call(host.addr(), host.key(), "bookmarks", "open", json!({"name": "w3"}));
    assert_eq!(opened["result"]["content"][0]["text"], "https://w3.org", "{opened}");
    dev_tool_call(
        host.addr(),
        host.key(),
        "bookmarks",
        "save",
        json!({"name": "rust", "url": "https://rust-lang.org"}),
    );
    // list_keys, then every value in one get_many.
    let (_, listed) = dev_tool_call(host.addr(), host.key(), "bookmarks", "list", json!({}));
    assert_eq!(
        listed["result"]["structuredContent"]["bookmarks"],
        json!([["rust", "https://rust-lang.org"], ["w3", "https://w3.org"]]),
        "{listed}"
    );
    host.stop();
}

/// The repository's pinned toolchain for guests in `language`.
fn toolchain(path: &str) -> PathBuf {
    let tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../guests").join(path);
    assert!(tool.exists(), "{} is missing: run scripts/test.sh, which installs it", tool.display());
    tool
}

/// JavaScript and Python projects carry the host's WIT and build with
/// their languages' own tools (here the versions this repository pins, in
/// place of `npm install` and `pip install`); `smcp build` runs them, and
/// what they build is reviewed, deployed and called like the Rust one.
#[test]
fn javascript_and_python_projects_build_with_their_own_tools() {
    let dir = tempfile::tempdir().unwrap();
    let js = dir.path().join("divider-js");
    let (ok, out) = smcp_new(&[js.to_str().unwrap(), "--lang", "javascript"]);
    assert!(ok && out.contains("npm install && smcp build"), "{out}");
    let (code, _, err) = smcp_build(&js);
    assert!(code == Some(1) && err.contains("run `npm install` there first"), "{err}");
    std::os::unix::fs::symlink(toolchain("js-toolchain/node_modules"), js.join("node_modules")).unwrap();
    let js_component = build_and_review(&js);
    assert_eq!(js_component, js.join("divider-js.wasm"));

    let py = dir.path().join("divider-py");
    let (ok, out) = smcp_new(&[py.to_str().unwrap(), "--lang", "python"]);
    assert!(ok && out.contains("&& smcp build"), "{out}");
    std::os::unix::fs::symlink(toolchain("py-toolchain/.venv"), py.join(".venv")).unwrap();
    let py_component = build_and_review(&py);
    assert_eq!(py_component, py.join("divider-py.wasm"));
    let (ok, out) =
        smcp_new(&[dir.path().join("kv-js").to_str().unwrap(), "--lang", "javascript", "--template", "storage"]);
    assert!(!ok && out.contains("tool template"), "{out}");
    let (code, _, err) = smcp_build(dir.path());
    assert!(code == Some(1) && err.contains("not a project `smcp build` knows"), "{err}");

    let host = DevHost::start(&["calc"], |_| {});
    for (project, component, name) in [(&js, &js_component, "divider-js"), (&py, &py_component, "divider-py")] {
        let grant = project.join("grant.toml");
        // Its engine's fuel is above the default: approved, as reviewed.
        deploy(&host, component, name, &grant);
        let (status, answer) = dev_tool_call(host.addr(), host.key(), name, "divide", json!({"a": 1, "b": 4}));
        assert_eq!(
            (status, &answer["result"]["structuredContent"]),
            (200, &json!({"quotient": 0.25})),
            "{name}: {answer}"
        );
        let (_, refused) = dev_tool_call(host.addr(), host.key(), name, "divide", json!({"a": 1, "b": 0}));
        assert_eq!(refused["result"]["isError"], true, "{name}: {refused}");
    }
    host.stop();
}

/// `smcp build` in `project`: its exit code, stdout and stderr.
fn smcp_build(project: &Path) -> (Option<i32>, String, String) {
    let output = tenant_command(env!("CARGO_BIN_EXE_smcp"), project).arg("build").output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (output.status.code(), text(&output.stdout), text(&output.stderr))
}

/// `smcp dev` as a running process: what it printed to stdout so far, line
/// by line.
struct DevProcess {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl DevProcess {
    fn start(project: &Path, data: &Path) -> DevProcess {
        let mut child = tenant_command(env!("CARGO_BIN_EXE_smcp"), project)
            .args(["dev", "--listen", "127.0.0.1:0", "--data-dir", data.to_str().unwrap()])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)).map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        DevProcess { child, lines }
    }

    /// The first line, from now, that starts with `prefix` (trimmed).
    fn wait_for(&self, prefix: &str) -> String {
        loop {
            let line = self.lines.recv_timeout(std::time::Duration::from_secs(300)).unwrap_or_else(|e| {
                panic!("smcp dev printed no `{prefix}` line: {e}");
            });
            if line.trim_start().starts_with(prefix) {
                return line.trim().to_owned();
            }
        }
    }
}

impl Drop for DevProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `smcp dev` builds a project, serves it, and on each edit builds and
/// deploys it again; a broken edit leaves the last good version serving;
/// a restart on the same data directory gives the same key.
#[test]
fn smcp_dev_rebuilds_and_redeploys_on_change() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("live");
    assert!(smcp_new(&[project.to_str().unwrap()]).0);
    let data = dir.path().join("data");
    let dev = DevProcess::start(&project, &data);
    let url = dev.wait_for("MCP server");
    let key = dev.wait_for("API key").trim_start_matches("API key").trim().to_owned();
    let addr: std::net::SocketAddr =
        url.split("http://").nth(1).and_then(|rest| rest.split('/').next()).unwrap().parse().unwrap();
    assert!(url.ends_with("/t/dev/s/live/mcp"), "{url}");
    let first = dev.wait_for("==> ");
    assert!(first.starts_with("==> deployed live"), "{first}");
    let divide_by_zero = || {
        let (status, answer) = dev_tool_call(addr, &key, "live", "divide", json!({"a": 1, "b": 0}));
        assert_eq!(status, 200, "{answer}");
        answer["result"]["content"][0]["text"].as_str().unwrap_or_default().to_owned()
    };
    assert_eq!(divide_by_zero(), "division by zero");

    let source = project.join("src/lib.rs");
    let text = std::fs::read_to_string(&source).unwrap();
    std::fs::write(&source, text.replace("\"division by zero\"", "\"cannot divide by zero\"")).unwrap();
    let second = dev.wait_for("==> ");
    assert!(second.starts_with("==> deployed live") && second != first, "{second}");
    assert_eq!(divide_by_zero(), "cannot divide by zero");

    std::fs::write(&source, "this is not Rust").unwrap();
    let broken = dev.wait_for("==> ");
    assert!(broken.starts_with("==> build failed"), "{broken}");
    assert_eq!(divide_by_zero(), "cannot divide by zero", "the last good version keeps serving");
    drop(dev);

    let again = DevProcess::start(&project, &data);
    let key_again = again.wait_for("API key").trim_start_matches("API key").trim().to_owned();
    assert_eq!(key_again, key, "the dev key is the same at every start on one data directory");
}

/// The guest SDK is a crate a tenant can depend on from outside this
/// repository: `cargo package` takes it with the host's WIT inside and
/// builds it from the package alone.
#[test]
fn the_sdk_packages_with_its_wit() {
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../guest-sdk");
    let listed = tenant_command("cargo", &sdk).args(["package", "--list", "--allow-dirty"]).output().unwrap();
    let files = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    for wit in ["wit/world.wit", "wit/capabilities.wit", "wit/deps/wasi-io/package.wit"] {
        assert!(files.lines().any(|f| f == wit), "{wit} is not packaged:\n{files}");
    }
    let packaged = tenant_command("cargo", &sdk).args(["package", "--allow-dirty", "--offline"]).output().unwrap();
    assert!(packaged.status.success(), "cargo package:\n{}", String::from_utf8_lossy(&packaged.stderr));
}
