//! Matching URIs against the simple URI templates servers use for
//! resource templates: literal text with `{name}` variables (RFC 6570
//! level 1). Enough to route reads without a template engine in every guest.

/// The variables of `uri` if it matches `template`, in template order.
///
/// A variable matches one or more characters other than `/`, `?` and `#`,
/// stopping at the next literal text of the template, so `notes://{id}`
/// matches `notes://abc` (id = `abc`) but not `notes://a/b`. Values are
/// returned as written (no percent-decoding). Operators such as `{+path}`
/// or `{?q}` are not supported and never match.
///
/// ```
/// use smcp_guest::match_uri_template;
/// let vars = match_uri_template("calc://fib/{n}", "calc://fib/10").unwrap();
/// assert_eq!(vars, vec![("n".to_string(), "10".to_string())]);
/// assert!(match_uri_template("calc://fib/{n}", "calc://sum/10").is_none());
/// ```
pub fn match_uri_template(template: &str, uri: &str) -> Option<Vec<(String, String)>> {
    let mut vars = Vec::new();
    let mut rest_t = template;
    let mut rest_u = uri;
    loop {
        let Some(open) = rest_t.find('{') else {
            return (rest_t == rest_u).then_some(vars);
        };
        let literal = &rest_t[..open];
        rest_u = rest_u.strip_prefix(literal)?;
        let close = open + rest_t[open..].find('}')?;
        let name = &rest_t[open + 1..close];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        rest_t = &rest_t[close + 1..];
        let next_literal = &rest_t[..rest_t.find('{').unwrap_or(rest_t.len())];
        let value_end = value_end(rest_u, next_literal)?;
        if value_end == 0 {
            return None;
        }
        vars.push((name.to_string(), rest_u[..value_end].to_string()));
        rest_u = &rest_u[value_end..];
    }
}

/// Where a variable's value ends in `uri`: at the first `/`, `?` or `#`, or
/// earlier where `next_literal` starts (or the end when the template ends).
fn value_end(uri: &str, next_literal: &str) -> Option<usize> {
    let stop = uri.find(['/', '?', '#']).unwrap_or(uri.len());
    if next_literal.is_empty() {
        return Some(stop);
    }
    uri.find(next_literal).filter(|&i| i <= stop)
}

#[cfg(test)]
mod tests {
    use super::match_uri_template as m;

    fn vars(pairs: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
        Some(pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect())
    }

    #[test]
    fn literal_templates() {
        assert_eq!(m("calc://about", "calc://about"), vars(&[]));
        assert_eq!(m("calc://about", "calc://about2"), None);
    }

    #[test]
    fn variables() {
        assert_eq!(m("notes://{id}", "notes://abc"), vars(&[("id", "abc")]));
        assert_eq!(m("notes://{id}", "notes://"), None);
        assert_eq!(m("notes://{id}", "notes://a/b"), None);
        assert_eq!(m("x://{a}/{b}.txt", "x://one/two.txt"), vars(&[("a", "one"), ("b", "two")]));
        assert_eq!(m("x://{a}-{b}", "x://1-2"), vars(&[("a", "1"), ("b", "2")]));
        assert_eq!(m("x://{a}/y", "x://1/z"), None);
    }

    #[test]
    fn operators_are_refused() {
        assert_eq!(m("x://{+path}", "x://a"), None);
    }
}
