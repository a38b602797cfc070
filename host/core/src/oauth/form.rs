//! `application/x-www-form-urlencoded` parameters, as OAuth sends them in
//! queries and bodies: each at most once (RFC 6749 §3.1), decoded by the
//! `url` crate.

use super::OAuthError;
use crate::http::Request;

/// A request's parameters, each name once.
#[derive(Debug, Default)]
pub(crate) struct Params(Vec<(String, String)>);

/// More parameters than any OAuth request has; the bound keeps the check
/// for repeats cheap on hostile input.
const MAX_PARAMS: usize = 64;

impl Params {
    pub fn parse(encoded: &[u8]) -> Result<Params, OAuthError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (name, value) in url::form_urlencoded::parse(encoded) {
            if pairs.len() == MAX_PARAMS {
                return Err(OAuthError::invalid_request(format!("more than {MAX_PARAMS} parameters")));
            }
            if pairs.iter().any(|(n, _)| *n == name) {
                return Err(OAuthError::invalid_request(format!("parameter `{name}` is repeated")));
            }
            pairs.push((name.into_owned(), value.into_owned()));
        }
        Ok(Params(pairs))
    }

    pub fn query(request: &Request) -> Result<Params, OAuthError> {
        Params::parse(request.query.as_bytes())
    }

    /// A POST body, which must be form-encoded.
    pub fn body(request: &Request) -> Result<Params, OAuthError> {
        let content_type = request.header("content-type").unwrap_or_default();
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(OAuthError::invalid_request("the body must be application/x-www-form-urlencoded"));
        }
        Params::parse(&request.body)
    }

    /// The value of `name`; an empty value counts as absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }

    /// These parameters with `name` set to `value`.
    pub fn with(mut self, name: &str, value: &str) -> Params {
        self.0.retain(|(n, _)| n != name);
        self.0.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| OAuthError::invalid_request(format!("`{name}` is required")))
    }
}

/// The value of cookie `name` in `request`.
pub(crate) fn cookie<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .headers
        .iter()
        .filter(|(k, _)| k == "cookie")
        .flat_map(|(_, v)| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_decode_once_each() {
        let params = Params::parse(b"a=1&b=x%20y&c=").unwrap();
        assert_eq!(params.get("a"), Some("1"));
        assert_eq!(params.get("b"), Some("x y"));
        assert_eq!(params.get("c"), None);
        assert!(params.require("c").is_err());
        assert!(Params::parse(b"a=1&a=2").unwrap_err().description.contains("repeated"));
    }

    #[test]
    fn a_flood_of_parameters_is_refused_before_it_costs() {
        let many: String = (0..100_000).map(|i| format!("p{i}=x&")).collect();
        assert!(Params::parse(many.as_bytes()).unwrap_err().description.contains("more than 64"));
        let enough: String = (0..64).map(|i| format!("p{i}=x&")).collect();
        assert_eq!(Params::parse(enough.as_bytes()).unwrap().get("p63"), Some("x"));
    }
}
