//! Guest keys for `kv` and `objects`. The host puts every key under the
//! server's prefix (`t/{tenant}/s/{server}/kv/`); these checks make sure a
//! key is one plain path below it on every backend, whatever the backend
//! does with separators: no empty parts, no `.` or `..`, no backslashes,
//! no percent-encoded separators or dots, no control characters.

use super::CapabilityError;

fn invalid(why: &str) -> CapabilityError {
    CapabilityError::InvalidInput(why.to_owned())
}

/// Checks what any key or key prefix must satisfy.
fn check_text(text: &str, max: usize) -> Result<(), CapabilityError> {
    if text.len() > max {
        return Err(CapabilityError::InvalidInput(format!("key longer than {max} bytes")));
    }
    if text.chars().any(char::is_control) {
        return Err(invalid("key contains control characters"));
    }
    if text.contains('\\') {
        return Err(invalid("key contains a backslash"));
    }
    if text.starts_with('/') {
        return Err(invalid("key starts with `/`"));
    }
    let lower = text.to_ascii_lowercase();
    if ["%2f", "%5c", "%2e", "%00"].iter().any(|encoded| lower.contains(encoded)) {
        return Err(invalid("key contains a percent-encoded separator or dot"));
    }
    Ok(())
}

/// Checks the parts of a path: none empty, none `.` or `..`.
fn check_parts<'a>(parts: impl Iterator<Item = &'a str>) -> Result<(), CapabilityError> {
    for part in parts {
        match part {
            "" => return Err(invalid("key has an empty part (`//` or a trailing `/`)")),
            "." | ".." => return Err(invalid("key has a `.` or `..` part")),
            _ => {}
        }
    }
    Ok(())
}

/// A whole key: non-empty, at most `max` bytes, a plain relative path.
pub(crate) fn check_key(key: &str, max: usize) -> Result<(), CapabilityError> {
    if key.is_empty() {
        return Err(invalid("empty key"));
    }
    check_text(key, max)?;
    check_parts(key.split('/'))
}

/// A prefix to list under: empty (everything), or the start of a key; its
/// last part may be partial or empty (`notes/`).
pub(crate) fn check_prefix(prefix: &str, max: usize) -> Result<(), CapabilityError> {
    if prefix.is_empty() {
        return Ok(());
    }
    check_text(prefix, max)?;
    let complete = prefix.rsplit_once('/').map(|(complete, _)| complete);
    check_parts(complete.into_iter().flat_map(|c| c.split('/')))
}

/// A listing's prefix and cursor (a key a previous page returned).
fn check_listing(prefix: &str, cursor: Option<&str>, max: usize) -> Result<(), CapabilityError> {
    check_prefix(prefix, max)?;
    cursor.map_or(Ok(()), |c| check_key(c, max))
}

/// A guest's listing under the server's own prefix: checked, with the
/// stored prefix and cursor to ask the backend for.
pub(crate) struct Listing<'a> {
    own: &'a str,
    pub prefix: String,
    pub cursor: Option<String>,
}

impl<'a> Listing<'a> {
    pub fn new(own: &'a str, prefix: &str, cursor: Option<&str>, max: usize) -> Result<Self, CapabilityError> {
        check_listing(prefix, cursor, max)?;
        Ok(Listing { own, prefix: format!("{own}{prefix}"), cursor: cursor.map(|c| format!("{own}{c}")) })
    }

    /// A stored key as the guest names it.
    pub fn guest_key(&self, stored: &str) -> String {
        stored.strip_prefix(self.own).unwrap_or_default().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_keys_pass() {
        for key in ["a", "notes/2024/x.json", "user:42", "a b", "ünïcode/ключ", "x..y", ".hidden", "100%"] {
            assert!(check_key(key, 64).is_ok(), "{key}");
        }
    }

    #[test]
    fn escapes_are_refused() {
        for key in [
            "",
            "..",
            ".",
            "../x",
            "a/../../b",
            "a/./b",
            "/abs",
            "a//b",
            "a/",
            "a\\b",
            "..\\x",
            "a\0b",
            "a\nb",
            "%2e%2e/x",
            "a%2Fb",
            "a%5cb",
            "%00",
            "a/%2E%2E",
        ] {
            assert!(check_key(key, 64).is_err(), "{key:?} must be refused");
        }
        assert!(check_key(&"k".repeat(65), 64).is_err());
    }

    #[test]
    fn prefixes() {
        for prefix in ["", "n", "notes/", "notes/20", "a/b/"] {
            assert!(check_prefix(prefix, 64).is_ok(), "{prefix}");
        }
        for prefix in ["../", "a//", "/a", "a/../b", "..\\", "%2e%2e/"] {
            assert!(check_prefix(prefix, 64).is_err(), "{prefix:?} must be refused");
        }
    }
}
