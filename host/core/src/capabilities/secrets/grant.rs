//! The `[secrets]` section of a grant: the names of the secrets the server
//! may read (values are set by the operator, never in the grant).

use crate::policy::section::GrantFileError;
use serde::Deserialize;

/// `[secrets]` as a grant file writes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsSection {
    #[serde(default)]
    names: Vec<String>,
}

impl SecretsSection {
    /// The names, each checked.
    pub fn grant(self) -> Result<Vec<String>, GrantFileError> {
        for name in &self.names {
            if !is_secret_name(name) {
                return Err(GrantFileError::Invalid {
                    field: "secrets.names",
                    why: format!("`{name}` is not a secret name"),
                });
            }
        }
        Ok(self.names)
    }
}

/// 1 to 128 letters, digits, `_`, `.` or `-`.
pub fn is_secret_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 128 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

/// Adds to `out` every name `names` has that `old` did not.
pub fn widenings_from(names: &[String], old: &[String], out: &mut Vec<String>) {
    for name in names.iter().filter(|s| !old.contains(s)) {
        out.push(format!("secrets: {name} added"));
    }
}
