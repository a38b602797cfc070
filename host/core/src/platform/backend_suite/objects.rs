//! The [`ObjectStore`](super::super::objects::ObjectStore) cases.

use super::super::objects::ObjectMeta;
use super::listing::{ObjectLister, check_cursor_between, check_prefix, expected_under, walk};
use super::{Context, ODD_KEYS, ObjectTarget, Outcome, all_bytes, expect_bytes, expect_eq, pattern, run_all};

/// Every object case, in the order [`run_objects`] runs them.
pub const OBJECT_CASES: [&str; 10] = [
    "missing_objects_read_as_absent",
    "put_get_head_agree",
    "binary_bodies_round_trip",
    "etag_follows_the_body",
    "content_type_is_kept_as_given",
    "overwrite_replaces_body_and_metadata",
    "delete_removes_and_tolerates_missing_keys",
    "odd_keys_are_plain_keys",
    "list_gives_metadata_by_prefix_and_cursor",
    "many_objects_list_completely",
];

/// Runs every case against `target`; the error names each failed case.
pub async fn run_objects(target: &ObjectTarget<'_>) -> Outcome {
    run_all(&OBJECT_CASES, |case| Box::pin(run_object_case(target, case))).await
}

/// Runs one case of [`OBJECT_CASES`] under `<root><case>/`.
pub async fn run_object_case(target: &ObjectTarget<'_>, case: &str) -> Outcome {
    let base = format!("{}{case}/", target.root);
    let t = (target, base.as_str());
    match case {
        "missing_objects_read_as_absent" => missing(t).await,
        "put_get_head_agree" => put_get_head(t).await,
        "binary_bodies_round_trip" => binary(t).await,
        "etag_follows_the_body" => etags(t).await,
        "content_type_is_kept_as_given" => content_types(t).await,
        "overwrite_replaces_body_and_metadata" => overwrite(t).await,
        "delete_removes_and_tolerates_missing_keys" => delete(t).await,
        "odd_keys_are_plain_keys" => odd_keys(t).await,
        "list_gives_metadata_by_prefix_and_cursor" => list_metadata(t).await,
        "many_objects_list_completely" => many(t).await,
        other => Err(format!("no object case {other:?}")),
    }
}

type T<'t, 'a> = (&'t ObjectTarget<'a>, &'t str);

async fn put(t: T<'_, '_>, key: &str, body: &[u8], content_type: Option<&str>) -> Result<ObjectMeta, String> {
    let meta =
        t.0.store.put(key, body.to_vec(), content_type.map(str::to_owned)).await.ctx(format_args!("put {key:?}"))?;
    expect_eq(meta.key.as_str(), key, "the key put returns")?;
    expect_eq(meta.size, body.len() as u64, format_args!("the size put returns for {key:?}"))?;
    expect_eq(meta.content_type.as_deref(), content_type, format_args!("the content type put returns for {key:?}"))?;
    if meta.etag.is_empty() {
        return Err(format!("put {key:?} returned an empty etag"));
    }
    Ok(meta)
}

/// Reads `key` with get and head and checks both against `want`.
async fn read(t: T<'_, '_>, key: &str, want: &ObjectMeta, body: &[u8]) -> Outcome {
    let got = t.0.store.get(key).await.ctx(format_args!("get {key:?}"))?;
    let Some((meta, stored)) = got else { return Err(format!("get {key:?}: missing")) };
    expect_eq(&meta, want, format_args!("metadata get returns for {key:?}"))?;
    expect_bytes(Some(&stored), body, format_args!("body of {key:?}"))?;
    let head = t.0.store.head(key).await.ctx(format_args!("head {key:?}"))?;
    expect_eq(head.as_ref(), Some(want), format_args!("metadata head returns for {key:?}"))
}

async fn absent(t: T<'_, '_>, key: &str, what: &str) -> Outcome {
    let got = t.0.store.get(key).await.ctx(format_args!("get {key:?}"))?;
    expect_eq(got.map(|(m, _)| m), None, format_args!("get of {what}"))?;
    let head = t.0.store.head(key).await.ctx(format_args!("head {key:?}"))?;
    expect_eq(head, None, format_args!("head of {what}"))
}

async fn list_all(t: T<'_, '_>, prefix: &str) -> Result<Vec<ObjectMeta>, String> {
    let page = t.0.store.list(prefix, None, 1000).await.ctx(format_args!("list({prefix:?})"))?;
    expect_eq(page.cursor.as_deref(), None, format_args!("cursor of a complete listing of {prefix:?}"))?;
    Ok(page.objects)
}

async fn missing(t: T<'_, '_>) -> Outcome {
    absent(t, &format!("{}never-written", t.1), "a key never written").await?;
    expect_eq(list_all(t, t.1).await?, vec![], "list of an empty prefix")
}

async fn put_get_head(t: T<'_, '_>) -> Outcome {
    let key = format!("{}doc.txt", t.1);
    let meta = put(t, &key, b"hello, objects", Some("text/plain; charset=utf-8")).await?;
    read(t, &key, &meta, b"hello, objects").await
}

async fn binary(t: T<'_, '_>) -> Outcome {
    let bodies = [
        ("all-bytes", all_bytes()),
        ("empty", Vec::new()),
        ("invalid-utf8", vec![0xff, 0xfe, 0xc0, 0x80, 0xed, 0xa0, 0x80]),
        ("one-mib", pattern(1 << 20, 11)),
        ("odd-size", pattern((1 << 20) + 13, 12)),
    ];
    for (name, body) in &bodies {
        let key = format!("{}{name}", t.1);
        let meta = put(t, &key, body, Some("application/octet-stream")).await?;
        read(t, &key, &meta, body).await?;
    }
    Ok(())
}

async fn etags(t: T<'_, '_>) -> Outcome {
    let key = |name: &str| format!("{}{name}", t.1);
    let body = pattern(10_000, 21);
    let first = put(t, &key("one"), &body, None).await?;
    let twin = put(t, &key("two"), &body, Some("text/plain")).await?;
    expect_eq(&twin.etag, &first.etag, "etag of the same body at another key, another content type")?;
    let again = put(t, &key("one"), &body, None).await?;
    expect_eq(&again.etag, &first.etag, "etag of the same body put again")?;
    let mut changed = body.clone();
    changed[5_000] ^= 1;
    let other = put(t, &key("three"), &changed, None).await?;
    if other.etag == first.etag {
        return Err(format!("bodies one bit apart share the etag {:?}", first.etag));
    }
    let empty_a = put(t, &key("empty-a"), b"", None).await?;
    let empty_b = put(t, &key("empty-b"), b"", None).await?;
    expect_eq(&empty_a.etag, &empty_b.etag, "etag of two empty bodies")?;
    // What put reported is what the listing reports.
    let listed = list_all(t, t.1).await?;
    let etag_of = |k: &str| listed.iter().find(|m| m.key == key(k)).map(|m| m.etag.clone());
    expect_eq(etag_of("one"), Some(first.etag.clone()), "listed etag of `one`")?;
    expect_eq(etag_of("three"), Some(other.etag), "listed etag of `three`")
}

async fn content_types(t: T<'_, '_>) -> Outcome {
    for (name, content_type) in [
        ("none", None),
        ("plain", Some("text/plain")),
        ("params", Some("application/vnd.smcp+json; charset=utf-8; v=\"1\"")),
        ("binary", Some("application/octet-stream")),
    ] {
        let key = format!("{}{name}", t.1);
        let meta = put(t, &key, name.as_bytes(), content_type).await?;
        read(t, &key, &meta, name.as_bytes()).await?;
    }
    Ok(())
}

async fn overwrite(t: T<'_, '_>) -> Outcome {
    let key = format!("{}k", t.1);
    let first = put(t, &key, &pattern(200_000, 31), Some("image/png")).await?;
    t.0.time.advance(1_000).await;
    let second = put(t, &key, b"small now", None).await?;
    read(t, &key, &second, b"small now").await?;
    if second.uploaded_ms < first.uploaded_ms + 1_000 {
        return Err(format!("uploaded_ms went from {} to {} across 1 s", first.uploaded_ms, second.uploaded_ms));
    }
    expect_eq(list_all(t, t.1).await?, vec![second], "an overwritten object is listed once, as last written")
}

async fn delete(t: T<'_, '_>) -> Outcome {
    let (gone, kept) = (format!("{}gone", t.1), format!("{}kept", t.1));
    put(t, &gone, b"x", None).await?;
    let kept_meta = put(t, &kept, b"y", None).await?;
    t.0.store.delete(&gone).await.ctx("delete of a stored object")?;
    absent(t, &gone, "a deleted object").await?;
    read(t, &kept, &kept_meta, b"y").await?;
    t.0.store.delete(&gone).await.ctx("delete of an already deleted object")?;
    t.0.store.delete(&format!("{}never", t.1)).await.ctx("delete of a key never written")?;
    expect_eq(list_all(t, t.1).await?, vec![kept_meta], "objects listed after a delete")?;
    let again = put(t, &gone, b"again", None).await?;
    read(t, &gone, &again, b"again").await
}

async fn odd_keys(t: T<'_, '_>) -> Outcome {
    for k in ODD_KEYS.iter().rev() {
        let key = format!("{}{k}", t.1);
        let meta = put(t, &key, key.as_bytes(), None).await?;
        read(t, &key, &meta, key.as_bytes()).await?;
    }
    Ok(())
}

async fn list_metadata(t: T<'_, '_>) -> Outcome {
    let stored: Vec<String> = ODD_KEYS.iter().map(|k| format!("{}{k}", t.1)).collect();
    let mut metas = Vec::new();
    for (i, key) in stored.iter().enumerate().rev() {
        let content_type = (i % 2 == 0).then_some("text/plain");
        metas.push(put(t, key, &pattern(i * 100, i as u64), content_type).await?);
    }
    metas.sort_by(|a, b| a.key.cmp(&b.key));
    expect_eq(list_all(t, t.1).await?, metas, "listed metadata, as put returned it, in key order")?;
    let lister = ObjectLister(t.0.store);
    for sub in ["", "a", "a/", "a/b", "ab", "user:", "ü", "none/"] {
        check_prefix(&lister, &format!("{}{sub}", t.1), &stored).await?;
    }
    for cursor in ["", "a/a", "a/bb", "0"] {
        check_cursor_between(&lister, &format!("{}a/", t.1), &format!("{}{cursor}", t.1), &stored).await?;
    }
    Ok(())
}

async fn many(t: T<'_, '_>) -> Outcome {
    let stored: Vec<String> = (0..120).map(|i| format!("{}obj/{:03}", t.1, (i * 7) % 120)).collect();
    for key in &stored {
        put(t, key, key.as_bytes(), None).await?;
    }
    let prefix = format!("{}obj/", t.1);
    let expected = expected_under(&stored, &prefix);
    for limit in [1, 50, 120, 1000] {
        walk(&ObjectLister(t.0.store), &prefix, limit, &expected).await?;
    }
    Ok(())
}
