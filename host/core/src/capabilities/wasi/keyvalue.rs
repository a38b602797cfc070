//! `wasi:keyvalue/store` and `batch` (the `0.2.0-draft` and `0.2.0-draft2`
//! drafts), served by the kv capability: the same grant (`[kv]`), the same
//! key and value limits, the same per-call operation budget and the same
//! storage under the server's own prefix, so a note a wasi:keyvalue guest
//! writes is the note its `smcp:mcp/kv` twin reads.
//!
//! A server has one store: `open` answers for `""` (wasmtime's name for
//! the default) and `"default"` (Spin's); any other name is
//! `no-such-store`. A bucket holds no state of its own, so every handle to
//! it is the same representation and dropping one frees nothing.

use super::super::CallHost;
use super::super::bindings::kv::Host as _;
use crate::abi::Val;
use crate::capabilities::CapabilityError;
use crate::runtime::CallError;

/// The representation of every bucket handle.
const BUCKET: u32 = 1;

/// `error` cases.
const NO_SUCH_STORE: u32 = 0;
const ACCESS_DENIED: u32 = 1;
const OTHER: u32 = 2;

/// The most list cursors one call keeps for `0.2.0-draft`, whose cursors
/// are numbers: each stands for the kv capability's own (a key), in a
/// table that lives as long as the call.
const MAX_CURSORS: usize = 256;

/// wasi:keyvalue state of one call: the cursors `0.2.0-draft` handed out.
#[derive(Default)]
pub(in crate::capabilities) struct State {
    cursors: Vec<String>,
}

fn store_error(error: &CapabilityError) -> Val {
    match error {
        CapabilityError::Denied(_) => Val::Variant(ACCESS_DENIED, None),
        other => Val::Variant(OTHER, Some(Box::new(Val::String(other.to_string())))),
    }
}

fn shape() -> CallError {
    CallError::Internal("wasi:keyvalue: arguments of an unexpected shape".into())
}

fn string(v: &Val) -> Result<String, CallError> {
    match v {
        Val::String(s) => Ok(s.clone()),
        _ => Err(shape()),
    }
}

fn bytes(v: &Val) -> Result<Vec<u8>, CallError> {
    match v {
        Val::Bytes(b) => Ok(b.clone()),
        Val::List(items) => items.iter().map(|i| if let Val::U8(b) = i { Ok(*b) } else { Err(shape()) }).collect(),
        _ => Err(shape()),
    }
}

fn strings(v: Option<&Val>) -> Result<Vec<String>, CallError> {
    match v {
        Some(Val::List(items)) => items.iter().map(string).collect(),
        _ => Err(shape()),
    }
}

fn some_bytes(value: Option<Vec<u8>>) -> Val {
    value.map_or_else(Val::none, |b| Val::some(Val::Bytes(b)))
}

impl CallHost<'_> {
    /// Serves function `name` of `wasi:keyvalue/store` or `batch` at
    /// `version`: a `result` with the store's `error` on failure.
    pub(super) async fn wasi_keyvalue(&mut self, version: &str, name: &str, args: Vec<Val>) -> Result<Val, CallError> {
        if name == "open" {
            let identifier = string(args.first().ok_or_else(shape)?)?;
            return Ok(match identifier.as_str() {
                _ if self.grant.kv.is_none() => Val::err(Some(Val::Variant(ACCESS_DENIED, None))),
                "" | "default" => Val::ok(Some(Val::Resource(BUCKET))),
                _ => Val::err(Some(Val::Variant(NO_SUCH_STORE, None))),
            });
        }
        if !matches!(args.first(), Some(Val::Resource(BUCKET))) {
            return Err(CallError::Internal(format!("wasi:keyvalue#{name}: not a bucket")));
        }
        let outcome = self.bucket_call(version, name, &args[1..]).await?;
        Ok(match outcome {
            Ok(value) => Val::ok(value),
            Err(error) => {
                if matches!(error, CapabilityError::Unavailable(_)) {
                    self.note_unavailable(format!("keyvalue.{name}"));
                }
                Val::err(Some(store_error(&error)))
            }
        })
    }

    async fn bucket_call(
        &mut self,
        version: &str,
        name: &str,
        args: &[Val],
    ) -> Result<Result<Option<Val>, CapabilityError>, CallError> {
        let arg = |i: usize| args.get(i).ok_or_else(shape);
        Ok(match name {
            "[method]bucket.get" => self.get(string(arg(0)?)?).await.map(|v| Some(some_bytes(v))),
            "[method]bucket.set" => self.set(string(arg(0)?)?, bytes(arg(1)?)?, None).await.map(|()| None),
            "[method]bucket.delete" => self.delete(string(arg(0)?)?).await.map(|()| None),
            "[method]bucket.exists" => self.get(string(arg(0)?)?).await.map(|v| Some(Val::Bool(v.is_some()))),
            "[method]bucket.list-keys" => {
                let numbered = version == "0.2.0-draft";
                let cursor = match arg(0)? {
                    Val::Variant(1, Some(c)) => Some(match (numbered, c.as_ref()) {
                        (true, Val::U64(n)) => match self.wasi.keyvalue.cursors.get(*n as usize) {
                            Some(key) => key.clone(),
                            None => return Ok(Err(CapabilityError::InvalidInput("not a cursor of this call".into()))),
                        },
                        (false, Val::String(key)) => key.clone(),
                        _ => return Err(shape()),
                    }),
                    _ => None,
                };
                match self.list_keys(String::new(), cursor, u32::MAX).await {
                    Ok(page) => {
                        let next = match page.cursor {
                            Some(key) if numbered => Some(Val::U64(self.keep_cursor(key)?)),
                            Some(key) => Some(Val::String(key)),
                            None => None,
                        };
                        let keys = Val::List(page.keys.into_iter().map(Val::String).collect());
                        Ok(Some(Val::Record(vec![keys, next.map_or_else(Val::none, Val::some)])))
                    }
                    Err(e) => Err(e),
                }
            }
            "get-many" => {
                let keys = strings(args.first())?;
                self.get_many(keys.clone()).await.map(|values| {
                    let found = keys.into_iter().zip(values).map(|(key, value)| match value {
                        Some(value) => Val::some(Val::Record(vec![Val::String(key), Val::Bytes(value)])),
                        None => Val::none(),
                    });
                    Some(Val::List(found.collect()))
                })
            }
            "set-many" => {
                let Some(Val::List(pairs)) = args.first() else { return Err(shape()) };
                let mut entries = Vec::with_capacity(pairs.len());
                for pair in pairs {
                    let Val::Record(pair) = pair else { return Err(shape()) };
                    let [key, value] = pair.as_slice() else { return Err(shape()) };
                    entries.push((string(key)?, bytes(value)?));
                }
                self.kv_set_many(entries).await.map(|()| None)
            }
            "delete-many" => self.kv_delete_many(strings(args.first())?).await.map(|()| None),
            _ => return Err(CallError::Internal(format!("wasi:keyvalue#{name} is not served"))),
        })
    }

    /// A number that stands for kv cursor `key` for the rest of the call.
    fn keep_cursor(&mut self, key: String) -> Result<u64, CallError> {
        let cursors = &mut self.wasi.keyvalue.cursors;
        if cursors.len() >= MAX_CURSORS {
            return Err(CallError::Host(format!("wasi:keyvalue: more than {MAX_CURSORS} list pages in one call")));
        }
        cursors.push(key);
        Ok(cursors.len() as u64 - 1)
    }
}
