//! `smcp:mcp/secrets`: the secrets the grant names, read from the platform's
//! encrypted store.

use super::{CallHost, CapabilityError, LocalFuture, args, to_result};
use crate::abi::{AbiError, Val};

/// The server's secrets, decrypted by the platform. Names are checked
/// against the grant before the store is asked. Guests only read; `put`
/// and `delete` serve the admin API.
pub trait SecretStore {
    fn get<'a>(
        &'a self,
        tenant: &'a str,
        server: &'a str,
        name: &'a str,
    ) -> LocalFuture<'a, Result<Option<String>, CapabilityError>>;

    fn put<'a>(
        &'a self,
        _tenant: &'a str,
        _server: &'a str,
        _name: &'a str,
        _value: &'a str,
    ) -> LocalFuture<'a, Result<(), CapabilityError>> {
        Box::pin(core::future::ready(Err(CapabilityError::Unavailable("this host stores no secrets".into()))))
    }

    fn delete<'a>(
        &'a self,
        _tenant: &'a str,
        _server: &'a str,
        _name: &'a str,
    ) -> LocalFuture<'a, Result<(), CapabilityError>> {
        Box::pin(core::future::ready(Err(CapabilityError::Unavailable("this host stores no secrets".into()))))
    }
}

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
