//! `smcp:mcp/objects`: R2-like object storage under the server's prefix.

use super::storage_keys::{check_key, check_listing};
use super::{CallHost, CapabilityError, args, to_result};
use crate::abi::{AbiError, Val};
use crate::platform::objects::ObjectMeta;

/// An object's metadata as the WIT `object-meta`, its key without `prefix`.
fn meta_val(meta: &ObjectMeta, prefix: &str) -> Val {
    Val::Record(vec![
        Val::string(meta.key.strip_prefix(prefix).unwrap_or_default()),
        Val::U64(meta.size),
        Val::string(&meta.etag),
        Val::from_option(meta.content_type.clone(), Val::String),
        Val::U64(meta.uploaded_ms),
    ])
}

pub(crate) async fn dispatch(host: &mut CallHost<'_>, name: &str, args_in: Vec<Val>) -> Result<Option<Val>, AbiError> {
    let Some(grant) = &host.grant.objects else {
        return Ok(to_result(Err(CapabilityError::Denied("objects is not granted to this server".into()))));
    };
    let store = host.backends.objects;
    let prefix = format!("{}objects/", host.scope.prefix());
    let scoped = |key: &str| -> Result<String, CapabilityError> {
        check_key(key, grant.max_key_bytes)?;
        Ok(format!("{prefix}{key}"))
    };
    let result = match name {
        "get" | "head" | "delete" => {
            let [key] = args(args_in)?;
            match (scoped(&key.into_string()?), name) {
                (Err(e), _) => Err(e),
                (Ok(key), "get") => store.get(&key).await.map(|found| {
                    Some(Val::from_option(found, |(meta, body)| {
                        Val::Record(vec![meta_val(&meta, &prefix), Val::Bytes(body)])
                    }))
                }),
                (Ok(key), "head") => {
                    store.head(&key).await.map(|found| Some(Val::from_option(found, |m| meta_val(&m, &prefix))))
                }
                (Ok(key), _) => store.delete(&key).await.map(|()| None),
            }
        }
        "put" => {
            let [key, body, content_type] = args(args_in)?;
            let body = body.into_bytes()?;
            let content_type = content_type.into_opt_string()?;
            match scoped(&key.into_string()?) {
                Ok(_) if body.len() > grant.max_object_bytes => {
                    Err(CapabilityError::TooLarge(format!("objects are limited to {} bytes", grant.max_object_bytes)))
                }
                Ok(_) if host.object_bytes_written.saturating_add(body.len()) > grant.max_bytes_written_per_call => {
                    Err(CapabilityError::QuotaExceeded(format!(
                        "at most {} bytes written per request",
                        grant.max_bytes_written_per_call
                    )))
                }
                Ok(key) => {
                    host.object_bytes_written += body.len();
                    store.put(&key, body, content_type).await.map(|m| Some(meta_val(&m, &prefix)))
                }
                Err(e) => Err(e),
            }
        }
        "list-objects" => {
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
                let objects = page.objects.iter().map(|m| meta_val(m, &prefix)).collect();
                let cursor = page.cursor.map(|c| c.strip_prefix(&prefix).unwrap_or_default().to_owned());
                Some(Val::Record(vec![Val::List(objects), Val::from_option(cursor, Val::String)]))
            })
        }
        _ => return Err(AbiError::HostMismatch("unknown objects function")),
    };
    Ok(to_result(result))
}
