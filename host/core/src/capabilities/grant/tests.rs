//! The grant file's format, its mistakes, and the widening check over every
//! field of every section.

use super::*;
use crate::capabilities::http::grant::Injection;

#[test]
fn the_documented_example_parses() {
    let docs = include_str!("mod.rs");
    let example: String = docs
        .lines()
        .skip_while(|l| !l.starts_with("//! ```toml"))
        .skip(1)
        .take_while(|l| !l.starts_with("//! ```"))
        .map(|l| l.trim_start_matches("//!").trim_start())
        .collect::<Vec<_>>()
        .join("\n");
    let grant = Grant::from_toml(&example).unwrap();
    assert_eq!(grant.limits.wall_time_ms, 30_000);
    assert_eq!(grant.http.as_ref().unwrap().methods, Some(vec!["GET", "POST"]));
    assert_eq!(grant.secrets, ["API_TOKEN"]);
    let inject = &grant.http.as_ref().unwrap().inject[0];
    assert_eq!((inject.header.as_str(), inject.prefix.as_str()), ("authorization", "Bearer "));
    assert!(grant.kv.is_some() && grant.objects.is_some());
    assert_eq!(grant.environment, [("REGION".to_owned(), "eu-west".to_owned())]);
}

/// The grant reference operators copy from (docs/grants.md) is a grant this
/// host reads, every section of it.
#[test]
fn the_operator_guide_example_parses() {
    let guide = include_str!("../../../../../docs/grants.md");
    let example: String = guide
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/grants.md has a toml example")
        .into();
    let grant = Grant::from_toml(&example).unwrap_or_else(|e| panic!("{e}\n{example}"));
    let (http, kv, objects) =
        (grant.http.as_ref().unwrap(), grant.kv.as_ref().unwrap(), grant.objects.as_ref().unwrap());
    assert_eq!(http.allowed_hosts.len(), 3);
    assert_eq!(http.inject.len(), 1);
    assert_eq!((kv.max_list, objects.max_object_bytes), (1_000, 4_194_304));
    assert_eq!(grant.secrets, ["API_TOKEN"]);
    assert_eq!(grant.environment, [("REGION".to_owned(), "eu-west".to_owned())]);
}

#[test]
fn missing_means_nothing_or_the_default() {
    let grant = Grant::from_toml("version = 1").unwrap();
    assert_eq!(grant, Grant::default());
    let grant = Grant::from_toml("version = 1\n[http]\nallowed_hosts = [\"API.example.com\"]").unwrap();
    let http = grant.http.unwrap();
    assert_eq!(
        (http.allowed_hosts, http.allow_insecure, http.methods),
        (vec!["api.example.com".to_string()], false, None)
    );
    assert_eq!(http.timeout_ms, HttpGrant::default().timeout_ms);
}

#[test]
fn syntax_errors_name_the_line_and_column() {
    let error = Grant::from_toml("version = 1\n[kv]\nmax_value = 5\n").unwrap_err();
    assert_eq!(
        error,
        GrantFileError::Syntax { message: "unknown field `max_value`, expected one of `max_key_bytes`, `max_value_bytes`, `max_list`, `max_ops_per_call`".into(), line: 3, column: 1 }
    );
    let error = Grant::from_toml("version = 1\n[http]\nallowed_hosts = [\"a\" \"b\"]\n").unwrap_err();
    assert!(matches!(error, GrantFileError::Syntax { line: 3, .. }), "{error}");
    assert!(error.to_string().starts_with("grant file is not valid at line 3, column "), "{error}");
}

#[test]
fn mistakes_are_refused_clearly() {
    let cases = [
        ("", "missing field `version`"),
        ("version = 2", "version 2 is not supported"),
        ("version = 1\n[kv]\nmax_value = 5", "unknown field `max_value`"),
        ("version = 1\n[limits]\nmemory_bytes = 99999999999", "`limits.memory_bytes` = 99999999999 exceeds"),
        ("version = 1\n[limits]\nfuel = 0", "must be above 0"),
        ("version = 1\n[http]\nallowed_hosts = [\"http://x.com\"]", "not a host name"),
        ("version = 1\n[http]\nschemes = [\"ftp\"]", "`ftp` is not https or http"),
        ("version = 1\n[http]\nmethods = [\"BREW\"]", "`BREW` is not one of"),
        ("version = 1\n[secrets]\nnames = [\"../x\"]", "not a secret name"),
        (
            "version = 1\n[http]\n[[http.inject]]\nhost = \"a.com\"\nheader = \"x-key\"\nsecret = \"K\"",
            "must be one of allowed_hosts",
        ),
        (
            "version = 1\n[http]\nallowed_hosts = [\"a.com\"]\n[[http.inject]]\nhost = \"a.com\"\nheader = \"host\"\nsecret = \"K\"",
            "not a header the host can inject",
        ),
    ];
    for (text, expected) in cases {
        let error = Grant::from_toml(text).unwrap_err().to_string();
        assert!(error.contains(expected), "{text:?}: {error}");
    }
}

fn grant_of(toml: &str) -> Grant {
    Grant::from_toml(&format!("version = 1\n{toml}")).unwrap()
}

#[test]
fn every_kind_of_widening_is_reported() {
    let old =
        grant_of("[kv]\nmax_value_bytes = 1000\n[http]\nallowed_hosts = [\"api.example.com\"]\nmethods = [\"GET\"]\n");
    assert!(old.widenings_from(&old).is_empty());
    assert!(Grant::default().widenings_from(&old).is_empty(), "narrowing is not widening");
    let new = grant_of(
        "[kv]\nmax_value_bytes = 2000\n[http]\nallowed_hosts = [\"*.example.com\"]\nmethods = [\"GET\", \"POST\"]\n\
         [objects]\n[secrets]\nnames = [\"TOKEN\"]\n[limits]\nfuel = 900000000\n",
    );
    let changes = new.widenings_from(&old);
    for expected in [
        "kv: max_value_bytes raised from 1000 to 2000",
        "http: host *.example.com added",
        "http: method POST added",
        "objects: granted",
        "secrets: TOKEN added",
    ] {
        assert!(changes.iter().any(|c| c == expected), "{expected} missing from {changes:?}");
    }
    assert!(changes.iter().any(|c| c.starts_with("limits: fuel raised")), "{changes:?}");
}

/// Each field a grant has, raised alone, is a widening that names it
/// (a new field must also be added here; `widenings_from` does not
/// compile without a rule for it).
#[test]
fn raising_any_single_field_is_reported_by_name() {
    let old = grant_of("[kv]\n[objects]\n[tasks]\n[http]\nallowed_hosts = [\"a.test\"]\nmethods = [\"GET\"]\n");
    type Raise = fn(&mut Grant);
    let cases: [(&str, Raise); 25] = [
        ("kv: max_key_bytes", |g| g.kv.as_mut().unwrap().max_key_bytes += 1),
        ("kv: max_value_bytes", |g| g.kv.as_mut().unwrap().max_value_bytes += 1),
        ("kv: max_list", |g| g.kv.as_mut().unwrap().max_list += 1),
        ("kv: max_ops_per_call", |g| g.kv.as_mut().unwrap().max_ops_per_call += 1),
        ("objects: max_key_bytes", |g| g.objects.as_mut().unwrap().max_key_bytes += 1),
        ("objects: max_object_bytes", |g| g.objects.as_mut().unwrap().max_object_bytes += 1),
        ("objects: max_list", |g| g.objects.as_mut().unwrap().max_list += 1),
        ("objects: max_bytes_written_per_call", |g| g.objects.as_mut().unwrap().max_bytes_written_per_call += 1),
        ("http: host", |g| g.http.as_mut().unwrap().allowed_hosts.push("b.test".into())),
        ("http: schemes", |g| g.http.as_mut().unwrap().allow_insecure = true),
        ("http: method", |g| g.http.as_mut().unwrap().methods = Some(vec!["GET", "POST"])),
        ("http: max_request_bytes", |g| g.http.as_mut().unwrap().max_request_bytes += 1),
        ("http: max_response_bytes", |g| g.http.as_mut().unwrap().max_response_bytes += 1),
        ("http: timeout_ms", |g| g.http.as_mut().unwrap().timeout_ms += 1),
        ("http: max_redirects", |g| g.http.as_mut().unwrap().max_redirects += 1),
        ("http: max_requests", |g| g.http.as_mut().unwrap().max_requests += 1),
        ("limits: fuel", |g| g.limits.fuel += 1),
        ("limits: memory_bytes", |g| g.limits.memory_bytes += 1),
        ("limits: output_bytes", |g| g.limits.output_bytes += 1),
        ("limits: host_calls", |g| g.limits.host_calls += 1),
        ("limits: wall_time_ms", |g| g.limits.wall_time_ms += 1),
        ("tasks: fuel", |g| g.tasks.as_mut().unwrap().fuel += 1),
        ("tasks: wall_time_ms", |g| g.tasks.as_mut().unwrap().wall_time_ms += 1),
        ("tasks: ttl_ms", |g| g.tasks.as_mut().unwrap().ttl_ms += 1),
        ("tasks: per_principal", |g| g.tasks.as_mut().unwrap().per_principal += 1),
    ];
    for (field, raise) in cases {
        let mut new = old.clone();
        raise(&mut new);
        let changes = new.widenings_from(&old);
        assert!(changes.len() == 1 && changes[0].starts_with(field), "{field}: {changes:?}");
    }
    let mut new = old.clone();
    new.limits.import_bytes += 1;
    assert_eq!(new.widenings_from(&old).len(), 1, "limits: import_bytes");
    new.secrets.push("KEY".into());
    new.http.as_mut().unwrap().inject.push(Injection {
        host: "a.test".into(),
        header: "authorization".into(),
        secret: "KEY".into(),
        prefix: "Bearer ".into(),
    });
    assert_eq!(new.widenings_from(&old).len(), 3, "secrets and injected headers");
}

#[test]
fn tasks_are_granted_by_their_section_within_ceilings() {
    assert_eq!(grant_of("").tasks, None, "no section, no tasks");
    let tasks = grant_of("[tasks]\n").tasks.unwrap();
    assert_eq!(tasks, crate::policy::TaskLimits::DEFAULT);
    assert_eq!(grant_of("[tasks]\nper_principal = 3\n").tasks.unwrap().per_principal, 3);
    for (section, problem) in [
        ("[tasks]\nfuel = 0\n", "must be above 0"),
        ("[tasks]\nper_principal = 0\n", "must be above 0"),
        ("[tasks]\nwall_time_ms = 3_600_001\n", "exceeds the host's maximum"),
        ("[tasks]\nttl_ms = 1000\nwall_time_ms = 2000\n", "at least tasks.wall_time_ms"),
        ("[tasks]\nforever = true\n", "unknown field"),
    ] {
        let error = Grant::from_toml(&format!("version = 1\n{section}")).unwrap_err().to_string();
        assert!(error.contains(problem), "{section}: {error}");
    }
    let granted = grant_of("[tasks]\n");
    assert_eq!(granted.widenings_from(&grant_of("")), ["tasks: granted"]);
    assert_eq!(granted.to_json()["tasks"]["per_principal"], 16);
}

#[test]
fn dropping_a_method_list_allows_every_method() {
    let old = grant_of("[http]\nallowed_hosts = [\"a.test\"]\nmethods = [\"GET\"]\n");
    let new = grant_of("[http]\nallowed_hosts = [\"a.test\"]\n");
    assert_eq!(new.widenings_from(&old), ["http: every method allowed"]);
}

#[test]
fn imports_must_be_granted() {
    let imports = |names: &[&str]| names.iter().map(|n| format!("smcp:mcp/{n}@0.1.0")).collect::<Vec<_>>();
    let grant = Grant { kv: Some(KvGrant::default()), ..Grant::default() };
    assert!(grant.check_imports(&imports(&["kv", "log", "clock", "random", "notify"])).is_ok());
    let error = grant.check_imports(&imports(&["kv", "http"])).unwrap_err();
    assert_eq!(error.interface, "smcp:mcp/http@0.1.0");
    assert!(
        error.to_string().contains("smcp:mcp/http@0.1.0") && error.to_string().contains("[http] section"),
        "{error}"
    );
    assert!(grant.check_imports(&imports(&["secrets"])).unwrap_err().to_string().contains("[secrets] names"));
}
