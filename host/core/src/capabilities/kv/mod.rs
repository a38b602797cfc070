//! `smcp:mcp/kv`: key-value storage under the server's own prefix, within
//! the grant's `[kv]` section and a per-call operation budget.

pub mod grant;
#[cfg(test)]
mod tests;

use super::bindings::kv::{Host, KeyPage};
use super::storage_keys::{Listing, check_key};
use super::{CallHost, CapabilityError};
use grant::KvGrant;

/// kv operations spent in the current call.
#[derive(Default)]
pub(super) struct Budget {
    ops: u32,
}

impl<'a> CallHost<'a> {
    /// The kv grant, with one operation spent from the call's budget.
    fn kv_operation(&mut self) -> Result<&'a KvGrant, CapabilityError> {
        let grant =
            self.grant.kv.as_ref().ok_or_else(|| CapabilityError::Denied("kv is not granted to this server".into()))?;
        self.spent.kv.ops = self.spent.kv.ops.saturating_add(1);
        if self.spent.kv.ops > grant.max_ops_per_call {
            let quota = format!(
                "at most {} kv operations per request (the grant's [kv] max_ops_per_call)",
                grant.max_ops_per_call
            );
            return Err(CapabilityError::QuotaExceeded(quota));
        }
        Ok(grant)
    }

    /// The key as stored: checked, under the server's kv prefix.
    fn kv_key(&self, key: &str, grant: &KvGrant) -> Result<String, CapabilityError> {
        check_key(key, grant.max_key_bytes)?;
        Ok(format!("{}{key}", self.kv_prefix()))
    }

    fn kv_prefix(&self) -> String {
        format!("{}kv/", self.scope.prefix())
    }

    /// Every key checked and counted, and every value checked, before any
    /// is written: a batch over the budget or the limits writes nothing.
    pub(in crate::capabilities) async fn kv_set_many(
        &mut self,
        entries: Vec<(String, Vec<u8>)>,
    ) -> Result<(), CapabilityError> {
        let mut stored = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            let grant = self.kv_operation()?;
            if value.len() > grant.max_value_bytes {
                return Err(CapabilityError::TooLarge(format!(
                    "values are limited to {} bytes",
                    grant.max_value_bytes
                )));
            }
            stored.push((self.kv_key(&key, grant)?, value));
        }
        for (key, value) in stored {
            self.backends.kv.set(&key, value, None).await?;
        }
        Ok(())
    }

    /// Like [`Self::kv_set_many`], deleting.
    pub(in crate::capabilities) async fn kv_delete_many(&mut self, keys: Vec<String>) -> Result<(), CapabilityError> {
        let mut stored = Vec::with_capacity(keys.len());
        for key in &keys {
            let grant = self.kv_operation()?;
            stored.push(self.kv_key(key, grant)?);
        }
        for key in &stored {
            self.backends.kv.delete(key).await?;
        }
        Ok(())
    }
}

impl Host for CallHost<'_> {
    async fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, CapabilityError> {
        let grant = self.kv_operation()?;
        let key = self.kv_key(&key, grant)?;
        self.backends.kv.get(&key).await
    }

    async fn get_many(&mut self, keys: Vec<String>) -> Result<Vec<Option<Vec<u8>>>, CapabilityError> {
        // Every key is checked and counted before any is read: a batch over
        // the budget reads nothing.
        let mut stored = Vec::with_capacity(keys.len());
        for key in &keys {
            let grant = self.kv_operation()?;
            stored.push(self.kv_key(key, grant)?);
        }
        let mut values = Vec::with_capacity(stored.len());
        for key in &stored {
            values.push(self.backends.kv.get(key).await?);
        }
        Ok(values)
    }

    async fn set(&mut self, key: String, value: Vec<u8>, ttl_seconds: Option<u32>) -> Result<(), CapabilityError> {
        let grant = self.kv_operation()?;
        let key = self.kv_key(&key, grant)?;
        if value.len() > grant.max_value_bytes {
            return Err(CapabilityError::TooLarge(format!("values are limited to {} bytes", grant.max_value_bytes)));
        }
        self.backends.kv.set(&key, value, ttl_seconds).await
    }

    async fn delete(&mut self, key: String) -> Result<(), CapabilityError> {
        let grant = self.kv_operation()?;
        let key = self.kv_key(&key, grant)?;
        self.backends.kv.delete(&key).await
    }

    async fn list_keys(
        &mut self,
        prefix: String,
        cursor: Option<String>,
        limit: u32,
    ) -> Result<KeyPage, CapabilityError> {
        let grant = self.kv_operation()?;
        let own = self.kv_prefix();
        let listing = Listing::new(&own, &prefix, cursor.as_deref(), grant.max_key_bytes)?;
        let limit = limit.clamp(1, grant.max_list);
        let page = self.backends.kv.list(&listing.prefix, listing.cursor.as_deref(), limit).await?;
        let keys = page.keys.iter().map(|k| listing.guest_key(k)).collect();
        Ok(KeyPage { keys, cursor: page.cursor.map(|c| listing.guest_key(&c)) })
    }
}
