//! The listing rules both traits share, checked once for both: only keys
//! with the prefix, in order, after the cursor (exclusive), at most
//! `limit` a page, and a cursor (the page's last key) when more may follow.

use super::super::kv::KvStore;
use super::super::objects::ObjectStore;
use super::super::{CapabilityError, LocalFuture};
use super::{Context, Outcome, expect_eq};

/// A page of keys and the cursor to continue from.
pub(super) type Keys = (Vec<String>, Option<String>);

/// One `list` call, whichever store answers it.
pub(super) trait Lister {
    fn page<'a>(
        &'a self,
        prefix: &'a str,
        cursor: Option<&'a str>,
        limit: u32,
    ) -> LocalFuture<'a, Result<Keys, CapabilityError>>;
}

pub(super) struct KvLister<'a>(pub &'a dyn KvStore);

impl Lister for KvLister<'_> {
    fn page<'a>(
        &'a self,
        prefix: &'a str,
        cursor: Option<&'a str>,
        limit: u32,
    ) -> LocalFuture<'a, Result<Keys, CapabilityError>> {
        Box::pin(async move { self.0.list(prefix, cursor, limit).await.map(|p| (p.keys, p.cursor)) })
    }
}

pub(super) struct ObjectLister<'a>(pub &'a dyn ObjectStore);

impl Lister for ObjectLister<'_> {
    fn page<'a>(
        &'a self,
        prefix: &'a str,
        cursor: Option<&'a str>,
        limit: u32,
    ) -> LocalFuture<'a, Result<Keys, CapabilityError>> {
        Box::pin(async move {
            let page = self.0.list(prefix, cursor, limit).await?;
            Ok((page.objects.into_iter().map(|m| m.key).collect(), page.cursor))
        })
    }
}

/// The keys of `stored` that start with `prefix`, in the order a listing
/// must give them (bytewise, which is `str`'s order).
pub(super) fn expected_under(stored: &[String], prefix: &str) -> Vec<String> {
    let mut keys: Vec<String> = stored.iter().filter(|k| k.starts_with(prefix)).cloned().collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Checks one page against the rules that hold for any page.
fn check_page(page: &Keys, prefix: &str, cursor: Option<&str>, limit: u32, what: &str) -> Outcome {
    let (keys, next) = page;
    if keys.len() > limit as usize {
        return Err(format!("{what}: {} keys for a limit of {limit}", keys.len()));
    }
    if let Some(outside) = keys.iter().find(|k| !k.starts_with(prefix)) {
        return Err(format!("{what}: {outside:?} does not start with the prefix"));
    }
    if let Some(c) = cursor
        && let Some(early) = keys.iter().find(|k| k.as_str() <= c)
    {
        return Err(format!("{what}: {early:?} is not after the cursor {c:?}"));
    }
    if let Some(pair) = keys.windows(2).find(|w| w[0] >= w[1]) {
        return Err(format!("{what}: {:?} before {:?}: keys out of order or repeated", pair[0], pair[1]));
    }
    if let Some(next) = next {
        expect_eq(keys.last(), Some(next), format!("{what}: the cursor must be the page's last key"))?;
    }
    Ok(())
}

/// Pages through `prefix` with `limit` and checks the pages add up to
/// `expected` exactly.
pub(super) async fn walk(lister: &dyn Lister, prefix: &str, limit: u32, expected: &[String]) -> Outcome {
    let mut seen: Vec<String> = Vec::new();
    let mut cursor: Option<String> = None;
    // One page per key at worst, plus an empty one after a full last page.
    for _ in 0..expected.len() + 2 {
        let what = format!("list({prefix:?}, cursor {cursor:?}, limit {limit})");
        let page = lister.page(prefix, cursor.as_deref(), limit).await.ctx(&what)?;
        check_page(&page, prefix, cursor.as_deref(), limit, &what)?;
        let (keys, next) = page;
        let short = keys.len() < limit as usize;
        seen.extend(keys);
        match next {
            None => return expect_eq(seen.as_slice(), expected, format!("keys listed under {prefix:?} by {limit}")),
            Some(_) if short && seen.len() >= expected.len() => {
                return Err(format!("{what}: a short page at the end still carries a cursor"));
            }
            Some(next) => cursor = Some(next),
        }
    }
    Err(format!("list({prefix:?}, limit {limit}) kept returning cursors after {} keys", seen.len()))
}

/// Checks every listing rule for `prefix` over the keys in `stored`.
pub(super) async fn check_prefix(lister: &dyn Lister, prefix: &str, stored: &[String]) -> Outcome {
    let expected = expected_under(stored, prefix);
    let n = expected.len() as u32;
    for limit in [1, 2, 3, n.max(1), n + 1, 1000] {
        walk(lister, prefix, limit, &expected).await?;
    }
    // A cursor at each key resumes just after it.
    for (i, key) in expected.iter().enumerate() {
        let what = format!("list({prefix:?}, cursor {key:?}, limit 1000)");
        let (keys, next) = lister.page(prefix, Some(key), 1000).await.ctx(&what)?;
        expect_eq(keys.as_slice(), &expected[i + 1..], &what)?;
        expect_eq(next, None, format!("{what}: the cursor of a complete page"))?;
    }
    Ok(())
}

/// A cursor that is not itself a key resumes at the next key after it.
pub(super) async fn check_cursor_between(
    lister: &dyn Lister,
    prefix: &str,
    cursor: &str,
    stored: &[String],
) -> Outcome {
    let want: Vec<String> = expected_under(stored, prefix).into_iter().filter(|k| k.as_str() > cursor).collect();
    let what = format!("list({prefix:?}, cursor {cursor:?}, limit 1000)");
    let (keys, _) = lister.page(prefix, Some(cursor), 1000).await.ctx(&what)?;
    expect_eq(keys, want, what)
}
