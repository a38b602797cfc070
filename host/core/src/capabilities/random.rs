//! `smcp:mcp/random`: bytes from a cryptographically secure source.

use super::{CallHost, args};
use crate::abi::{AbiError, Val};

/// Most random bytes one call returns.
pub const MAX_RANDOM_BYTES: u32 = 65536;
pub(crate) async fn dispatch(host: &mut CallHost<'_>, name: &str, args_in: Vec<Val>) -> Result<Option<Val>, AbiError> {
    match name {
        "bytes" => {
            let [len] = args(args_in)?;
            let mut buf = vec![0; len.as_u32()?.min(MAX_RANDOM_BYTES) as usize];
            host.backends.random.fill(&mut buf);
            Ok(Some(Val::Bytes(buf)))
        }
        _ => Err(AbiError::HostMismatch("unknown capability function")),
    }
}
