//! The secret store port: tenants' secrets, decrypted by the platform.

use super::{CapabilityError, LocalFuture};
use crate::names::TenantId;

/// The server's secrets, decrypted by the platform. Names are checked
/// against the grant before the store is asked. Guests only read; `put`
/// and `delete` serve the admin API.
pub trait SecretStore {
    fn get<'a>(
        &'a self,
        tenant: &'a TenantId,
        server: &'a str,
        name: &'a str,
    ) -> LocalFuture<'a, Result<Option<String>, CapabilityError>>;

    fn put<'a>(
        &'a self,
        _tenant: &'a TenantId,
        _server: &'a str,
        _name: &'a str,
        _value: &'a str,
    ) -> LocalFuture<'a, Result<(), CapabilityError>> {
        Box::pin(core::future::ready(Err(CapabilityError::Unavailable("this host stores no secrets".into()))))
    }

    fn delete<'a>(
        &'a self,
        _tenant: &'a TenantId,
        _server: &'a str,
        _name: &'a str,
    ) -> LocalFuture<'a, Result<(), CapabilityError>> {
        Box::pin(core::future::ready(Err(CapabilityError::Unavailable("this host stores no secrets".into()))))
    }
}
