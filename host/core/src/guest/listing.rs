//! What a server may list: names MCP clients can show and call, each once,
//! and lists of a bounded size. Checked at upload and at every listing, so
//! that a tool the role check finds is the tool that runs.

use super::types::{OutputError, Tool};
use std::collections::HashSet;

/// Entries one list may have.
pub const MAX_ENTRIES: usize = 1024;
/// Longest tool or prompt name (the specification's tool-name rule).
pub const MAX_NAME: usize = 128;
/// Longest resource URI or template.
pub const MAX_URI: usize = 2048;

/// A tool or prompt name by the specification's rule for tool names: 1 to
/// 128 of `A-Z a-z 0-9 _ - .`.
pub fn valid_name(name: &str) -> bool {
    (1..=MAX_NAME).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

fn problem(what: &'static str, problem: String) -> OutputError {
    OutputError::Listing { what, problem }
}

/// At most a short prefix of `text` a client sent (or a guest returned),
/// escaped, for error messages: an error never echoes a large input.
pub fn excerpt(text: &str) -> String {
    const KEEP: usize = 64;
    let prefix: String = text.chars().take(KEEP).collect();
    let more = if prefix.len() < text.len() { "…" } else { "" };
    format!("{}{more}", prefix.escape_debug())
}

fn quoted(name: &str) -> String {
    format!("`{}`", excerpt(name))
}

pub(crate) fn check_tools(tools: &[Tool]) -> Result<(), OutputError> {
    check_names(tools.iter().map(|t| t.name.as_str()), "tools")
}

pub(crate) fn check_names<'a>(
    names: impl ExactSizeIterator<Item = &'a str>,
    what: &'static str,
) -> Result<(), OutputError> {
    if names.len() > MAX_ENTRIES {
        return Err(problem(what, format!("{} entries, more than {MAX_ENTRIES}", names.len())));
    }
    let mut seen = HashSet::new();
    for name in names {
        if !valid_name(name) {
            return Err(problem(what, format!("the name {} is not 1-{MAX_NAME} of A-Z a-z 0-9 _ - .", quoted(name))));
        }
        if !seen.insert(name) {
            return Err(problem(what, format!("the name {} is listed twice", quoted(name))));
        }
    }
    Ok(())
}

/// Resources and templates: unique URIs without control characters or
/// spaces, names without control characters.
pub(crate) fn check_resources<'a>(
    entries: impl ExactSizeIterator<Item = (&'a str, &'a str)>,
    what: &'static str,
) -> Result<(), OutputError> {
    if entries.len() > MAX_ENTRIES {
        return Err(problem(what, format!("{} entries, more than {MAX_ENTRIES}", entries.len())));
    }
    let mut seen = HashSet::new();
    for (uri, name) in entries {
        if uri.is_empty() || uri.len() > MAX_URI || uri.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(problem(
                what,
                format!("the URI {} is empty, over {MAX_URI} bytes or has spaces or control characters", quoted(uri)),
            ));
        }
        if name.is_empty() || name.len() > MAX_URI || name.chars().any(char::is_control) {
            return Err(problem(
                what,
                format!("the name {} is empty, too long or has control characters", quoted(name)),
            ));
        }
        if !seen.insert(uri) {
            return Err(problem(what, format!("the URI {} is listed twice", quoted(uri))));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_tool_name_rule_and_appear_once() {
        for good in ["add", "get_note", "a.b-c_D9", &"x".repeat(128)] {
            assert!(check_names([good].into_iter(), "tools").is_ok(), "{good}");
        }
        for bad in ["", "../x", "a\r\nb", "a b\0", "a b", "ü", &"x".repeat(129)] {
            assert!(check_names([bad].into_iter(), "tools").is_err(), "{bad:?}");
        }
        let twice = check_names(["add", "sub", "add"].into_iter(), "tools").unwrap_err();
        assert_eq!(
            twice.to_string(),
            "guest listed tools that MCP clients cannot rely on: the name `add` is listed twice"
        );
        let long = check_names([&"\n".repeat(10_000) as &str].into_iter(), "tools").unwrap_err().to_string();
        assert!(long.len() < 300, "errors quote a short prefix of 10,000 bytes: {long}");
    }

    #[test]
    fn resources_have_unique_plain_uris() {
        assert!(
            check_resources([("calc://about", "about"), ("calc://fib/{n}", "fib")].into_iter(), "resources").is_ok()
        );
        assert!(check_resources([("a://x", "x"), ("a://x", "y")].into_iter(), "resources").is_err());
        assert!(check_resources([("a://x y", "x")].into_iter(), "resources").is_err());
        assert!(check_resources([("a://x", "x\n")].into_iter(), "resources").is_err());
    }
}
