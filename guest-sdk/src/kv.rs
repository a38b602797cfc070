//! Key-value storage (needs a `kv` grant). Keys are scoped by the host to
//! the tenant and server; quotas come from the grant.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::bindings::smcp::mcp::kv as host;
use crate::error::CapabilityError;

/// One page of [`list_keys`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyPage {
    pub keys: Vec<String>,
    /// Pass to the next [`list_keys`] call; `None` at the end.
    pub cursor: Option<String>,
}

/// The value at `key`, or `None`.
pub fn get(key: &str) -> Result<Option<Vec<u8>>, CapabilityError> {
    Ok(host::get(key)?)
}

/// The values at `keys`, in order (`None` where absent), in one capability
/// call: each key counts as one operation of the grant's `[kv]`
/// `max_ops_per_call`, but only one of the `[limits] host_calls`.
pub fn get_many<K: AsRef<str>>(keys: &[K]) -> Result<Vec<Option<Vec<u8>>>, CapabilityError> {
    let keys: Vec<String> = keys.iter().map(|k| k.as_ref().to_owned()).collect();
    Ok(host::get_many(&keys)?)
}

/// Stores `value` at `key`.
pub fn set(key: &str, value: &[u8]) -> Result<(), CapabilityError> {
    Ok(host::set(key, value, None)?)
}

/// Stores `value` at `key`, expiring after `ttl_seconds`.
pub fn set_with_ttl(key: &str, value: &[u8], ttl_seconds: u32) -> Result<(), CapabilityError> {
    Ok(host::set(key, value, Some(ttl_seconds))?)
}

/// Removes `key`; removing a missing key succeeds.
pub fn delete(key: &str) -> Result<(), CapabilityError> {
    Ok(host::delete(key)?)
}

/// Keys starting with `prefix`, in order, at most `limit` (the host may cap
/// it), continuing after `cursor`.
pub fn list_keys(prefix: &str, cursor: Option<&str>, limit: u32) -> Result<KeyPage, CapabilityError> {
    let page = host::list_keys(prefix, cursor, limit)?;
    Ok(KeyPage { keys: page.keys, cursor: page.cursor })
}

/// The value at `key` decoded from JSON; [`CapabilityError::Decode`] when
/// it is not valid JSON for `T`.
pub fn get_json<T: DeserializeOwned>(key: &str) -> Result<Option<T>, CapabilityError> {
    get(key)?
        .map(|bytes| {
            serde_json::from_slice(&bytes)
                .map_err(|e| CapabilityError::Decode(format!("value at `{key}` is not the expected JSON: {e}")))
        })
        .transpose()
}

/// Stores `value` at `key` as JSON.
pub fn set_json<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<(), CapabilityError> {
    set(key, &CapabilityError::encode_json(value)?)
}
