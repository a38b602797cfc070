//! Who is calling: API keys for services, OAuth 2.1 bearer JWTs for
//! people, both ending in a [`Principal`] of one tenant with one [`Role`].
//! Checks are the same on every platform; their state lives in the KV
//! backend.

pub mod api_keys;
pub mod jwt;
pub mod rate;
pub mod tenants;

use crate::names::TenantId;
pub use crate::policy::Role;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub tenant: TenantId,
    /// Stable and safe to log: `key:<key id>` or `jwt:<issuer>#<subject>`.
    pub id: String,
    pub role: Role,
}

/// Why a request was not authenticated. Messages never echo the
/// credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no credentials: send `Authorization: Bearer <key or token>`")]
    Missing,
    #[error("malformed credentials: {0}")]
    Malformed(&'static str),
    #[error("unknown API key")]
    UnknownKey,
    #[error("this API key was revoked")]
    Revoked,
    #[error("this API key has expired")]
    Expired,
    #[error("invalid token: {0}")]
    InvalidToken(String),
    #[error("credentials in the query string are not accepted")]
    InQuery,
    #[error("the token grants no role: none of its scopes is mapped to one")]
    NoRole,
    #[error("these credentials belong to another tenant")]
    OtherTenant,
    #[error("storage: {0}")]
    Storage(String),
}

impl AuthError {
    /// A stable name of the kind of failure, for counting refusals.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::Missing => "missing",
            AuthError::Malformed(_) => "malformed",
            AuthError::UnknownKey => "unknown_key",
            AuthError::Revoked => "revoked",
            AuthError::Expired => "expired",
            AuthError::InvalidToken(_) => "invalid_token",
            AuthError::InQuery => "in_query",
            AuthError::NoRole => "no_role",
            AuthError::OtherTenant => "other_tenant",
            AuthError::Storage(_) => "storage",
        }
    }
}

/// Where the token issuers `tenant` trusts are stored.
pub(crate) fn issuers_path(tenant: &TenantId) -> String {
    format!("auth/tenants/{tenant}/issuers")
}
