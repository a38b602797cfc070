//! What every section of a grant file is built from: the error a file is
//! refused with, values bounded by the host's ceilings, and the words a
//! widening is reported in. Each section (the call limits here, each
//! capability's in its own unit) uses these, so every grant field reads and
//! compares the same way.

/// Why a grant file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantFileError {
    #[error("grant file is not valid at line {line}, column {column}: {message}")]
    Syntax { message: String, line: usize, column: usize },
    #[error("grant file version {found} is not supported (this host reads version {reads})")]
    Version { found: u32, reads: u32 },
    #[error("grant field `{field}` = {value} exceeds the host's maximum of {max}")]
    AboveCeiling { field: &'static str, value: u64, max: u64 },
    #[error("grant field `{field}`: {why}")]
    Invalid { field: &'static str, why: String },
}

impl GrantFileError {
    /// A syntax error at byte `offset` of `text` (lines and columns from 1).
    pub fn syntax_at(message: impl Into<String>, text: &str, offset: usize) -> GrantFileError {
        let mut end = offset.min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let before = &text[..end];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        GrantFileError::Syntax { message: message.into(), line, column }
    }
}

/// `value`, or `default` when unset, refused above `max`.
pub fn bounded(field: &'static str, value: Option<u64>, default: u64, max: u64) -> Result<u64, GrantFileError> {
    let value = value.unwrap_or(default);
    if value > max {
        return Err(GrantFileError::AboveCeiling { field, value, max });
    }
    Ok(value)
}

/// [`bounded`], as a size in bytes.
pub fn bounded_size(
    field: &'static str,
    value: Option<u64>,
    default: usize,
    max: u64,
) -> Result<usize, GrantFileError> {
    bounded(field, value, default as u64, max).map(|v| usize::try_from(v).unwrap_or(usize::MAX))
}

/// [`bounded`], as a count.
pub fn bounded_count(field: &'static str, value: Option<u64>, default: u32, max: u64) -> Result<u32, GrantFileError> {
    bounded(field, value, u64::from(default), max).map(|v| u32::try_from(v).unwrap_or(u32::MAX))
}

/// Adds `what raised from old to new` to `out` when `new` allows more.
pub fn raised(out: &mut Vec<String>, what: &str, new: impl Into<u64>, old: impl Into<u64>) {
    let (new, old) = (new.into(), old.into());
    if new > old {
        out.push(format!("{what} raised from {old} to {new}"));
    }
}

/// [`raised`], for sizes.
pub fn raised_size(out: &mut Vec<String>, what: &str, new: usize, old: usize) {
    raised(out, what, new as u64, old as u64);
}
