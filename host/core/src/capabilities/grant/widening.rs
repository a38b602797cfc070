//! What a new grant allows that the old one did not. Activating a
//! deployment whose grant widens the active one's needs an explicit
//! approval (see `deploy`), so this must never miss a widening: anything
//! it cannot compare counts as wider.

use super::{Grant, HttpGrant};

impl Grant {
    /// Every way `self` allows more than `old`, in words an auditor reads
    /// (`http: host api.example.com added`); empty when it allows nothing
    /// more. Narrowing is not reported.
    pub fn widenings_from(&self, old: &Grant) -> Vec<String> {
        let mut out = Vec::new();
        match (&old.kv, &self.kv) {
            (_, None) => {}
            (None, Some(_)) => out.push("kv: granted".into()),
            (Some(o), Some(n)) => {
                raised(&mut out, "kv: max_key_bytes", n.max_key_bytes as u64, o.max_key_bytes as u64);
                raised(&mut out, "kv: max_value_bytes", n.max_value_bytes as u64, o.max_value_bytes as u64);
                raised(&mut out, "kv: max_list", n.max_list.into(), o.max_list.into());
                raised(&mut out, "kv: max_ops_per_call", n.max_ops_per_call.into(), o.max_ops_per_call.into());
            }
        }
        match (&old.objects, &self.objects) {
            (_, None) => {}
            (None, Some(_)) => out.push("objects: granted".into()),
            (Some(o), Some(n)) => {
                raised(&mut out, "objects: max_key_bytes", n.max_key_bytes as u64, o.max_key_bytes as u64);
                raised(&mut out, "objects: max_object_bytes", n.max_object_bytes as u64, o.max_object_bytes as u64);
                raised(&mut out, "objects: max_list", n.max_list.into(), o.max_list.into());
                raised(
                    &mut out,
                    "objects: max_bytes_written_per_call",
                    n.max_bytes_written_per_call as u64,
                    o.max_bytes_written_per_call as u64,
                );
            }
        }
        match (&old.http, &self.http) {
            (_, None) => {}
            (None, Some(n)) => {
                out.push("http: granted".into());
                out.extend(n.allowed_hosts.iter().map(|h| format!("http: host {h} added")));
            }
            (Some(o), Some(n)) => out.extend(http_widenings(o, n)),
        }
        for name in self.secrets.iter().filter(|s| !old.secrets.contains(s)) {
            out.push(format!("secrets: {name} added"));
        }
        let (o, n) = (&old.limits, &self.limits);
        raised(&mut out, "limits: fuel", n.fuel, o.fuel);
        raised(&mut out, "limits: memory_bytes", n.memory_bytes as u64, o.memory_bytes as u64);
        raised(&mut out, "limits: output_bytes", n.output_bytes, o.output_bytes);
        raised(&mut out, "limits: import_bytes", n.import_bytes, o.import_bytes);
        raised(&mut out, "limits: host_calls", n.host_calls.into(), o.host_calls.into());
        raised(&mut out, "limits: wall_time_ms", n.wall_time_ms, o.wall_time_ms);
        out
    }
}

fn raised(out: &mut Vec<String>, what: &str, new: u64, old: u64) {
    if new > old {
        out.push(format!("{what} raised from {old} to {new}"));
    }
}

fn http_widenings(o: &HttpGrant, n: &HttpGrant) -> Vec<String> {
    let mut out = Vec::new();
    // A host pattern is new unless the old grant had exactly it: `*.a.com`
    // replacing `api.a.com` is wider even though it covers it.
    for host in n.allowed_hosts.iter().filter(|h| !o.allowed_hosts.iter().any(|old| old.eq_ignore_ascii_case(h))) {
        out.push(format!("http: host {host} added"));
    }
    if n.allow_insecure && !o.allow_insecure {
        out.push("http: schemes now include http".into());
    }
    match (&o.methods, &n.methods) {
        (Some(_), None) => out.push("http: every method allowed".into()),
        (Some(old), Some(new)) => {
            out.extend(new.iter().filter(|m| !old.contains(m)).map(|m| format!("http: method {m} added")))
        }
        _ => {}
    }
    raised(&mut out, "http: max_request_bytes", n.max_request_bytes as u64, o.max_request_bytes as u64);
    raised(&mut out, "http: max_response_bytes", n.max_response_bytes as u64, o.max_response_bytes as u64);
    raised(&mut out, "http: timeout_ms", n.timeout_ms.into(), o.timeout_ms.into());
    raised(&mut out, "http: max_redirects", n.max_redirects.into(), o.max_redirects.into());
    raised(&mut out, "http: max_requests", n.max_requests.into(), o.max_requests.into());
    for inject in n.inject.iter().filter(|i| !o.inject.contains(i)) {
        out.push(format!(
            "http: header `{}` from secret `{}` on requests to {}",
            inject.header, inject.secret, inject.host
        ));
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

    #[test]
    fn dropping_a_method_list_allows_every_method() {
        let old = grant("[http]\nallowed_hosts = [\"a.test\"]\nmethods = [\"GET\"]\n");
        let new = grant("[http]\nallowed_hosts = [\"a.test\"]\n");
        assert_eq!(new.widenings_from(&old), ["http: every method allowed"]);
    }
}
