//! Name resolution that only ever yields addresses the policy allows.
//!
//! reqwest connects to exactly what its resolver returns, so filtering
//! here closes DNS rebinding: the address checked is the address
//! connected to, with no second lookup in between.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use smcp_core::policy::address::{AddressPolicy, Refused};
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

/// Why a host cannot be connected to: the policy refused every address it
/// has, or it has none.
#[derive(Debug)]
pub(super) enum Unreachable {
    /// Every address refused; the first refusal shows why.
    Refused { host: String, first: Refused },
    /// The lookup failed or found nothing.
    NotFound { host: String, why: String },
}

impl fmt::Display for Unreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unreachable::Refused { host, first } => {
                write!(f, "host {host} resolves only to private addresses ({first})")
            }
            Unreachable::NotFound { host, why } => write!(f, "could not resolve host {host}: {why}"),
        }
    }
}

impl std::error::Error for Unreachable {}

/// Resolves with the system resolver (through tokio) and drops every
/// address `policy` refuses on `port`. reqwest does not tell a resolver
/// the port, so each client is built for one port, or for every port no
/// opening names (`None`).
pub(super) struct CheckedResolver {
    pub policy: Arc<AddressPolicy>,
    pub port: Option<u16>,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let (policy, port, host) = (self.policy.clone(), self.port, name.as_str().to_owned());
        Box::pin(async move {
            let lookup = tokio::net::lookup_host((host.as_str(), 0)).await.map(Iterator::collect::<Vec<_>>);
            let found = match lookup {
                Ok(found) => found,
                Err(e) => return Err(Unreachable::NotFound { host, why: e.to_string() }.into()),
            };
            let (allowed, refused) = filter(&policy, port, found);
            if allowed.is_empty() {
                let error = match refused {
                    Some(first) => Unreachable::Refused { host, first },
                    None => Unreachable::NotFound { host, why: "no addresses".into() },
                };
                return Err(error.into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// The allowed addresses, and the first refusal if any was refused.
fn filter(policy: &AddressPolicy, port: Option<u16>, found: Vec<SocketAddr>) -> (Vec<SocketAddr>, Option<Refused>) {
    let mut first = None;
    let allowed = found
        .into_iter()
        .filter(|addr| match policy.check(addr.ip(), port) {
            Ok(()) => true,
            Err(refused) => {
                first.get_or_insert(refused);
                false
            }
        })
        .collect();
    (allowed, first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(list: &[&str]) -> Vec<SocketAddr> {
        list.iter().map(|a| a.parse().unwrap()).collect()
    }

    #[test]
    fn refused_addresses_are_dropped_from_mixed_answers() {
        let policy = AddressPolicy::public_only();
        let (allowed, first) = filter(&policy, Some(443), addrs(&["10.0.0.1:0", "93.184.215.14:0", "[::1]:0"]));
        assert_eq!(allowed, addrs(&["93.184.215.14:0"]));
        assert_eq!(first.map(|r| r.range), Some("private"));
    }

    #[test]
    fn openings_count_for_the_resolvers_port_only() {
        let policy = AddressPolicy::with_openings(["127.0.0.1:8081".parse().unwrap()]);
        let found = addrs(&["127.0.0.1:0", "[::1]:0"]);
        assert_eq!(filter(&policy, Some(8081), found.clone()).0, addrs(&["127.0.0.1:0"]));
        assert!(filter(&policy, Some(8082), found.clone()).0.is_empty());
        assert!(filter(&policy, None, found).0.is_empty());
    }

    #[test]
    fn localhost_resolves_only_to_refused_addresses() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let resolver = CheckedResolver { policy: Arc::new(AddressPolicy::public_only()), port: None };
        let name: Name = "localhost".parse().unwrap();
        let error = runtime.block_on(resolver.resolve(name)).err().expect("refused");
        let message = error.to_string();
        assert!(message.starts_with("host localhost resolves only to private addresses ("), "{message}");
    }
}
