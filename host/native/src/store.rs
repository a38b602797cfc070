//! What the disk-backed stores share: opening a redb database, running
//! blocking work off the event loop, and turning storage failures into
//! errors a tenant may see (no host paths, no internals).

use smcp_core::platform::CapabilityError;
use std::ops::Bound;
use std::path::Path;

/// Opens (or creates) a redb database. New files use redb's v3 format so a
/// later move to redb 3 reads them as they are.
/// Opens (creating) a redb database whose page cache may grow to
/// `cache_bytes`. redb's own default is 1 GiB, which a busy host (the audit
/// trail grows with every call) fills: resident memory climbs to it.
pub(crate) fn open_db(path: &Path, cache_bytes: usize) -> anyhow::Result<redb::Database> {
    redb::Database::builder()
        .create_with_file_format_v3(true)
        .set_cache_size(cache_bytes)
        .create(path)
        .map_err(|e| anyhow::anyhow!("opening {}: {e}", path.display()))
}

/// A storage failure as the tenant sees it; the detail goes to the log.
pub(crate) fn unavailable(what: &str, err: impl std::fmt::Display) -> CapabilityError {
    tracing::error!(error = %err, "{what} failed");
    CapabilityError::Unavailable(format!("{what} failed"))
}

/// Runs blocking storage work on tokio's blocking pool when there is a
/// runtime, inline otherwise (a test's `block_on`, another executor).
pub(crate) async fn off_thread<T, F>(work: F) -> Result<T, CapabilityError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, CapabilityError> + Send + 'static,
{
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => match handle.spawn_blocking(work).await {
            Ok(result) => result,
            Err(e) => Err(unavailable("storage task", e)),
        },
        Err(_) => work(),
    }
}

/// The range of keys a listing starts at: just after `cursor`, else at
/// `prefix`.
pub(crate) fn start_bound<'a>(prefix: &'a str, cursor: Option<&'a str>) -> (Bound<&'a str>, Bound<&'a str>) {
    match cursor {
        // A cursor before the prefix would list keys outside it; start at
        // whichever comes later.
        Some(c) if c >= prefix => (Bound::Excluded(c), Bound::Unbounded),
        _ => (Bound::Included(prefix), Bound::Unbounded),
    }
}

/// Creates `dir` and its parents, private to this user where that exists.
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Makes a rename or a new file in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
