//! Protocol versions and negotiation.

/// Versions served with `initialize` and sessions, oldest first.
pub const SESSION_VERSIONS: [&str; 3] = ["2025-03-26", "2025-06-18", "2025-11-25"];
/// The stateless revision: `_meta` on every request, no sessions.
pub const STATELESS: &str = "2026-07-28";
/// Every version, newest first (as `server/discover` and -32022 list them).
pub const SUPPORTED: [&str; 4] = ["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"];
/// Assumed for a legacy request without `MCP-Protocol-Version`.
pub const SESSION_DEFAULT: &str = "2025-03-26";

/// The protocol era of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    /// 2025-03-26 … 2025-11-25: `initialize`, then a session.
    Sessions,
    /// 2026-07-28: stateless, `_meta` on every request.
    Stateless,
}

/// The legacy version to answer an `initialize` asking for `requested`:
/// the same when supported, else the latest legacy one. Never echoes an
/// unknown version.
pub fn negotiate_session_version(requested: Option<&str>) -> &'static str {
    SESSION_VERSIONS
        .iter()
        .find(|v| Some(**v) == requested)
        .copied()
        .unwrap_or(SESSION_VERSIONS[SESSION_VERSIONS.len() - 1])
}

pub fn has_sessions(version: &str) -> bool {
    SESSION_VERSIONS.contains(&version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_echoes_known_and_never_unknown() {
        assert_eq!(negotiate_session_version(Some("2025-06-18")), "2025-06-18");
        assert_eq!(negotiate_session_version(Some("2025-03-26")), "2025-03-26");
        assert_eq!(negotiate_session_version(Some("1999-01-01")), "2025-11-25");
        assert_eq!(negotiate_session_version(Some("2026-07-28")), "2025-11-25");
        assert_eq!(negotiate_session_version(None), "2025-11-25");
    }
}
