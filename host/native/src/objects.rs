//! [`FsObjects`]: the objects capability on local disk.
//!
//! Layout under the store's directory:
//! - `meta.redb`: key → metadata and the name of the blob holding the body;
//! - `blobs/<2 hex>/<hex>-<hex>`: bodies, one file per stored version,
//!   named from a hash of the key and a random nonce, never from the key
//!   itself, so no key (`../`, `/`, anything printable) reaches a path;
//! - `tmp/`: bodies being written.
//!
//! A put writes the body to `tmp/`, syncs it, renames it into `blobs/`,
//! syncs the directory, and only then commits the metadata that points at
//! it; the previous version's blob is removed after the commit. A crash at
//! any point leaves either the old object or the new one, plus at worst an
//! unreferenced file, which the next [`FsObjects::open`] removes.
// redb's error type is large, but it only travels on the rare failure path.
#![allow(clippy::result_large_err)]

use crate::clock::SharedClock;
use crate::store::{create_private_dir, off_thread, open_db, start_bound, sync_dir, unavailable};
use redb::{Database, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use smcp_core::platform::objects::{ObjectMeta, ObjectPage, ObjectStore};
use smcp_core::platform::{CapabilityError, LocalFuture};
use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

type Res<T> = Result<T, CapabilityError>;

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("objects");

/// Metadata as stored (JSON): [`ObjectMeta`] without the key, plus the blob.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    size: u64,
    etag: String,
    content_type: Option<String>,
    uploaded_ms: u64,
    blob: String,
}

impl Stored {
    fn meta(&self, key: &str) -> ObjectMeta {
        ObjectMeta {
            key: key.to_owned(),
            size: self.size,
            etag: self.etag.clone(),
            content_type: self.content_type.clone(),
            uploaded_ms: self.uploaded_ms,
        }
    }

    fn decode(raw: &[u8]) -> Result<Stored, redb::Error> {
        serde_json::from_slice(raw).map_err(|e| redb::StorageError::Corrupted(format!("object metadata: {e}")).into())
    }
}

/// Object storage: bodies as files, metadata in redb.
pub struct FsObjects {
    db: Arc<Database>,
    dirs: Arc<Dirs>,
    clock: SharedClock,
}

struct Dirs {
    blobs: PathBuf,
    tmp: PathBuf,
}

impl Dirs {
    /// Blob names are hex and `-` only (see [`blob_name`]); anything else
    /// is refused rather than joined.
    fn blob_path(&self, name: &str) -> Option<PathBuf> {
        let ok = name.len() > 2 && name.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
        ok.then(|| self.blobs.join(&name[..2]).join(name))
    }
}

/// The etag of a body: the first 128 bits of its blake3 hash, in hex.
pub fn etag_of(body: &[u8]) -> String {
    blake3::hash(body).to_hex()[..32].to_owned()
}

/// A fresh blob name for `key`: 128 bits of its hash and a 64-bit nonce.
fn blob_name(key: &str) -> String {
    let mut nonce = [0u8; 8];
    if getrandom::fill(&mut nonce).is_err() {
        // Uniqueness still holds within this process; the OS source
        // failing is not a reason to refuse a write.
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        nonce = (n ^ std::process::id() as u64 ^ crate::clock::unix_ms()).to_le_bytes();
    }
    let nonce: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{nonce}", &blake3::hash(key.as_bytes()).to_hex()[..32])
}

impl FsObjects {
    /// Opens or creates the store in `dir`, removing what crashed writes
    /// left behind.
    pub fn open(dir: &Path, clock: SharedClock) -> anyhow::Result<FsObjects> {
        let dirs = Dirs { blobs: dir.join("blobs"), tmp: dir.join("tmp") };
        create_private_dir(&dirs.blobs)?;
        create_private_dir(&dirs.tmp)?;
        // Object metadata only; the bodies are files.
        let db = open_db(&dir.join("meta.redb"), 32 << 20)?;
        let txn = db.begin_write()?;
        txn.open_table(META)?;
        txn.commit()?;
        let store = FsObjects { db: Arc::new(db), dirs: Arc::new(dirs), clock };
        let removed = store.remove_orphans()?;
        if removed > 0 {
            tracing::info!(removed, "removed files left by interrupted object writes");
        }
        Ok(store)
    }

    /// Removes temporary files and blobs no metadata points at. Only safe
    /// while nothing writes (redb's lock keeps other processes out).
    fn remove_orphans(&self) -> anyhow::Result<usize> {
        let mut removed = 0;
        for entry in std::fs::read_dir(&self.dirs.tmp)? {
            std::fs::remove_file(entry?.path())?;
            removed += 1;
        }
        let mut referenced = HashSet::new();
        {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(META)?;
            for entry in table.iter()? {
                referenced.insert(Stored::decode(entry?.1.value())?.blob);
            }
        }
        for shard in std::fs::read_dir(&self.dirs.blobs)? {
            let shard = shard?;
            if !shard.file_type()?.is_dir() {
                continue;
            }
            for blob in std::fs::read_dir(shard.path())? {
                let blob = blob?;
                if !referenced.contains(blob.file_name().to_string_lossy().as_ref()) {
                    std::fs::remove_file(blob.path())?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    /// Every stored key.
    pub fn raw_keys(&self) -> anyhow::Result<Vec<String>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(META)?;
        let mut keys = Vec::new();
        for entry in table.iter()? {
            keys.push(entry?.0.value().to_owned());
        }
        Ok(keys)
    }

    /// Every blob file on disk, for tests.
    pub fn blob_files(&self) -> anyhow::Result<Vec<PathBuf>> {
        let mut files = Vec::new();
        for shard in std::fs::read_dir(&self.dirs.blobs)? {
            for blob in std::fs::read_dir(shard?.path())? {
                files.push(blob?.path());
            }
        }
        Ok(files)
    }
}

fn read_meta(db: &Database, key: &str) -> Result<Option<Stored>, redb::Error> {
    let txn = db.begin_read()?;
    let table = txn.open_table(META)?;
    let found = table.get(key)?;
    found.map(|raw| Stored::decode(raw.value())).transpose()
}

/// Writes `body` durably at `final_path` through a temporary file.
fn write_blob(dirs: &Dirs, name: &str, final_path: &Path, body: &[u8]) -> std::io::Result<()> {
    let tmp = dirs.tmp.join(format!("{name}.tmp"));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        file.write_all(body)?;
        file.sync_all()?;
        drop(file);
        let shard = final_path.parent().unwrap_or(&dirs.blobs);
        if !shard.is_dir() {
            create_private_dir(shard)?;
            sync_dir(&dirs.blobs)?;
        }
        std::fs::rename(&tmp, final_path)?;
        sync_dir(shard)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn remove_blob(dirs: &Dirs, name: &str) {
    if let Some(path) = dirs.blob_path(name)
        && let Err(e) = std::fs::remove_file(&path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        // Left as an orphan: the next start removes it.
        tracing::warn!(error = %e, blob = name, "removing an old object body failed");
    }
}

impl ObjectStore for FsObjects {
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Res<Option<(ObjectMeta, Vec<u8>)>>> {
        let (db, dirs, key) = (self.db.clone(), self.dirs.clone(), key.to_owned());
        Box::pin(off_thread(move || {
            // A put or delete racing with this read may remove the blob
            // between the metadata and the file: read the metadata again.
            for _ in 0..3 {
                let Some(stored) = read_meta(&db, &key).map_err(|e| unavailable("objects get", e))? else {
                    return Ok(None);
                };
                let path = dirs.blob_path(&stored.blob).ok_or_else(|| unavailable("objects get", "bad blob name"))?;
                match std::fs::read(&path) {
                    Ok(body) if body.len() as u64 == stored.size && etag_of(&body) == stored.etag => {
                        return Ok(Some((stored.meta(&key), body)));
                    }
                    Ok(_) => return Err(unavailable("objects get", format_args!("blob {} is damaged", stored.blob))),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(unavailable("objects get", e)),
                }
            }
            Err(unavailable("objects get", "blob kept disappearing"))
        }))
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        body: Vec<u8>,
        content_type: Option<String>,
    ) -> LocalFuture<'a, Res<ObjectMeta>> {
        let (db, dirs, key, now) = (self.db.clone(), self.dirs.clone(), key.to_owned(), self.clock.now_ms());
        Box::pin(off_thread(move || {
            let blob = blob_name(&key);
            let stored = Stored {
                size: body.len() as u64,
                etag: etag_of(&body),
                content_type,
                uploaded_ms: now,
                blob: blob.clone(),
            };
            let path = dirs.blob_path(&blob).ok_or_else(|| unavailable("objects put", "bad blob name"))?;
            write_blob(&dirs, &blob, &path, &body).map_err(|e| unavailable("objects put", e))?;
            let record = serde_json::to_vec(&stored).map_err(|e| unavailable("objects put", e))?;
            let committed = (|| -> Result<Option<Stored>, redb::Error> {
                let txn = db.begin_write()?;
                let old = {
                    let mut table = txn.open_table(META)?;
                    let old = table.insert(key.as_str(), record.as_slice())?;
                    old.map(|raw| Stored::decode(raw.value())).transpose()
                };
                // Damaged old metadata must not block replacing it.
                let old = old.unwrap_or(None);
                txn.commit()?;
                Ok(old)
            })();
            match committed {
                Ok(old) => {
                    if let Some(old) = old.filter(|old| old.blob != blob) {
                        remove_blob(&dirs, &old.blob);
                    }
                    Ok(stored.meta(&key))
                }
                Err(e) => {
                    remove_blob(&dirs, &blob);
                    Err(unavailable("objects put", e))
                }
            }
        }))
    }

    fn delete<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Res<()>> {
        let (db, dirs, key) = (self.db.clone(), self.dirs.clone(), key.to_owned());
        Box::pin(off_thread(move || {
            let old = (|| -> Result<Option<Stored>, redb::Error> {
                let txn = db.begin_write()?;
                let old = txn.open_table(META)?.remove(key.as_str())?.map(|raw| Stored::decode(raw.value()).ok());
                txn.commit()?;
                Ok(old.flatten())
            })()
            .map_err(|e| unavailable("objects delete", e))?;
            if let Some(old) = old {
                remove_blob(&dirs, &old.blob);
            }
            Ok(())
        }))
    }

    fn head<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Res<Option<ObjectMeta>>> {
        let (db, key) = (self.db.clone(), key.to_owned());
        Box::pin(off_thread(move || {
            let stored = read_meta(&db, &key).map_err(|e| unavailable("objects head", e))?;
            Ok(stored.map(|s| s.meta(&key)))
        }))
    }

    fn list<'a>(&'a self, prefix: &'a str, cursor: Option<&'a str>, limit: u32) -> LocalFuture<'a, Res<ObjectPage>> {
        let db = self.db.clone();
        let (prefix, cursor) = (prefix.to_owned(), cursor.map(str::to_owned));
        Box::pin(off_thread(move || {
            let limit = limit as usize;
            let mut objects = Vec::new();
            (|| -> Result<(), redb::Error> {
                let txn = db.begin_read()?;
                let table = txn.open_table(META)?;
                for entry in table.range::<&str>(start_bound(&prefix, cursor.as_deref()))? {
                    let (key, raw) = entry?;
                    let key = key.value();
                    if !key.starts_with(prefix.as_str()) || objects.len() > limit {
                        break;
                    }
                    objects.push(Stored::decode(raw.value())?.meta(key));
                }
                Ok(())
            })()
            .map_err(|e| unavailable("objects list", e))?;
            let more = objects.len() > limit;
            objects.truncate(limit);
            let cursor = if more { objects.last().map(|m| m.key.clone()) } else { None };
            Ok(ObjectPage { objects, cursor })
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;
    use futures::executor::block_on;
    use smcp_core::platform::memory::ManualClock;

    fn open(dir: &TempDir, clock: &Arc<ManualClock>) -> FsObjects {
        FsObjects::open(&dir.path().join("objects"), clock.clone()).unwrap()
    }

    #[test]
    fn put_get_head_delete() {
        let dir = TempDir::new("obj-basic");
        let clock = Arc::new(ManualClock::new(1_700_000_000_000));
        let store = open(&dir, &clock);
        assert_eq!(block_on(store.get("t/a/s/f/objects/x")).unwrap(), None);
        let meta = block_on(store.put("t/a/s/f/objects/x", b"hello".to_vec(), Some("text/plain".into()))).unwrap();
        assert_eq!(meta.key, "t/a/s/f/objects/x");
        assert_eq!(meta.size, 5);
        assert_eq!(meta.etag, etag_of(b"hello"));
        assert_eq!(meta.content_type.as_deref(), Some("text/plain"));
        assert_eq!(meta.uploaded_ms, 1_700_000_000_000);
        let (got, body) = block_on(store.get("t/a/s/f/objects/x")).unwrap().unwrap();
        assert_eq!((got, body), (meta.clone(), b"hello".to_vec()));
        assert_eq!(block_on(store.head("t/a/s/f/objects/x")).unwrap(), Some(meta));

        clock.advance(1000);
        let meta2 = block_on(store.put("t/a/s/f/objects/x", b"bye".to_vec(), None)).unwrap();
        assert_eq!((meta2.size, meta2.content_type, meta2.uploaded_ms), (3, None, 1_700_000_001_000));
        assert_eq!(block_on(store.get("t/a/s/f/objects/x")).unwrap().unwrap().1, b"bye");
        assert_eq!(store.blob_files().unwrap().len(), 1, "the old body is removed on overwrite");

        block_on(store.put("t/a/s/f/objects/empty", Vec::new(), None)).unwrap();
        assert_eq!(block_on(store.get("t/a/s/f/objects/empty")).unwrap().unwrap().1, b"");

        block_on(store.delete("t/a/s/f/objects/x")).unwrap();
        assert_eq!(block_on(store.get("t/a/s/f/objects/x")).unwrap(), None);
        assert_eq!(block_on(store.head("t/a/s/f/objects/x")).unwrap(), None);
        block_on(store.delete("t/a/s/f/objects/x")).unwrap();
        assert_eq!(store.blob_files().unwrap().len(), 1);
    }

    #[test]
    fn list_pages_in_key_order_within_the_prefix() {
        let dir = TempDir::new("obj-list");
        let clock = Arc::new(ManualClock::new(0));
        let store = open(&dir, &clock);
        for key in ["p/c", "p/a", "p/b", "o/z", "q/a", "p"] {
            block_on(store.put(key, key.as_bytes().to_vec(), None)).unwrap();
        }
        let page = block_on(store.list("p/", None, 2)).unwrap();
        let keys: Vec<_> = page.objects.iter().map(|m| m.key.as_str()).collect();
        assert_eq!(keys, ["p/a", "p/b"]);
        assert_eq!(page.objects[0].size, 3);
        assert_eq!(page.cursor.as_deref(), Some("p/b"));
        let page = block_on(store.list("p/", page.cursor.as_deref(), 2)).unwrap();
        assert_eq!(page.objects.iter().map(|m| m.key.as_str()).collect::<Vec<_>>(), ["p/c"]);
        assert_eq!(page.cursor, None);
        assert!(block_on(store.list("p/", Some("z"), 5)).unwrap().objects.is_empty());
    }

    #[test]
    fn keys_never_become_paths() {
        let dir = TempDir::new("obj-escape");
        let clock = Arc::new(ManualClock::new(0));
        let store = open(&dir, &clock);
        let hostile = [
            "t/a/s/f/objects/../../../../escaped",
            "../../escaped",
            "/tmp/escaped",
            "t/a/s/f/objects/a/../../b",
            "t/a/s/f/objects/..",
            "t/a/s/f/objects/C:\\windows\\escaped",
        ];
        for key in hostile {
            block_on(store.put(key, b"x".to_vec(), None)).unwrap();
            assert_eq!(block_on(store.get(key)).unwrap().unwrap().1, b"x");
        }
        let objects = dir.path().join("objects").canonicalize().unwrap();
        for file in store.blob_files().unwrap() {
            assert!(file.canonicalize().unwrap().starts_with(&objects), "{file:?} is outside {objects:?}");
        }
        assert_eq!(store.blob_files().unwrap().len(), hostile.len());
        // Nothing appeared beside the data directory.
        let beside: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(beside, ["objects"]);
        assert!(!std::path::Path::new("/tmp/escaped").exists());
    }

    #[test]
    fn data_survives_reopening_and_orphans_are_removed() {
        let dir = TempDir::new("obj-reopen");
        let clock = Arc::new(ManualClock::new(42));
        {
            let store = open(&dir, &clock);
            block_on(store.put("k/1", b"one".to_vec(), Some("a/b".into()))).unwrap();
            block_on(store.put("k/2", b"two".to_vec(), None)).unwrap();
        }
        // What a crash mid-put leaves: a temporary file and an unreferenced blob.
        let root = dir.path().join("objects");
        std::fs::write(root.join("tmp").join("partial.tmp"), b"half").unwrap();
        let shard = root.join("blobs").join("ab");
        std::fs::create_dir_all(&shard).unwrap();
        std::fs::write(shard.join("ab00-00"), b"orphan").unwrap();

        let store = open(&dir, &clock);
        let (meta, body) = block_on(store.get("k/1")).unwrap().unwrap();
        assert_eq!((meta.content_type.as_deref(), meta.uploaded_ms, body.as_slice()), (Some("a/b"), 42, &b"one"[..]));
        assert_eq!(block_on(store.get("k/2")).unwrap().unwrap().1, b"two");
        assert_eq!(store.blob_files().unwrap().len(), 2);
        assert_eq!(std::fs::read_dir(root.join("tmp")).unwrap().count(), 0);
        assert_eq!(store.raw_keys().unwrap(), ["k/1", "k/2"]);
    }

    #[test]
    fn a_damaged_body_is_not_served() {
        let dir = TempDir::new("obj-damaged");
        let clock = Arc::new(ManualClock::new(0));
        let store = open(&dir, &clock);
        block_on(store.put("k", b"original".to_vec(), None)).unwrap();
        let blob = store.blob_files().unwrap().pop().unwrap();
        std::fs::write(&blob, b"tampered").unwrap();
        assert!(matches!(block_on(store.get("k")), Err(CapabilityError::Unavailable(_))));
    }
}
