//! The [`KvStore`](super::super::kv::KvStore) cases.

use super::listing::{Keys, KvLister, check_cursor_between, check_prefix, expected_under, walk};
use super::{Context, KvTarget, ODD_KEYS, Outcome, all_bytes, expect_bytes, expect_eq, pattern, run_all};

/// Every key-value case, in the order [`run_kv`] runs them.
pub const KV_CASES: [&str; 11] = [
    "missing_keys_read_as_absent",
    "binary_values_round_trip",
    "overwrite_replaces_the_value",
    "delete_removes_and_tolerates_missing_keys",
    "odd_keys_are_plain_keys",
    "list_pages_by_prefix_and_cursor",
    "list_cursor_outside_the_prefix",
    "ttl_expires_values",
    "many_keys_list_completely",
    "insert_new_writes_only_absent_keys",
    "compare_and_swap_writes_only_over_what_was_read",
];

/// Runs every case against `target`; the error names each failed case.
pub async fn run_kv(target: &KvTarget<'_>) -> Outcome {
    run_all(&KV_CASES, |case| Box::pin(run_kv_case(target, case))).await
}

/// Runs one case of [`KV_CASES`] under `<root><case>/`.
pub async fn run_kv_case(target: &KvTarget<'_>, case: &str) -> Outcome {
    let base = format!("{}{case}/", target.root);
    let t = (target, base.as_str());
    match case {
        "missing_keys_read_as_absent" => missing(t).await,
        "binary_values_round_trip" => binary(t).await,
        "overwrite_replaces_the_value" => overwrite(t).await,
        "delete_removes_and_tolerates_missing_keys" => delete(t).await,
        "odd_keys_are_plain_keys" => odd_keys(t).await,
        "list_pages_by_prefix_and_cursor" => list_pages(t).await,
        "list_cursor_outside_the_prefix" => cursor_outside(t).await,
        "ttl_expires_values" => ttl(t).await,
        "many_keys_list_completely" => many_keys(t).await,
        "insert_new_writes_only_absent_keys" => insert_new(t).await,
        "compare_and_swap_writes_only_over_what_was_read" => compare_and_swap(t).await,
        other => Err(format!("no kv case {other:?}")),
    }
}

type T<'t, 'a> = (&'t KvTarget<'a>, &'t str);

async fn get(t: T<'_, '_>, key: &str) -> Result<Option<Vec<u8>>, String> {
    t.0.store.get(key).await.ctx(format_args!("get {key:?}"))
}

async fn set(t: T<'_, '_>, key: &str, value: Vec<u8>, ttl: Option<u32>) -> Outcome {
    t.0.store.set(key, value, ttl).await.ctx(format_args!("set {key:?}"))
}

async fn list(t: T<'_, '_>, prefix: &str, cursor: Option<&str>, limit: u32) -> Result<Keys, String> {
    let what = format!("list({prefix:?}, cursor {cursor:?}, limit {limit})");
    t.0.store.list(prefix, cursor, limit).await.map(|p| (p.keys, p.cursor)).ctx(what)
}

async fn missing(t: T<'_, '_>) -> Outcome {
    let key = format!("{}never-written", t.1);
    expect_eq(get(t, &key).await?, None, "get of a key never written")?;
    let (keys, cursor) = list(t, t.1, None, 1000).await?;
    expect_eq((keys.len(), cursor), (0, None), "list of an empty prefix")
}

async fn binary(t: T<'_, '_>) -> Outcome {
    let values = [
        ("all-bytes", all_bytes()),
        ("empty", Vec::new()),
        ("nul", vec![0]),
        ("invalid-utf8", vec![0xff, 0xfe, 0xc0, 0x80, 0xed, 0xa0, 0x80]),
        ("large", pattern((1 << 20) + 7, 1)),
    ];
    for (name, value) in &values {
        set(t, &format!("{}{name}", t.1), value.clone(), None).await?;
    }
    for (name, value) in &values {
        let got = get(t, &format!("{}{name}", t.1)).await?;
        // An empty value is a value: it must not read back as absent.
        expect_bytes(got.as_deref(), value, format_args!("value {name:?} read back"))?;
    }
    Ok(())
}

async fn overwrite(t: T<'_, '_>) -> Outcome {
    let key = format!("{}k", t.1);
    let steps = [pattern(5000, 2), b"short".to_vec(), Vec::new(), pattern(70_000, 3), b"last".to_vec()];
    for (i, value) in steps.iter().enumerate() {
        set(t, &key, value.clone(), None).await?;
        expect_bytes(get(t, &key).await?.as_deref(), value, format_args!("after write {i}"))?;
    }
    let (keys, _) = list(t, t.1, None, 1000).await?;
    expect_eq(keys, vec![key], "an overwritten key is listed once")
}

async fn delete(t: T<'_, '_>) -> Outcome {
    let (gone, kept) = (format!("{}gone", t.1), format!("{}kept", t.1));
    set(t, &gone, b"x".to_vec(), None).await?;
    set(t, &kept, b"y".to_vec(), None).await?;
    t.0.store.delete(&gone).await.ctx("delete of a stored key")?;
    expect_eq(get(t, &gone).await?, None, "a deleted key")?;
    expect_eq(get(t, &kept).await?, Some(b"y".to_vec()), "a key beside the deleted one")?;
    t.0.store.delete(&gone).await.ctx("delete of an already deleted key")?;
    t.0.store.delete(&format!("{}never", t.1)).await.ctx("delete of a key never written")?;
    let (keys, _) = list(t, t.1, None, 1000).await?;
    expect_eq(keys, vec![kept], "keys listed after a delete")?;
    // A deleted key can be written again.
    set(t, &gone, b"again".to_vec(), None).await?;
    expect_eq(get(t, &gone).await?, Some(b"again".to_vec()), "a key written after its delete")
}

async fn odd_keys(t: T<'_, '_>) -> Outcome {
    let keys: Vec<String> = ODD_KEYS.iter().map(|k| format!("{}{k}", t.1)).collect();
    for key in keys.iter().rev() {
        set(t, key, key.as_bytes().to_vec(), None).await?;
    }
    for key in &keys {
        expect_eq(get(t, key).await?, Some(key.as_bytes().to_vec()), format_args!("value of {key:?}"))?;
    }
    Ok(())
}

/// Keys that are prefixes of each other (`a`, `a/`, `a/b`, `ab`) and sort around
/// each other, listed under each prefix with every limit.
async fn list_pages(t: T<'_, '_>) -> Outcome {
    let stored: Vec<String> = ODD_KEYS.iter().map(|k| format!("{}{k}", t.1)).collect();
    // Written out of order: the listing must sort.
    for key in stored.iter().rev().chain(stored.iter().step_by(2)) {
        set(t, key, b"v".to_vec(), None).await?;
    }
    let lister = KvLister(t.0.store);
    for sub in ["", "a", "a/", "a/b", "a/b/", "ab", "a:", "user:", "ü", "emoji/", "with space/", "none/", "b"] {
        check_prefix(&lister, &format!("{}{sub}", t.1), &stored).await?;
    }
    // Cursors that are not keys resume at the next key.
    for cursor in ["a/a", "a/b/", "a/bb", "a0", "\u{10FFFF}"] {
        check_cursor_between(&lister, &format!("{}a", t.1), &format!("{}{cursor}", t.1), &stored).await?;
    }
    Ok(())
}

/// A cursor sorting before the prefix must not widen the listing, nor
/// stop it at the keys in between that lack the prefix.
async fn cursor_outside(t: T<'_, '_>) -> Outcome {
    let stored: Vec<String> = ["a", "a/", "a/x", "a/y", "ab", "b/z"].iter().map(|k| format!("{}{k}", t.1)).collect();
    for key in &stored {
        set(t, key, b"v".to_vec(), None).await?;
    }
    let lister = KvLister(t.0.store);
    let prefix = format!("{}a/x", t.1);
    for cursor in ["", "a", "a/", "0"] {
        check_cursor_between(&lister, &prefix, &format!("{}{cursor}", t.1), &stored).await?;
    }
    check_cursor_between(&lister, &format!("{}a/", t.1), t.0.root.as_str(), &stored).await?;
    // A cursor after every key of the prefix gives an empty, final page.
    let (keys, cursor) = list(t, &format!("{}a/", t.1), Some(&format!("{}b", t.1)), 10).await?;
    expect_eq((keys, cursor), (vec![], None), "a cursor after the prefix's keys")
}

async fn ttl(t: T<'_, '_>) -> Outcome {
    let key = |name: &str| format!("{}{name}", t.1);
    set(t, &key("short"), b"s".to_vec(), Some(60)).await?;
    set(t, &key("long"), b"l".to_vec(), Some(3600)).await?;
    set(t, &key("forever"), b"f".to_vec(), None).await?;
    set(t, &key("renewed"), b"1".to_vec(), Some(60)).await?;
    set(t, &key("made-permanent"), b"1".to_vec(), Some(60)).await?;
    t.0.time.advance(30_000).await;
    expect_eq(get(t, &key("short")).await?, Some(b"s".to_vec()), "a 60 s value after 30 s")?;
    // Overwriting replaces the expiry with the new write's.
    set(t, &key("renewed"), b"2".to_vec(), Some(3600)).await?;
    set(t, &key("made-permanent"), b"2".to_vec(), None).await?;
    t.0.time.advance(31_000).await;
    expect_eq(get(t, &key("short")).await?, None, "a 60 s value after 61 s")?;
    expect_eq(get(t, &key("long")).await?, Some(b"l".to_vec()), "a 1 h value after 61 s")?;
    expect_eq(get(t, &key("renewed")).await?, Some(b"2".to_vec()), "a value rewritten with a longer TTL")?;
    expect_eq(get(t, &key("made-permanent")).await?, Some(b"2".to_vec()), "a value rewritten without a TTL")?;
    let (keys, _) = list(t, t.1, None, 1000).await?;
    let want: Vec<String> = ["forever", "long", "made-permanent", "renewed"].iter().map(|k| key(k)).collect();
    expect_eq(keys, want, "expired keys are not listed")?;
    // An expired key neither fills a page nor earns a cursor.
    let (keys, cursor) = list(t, &key("s"), None, 1).await?;
    expect_eq((keys, cursor), (vec![], None), "a prefix holding only an expired key")?;
    let (keys, cursor) = list(t, t.1, Some(&key("renewed")), 1).await?;
    expect_eq((keys, cursor), (vec![], None), "after the last live key, only an expired one")?;
    t.0.time.advance(3_600_000).await;
    expect_eq(get(t, &key("forever")).await?, Some(b"f".to_vec()), "a value without a TTL after an hour")?;
    expect_eq(get(t, &key("long")).await?, None, "a 1 h value after an hour")
}

/// `insert_new` writes a key only when it holds nothing, and says which.
async fn insert_new(t: T<'_, '_>) -> Outcome {
    let key = format!("{}claimed", t.1);
    let insert = |value: &'static [u8]| t.0.store.insert_new(&key, value.to_vec(), None);
    expect_eq(insert(b"first").await.ctx("insert_new of an absent key")?, true, "insert_new of an absent key")?;
    expect_eq(insert(b"second").await.ctx("insert_new of a present key")?, false, "insert_new of a present key")?;
    expect_eq(get(t, &key).await?, Some(b"first".to_vec()), "the value after a refused insert_new")?;
    t.0.store.delete(&key).await.ctx("delete")?;
    expect_eq(insert(b"third").await.ctx("insert_new after delete")?, true, "insert_new after delete")?;
    expect_eq(get(t, &key).await?, Some(b"third".to_vec()), "the value after insert_new")
}

/// `compare_and_swap` writes only over the value the caller read (or
/// over nothing), and says which.
async fn compare_and_swap(t: T<'_, '_>) -> Outcome {
    let key = format!("{}record", t.1);
    let swap = |expected: Option<&'static [u8]>, value: &'static [u8]| {
        t.0.store.compare_and_swap(&key, expected, value.to_vec(), None)
    };
    expect_eq(swap(None, b"v1").await.ctx("a swap over nothing")?, true, "a swap over nothing")?;
    expect_eq(swap(None, b"other").await.ctx("a swap expecting nothing")?, false, "a swap expecting nothing")?;
    expect_eq(swap(Some(b"v0"), b"other").await.ctx("a stale swap")?, false, "a swap over a stale value")?;
    expect_eq(get(t, &key).await?, Some(b"v1".to_vec()), "the value after refused swaps")?;
    expect_eq(swap(Some(b"v1"), b"v2").await.ctx("a swap over the value read")?, true, "a swap over the value read")?;
    expect_eq(get(t, &key).await?, Some(b"v2".to_vec()), "the value after a swap")
}

/// More keys than one default page, listed completely by several limits.
async fn many_keys(t: T<'_, '_>) -> Outcome {
    let stored: Vec<String> = (0..250).map(|i| format!("{}item/{:03}", t.1, (i * 37) % 250)).collect();
    for key in &stored {
        set(t, key, key.as_bytes().to_vec(), None).await?;
    }
    let lister = KvLister(t.0.store);
    let prefix = format!("{}item/", t.1);
    let expected = expected_under(&stored, &prefix);
    expect_eq(expected.len(), 250, "distinct keys written")?;
    for limit in [7, 100, 250, 1000] {
        walk(&lister, &prefix, limit, &expected).await?;
    }
    check_prefix(&lister, &format!("{}item/1", t.1), &stored).await
}
