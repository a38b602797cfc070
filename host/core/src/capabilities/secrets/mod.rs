//! `smcp:mcp/secrets`: the secrets the grant names, read from the platform's
//! encrypted store.

pub mod grant;

use super::bindings::secrets::Host;
use super::{CallHost, CapabilityError};

impl Host for CallHost<'_> {
    async fn get(&mut self, name: String) -> Result<Option<String>, CapabilityError> {
        if !self.grant.secrets.contains(&name) {
            return Err(CapabilityError::Denied(format!("secret `{name}` is not granted to this server")));
        }
        self.backends.secrets.get(&self.scope.tenant, &self.scope.server, &name).await
    }
}
