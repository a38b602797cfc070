//! Roles, from least to most allowed.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Lists and reads; calls only tools annotated read-only.
    ReadOnly,
    /// A read-only caller who also activates and rolls back its tenant's
    /// deployments, approving widenings: the second principal that a
    /// tenant with `separate_approver` needs. Uploads nothing, manages
    /// nothing else.
    Approver,
    /// Uses every MCP endpoint of its tenant.
    McpUser,
    /// Manages its tenant (servers, keys, audit) and uses its endpoints.
    Admin,
}

impl Role {
    pub fn parse(name: &str) -> Option<Role> {
        match name {
            "read-only" => Some(Role::ReadOnly),
            "approver" => Some(Role::Approver),
            "mcp-user" => Some(Role::McpUser),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Role::ReadOnly => "read-only",
            Role::Approver => "approver",
            Role::McpUser => "mcp-user",
            Role::Admin => "admin",
        }
    }
}

impl core::fmt::Display for Role {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}
