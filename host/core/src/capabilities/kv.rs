//! `smcp:mcp/kv`: key-value storage under the server's own prefix.

use super::storage_keys::{check_key, check_listing};
use super::{CallHost, CapabilityError, args, to_result};
use crate::abi::{AbiError, Val};

pub(crate) async fn dispatch(host: &mut CallHost<'_>, name: &str, args_in: Vec<Val>) -> Result<Option<Val>, AbiError> {
    let Some(grant) = &host.grant.kv else {
        return Ok(to_result(Err(CapabilityError::Denied("kv is not granted to this server".into()))));
    };
    host.kv_ops = host.kv_ops.saturating_add(1);
    if host.kv_ops > grant.max_ops_per_call {
        let quota = format!("at most {} kv operations per request", grant.max_ops_per_call);
        return Ok(to_result(Err(CapabilityError::QuotaExceeded(quota))));
    }
    let store = host.backends.kv;
    let prefix = format!("{}kv/", host.scope.prefix());
    let scoped = |key: &str| -> Result<String, CapabilityError> {
        check_key(key, grant.max_key_bytes)?;
        Ok(format!("{prefix}{key}"))
    };
    let result = match name {
        "get" => {
            let [key] = args(args_in)?;
            match scoped(&key.into_string()?) {
                Ok(key) => store.get(&key).await.map(|v| Some(Val::from_option(v, Val::Bytes))),
                Err(e) => Err(e),
            }
        }
        "set" => {
            let [key, value, ttl] = args(args_in)?;
            let value = value.into_bytes()?;
            let ttl = ttl.into_option()?.map(|t| t.as_u32()).transpose()?;
            match scoped(&key.into_string()?) {
                Ok(_) if value.len() > grant.max_value_bytes => {
                    Err(CapabilityError::TooLarge(format!("values are limited to {} bytes", grant.max_value_bytes)))
                }
                Ok(key) => store.set(&key, value, ttl).await.map(|()| None),
                Err(e) => Err(e),
            }
        }
        "delete" => {
            let [key] = args(args_in)?;
            match scoped(&key.into_string()?) {
                Ok(key) => store.delete(&key).await.map(|()| None),
                Err(e) => Err(e),
            }
        }
        "list-keys" => {
            let [list_prefix, cursor, limit] = args(args_in)?;
            let list_prefix = list_prefix.into_string()?;
            let cursor = cursor.into_opt_string()?;
            let limit = limit.as_u32()?.clamp(1, grant.max_list);
            if let Err(e) = check_listing(&list_prefix, cursor.as_deref(), grant.max_key_bytes) {
                return Ok(to_result(Err(e)));
            }
            let full_prefix = format!("{prefix}{list_prefix}");
            let cursor = cursor.map(|c| format!("{prefix}{c}"));
            store.list(&full_prefix, cursor.as_deref(), limit).await.map(|page| {
                let strip = |k: String| k.strip_prefix(&prefix).map(str::to_owned).unwrap_or_default();
                let keys = page.keys.into_iter().map(strip).map(Val::String).collect();
                let cursor = page.cursor.map(strip);
                Some(Val::Record(vec![Val::List(keys), Val::from_option(cursor, Val::String)]))
            })
        }
        _ => return Err(AbiError::HostMismatch("unknown kv function")),
    };
    Ok(to_result(result))
}
