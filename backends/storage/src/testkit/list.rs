//! Range reads: at the current and older revisions, paging, the empty prefix and compaction.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;

use super::{assert_compacted, current, op, Ctx};
use crate::{Error, KeyValue, ListRequest, ListResponse, Revision, Storage};

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

async fn list_at(
    store: &dyn Storage,
    prefix: &[u8],
    revision: Revision,
) -> Result<ListResponse, Error> {
    let req = ListRequest {
        prefix: prefix.to_vec(),
        revision,
        ..Default::default()
    };
    op("list", store.list(req)).await
}

fn summary(kvs: &[KeyValue]) -> Vec<(String, String, Revision, Revision)> {
    kvs.iter()
        .map(|kv| {
            let key = String::from_utf8_lossy(&kv.key).into_owned();
            let value = String::from_utf8_lossy(&kv.value).into_owned();
            (key, value, kv.create_revision, kv.mod_revision)
        })
        .collect()
}

/// A list at the current revision shows every key under the prefix in order, with its revisions,
/// and reports a revision covering all of them; `more` is false without a limit.
pub async fn list_current(ctx: Ctx) {
    let mut last = 0;
    for name in ["c", "a", "b"] {
        last = op("create", ctx.store.create(&ctx.key(name), b(name)))
            .await
            .expect("create");
    }
    op("create outside", ctx.store.create(&ctx.key("z/x"), b("z")))
        .await
        .expect("create");
    let resp = list_at(&*ctx.store, &ctx.key("b"), 0).await;
    assert_eq!(resp.expect("list").kvs.len(), 1);
    let resp = list_at(&*ctx.store, &ctx.prefix, 0).await.expect("list");
    let names: Vec<_> = resp.kvs.iter().map(|kv| kv.key.clone()).collect();
    assert_eq!(
        names,
        vec![ctx.key("a"), ctx.key("b"), ctx.key("c"), ctx.key("z/x")]
    );
    assert!(!resp.more);
    assert!(
        resp.revision > last,
        "list revision {} below a write it shows",
        resp.revision
    );
    for kv in &resp.kvs {
        assert!(kv.create_revision > 0 && kv.create_revision == kv.mod_revision);
        let got = op("get", ctx.store.get(&kv.key))
            .await
            .expect("get")
            .kv
            .expect("key");
        assert_eq!(&got, kv);
    }
    // Reading again at the reported revision gives the same answer.
    let again = list_at(&*ctx.store, &ctx.prefix, resp.revision)
        .await
        .expect("list at revision");
    assert_eq!((again.kvs, again.revision), (resp.kvs, resp.revision));
}

/// A list at an older revision shows the prefix as it was: later creates absent, later deletes
/// present, older values and revisions.
pub async fn list_at_older_revision(ctx: Ctx) {
    let (a, bk, c) = (ctx.key("a"), ctx.key("b"), ctx.key("c"));
    let ra = op("create a", ctx.store.create(&a, b("a1")))
        .await
        .expect("create");
    let rb = op("create b", ctx.store.create(&bk, b("b1")))
        .await
        .expect("create");
    let then = current(&ctx).await;
    let ra2 = op("update a", ctx.store.update(&a, b("a2"), ra))
        .await
        .expect("update");
    op("delete b", ctx.store.delete(&bk, None))
        .await
        .expect("delete");
    let rc = op("create c", ctx.store.create(&c, b("c1")))
        .await
        .expect("create");

    let old = list_at(&*ctx.store, &ctx.prefix, then)
        .await
        .expect("list at an older revision");
    assert_eq!(old.revision, then);
    assert_eq!(
        summary(&old.kvs),
        summary(&[
            KeyValue {
                stale: false,
                key: a.clone(),
                value: b("a1"),
                create_revision: ra,
                mod_revision: ra
            },
            KeyValue {
                stale: false,
                key: bk.clone(),
                value: b("b1"),
                create_revision: rb,
                mod_revision: rb
            },
        ])
    );
    let first = list_at(&*ctx.store, &ctx.prefix, ra)
        .await
        .expect("list at the first write");
    assert_eq!(
        summary(&first.kvs).len(),
        1,
        "b was created after revision {ra}"
    );

    let now = list_at(&*ctx.store, &ctx.prefix, 0)
        .await
        .expect("list now");
    assert_eq!(
        summary(&now.kvs),
        summary(&[
            KeyValue {
                stale: false,
                key: a.clone(),
                value: b("a2"),
                create_revision: ra,
                mod_revision: ra2
            },
            KeyValue {
                stale: false,
                key: c.clone(),
                value: b("c1"),
                create_revision: rc,
                mod_revision: rc
            },
        ])
    );
    // Paging works at an older revision too.
    let req = ListRequest {
        prefix: ctx.prefix.clone(),
        revision: then,
        limit: 1,
        start_key: None,
        count_remaining: false,
    };
    let page = op("page", ctx.store.list(req)).await.expect("page");
    assert_eq!(
        (page.kvs.len(), page.more, page.kvs[0].key == a),
        (1, true, true)
    );
    let req = ListRequest {
        prefix: ctx.prefix.clone(),
        revision: then,
        limit: 1,
        start_key: Some(next_key(&a)),
        count_remaining: false,
    };
    let page = op("page", ctx.store.list(req)).await.expect("page");
    assert_eq!(
        (page.kvs.len(), page.more, page.kvs[0].key == bk),
        (1, false, true)
    );
}

/// A list above the current revision fails with FutureRevision.
pub async fn list_future_revision(ctx: Ctx) {
    op("create", ctx.store.create(&ctx.key("a"), b("x")))
        .await
        .expect("create");
    let future = current(&ctx).await + 1_000_000;
    match list_at(&*ctx.store, &ctx.prefix, future).await {
        Err(Error::FutureRevision { requested, .. }) => assert_eq!(requested, future),
        other => panic!("list at a future revision: expected FutureRevision, got {other:?}"),
    }
}

/// The smallest key after `key`.
fn next_key(key: &[u8]) -> Vec<u8> {
    let mut next = key.to_vec();
    next.push(0);
    next
}

/// Reads a prefix page by page at one revision (the first page's when `revision` is 0).
async fn read_pages(
    store: &dyn Storage,
    prefix: &[u8],
    revision: Revision,
    limit: usize,
) -> ListResponse {
    let mut req = ListRequest {
        prefix: prefix.to_vec(),
        revision,
        limit,
        start_key: None,
        count_remaining: false,
    };
    let mut all = ListResponse {
        kvs: Vec::new(),
        more: false,
        revision,
        remaining: None,
    };
    loop {
        let page = op("page", store.list(req.clone())).await.expect("page");
        assert!(
            page.kvs.len() <= limit,
            "page of {} keys exceeds the limit {limit}",
            page.kvs.len()
        );
        if req.revision == 0 {
            req.revision = page.revision;
            all.revision = page.revision;
        }
        assert_eq!(
            page.revision, req.revision,
            "a page is served at the requested revision"
        );
        all.kvs.extend(page.kvs);
        if !page.more {
            return all;
        }
        assert!(!all.kvs.is_empty(), "more without keys");
        req.start_key = Some(next_key(&all.kvs[all.kvs.len() - 1].key));
    }
}

/// `start_key` and `limit` page through a prefix; `more` is exact, also when the last page is full.
pub async fn list_pagination(ctx: Ctx) {
    for i in 0..10 {
        op(
            "create",
            ctx.store.create(&ctx.key(format!("k{i:02}")), b("x")),
        )
        .await
        .expect("create");
    }
    for limit in [1, 3, 5, 10, 11] {
        let all = read_pages(&*ctx.store, &ctx.prefix, 0, limit).await;
        let keys: Vec<_> = all.kvs.iter().map(|kv| kv.key.clone()).collect();
        let expected: Vec<_> = (0..10).map(|i| ctx.key(format!("k{i:02}"))).collect();
        assert_eq!(keys, expected, "pages of {limit}");
    }
    let req = ListRequest {
        prefix: ctx.prefix.clone(),
        limit: 10,
        ..Default::default()
    };
    assert!(
        !op("list", ctx.store.list(req)).await.expect("list").more,
        "10 keys, limit 10: no more"
    );
    let req = ListRequest {
        prefix: ctx.prefix.clone(),
        limit: 9,
        ..Default::default()
    };
    assert!(
        op("list", ctx.store.list(req)).await.expect("list").more,
        "10 keys, limit 9: more"
    );
    let start = Some(ctx.key("k05"));
    let req = ListRequest {
        prefix: ctx.prefix.clone(),
        start_key: start,
        ..Default::default()
    };
    let resp = op("list from", ctx.store.list(req))
        .await
        .expect("list from k05");
    assert_eq!(
        resp.kvs.first().map(|kv| kv.key.clone()),
        Some(ctx.key("k05")),
        "start key is inclusive"
    );
    assert_eq!((resp.kvs.len(), resp.more), (5, false));
}

/// `count_remaining` counts the keys beyond the page, at the current and at an older revision, from
/// any start key, in the page's own snapshot; keys of a neighbouring prefix are not counted.
pub async fn list_remaining_count(ctx: Ctx) {
    let key = |name: &str| ctx.key(format!("p/{name}"));
    let create = |k: Vec<u8>| {
        let store = ctx.store.clone();
        async move {
            op("create", store.create(&k, b("x")))
                .await
                .expect("create")
        }
    };
    for i in 0..7 {
        create(key(&format!("k{i}"))).await;
    }
    // A neighbour whose key sorts right after the listed prefix's.
    create(ctx.key("p0")).await;
    let then = current(&ctx).await;
    let page = |revision, start: Option<&str>, limit| {
        let req = ListRequest {
            prefix: ctx.key("p/"),
            start_key: start.map(key),
            revision,
            limit,
            count_remaining: true,
        };
        let store = ctx.store.clone();
        async move { op("counted page", store.list(req)).await.expect("page") }
    };
    let counted = |r: ListResponse| (r.kvs.len(), r.more, r.remaining);
    assert_eq!(counted(page(0, None, 3).await), (3, true, Some(4)));
    assert_eq!(counted(page(0, Some("k3"), 2).await), (2, true, Some(2)));
    assert_eq!(counted(page(0, Some("k5"), 2).await), (2, false, Some(0)));
    assert_eq!(counted(page(0, None, 0).await), (7, false, Some(0)));
    // Writes after `then` change the current count but not the count at `then`.
    op("delete", ctx.store.delete(&key("k6"), None))
        .await
        .expect("delete");
    for i in 7..9 {
        create(key(&format!("k{i}"))).await;
    }
    assert_eq!(counted(page(0, None, 3).await), (3, true, Some(5)));
    assert_eq!(counted(page(then, None, 3).await), (3, true, Some(4)));
    assert_eq!(counted(page(then, Some("k4"), 1).await), (1, true, Some(2)));
    let page = page(then, Some("k1"), 2).await;
    assert_eq!(counted(page.clone()), (2, true, Some(4)));
    assert_eq!(page.revision, then, "the count is of the page's revision");
}

/// A write: its revision, the key, and the new value with the create revision (`None`: a delete).
type Change = (Revision, Vec<u8>, Option<(Bytes, Revision)>);

/// Pages read at the first page's revision show one consistent state while a writer creates,
/// updates and deletes keys under the same prefix.
pub async fn list_pagination_with_writers(ctx: Ctx) {
    let mut model: BTreeMap<Vec<u8>, (Bytes, Revision, Revision)> = BTreeMap::new();
    for i in 0..30 {
        let key = ctx.key(format!("k{i:03}"));
        let rev = op("create", ctx.store.create(&key, b("v0")))
            .await
            .expect("create");
        model.insert(key, (b("v0"), rev, rev));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, stop, ctx) = (ctx.store.clone(), stop.clone(), ctx.clone());
        tokio::spawn(async move {
            let mut log: Vec<Change> = Vec::new();
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) || i < 30 {
                let key = ctx.key(format!("k{:03}", (i * 7) % 45));
                let got = op("get", store.get(&key)).await.expect("get").kv;
                let value = b(&format!("v{}", i + 1));
                match (got, i % 3) {
                    (None, _) => {
                        let rev = op("create", store.create(&key, value.clone()))
                            .await
                            .expect("create");
                        log.push((rev, key, Some((value, rev))));
                    }
                    (Some(kv), 0) => {
                        let (rev, _) = op("delete", store.delete(&key, Some(kv.mod_revision)))
                            .await
                            .expect("delete");
                        log.push((rev, key, None));
                    }
                    (Some(kv), _) => {
                        let rev = op("update", store.update(&key, value.clone(), kv.mod_revision))
                            .await
                            .expect("update");
                        log.push((rev, key, Some((value, kv.create_revision))));
                    }
                }
                i += 1;
            }
            log
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let paged = read_pages(&*ctx.store, &ctx.prefix, 0, 4).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    stop.store(true, Ordering::Relaxed);
    let log = writer.await.expect("writer task");

    for (rev, key, change) in log.into_iter().filter(|(rev, ..)| *rev <= paged.revision) {
        match change {
            Some((value, created)) => model.insert(key, (value, created, rev)),
            None => model.remove(&key),
        };
    }
    let expected: Vec<KeyValue> = model
        .into_iter()
        .map(|(key, (value, create_revision, mod_revision))| KeyValue {
            stale: false,
            key,
            value,
            create_revision,
            mod_revision,
        })
        .collect();
    assert_eq!(
        summary(&paged.kvs),
        summary(&expected),
        "pages at revision {}",
        paged.revision
    );
    let whole = list_at(&*ctx.store, &ctx.prefix, paged.revision)
        .await
        .expect("list at revision");
    assert_eq!(summary(&whole.kvs), summary(&expected));
}

/// The empty prefix means every key: our keys appear in order among the others, and a start key
/// with the empty prefix pages into them.
pub async fn empty_prefix(ctx: Ctx) {
    for i in 0..3 {
        op(
            "create",
            ctx.store.create(&ctx.key(format!("e/{i}")), b("x")),
        )
        .await
        .expect("create");
    }
    op("create after", ctx.store.create(&ctx.key("f"), b("x")))
        .await
        .expect("create");
    let req = ListRequest {
        prefix: Vec::new(),
        start_key: Some(ctx.key("e/")),
        limit: 3,
        revision: 0,
        count_remaining: false,
    };
    let resp = op("list everything", ctx.store.list(req))
        .await
        .expect("list with the empty prefix");
    let keys: Vec<_> = resp.kvs.iter().map(|kv| kv.key.clone()).collect();
    assert_eq!(
        keys,
        (0..3)
            .map(|i| ctx.key(format!("e/{i}")))
            .collect::<Vec<_>>()
    );
    assert!(resp.more, "keys remain after the page");
    assert!(op("count all", ctx.store.count(b"")).await.expect("count") >= 4);
    assert_eq!(
        op("count", ctx.store.count(&ctx.prefix))
            .await
            .expect("count"),
        4
    );
}

/// Compaction drops history, never current values: after compacting at the current revision every
/// key still reads with its latest value, lists at and above the compacted revision behave, and
/// compacting below it is a no-op while compacting the future fails.
pub async fn compaction_keeps_current_values(ctx: Ctx) {
    let (a, bk, c) = (ctx.key("a"), ctx.key("b"), ctx.key("c"));
    let ra = op("create a", ctx.store.create(&a, b("a1")))
        .await
        .expect("create");
    let ra2 = op("update a", ctx.store.update(&a, b("a2"), ra))
        .await
        .expect("update");
    let rb = op("create b", ctx.store.create(&bk, b("b1")))
        .await
        .expect("create");
    op("delete b", ctx.store.delete(&bk, Some(rb)))
        .await
        .expect("delete");
    let rc = op("create c", ctx.store.create(&c, b("c1")))
        .await
        .expect("create");
    let before = list_at(&*ctx.store, &ctx.prefix, 0).await.expect("list");

    let at = current(&ctx).await;
    op("compact", ctx.store.compact(at))
        .await
        .expect("compact at the current revision");
    let compacted = op("compacted_revision", ctx.store.compacted_revision())
        .await
        .expect("compacted");
    assert!(
        compacted >= at,
        "compacted revision {compacted} below the compaction {at}"
    );

    let after = list_at(&*ctx.store, &ctx.prefix, 0)
        .await
        .expect("list after compaction");
    assert_eq!(
        summary(&after.kvs),
        summary(&before.kvs),
        "compaction changed current values"
    );
    assert_eq!(
        summary(&after.kvs).iter().map(|s| s.3).collect::<Vec<_>>(),
        vec![ra2, rc]
    );
    let got = op("get", ctx.store.get(&a))
        .await
        .expect("get")
        .kv
        .expect("a");
    assert_eq!(
        (got.value, got.create_revision, got.mod_revision),
        (b("a2"), ra, ra2)
    );

    // History above the compacted revision is served, including keys last written before it.
    let rd = op("update c", ctx.store.update(&c, b("c2"), rc))
        .await
        .expect("update");
    let at_rd = list_at(&*ctx.store, &ctx.prefix, rd)
        .await
        .expect("list above the compacted revision");
    assert_eq!(
        summary(&at_rd.kvs)
            .iter()
            .map(|s| s.1.clone())
            .collect::<Vec<_>>(),
        vec!["a2", "c2"]
    );
    let updated = op("update a", ctx.store.update(&a, b("a3"), ra2))
        .await
        .expect("update a again");
    let older = list_at(&*ctx.store, &ctx.prefix, rd)
        .await
        .expect("list between two writes");
    assert_eq!(
        summary(&older.kvs)
            .iter()
            .map(|s| s.1.clone())
            .collect::<Vec<_>>(),
        vec!["a2", "c2"]
    );
    assert!(updated > rd);

    op("compact below", ctx.store.compact(at - 1))
        .await
        .expect("compacting below is a no-op");
    let still = op("compacted_revision", ctx.store.compacted_revision())
        .await
        .expect("compacted");
    assert!(
        still >= compacted,
        "compacted revision went back from {compacted} to {still}"
    );
    let future = current(&ctx).await + 1_000_000;
    match op("compact future", ctx.store.compact(future)).await {
        Err(Error::FutureRevision { .. }) => {}
        other => panic!("compacting the future: expected FutureRevision, got {other:?}"),
    }
}

/// A list at or below the compacted revision fails with Compacted.
pub async fn list_compacted_revision(ctx: Ctx) {
    let first = op("create", ctx.store.create(&ctx.key("a"), b("1")))
        .await
        .expect("create");
    let second = op("update", ctx.store.update(&ctx.key("a"), b("2"), first))
        .await
        .expect("update");
    op("compact", ctx.store.compact(second))
        .await
        .expect("compact");
    assert_compacted(
        list_at(&*ctx.store, &ctx.prefix, first).await,
        "list below the compacted revision",
    );
    assert_compacted(
        list_at(&*ctx.store, &ctx.prefix, second).await,
        "list at the compacted revision",
    );
    let req = ListRequest {
        prefix: ctx.prefix.clone(),
        revision: first,
        limit: 1,
        start_key: None,
        count_remaining: false,
    };
    assert_compacted(
        op("page", ctx.store.list(req)).await,
        "a page below the compacted revision",
    );
    let third = op("update", ctx.store.update(&ctx.key("a"), b("3"), second))
        .await
        .expect("update");
    let resp = list_at(&*ctx.store, &ctx.prefix, third)
        .await
        .expect("list above the compacted revision");
    assert_eq!(resp.kvs.len(), 1);
}
