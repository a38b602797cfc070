//! The `[environment]` section of a grant: the variables
//! `wasi:cli/environment` shows the component, by name and value, and
//! nothing else (no arguments, no working directory). Values are written in
//! the grant, so an auditor reads them with it; secrets belong in
//! `[secrets]`, whose values never leave the host.

use std::collections::BTreeMap;

use crate::policy::section::GrantFileError;

/// At most this many variables.
pub const MAX_VARIABLES: usize = 64;
/// The longest name, in bytes.
pub const MAX_NAME_BYTES: usize = 128;
/// The longest value, in bytes.
pub const MAX_VALUE_BYTES: usize = 4096;

/// The section as written: names to values, sorted by name.
pub type EnvironmentSection = BTreeMap<String, String>;

const FIELD: &str = "environment";

/// The variables, each checked: a name of letters, digits and `_` not
/// starting with a digit, a value without NUL (a C program could not read
/// past it), both within their lengths.
pub fn grant(section: EnvironmentSection) -> Result<Vec<(String, String)>, GrantFileError> {
    if section.len() > MAX_VARIABLES {
        return Err(GrantFileError::AboveCeiling {
            field: FIELD,
            value: section.len() as u64,
            max: MAX_VARIABLES as u64,
        });
    }
    for (name, value) in &section {
        if !is_variable_name(name) {
            return Err(GrantFileError::Invalid {
                field: FIELD,
                why: format!(
                    "`{}` is not a variable name (1 to {MAX_NAME_BYTES} letters, digits and `_`, not starting with a digit)",
                    name.escape_debug()
                ),
            });
        }
        if value.len() > MAX_VALUE_BYTES || value.contains('\0') {
            return Err(GrantFileError::Invalid {
                field: FIELD,
                why: format!("the value of `{name}` is over {MAX_VALUE_BYTES} bytes or holds a NUL"),
            });
        }
    }
    Ok(section.into_iter().collect())
}

fn is_variable_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (1..=MAX_NAME_BYTES).contains(&bytes.len())
        && !bytes[0].is_ascii_digit()
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

/// Adds to `out` every variable `vars` sets that `old` did not, or sets to
/// another value: it changes what the component does without a new build,
/// so it is approved like any other widening.
pub fn widenings_from(vars: &[(String, String)], old: &[(String, String)], out: &mut Vec<String>) {
    for (name, value) in vars {
        match old.iter().find(|(n, _)| n == name) {
            None => out.push(format!("environment: {name} added")),
            Some((_, was)) if was != value => out.push(format!("environment: {name} changed")),
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(pairs: &[(&str, &str)]) -> EnvironmentSection {
        pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
    }

    #[test]
    fn names_and_values_are_checked() {
        assert_eq!(
            grant(section(&[("B", "2"), ("A_1", "x")])).unwrap(),
            [("A_1".into(), "x".into()), ("B".into(), "2".into())]
        );
        for bad in ["", "1A", "A-B", "A B", "Ä", &"A".repeat(MAX_NAME_BYTES + 1)] {
            assert!(grant(section(&[(bad, "v")])).is_err(), "{bad:?}");
        }
        assert!(grant(section(&[("A", "a\0b")])).is_err());
        assert!(grant(section(&[("A", &"v".repeat(MAX_VALUE_BYTES + 1))])).is_err());
        let many: EnvironmentSection = (0..=MAX_VARIABLES).map(|i| (format!("V{i}"), String::new())).collect();
        assert!(matches!(grant(many), Err(GrantFileError::AboveCeiling { .. })));
    }

    #[test]
    fn an_added_or_changed_variable_widens() {
        let old = grant(section(&[("A", "1"), ("B", "2")])).unwrap();
        let new = grant(section(&[("A", "1"), ("B", "3"), ("C", "")])).unwrap();
        let mut out = Vec::new();
        widenings_from(&new, &old, &mut out);
        assert_eq!(out, ["environment: B changed", "environment: C added"]);
        out.clear();
        widenings_from(&old[..1], &old, &mut out);
        assert!(out.is_empty(), "removing narrows");
    }
}
