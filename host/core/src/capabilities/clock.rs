//! `smcp:mcp/clock`: wall-clock time; also the platform's timer, yield and
//! offloading of the host's own CPU-heavy work.

use super::CallHost;
use crate::abi::{AbiError, Val};

pub(crate) async fn dispatch(host: &mut CallHost<'_>, name: &str, _args: Vec<Val>) -> Result<Option<Val>, AbiError> {
    match name {
        "now-ms" => Ok(Some(Val::U64(host.backends.clock.now_ms()))),
        _ => Err(AbiError::HostMismatch("unknown capability function")),
    }
}
