//! The WIT form of a port's error.

use crate::abi::Val;
use crate::platform::CapabilityError;

/// The WIT `capability-error` of `error`.
pub(crate) fn error_val(error: &CapabilityError) -> Val {
    let (case, message) = match error {
        CapabilityError::Denied(m) => (0, m),
        CapabilityError::QuotaExceeded(m) => (1, m),
        CapabilityError::InvalidInput(m) => (2, m),
        CapabilityError::TooLarge(m) => (3, m),
        CapabilityError::Unavailable(m) => (4, m),
    };
    Val::Variant(case, Some(Box::new(Val::string(message.clone()))))
}
