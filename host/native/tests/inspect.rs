//! `smcp inspect` and `smcp diff` on real components built from guests/:
//! what an auditor reads, as JSON for tools, and the exit codes a CI job
//! gates on (0 fine, 3 the host would refuse, 4 needs approval, 1 error).

mod support;

use serde_json::Value;
use smcp_native::dev::DevGuests;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The components of `guests`, in that order.
fn build(dir: &Path, guests: &[&str]) -> Vec<PathBuf> {
    let mut dev = DevGuests::only(guests);
    dev.target_dir = smcp_tests::guest_target_dir();
    for (name, bytes) in dev.build(dir).expect("the guests build") {
        std::fs::write(dir.join(format!("{name}.wasm")), bytes).unwrap();
    }
    guests.iter().map(|name| dir.join(format!("{name}.wasm"))).collect()
}

/// Runs `smcp ARGS`: its exit code, stdout as JSON, stderr.
fn smcp(args: &[&str]) -> (i32, Value, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_smcp")).args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (
        output.status.code().unwrap_or(-1),
        serde_json::from_str(&stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn guest_grant(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../guests").join(name).join("grant.toml").display().to_string()
}

#[test]
fn inspect_shows_imports_and_what_the_grant_allows() {
    let dir = tempfile::tempdir().unwrap();
    let built = build(dir.path(), &["fetcher", "notes"]);
    let (fetcher, notes) = (built[0].display().to_string(), built[1].display().to_string());
    let (code, review, stderr) = smcp(&["inspect", &fetcher, "--grant", &guest_grant("fetcher"), "--json"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(review["digest"].as_str().map(str::len), Some(64));
    let capability = |name: &str| {
        review["capabilities"].as_array().unwrap().iter().find(|c| c["interface"] == name).cloned().unwrap()
    };
    let http = capability("smcp:mcp/http@0.1.2");
    assert_eq!((http["imported"].clone(), http["granted"].clone()), (Value::Bool(true), Value::Bool(true)));
    assert_eq!(http["functions"], serde_json::json!(["fetch"]));
    assert!(http["allows"].as_array().unwrap().iter().any(|a| a == "hosts: example.com"), "{http}");
    assert!(http["allows"].as_array().unwrap().iter().any(|a| a == "methods: GET"), "{http}");
    assert_eq!(capability("smcp:mcp/kv@0.1.2")["imported"], false);
    assert_eq!(review["imported_not_granted"], serde_json::json!([]));

    // notes with calc's grant: kv is imported and not granted, so hosting
    // would fail (exit 3), and the review says why.
    let (code, review, _) = smcp(&["inspect", &notes, "--grant", &guest_grant("calc"), "--json"]);
    assert_eq!(code, 3);
    assert_eq!(review["imported_not_granted"], serde_json::json!(["smcp:mcp/kv@0.1.2"]));

    // Not a component: a clear error, no panic.
    let (code, _, stderr) = smcp(&["inspect", &guest_grant("calc")]);
    assert!(code == 1 && stderr.contains("not a component this host can run"), "{stderr}");
}

#[test]
fn diff_reports_imports_and_widened_grants() {
    let dir = tempfile::tempdir().unwrap();
    let built = build(dir.path(), &["calc", "fetcher"]);
    let (calc, fetcher) = (built[0].display().to_string(), built[1].display().to_string());
    let wider = dir.path().join("wider.toml");
    std::fs::write(&wider, "version = 1\n[http]\nallowed_hosts = [\"example.com\", \"api.other.com\"]\n[secrets]\nnames = [\"API_TOKEN\"]\n").unwrap();
    let (code, difference, stderr) = smcp(&[
        "diff",
        &calc,
        &fetcher,
        "--old-grant",
        &guest_grant("fetcher"),
        "--new-grant",
        wider.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 4, "a widening needs approval: {stderr}");
    assert_eq!(difference["imports_added"], serde_json::json!(["smcp:mcp/http@0.1.2", "smcp:mcp/secrets@0.1.2"]));
    let changed = difference["grants_changed"].as_array().unwrap();
    assert!(changed.iter().any(|c| c.as_str().unwrap().contains("api.other.com")), "{changed:?}");
    // Field by field, as grant.toml names them, with the values.
    let fields = difference["grant_changes"].as_array().unwrap();
    let hosts = fields.iter().find(|c| c["field"] == "http.allowed_hosts").expect("http.allowed_hosts changed");
    assert_eq!(hosts["to"], serde_json::json!(["example.com", "api.other.com"]), "{hosts}");
    let methods = fields.iter().find(|c| c["field"] == "http.methods").expect("http.methods changed");
    assert_eq!(methods["to"], serde_json::Value::Null, "every method: {methods}");
    support::doc_schema("diff")
        .validate(&difference)
        .unwrap_or_else(|e| panic!("diff --json against its schema: {e}\n{difference}"));
    // The tools each version lists in the sandbox: calc's are gone, fetch is new.
    let listed = |field: &str| {
        difference[field].as_array().unwrap().iter().filter_map(Value::as_str).map(str::to_owned).collect::<Vec<_>>()
    };
    assert!(listed("tools_added").contains(&"fetch".to_owned()), "{difference}");
    assert!(listed("tools_removed").contains(&"add".to_owned()), "{difference}");
    // What the host would ask approval for, field by field.
    let widened = difference["widened"].as_array().unwrap();
    for expected in ["imports smcp:mcp/http@0.1.2", "http: host api.other.com added", "http: every method allowed"] {
        assert!(widened.iter().any(|w| w == expected), "{expected} missing from {widened:?}");
    }
    // The same version and grant: nothing to approve. Narrower: neither.
    let (code, _, stderr) = smcp(&["diff", &fetcher, &fetcher, "--old-grant", &guest_grant("fetcher")]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = smcp(&["diff", &fetcher, &calc, "--old-grant", &guest_grant("fetcher")]);
    assert_eq!(code, 0, "{stderr}");
    // A new version whose grant does not cover its imports: refused.
    let (code, _, stderr) = smcp(&["diff", &calc, &fetcher, "--old-grant", &guest_grant("calc")]);
    assert_eq!(code, 3, "{stderr}");
}

#[test]
fn inspect_reads_every_example_and_hostile_guest() {
    let dir = tempfile::tempdir().unwrap();
    let guests = [
        "calc",
        "notes",
        "files",
        "fetcher",
        "conformance",
        "hostile-loop",
        "hostile-membomb",
        "hostile-output",
        "hostile-recursion",
        "hostile-import",
    ];
    let built = build(dir.path(), &guests);
    let reviews = support::doc_schema("review");
    for (guest, component) in guests.iter().zip(&built) {
        let grant = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../guests").join(guest).join("grant.toml");
        let mut args = vec!["inspect".to_owned(), component.display().to_string(), "--json".to_owned()];
        if grant.exists() {
            args.extend(["--grant".to_owned(), grant.display().to_string()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, review, stderr) = smcp(&args);
        let expected = if *guest == "hostile-import" { 3 } else { 0 };
        assert_eq!(code, expected, "{guest}: {stderr}");
        assert_eq!(review["digest"].as_str().map(str::len), Some(64), "{guest}");
        assert_eq!(review["exports"], serde_json::json!(["smcp:mcp/server@0.1.2"]), "{guest}");
        reviews
            .validate(&review)
            .unwrap_or_else(|e| panic!("{guest}: inspect --json against its schema: {e}\n{review}"));
        if grant.exists() {
            assert!(review["grant"]["limits"]["fuel"].as_u64().is_some_and(|f| f > 0), "{guest}: {review}");
        }
        if *guest == "calc" {
            let tools = review["tools"].as_array().unwrap();
            let add = tools.iter().find(|t| t["name"] == "add").expect("calc lists add, run in the sandbox");
            assert_eq!(add["read_only"], true, "{add}");
            assert!(add.get("task").is_none(), "calc's tools are not tasks: {add}");
        }
        if *guest == "conformance" {
            // What may run as a task, and the bounds the grant sets.
            let tools = review["tools"].as_array().unwrap();
            let task = |name: &str| tools.iter().find(|t| t["name"] == name).map(|t| t["task"].clone());
            assert_eq!(task("slow_compute"), Some(Value::from("optional")), "{review}");
            assert_eq!(task("failing_job"), Some(Value::from("required")));
            assert_eq!(task("greet"), Some(Value::Null));
            assert_eq!(review["grant"]["tasks"]["per_principal"], 200, "{review}");
            assert!(review["limits"][1].as_str().unwrap().starts_with("tasks: fuel 1000000000 per task"), "{review}");
        }
        // The declared world, functions included.
        let server = &review["world"]["exports"][0];
        assert_eq!(server["interface"], "smcp:mcp/server@0.1.2", "{guest}");
        assert!(server["functions"].as_array().unwrap().iter().any(|f| f == "call-tool"), "{guest}: {server}");
        if *guest == "hostile-import" {
            // Flagged by name, with what it would call.
            assert_eq!(review["runnable"], false);
            assert_eq!(
                review["foreign_imports"],
                serde_json::json!([{ "interface": "evil:fs/files@0.1.0", "functions": ["read"] }])
            );
            assert!(review["problems"][0].as_str().unwrap().contains("evil:fs/files@0.1.0"), "{review}");
        } else {
            assert_eq!(review["runnable"], true, "{guest}: {review}");
            assert_eq!(review["foreign_imports"], serde_json::json!([]), "{guest}");
            assert_eq!(review["imported_not_granted"], serde_json::json!([]), "{guest}: its grant covers its imports");
        }
    }
    // In words for a person, too.
    let output = Command::new(env!("CARGO_BIN_EXE_smcp"))
        .args(["inspect", built.last().unwrap().to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("REFUSED") && text.contains("evil:fs/files@0.1.0  [NOT IN THE HOST'S WORLD]  (read)"),
        "{text}"
    );
}

/// A new version calling more functions of an interface it already imports
/// (`kv.delete`) is a change `diff` shows, though not a widening: the grant
/// governs the interface.
#[test]
fn diff_shows_functions_called_within_an_interface() {
    let dir = tempfile::tempdir().unwrap();
    let built = build(dir.path(), &["hostile-hostcalls", "notes"]);
    let (reader, notes) = (built[0].display().to_string(), built[1].display().to_string());
    let kv = dir.path().join("kv.toml");
    std::fs::write(&kv, "version = 1\n[kv]\n").unwrap();
    let (code, review, _) = smcp(&["inspect", &reader, "--grant", kv.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0);
    let kv_of = |review: &Value| {
        review["capabilities"].as_array().unwrap().iter().find(|c| c["interface"] == "smcp:mcp/kv@0.1.2").cloned()
    };
    assert_eq!(kv_of(&review).unwrap()["functions"], serde_json::json!(["get"]), "only what it imports");
    let (code, difference, stderr) = smcp(&["diff", &reader, &notes, "--old-grant", kv.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let added: Vec<&str> = difference["functions_added"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    for expected in ["kv.set", "kv.delete", "kv.list-keys"] {
        assert!(added.contains(&expected), "{expected} missing from {added:?}");
    }
    let text = Command::new(env!("CARGO_BIN_EXE_smcp"))
        .args(["diff", &reader, &notes, "--old-grant", kv.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("+ calls kv.delete") && !text.contains("no capability changes"), "{text}");
}

/// A `wasm32-wasip2` build: each WASI interface it imports is shown with
/// what it is served as, the environment with the grant's variables; a new
/// grant that adds or changes a variable needs approval.
#[test]
fn inspect_shows_what_each_wasi_import_is_served_as() {
    let dir = tempfile::tempdir().unwrap();
    let built = build(dir.path(), &["hostile-wasip2"]);
    let component = built[0].display().to_string();
    let (code, review, stderr) = smcp(&["inspect", &component, "--grant", &guest_grant("hostile-wasip2"), "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let wasi: Vec<&Value> = review["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["interface"].as_str().unwrap().starts_with("wasi:"))
        .collect();
    for name in ["wasi:cli/environment", "wasi:cli/stderr", "wasi:clocks/monotonic-clock", "wasi:filesystem/preopens"] {
        let found = wasi.iter().find(|c| c["interface"].as_str().unwrap().starts_with(name));
        let found = found.unwrap_or_else(|| panic!("{name} missing from {wasi:#?}"));
        assert_eq!((found["imported"].clone(), found["granted"].clone()), (Value::Bool(true), Value::Bool(true)));
        assert!(found["allows"][0].as_str().unwrap().starts_with("always granted; served as "), "{found}");
    }
    let environment = wasi.iter().find(|c| c["interface"].as_str().unwrap().starts_with("wasi:cli/environment"));
    assert_eq!(environment.unwrap()["allows"][1], r#"variables: GREETING="hello", REGION="eu-west""#);

    let changed = dir.path().join("changed.toml");
    let text = "version = 1\n[limits]\nwall_time_ms = 2_000\n[environment]\nGREETING = \"hi\"\nREGION = \"eu-west\"\nDEBUG = \"1\"\n";
    std::fs::write(&changed, text).unwrap();
    let (code, difference, stderr) = smcp(&[
        "diff",
        &component,
        &component,
        "--old-grant",
        &guest_grant("hostile-wasip2"),
        "--new-grant",
        changed.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 4, "{stderr}");
    assert_eq!(difference["widened"], serde_json::json!(["environment: DEBUG added", "environment: GREETING changed"]));

    // wasi:http is the http capability under the grant's [http], which is
    // then in use; without [http] the component is refused.
    let fetcher = build(dir.path(), &["fetcher-wasip2"]).remove(0).display().to_string();
    let (code, review, stderr) = smcp(&["inspect", &fetcher, "--grant", &guest_grant("fetcher-wasip2"), "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let outgoing = review["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["interface"].as_str().unwrap().starts_with("wasi:http/outgoing-handler@"))
        .cloned()
        .expect("wasi:http/outgoing-handler is reviewed");
    assert_eq!(outgoing["allows"][0], "served as the http capability, under the grant's [http]");
    assert!(outgoing["allows"].as_array().unwrap().iter().any(|a| a == "hosts: example.com"), "{outgoing}");
    assert_eq!(review["granted_not_imported"], serde_json::json!([]), "[http] serves wasi:http");
    let (code, review, _) = smcp(&["inspect", &fetcher, "--grant", &guest_grant("calc"), "--json"]);
    assert_eq!(code, 3);
    assert!(review["problems"][0].as_str().unwrap().contains("has no [http] section"), "{review}");

    // wasi:keyvalue, both drafts, is the kv capability under [kv].
    let notes = build(dir.path(), &["notes-keyvalue"]).remove(0).display().to_string();
    let (code, review, stderr) = smcp(&["inspect", &notes, "--grant", &guest_grant("notes-keyvalue"), "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let keyvalue: Vec<&Value> = review["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["interface"].as_str().unwrap().starts_with("wasi:keyvalue/"))
        .collect();
    assert_eq!(keyvalue.len(), 4, "{review}");
    for reviewed in keyvalue {
        assert_eq!(reviewed["allows"][0], "served as the kv capability, under the grant's [kv]", "{reviewed}");
    }
    assert_eq!(review["granted_not_imported"], serde_json::json!([]), "[kv] serves wasi:keyvalue");
    let (code, review, _) = smcp(&["inspect", &notes, "--grant", &guest_grant("calc"), "--json"]);
    assert_eq!(code, 3);
    assert!(review["problems"][0].as_str().unwrap().contains("has no [kv] section"), "{review}");
}

/// `inspect` compiles and links as deploy does, and lists every problem:
/// a valid component whose core module uses a feature the engine leaves
/// out (tail calls) is refused by both, and a component that is wrong in
/// several ways is reviewed with all of them.
#[test]
fn inspect_compiles_as_deploy_does_and_lists_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let built = build(dir.path(), &["tail-call"]);
    let (code, review, stderr) = smcp(&["inspect", built[0].to_str().unwrap(), "--json"]);
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(review["runnable"], false);
    assert!(review["problems"][0].as_str().unwrap().contains("does not compile"), "{review}");

    // Two imports from outside the host's world and no server export.
    let many = dir.path().join("many.wasm");
    std::fs::write(
        &many,
        wat::parse_str(
            r#"(component (import "evil:fs/files@0.1.0" (instance)) (import "wasi:sockets/tcp@0.2.0" (instance))
                (import "wasi:keyvalue/atomics@0.2.0-draft" (instance)))"#,
        )
        .unwrap(),
    )
    .unwrap();
    let (code, review, stderr) = smcp(&["inspect", many.to_str().unwrap(), "--json"]);
    assert_eq!(code, 3, "{stderr}");
    let problems: Vec<&str> = review["problems"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(
        problems[0].contains("evil:fs/files@0.1.0")
            && problems[1].contains("wasi:sockets/tcp@0.2.0")
            && problems[2].contains("wasi:keyvalue/atomics@0.2.0-draft"),
        "{problems:#?}"
    );
    assert!(problems[3].contains("does not export `smcp:mcp/server@0.1.2`"), "{problems:#?}");
}
