//! What a new grant allows that the old one did not. Activating a
//! deployment whose grant widens the active one's needs an explicit
//! approval (see `deploy`), so this must never miss a widening: anything
//! it cannot compare counts as wider.

use super::{Grant, HttpGrant, KvGrant, ObjectsGrant};
use crate::policy::Limits;

// Every struct below is taken apart field by field, without `..`: a field
// added to a grant does not compile until it has a rule here.

impl Grant {
    /// Every way `self` allows more than `old`, in words an auditor reads
    /// (`http: host api.example.com added`); empty when it allows nothing
    /// more. Narrowing is not reported.
    pub fn widenings_from(&self, old: &Grant) -> Vec<String> {
        let Grant { kv, objects, http, secrets, limits } = self;
        let mut out = Vec::new();
        match (&old.kv, kv) {
            (_, None) => {}
            (None, Some(_)) => out.push("kv: granted".into()),
            (Some(o), Some(n)) => kv_widenings(&mut out, o, n),
        }
        match (&old.objects, objects) {
            (_, None) => {}
            (None, Some(_)) => out.push("objects: granted".into()),
            (Some(o), Some(n)) => objects_widenings(&mut out, o, n),
        }
        match (&old.http, http) {
            (_, None) => {}
            (None, Some(n)) => {
                out.push("http: granted".into());
                out.extend(n.allowed_hosts.iter().map(|h| format!("http: host {h} added")));
            }
            (Some(o), Some(n)) => out.extend(http_widenings(o, n)),
        }
        for name in secrets.iter().filter(|s| !old.secrets.contains(s)) {
            out.push(format!("secrets: {name} added"));
        }
        limits_widenings(&mut out, &old.limits, limits);
        out
    }
}

fn kv_widenings(out: &mut Vec<String>, o: &KvGrant, n: &KvGrant) {
    let KvGrant { max_key_bytes, max_value_bytes, max_list, max_ops_per_call } = n;
    raised(out, "kv: max_key_bytes", *max_key_bytes as u64, o.max_key_bytes as u64);
    raised(out, "kv: max_value_bytes", *max_value_bytes as u64, o.max_value_bytes as u64);
    raised(out, "kv: max_list", (*max_list).into(), o.max_list.into());
    raised(out, "kv: max_ops_per_call", (*max_ops_per_call).into(), o.max_ops_per_call.into());
}

fn objects_widenings(out: &mut Vec<String>, o: &ObjectsGrant, n: &ObjectsGrant) {
    let ObjectsGrant { max_key_bytes, max_object_bytes, max_list, max_bytes_written_per_call } = n;
    raised(out, "objects: max_key_bytes", *max_key_bytes as u64, o.max_key_bytes as u64);
    raised(out, "objects: max_object_bytes", *max_object_bytes as u64, o.max_object_bytes as u64);
    raised(out, "objects: max_list", (*max_list).into(), o.max_list.into());
    let written = (*max_bytes_written_per_call as u64, o.max_bytes_written_per_call as u64);
    raised(out, "objects: max_bytes_written_per_call", written.0, written.1);
}

fn limits_widenings(out: &mut Vec<String>, o: &Limits, n: &Limits) {
    let Limits { fuel, memory_bytes, output_bytes, import_bytes, host_calls, wall_time_ms } = n;
    raised(out, "limits: fuel", *fuel, o.fuel);
    raised(out, "limits: memory_bytes", *memory_bytes as u64, o.memory_bytes as u64);
    raised(out, "limits: output_bytes", *output_bytes, o.output_bytes);
    raised(out, "limits: import_bytes", *import_bytes, o.import_bytes);
    raised(out, "limits: host_calls", (*host_calls).into(), o.host_calls.into());
    raised(out, "limits: wall_time_ms", *wall_time_ms, o.wall_time_ms);
}

fn raised(out: &mut Vec<String>, what: &str, new: u64, old: u64) {
    if new > old {
        out.push(format!("{what} raised from {old} to {new}"));
    }
}

fn http_widenings(o: &HttpGrant, n: &HttpGrant) -> Vec<String> {
    let HttpGrant {
        allowed_hosts,
        allow_insecure,
        methods,
        max_request_bytes,
        max_response_bytes,
        timeout_ms,
        max_redirects,
        max_requests,
        inject,
    } = n;
    let mut out = Vec::new();
    // A host pattern is new unless the old grant had exactly it: `*.a.com`
    // replacing `api.a.com` is wider even though it covers it.
    for host in allowed_hosts.iter().filter(|h| !o.allowed_hosts.iter().any(|old| old.eq_ignore_ascii_case(h))) {
        out.push(format!("http: host {host} added"));
    }
    if *allow_insecure && !o.allow_insecure {
        out.push("http: schemes now include http".into());
    }
    match (&o.methods, methods) {
        (Some(_), None) => out.push("http: every method allowed".into()),
        (Some(old), Some(new)) => {
            out.extend(new.iter().filter(|m| !old.contains(m)).map(|m| format!("http: method {m} added")))
        }
        _ => {}
    }
    raised(&mut out, "http: max_request_bytes", *max_request_bytes as u64, o.max_request_bytes as u64);
    raised(&mut out, "http: max_response_bytes", *max_response_bytes as u64, o.max_response_bytes as u64);
    raised(&mut out, "http: timeout_ms", (*timeout_ms).into(), o.timeout_ms.into());
    raised(&mut out, "http: max_redirects", (*max_redirects).into(), o.max_redirects.into());
    raised(&mut out, "http: max_requests", (*max_requests).into(), o.max_requests.into());
    for rule in inject.iter().filter(|i| !o.inject.contains(i)) {
        out.push(format!("http: header `{}` from secret `{}` on requests to {}", rule.header, rule.secret, rule.host));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::Grant;

    fn grant(toml: &str) -> Grant {
        Grant::from_toml(&format!("version = 1\n{toml}")).unwrap()
    }

    #[test]
    fn every_kind_of_widening_is_reported() {
        let old =
            grant("[kv]\nmax_value_bytes = 1000\n[http]\nallowed_hosts = [\"api.example.com\"]\nmethods = [\"GET\"]\n");
        assert!(old.widenings_from(&old).is_empty());
        assert!(Grant::default().widenings_from(&old).is_empty(), "narrowing is not widening");
        let new = grant(
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
        let old = grant("[kv]\n[objects]\n[http]\nallowed_hosts = [\"a.test\"]\nmethods = [\"GET\"]\n");
        type Raise = fn(&mut Grant);
        let cases: [(&str, Raise); 21] = [
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
        new.http.as_mut().unwrap().inject.push(super::super::Injection {
            host: "a.test".into(),
            header: "authorization".into(),
            secret: "KEY".into(),
            prefix: "Bearer ".into(),
        });
        assert_eq!(new.widenings_from(&old).len(), 3, "secrets and injected headers");
    }

    #[test]
    fn dropping_a_method_list_allows_every_method() {
        let old = grant("[http]\nallowed_hosts = [\"a.test\"]\nmethods = [\"GET\"]\n");
        let new = grant("[http]\nallowed_hosts = [\"a.test\"]\n");
        assert_eq!(new.widenings_from(&old), ["http: every method allowed"]);
    }
}
