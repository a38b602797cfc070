//! [`RedbKv`]: the key-value capability on an embedded redb database.
// redb's error type is large, but it only travels on the rare failure path.
#![allow(clippy::result_large_err)]

use crate::clock::SharedClock;
use crate::store::{off_thread, open_db, start_bound, unavailable};
use redb::{Database, Durability, ReadableTable, TableDefinition};
use smcp_core::platform::{CapabilityError, LocalFuture};
use smcp_core::platform::{KeyPage, KvStore};
use std::path::Path;
use std::sync::Arc;

type Res<T> = Result<T, CapabilityError>;

/// Key → `[tag][expiry?][value]`: tag 0 for no expiry, 1 followed by the
/// expiry in Unix milliseconds (u64, little-endian).
const ENTRIES: TableDefinition<&str, &[u8]> = TableDefinition::new("kv");

/// Expired entries removed by one `list` at most (the rest wait for later
/// reads).
const MAX_SWEEP: usize = 256;

/// Key-value storage in one redb file. Every write is committed durably
/// before it returns. Entries with a TTL carry their expiry; once past it
/// they read as absent and are removed the next time a read meets them.
/// Clones share the database.
#[derive(Clone)]
pub struct RedbKv {
    db: Arc<Database>,
    clock: SharedClock,
}

impl RedbKv {
    /// Opens or creates the store at `path` (a file).
    pub fn open(path: &Path, clock: SharedClock) -> anyhow::Result<RedbKv> {
        /// The page cache: what the store's hot keys need, far below
        /// redb's 1 GiB default.
        const KV_CACHE_BYTES: usize = 128 << 20;
        let db = open_db(path, KV_CACHE_BYTES)?;
        let txn = db.begin_write()?;
        txn.open_table(ENTRIES)?;
        txn.commit()?;
        Ok(RedbKv { db: Arc::new(db), clock })
    }

    /// Every stored key, expired ones included: what tests check scoping
    /// and sweeping with.
    pub fn raw_keys(&self) -> anyhow::Result<Vec<String>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(ENTRIES)?;
        let mut keys = Vec::new();
        for entry in table.iter()? {
            keys.push(entry?.0.value().to_owned());
        }
        Ok(keys)
    }
}

fn encode(value: &[u8], expiry: Option<u64>) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 9);
    match expiry {
        None => out.push(0),
        Some(at) => {
            out.push(1);
            out.extend_from_slice(&at.to_le_bytes());
        }
    }
    out.extend_from_slice(value);
    out
}

/// The expiry and value of a stored entry; `None` if it is malformed.
fn decode(raw: &[u8]) -> Option<(Option<u64>, &[u8])> {
    match raw.split_first()? {
        (0, value) => Some((None, value)),
        (1, rest) if rest.len() >= 8 => {
            let (at, value) = rest.split_at(8);
            Some((Some(u64::from_le_bytes(at.try_into().ok()?)), value))
        }
        _ => None,
    }
}

/// A stored entry: its expiry and value.
type Entry = (Option<u64>, Vec<u8>);

fn live(expiry: Option<u64>, now: u64) -> bool {
    expiry.is_none_or(|at| at > now)
}

/// Removes those of `keys` that are still expired. Best effort: a failure
/// is logged and the entries stay (they still read as absent).
fn sweep(db: &Database, keys: &[String], now: u64) {
    let result = (|| -> Result<(), redb::Error> {
        let mut txn = db.begin_write()?;
        // Losing a removal in a crash is harmless: the entry is expired.
        txn.set_durability(Durability::Eventual);
        {
            let mut table = txn.open_table(ENTRIES)?;
            for key in keys {
                let expired = match table.get(key.as_str())? {
                    Some(raw) => decode(raw.value()).is_some_and(|(expiry, _)| !live(expiry, now)),
                    None => false,
                };
                if expired {
                    table.remove(key.as_str())?;
                }
            }
        }
        txn.commit()?;
        Ok(())
    })();
    if let Err(e) = result {
        tracing::warn!(error = %e, "removing expired kv entries failed");
    }
}

impl RedbKv {
    fn write<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl_seconds: Option<u32>,
        durability: Durability,
    ) -> LocalFuture<'a, Res<()>> {
        let expiry = ttl_seconds.map(|t| self.clock.now_ms().saturating_add(u64::from(t) * 1000));
        let (db, key) = (self.db.clone(), key.to_owned());
        Box::pin(off_thread(move || {
            let entry = encode(&value, expiry);
            (|| -> Result<(), redb::Error> {
                let mut txn = db.begin_write()?;
                txn.set_durability(durability);
                txn.open_table(ENTRIES)?.insert(key.as_str(), entry.as_slice())?;
                txn.commit()?;
                Ok(())
            })()
            .map_err(|e| unavailable("kv set", e))
        }))
    }
}

impl KvStore for RedbKv {
    /// Read on the caller's thread: a read transaction never waits for a
    /// writer (redb is MVCC) and a hot key is in redb's page cache, so the
    /// hop to the blocking pool would cost more than the read (it did: an
    /// API key lookup per request). Removing an expired entry is a write,
    /// and goes off the thread.
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Res<Option<Vec<u8>>>> {
        Box::pin(async move {
            let now = self.clock.now_ms();
            let found = (|| -> Result<Option<Entry>, redb::Error> {
                let txn = self.db.begin_read()?;
                let table = txn.open_table(ENTRIES)?;
                let Some(raw) = table.get(key)? else { return Ok(None) };
                match decode(raw.value()) {
                    Some((expiry, value)) => Ok(Some((expiry, value.to_vec()))),
                    None => {
                        Err(redb::StorageError::Corrupted(format!("kv entry of {} bytes", raw.value().len())).into())
                    }
                }
            })()
            .map_err(|e| unavailable("kv get", e))?;
            match found {
                Some((expiry, value)) if live(expiry, now) => Ok(Some(value)),
                Some(_) => {
                    let (db, key) = (self.db.clone(), key.to_owned());
                    off_thread(move || {
                        sweep(&db, &[key], now);
                        Ok(())
                    })
                    .await?;
                    Ok(None)
                }
                None => Ok(None),
            }
        })
    }

    fn set<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl_seconds: Option<u32>) -> LocalFuture<'a, Res<()>> {
        self.write(key, value, ttl_seconds, Durability::Immediate)
    }

    /// Committed without waiting for the disk: a crash may lose it (redb
    /// never tears it), the next durable commit makes it durable.
    fn set_relaxed<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl_seconds: Option<u32>) -> LocalFuture<'a, Res<()>> {
        self.write(key, value, ttl_seconds, Durability::Eventual)
    }

    /// The check and the write in one write transaction: redb has one
    /// writer at a time.
    fn insert_new<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl_seconds: Option<u32>) -> LocalFuture<'a, Res<bool>> {
        let now = self.clock.now_ms();
        let expiry = ttl_seconds.map(|t| now.saturating_add(u64::from(t) * 1000));
        let (db, key) = (self.db.clone(), key.to_owned());
        Box::pin(off_thread(move || {
            (|| -> Result<bool, redb::Error> {
                let txn = db.begin_write()?;
                let inserted = {
                    let mut table = txn.open_table(ENTRIES)?;
                    let taken = table
                        .get(key.as_str())?
                        .is_some_and(|raw| decode(raw.value()).is_none_or(|(expiry, _)| live(expiry, now)));
                    if !taken {
                        table.insert(key.as_str(), encode(&value, expiry).as_slice())?;
                    }
                    !taken
                };
                txn.commit()?;
                Ok(inserted)
            })()
            .map_err(|e| unavailable("kv insert", e))
        }))
    }

    /// In one write transaction: redb has one writer at a time.
    fn compare_and_swap<'a>(
        &'a self,
        key: &'a str,
        expected: Option<&'a [u8]>,
        value: Vec<u8>,
        ttl_seconds: Option<u32>,
    ) -> LocalFuture<'a, Res<bool>> {
        let now = self.clock.now_ms();
        let expiry = ttl_seconds.map(|t| now.saturating_add(u64::from(t) * 1000));
        let (db, key, expected) = (self.db.clone(), key.to_owned(), expected.map(<[u8]>::to_vec));
        Box::pin(off_thread(move || {
            (|| -> Result<bool, redb::Error> {
                let txn = db.begin_write()?;
                let swapped = {
                    let mut table = txn.open_table(ENTRIES)?;
                    let current = table.get(key.as_str())?.and_then(|raw| {
                        decode(raw.value()).filter(|(expiry, _)| live(*expiry, now)).map(|(_, value)| value.to_vec())
                    });
                    let matches = current == expected;
                    if matches {
                        table.insert(key.as_str(), encode(&value, expiry).as_slice())?;
                    }
                    matches
                };
                txn.commit()?;
                Ok(swapped)
            })()
            .map_err(|e| unavailable("kv compare-and-swap", e))
        }))
    }

    /// All in one relaxed transaction.
    fn set_many_relaxed(&self, entries: Vec<(String, Vec<u8>)>) -> LocalFuture<'_, Res<()>> {
        let db = self.db.clone();
        Box::pin(off_thread(move || {
            (|| -> Result<(), redb::Error> {
                let mut txn = db.begin_write()?;
                txn.set_durability(Durability::Eventual);
                {
                    let mut table = txn.open_table(ENTRIES)?;
                    for (key, value) in &entries {
                        table.insert(key.as_str(), encode(value, None).as_slice())?;
                    }
                }
                txn.commit()?;
                Ok(())
            })()
            .map_err(|e| unavailable("kv set", e))
        }))
    }

    fn delete<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Res<()>> {
        let (db, key) = (self.db.clone(), key.to_owned());
        Box::pin(off_thread(move || {
            (|| -> Result<(), redb::Error> {
                let txn = db.begin_write()?;
                txn.open_table(ENTRIES)?.remove(key.as_str())?;
                txn.commit()?;
                Ok(())
            })()
            .map_err(|e| unavailable("kv delete", e))
        }))
    }

    fn list<'a>(&'a self, prefix: &'a str, cursor: Option<&'a str>, limit: u32) -> LocalFuture<'a, Res<KeyPage>> {
        let (db, now) = (self.db.clone(), self.clock.now_ms());
        let (prefix, cursor) = (prefix.to_owned(), cursor.map(str::to_owned));
        Box::pin(off_thread(move || {
            let limit = limit as usize;
            let mut keys = Vec::new();
            let mut expired = Vec::new();
            (|| -> Result<(), redb::Error> {
                let txn = db.begin_read()?;
                let table = txn.open_table(ENTRIES)?;
                for entry in table.range::<&str>(start_bound(&prefix, cursor.as_deref()))? {
                    let (key, raw) = entry?;
                    let key = key.value();
                    if !key.starts_with(prefix.as_str()) || keys.len() > limit {
                        break;
                    }
                    match decode(raw.value()) {
                        Some((expiry, _)) if live(expiry, now) => keys.push(key.to_owned()),
                        Some(_) if expired.len() < MAX_SWEEP => expired.push(key.to_owned()),
                        Some(_) => {}
                        None => return Err(redb::StorageError::Corrupted("kv entry".into()).into()),
                    }
                }
                Ok(())
            })()
            .map_err(|e| unavailable("kv list", e))?;
            if !expired.is_empty() {
                sweep(&db, &expired, now);
            }
            let more = keys.len() > limit;
            keys.truncate(limit);
            let cursor = if more { keys.last().cloned() } else { None };
            Ok(KeyPage { keys, cursor })
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;
    use futures::executor::block_on;
    use smcp_core::platform::memory::ManualClock;

    fn open(dir: &TempDir, clock: &Arc<ManualClock>) -> RedbKv {
        RedbKv::open(&dir.path().join("kv.redb"), clock.clone()).unwrap()
    }

    #[test]
    fn set_get_delete() {
        let dir = TempDir::new("kv-basic");
        let clock = Arc::new(ManualClock::new(1_000));
        let kv = open(&dir, &clock);
        assert_eq!(block_on(kv.get("t/a/s/x/kv/k")).unwrap(), None);
        block_on(kv.set("t/a/s/x/kv/k", b"one".to_vec(), None)).unwrap();
        assert_eq!(block_on(kv.get("t/a/s/x/kv/k")).unwrap(), Some(b"one".to_vec()));
        block_on(kv.set("t/a/s/x/kv/k", Vec::new(), None)).unwrap();
        assert_eq!(block_on(kv.get("t/a/s/x/kv/k")).unwrap(), Some(Vec::new()), "empty values are values");
        block_on(kv.delete("t/a/s/x/kv/k")).unwrap();
        assert_eq!(block_on(kv.get("t/a/s/x/kv/k")).unwrap(), None);
        block_on(kv.delete("t/a/s/x/kv/k")).unwrap();
    }

    #[test]
    fn list_pages_in_key_order_within_the_prefix() {
        let dir = TempDir::new("kv-list");
        let clock = Arc::new(ManualClock::new(1_000));
        let kv = open(&dir, &clock);
        for key in ["p/c", "p/a", "p/b", "p/d", "p/e", "o/z", "q/a", "p"] {
            block_on(kv.set(key, key.as_bytes().to_vec(), None)).unwrap();
        }
        let page = block_on(kv.list("p/", None, 2)).unwrap();
        assert_eq!(page.keys, ["p/a", "p/b"]);
        assert_eq!(page.cursor.as_deref(), Some("p/b"));
        let page = block_on(kv.list("p/", page.cursor.as_deref(), 2)).unwrap();
        assert_eq!(page.keys, ["p/c", "p/d"]);
        let page = block_on(kv.list("p/", page.cursor.as_deref(), 2)).unwrap();
        assert_eq!(page.keys, ["p/e"]);
        assert_eq!(page.cursor, None);
        // Exactly `limit` left: no cursor, as with the in-memory store.
        let page = block_on(kv.list("p/", Some("p/c"), 2)).unwrap();
        assert_eq!((page.keys.as_slice(), page.cursor), (&["p/d".to_owned(), "p/e".to_owned()][..], None));
        // A cursor outside the prefix cannot widen the listing.
        assert_eq!(block_on(kv.list("p/", Some("a"), 10)).unwrap().keys.len(), 5);
        assert!(block_on(kv.list("p/", Some("z"), 10)).unwrap().keys.is_empty());
        assert!(block_on(kv.list("none/", None, 10)).unwrap().keys.is_empty());
    }

    #[test]
    fn ttl_expires_and_is_swept_lazily() {
        let dir = TempDir::new("kv-ttl");
        let clock = Arc::new(ManualClock::new(1_000_000));
        let kv = open(&dir, &clock);
        block_on(kv.set("k/short", b"s".to_vec(), Some(10))).unwrap();
        block_on(kv.set("k/long", b"l".to_vec(), Some(100))).unwrap();
        block_on(kv.set("k/zero", b"z".to_vec(), Some(0))).unwrap();
        block_on(kv.set("k/forever", b"f".to_vec(), None)).unwrap();
        assert_eq!(block_on(kv.get("k/zero")).unwrap(), None, "a TTL of 0 is already past");
        clock.advance(9_999);
        assert_eq!(block_on(kv.get("k/short")).unwrap(), Some(b"s".to_vec()));
        clock.advance(1);
        assert_eq!(block_on(kv.get("k/short")).unwrap(), None);
        assert!(!kv.raw_keys().unwrap().contains(&"k/short".to_owned()), "removed when read expired");
        assert_eq!(block_on(kv.list("k/", None, 10)).unwrap().keys, ["k/forever", "k/long"]);
        clock.advance(90_000);
        let page = block_on(kv.list("k/", None, 1)).unwrap();
        assert_eq!((page.keys, page.cursor), (vec!["k/forever".to_owned()], None), "expired keys do not count");
        assert_eq!(kv.raw_keys().unwrap(), ["k/forever"], "list removed what it met expired");
        // Setting again without a TTL makes a key permanent.
        block_on(kv.set("k/x", b"1".to_vec(), Some(1))).unwrap();
        block_on(kv.set("k/x", b"2".to_vec(), None)).unwrap();
        clock.advance(10_000_000);
        assert_eq!(block_on(kv.get("k/x")).unwrap(), Some(b"2".to_vec()));
    }

    #[test]
    fn data_survives_reopening() {
        let dir = TempDir::new("kv-reopen");
        let clock = Arc::new(ManualClock::new(5_000));
        {
            let kv = open(&dir, &clock);
            block_on(kv.set("a", b"1".to_vec(), None)).unwrap();
            block_on(kv.set("b", b"2".to_vec(), Some(60))).unwrap();
        }
        let kv = open(&dir, &clock);
        assert_eq!(block_on(kv.get("a")).unwrap(), Some(b"1".to_vec()));
        assert_eq!(block_on(kv.get("b")).unwrap(), Some(b"2".to_vec()));
        clock.advance(60_000);
        assert_eq!(block_on(kv.get("b")).unwrap(), None, "the expiry is stored with the value");
    }

    #[test]
    fn odd_keys_are_just_keys() {
        let dir = TempDir::new("kv-keys");
        let clock = Arc::new(ManualClock::new(0));
        let kv = open(&dir, &clock);
        for key in ["t/a/s/b/kv/../../../etc/passwd", "t/a/s/b/kv/ünï cödé ✓", "t/a/s/b/kv/\\x00"] {
            block_on(kv.set(key, b"v".to_vec(), None)).unwrap();
            assert_eq!(block_on(kv.get(key)).unwrap(), Some(b"v".to_vec()));
        }
        assert_eq!(block_on(kv.list("t/a/s/b/kv/", None, 10)).unwrap().keys.len(), 3);
    }

    #[test]
    fn works_from_a_tokio_runtime_too() {
        let dir = TempDir::new("kv-tokio");
        let clock = Arc::new(ManualClock::new(0));
        let kv = open(&dir, &clock);
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            kv.set("x", b"y".to_vec(), None).await.unwrap();
            assert_eq!(kv.get("x").await.unwrap(), Some(b"y".to_vec()));
        });
    }
}
