use crate::abi::Val;

/// The WIT `capability-error`: safe to show to the tenant, never carrying
/// secrets or host paths.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CapabilityError {
    #[error("denied: {0}")]
    Denied(String),
    #[error("quota exceeded: {0}")]
    QuotaExceeded(String),
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("too large: {0}")]
    TooLarge(String),
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl CapabilityError {
    pub(crate) fn to_val(&self) -> Val {
        let (case, message) = match self {
            CapabilityError::Denied(m) => (0, m),
            CapabilityError::QuotaExceeded(m) => (1, m),
            CapabilityError::InvalidInput(m) => (2, m),
            CapabilityError::TooLarge(m) => (3, m),
            CapabilityError::Unavailable(m) => (4, m),
        };
        Val::Variant(case, Some(Box::new(Val::string(message.clone()))))
    }
}
