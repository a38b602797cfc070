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
