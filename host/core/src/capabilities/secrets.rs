//! `smcp:mcp/secrets`: the secrets the grant names, read from the platform's
//! encrypted store.

use super::{CallHost, CapabilityError, args, to_result};
use crate::abi::{AbiError, Val};

pub(crate) async fn dispatch(host: &mut CallHost<'_>, name: &str, args_in: Vec<Val>) -> Result<Option<Val>, AbiError> {
    let scope = host.scope;
    match name {
        "get" => {
            let [secret] = args(args_in)?;
            let secret = secret.into_string()?;
            let result = if host.grant.secrets.contains(&secret) {
                host.backends.secrets.get(&scope.tenant, &scope.server, &secret).await
            } else {
                Err(CapabilityError::Denied(format!("secret `{secret}` is not granted to this server")))
            };
            Ok(to_result(result.map(|v| Some(Val::from_option(v, Val::String)))))
        }
        _ => Err(AbiError::HostMismatch("unknown capability function")),
    }
}
