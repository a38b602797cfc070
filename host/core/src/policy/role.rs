//! Roles, from least to most allowed.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Lists and reads; calls only tools annotated read-only.
    ReadOnly,
    /// Uses every MCP endpoint of its tenant.
    McpUser,
    /// Manages its tenant (servers, keys, audit) and uses its endpoints.
    Admin,
}

impl Role {
    pub fn parse(name: &str) -> Option<Role> {
        match name {
            "read-only" => Some(Role::ReadOnly),
            "mcp-user" => Some(Role::McpUser),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Role::ReadOnly => "read-only",
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
