//! Secrets the operator set for this server (read-only). The host audits
//! which names are read, never the values.

use crate::bindings::smcp::mcp::secrets as host;
use crate::error::CapabilityError;

/// The secret called `name`, or `None` when it is not set.
pub fn get(name: &str) -> Result<Option<String>, CapabilityError> {
    Ok(host::get(name)?)
}
