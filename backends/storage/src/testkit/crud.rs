//! Single-key operations: create, get, update, delete, their preconditions and revision rules.

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;

use super::{current, op, Ctx};
use crate::{Error, ListRequest, Revision};

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// Create returns a revision above the previous current one; get shows the key with create and mod
/// revision equal to it and a read revision at least as high; a missing key is `None`, no error.
pub async fn create_and_get(ctx: Ctx) {
    let before = current(&ctx).await;
    let key = ctx.key("a");
    let rev = op("create", ctx.store.create(&key, b("one")))
        .await
        .expect("create");
    assert!(
        rev > before,
        "create revision {rev} must exceed the prior current revision {before}"
    );

    let got = op("get", ctx.store.get(&key)).await.expect("get");
    let kv = got.kv.expect("the created key is there");
    assert_eq!(kv.key, key);
    assert_eq!(kv.value, b("one"));
    assert_eq!((kv.create_revision, kv.mod_revision), (rev, rev));
    assert!(
        got.revision >= rev,
        "get revision {} below the key's mod revision {rev}",
        got.revision
    );
    assert!(current(&ctx).await >= rev);

    let missing = op("get missing", ctx.store.get(&ctx.key("missing")))
        .await
        .expect("get missing");
    assert_eq!(missing.kv, None);
    assert!(missing.revision >= rev);

    // An empty value is a value.
    let empty = ctx.key("empty");
    let rev = op("create empty", ctx.store.create(&empty, Bytes::new()))
        .await
        .expect("create empty");
    let kv = op("get empty", ctx.store.get(&empty))
        .await
        .expect("get empty")
        .kv
        .expect("empty value");
    assert_eq!((kv.value.len(), kv.mod_revision), (0, rev));
}

/// Creating an existing key fails with AlreadyExists and changes nothing.
pub async fn create_existing_fails(ctx: Ctx) {
    let key = ctx.key("a");
    let rev = op("create", ctx.store.create(&key, b("one")))
        .await
        .expect("create");
    let err = op("create again", ctx.store.create(&key, b("two"))).await;
    assert_eq!(err, Err(Error::AlreadyExists { key: key.clone() }));
    let kv = op("get", ctx.store.get(&key))
        .await
        .expect("get")
        .kv
        .expect("key");
    assert_eq!(
        (kv.value, kv.mod_revision),
        (b("one"), rev),
        "a failed create must write nothing"
    );
}

/// Update needs the current mod revision: NotFound for a missing key, Conflict (with the actual
/// revision) for a stale one, and on success a new mod revision with the create revision kept.
pub async fn update_preconditions(ctx: Ctx) {
    let key = ctx.key("a");
    let missing = op(
        "update missing",
        ctx.store.update(&ctx.key("missing"), b("x"), 1),
    )
    .await;
    assert!(
        matches!(missing, Err(Error::NotFound { .. })),
        "update of a missing key: {missing:?}"
    );

    let created = op("create", ctx.store.create(&key, b("v1")))
        .await
        .expect("create");
    let updated = op("update", ctx.store.update(&key, b("v2"), created))
        .await
        .expect("update");
    assert!(updated > created);
    let kv = op("get", ctx.store.get(&key))
        .await
        .expect("get")
        .kv
        .expect("key");
    assert_eq!(kv.value, b("v2"));
    assert_eq!((kv.create_revision, kv.mod_revision), (created, updated));

    let stale = op("stale update", ctx.store.update(&key, b("v3"), created)).await;
    assert_eq!(
        stale,
        Err(Error::Conflict {
            key: key.clone(),
            expected: created,
            actual: updated
        })
    );
    let kv = op("get", ctx.store.get(&key))
        .await
        .expect("get")
        .kv
        .expect("key");
    assert_eq!(
        (kv.value, kv.mod_revision),
        (b("v2"), updated),
        "a failed update must write nothing"
    );

    // The same value again is still a write with a new revision.
    let again = op("update same", ctx.store.update(&key, b("v2"), updated))
        .await
        .expect("update");
    assert!(again > updated);

    op("delete", ctx.store.delete(&key, None))
        .await
        .expect("delete");
    let gone = op("update deleted", ctx.store.update(&key, b("v4"), again)).await;
    assert!(
        matches!(gone, Err(Error::NotFound { .. })),
        "update of a deleted key: {gone:?}"
    );
}

/// Delete: NotFound for a missing key, Conflict for a wrong expected revision, and on success the
/// key as it was; a re-created key gets a new create revision.
pub async fn delete_preconditions(ctx: Ctx) {
    let key = ctx.key("a");
    let missing = op("delete missing", ctx.store.delete(&key, None)).await;
    assert!(
        matches!(missing, Err(Error::NotFound { .. })),
        "delete of a missing key: {missing:?}"
    );
    let missing = op("delete missing", ctx.store.delete(&key, Some(5))).await;
    assert!(
        matches!(missing, Err(Error::NotFound { .. })),
        "delete of a missing key: {missing:?}"
    );

    let created = op("create", ctx.store.create(&key, b("v1")))
        .await
        .expect("create");
    let updated = op("update", ctx.store.update(&key, b("v2"), created))
        .await
        .expect("update");
    let wrong = op("delete stale", ctx.store.delete(&key, Some(created))).await;
    assert_eq!(
        wrong,
        Err(Error::Conflict {
            key: key.clone(),
            expected: created,
            actual: updated
        })
    );
    assert!(
        op("get", ctx.store.get(&key))
            .await
            .expect("get")
            .kv
            .is_some(),
        "failed delete wrote"
    );

    let (rev, prior) = op("delete", ctx.store.delete(&key, Some(updated)))
        .await
        .expect("delete");
    assert!(rev > updated);
    assert_eq!(prior.key, key);
    assert_eq!(prior.value, b("v2"));
    assert_eq!(
        (prior.create_revision, prior.mod_revision),
        (created, updated)
    );
    let got = op("get deleted", ctx.store.get(&key)).await.expect("get");
    assert_eq!(got.kv, None);
    assert!(got.revision >= rev);

    let recreated = op("re-create", ctx.store.create(&key, b("v3")))
        .await
        .expect("re-create");
    assert!(recreated > rev);
    let (rev2, prior) = op("delete any", ctx.store.delete(&key, None))
        .await
        .expect("delete");
    assert!(rev2 > recreated);
    assert_eq!((prior.value, prior.create_revision), (b("v3"), recreated));
}

/// Every write gets a revision above every earlier write's, and the current revision follows.
pub async fn revisions_increase(ctx: Ctx) {
    let mut last = current(&ctx).await;
    for i in 0..10 {
        let key = ctx.key(format!("k{}", i % 3));
        let rev = match op("create", ctx.store.create(&key, b("x"))).await {
            Ok(rev) => rev,
            Err(Error::AlreadyExists { .. }) => {
                let kv = op("get", ctx.store.get(&key))
                    .await
                    .expect("get")
                    .kv
                    .expect("key");
                op("update", ctx.store.update(&key, b("y"), kv.mod_revision))
                    .await
                    .expect("update")
            }
            Err(err) => panic!("create: {err}"),
        };
        assert!(rev > last, "write {i} got revision {rev}, not above {last}");
        let now = current(&ctx).await;
        assert!(
            now >= rev,
            "current revision {now} below an acknowledged write {rev}"
        );
        last = rev;
    }
}

/// Count sees exactly the keys under the prefix.
pub async fn count_keys(ctx: Ctx) {
    let dir = ctx.key("d/");
    assert_eq!(
        op("count empty", ctx.store.count(&dir))
            .await
            .expect("count"),
        0
    );
    for i in 0..5 {
        op(
            "create",
            ctx.store.create(&ctx.key(format!("d/{i}")), b("x")),
        )
        .await
        .expect("create");
    }
    op("create sibling", ctx.store.create(&ctx.key("d0"), b("x")))
        .await
        .expect("create");
    op("create parent", ctx.store.create(&ctx.key("d"), b("x")))
        .await
        .expect("create");
    assert_eq!(op("count", ctx.store.count(&dir)).await.expect("count"), 5);
    op("delete", ctx.store.delete(&ctx.key("d/3"), None))
        .await
        .expect("delete");
    assert_eq!(op("count", ctx.store.count(&dir)).await.expect("count"), 4);
    assert_eq!(
        op("count all", ctx.store.count(&ctx.prefix))
            .await
            .expect("count"),
        6
    );
}

/// Keys are opaque bytes ordered byte-wise: NUL, 0xff, '/', unicode and long keys round-trip, and
/// a prefix matches exactly the keys starting with it (`a/` is not `a0`).
pub async fn unusual_keys(ctx: Ctx) {
    let long = "k".repeat(3000);
    let suffixes: Vec<Vec<u8>> = vec![
        b"a".to_vec(),
        b"a/".to_vec(),
        b"a/b/c".to_vec(),
        b"a0".to_vec(),
        b"a\x00b".to_vec(),
        b"a\xffb".to_vec(),
        b"\x00".to_vec(),
        b"\xff".to_vec(),
        b"\xff\xff".to_vec(),
        b"\xff\x00".to_vec(),
        "ключ/🐝".as_bytes().to_vec(),
        long.into_bytes(),
    ];
    let mut keys: Vec<Vec<u8>> = suffixes.iter().map(|s| ctx.key(s)).collect();
    for (i, key) in keys.iter().enumerate() {
        let value = Bytes::from(vec![i as u8, 0, 0xff]);
        let rev = op("create", ctx.store.create(key, value.clone()))
            .await
            .expect("create");
        let kv = op("get", ctx.store.get(key))
            .await
            .expect("get")
            .kv
            .expect("key");
        assert_eq!((&kv.key, &kv.value, kv.mod_revision), (key, &value, rev));
    }
    keys.sort();
    let list = |prefix: Vec<u8>| {
        let store = ctx.store.clone();
        async move {
            let req = ListRequest {
                prefix,
                ..Default::default()
            };
            let resp = op("list", store.list(req)).await.expect("list");
            resp.kvs.into_iter().map(|kv| kv.key).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list(ctx.prefix.clone()).await,
        keys,
        "byte-wise order of the whole prefix"
    );
    let under = |p: &[u8]| {
        keys.iter()
            .filter(|k| k.starts_with(&ctx.key(p)))
            .cloned()
            .collect::<Vec<_>>()
    };
    for p in [
        &b"a/"[..],
        b"a",
        b"a0",
        b"\xff",
        b"\xff\xff",
        b"\x00",
        "ключ".as_bytes(),
    ] {
        assert_eq!(
            list(ctx.key(p)).await,
            under(p),
            "prefix {:?}",
            String::from_utf8_lossy(p)
        );
    }
    assert_eq!(
        list(ctx.key("a/")).await.len(),
        2,
        "`a/` must not match `a0` or `a`"
    );
    assert_eq!(
        op("count", ctx.store.count(&ctx.key("a")))
            .await
            .expect("count"),
        6
    );
}

/// Of many concurrent creates of one key exactly one succeeds.
pub async fn concurrent_creates_one_winner(ctx: Ctx) {
    let key = ctx.key("contended");
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let (store, key) = (ctx.store.clone(), key.clone());
            tokio::spawn(async move { op("create", store.create(&key, b(&i.to_string()))).await })
        })
        .collect();
    let mut winners = Vec::new();
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await.expect("create task") {
            Ok(rev) => winners.push((i, rev)),
            Err(Error::AlreadyExists { .. }) => {}
            Err(err) => panic!("create {i}: {err}"),
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one concurrent create wins: {winners:?}"
    );
    let kv = op("get", ctx.store.get(&key))
        .await
        .expect("get")
        .kv
        .expect("key");
    assert_eq!(
        (kv.value, kv.mod_revision),
        (b(&winners[0].0.to_string()), winners[0].1)
    );

    // Concurrent deletes with the same expected revision: one wins too.
    let rev = winners[0].1;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (store, key) = (ctx.store.clone(), key.clone());
            tokio::spawn(async move { op("delete", store.delete(&key, Some(rev))).await })
        })
        .collect();
    let mut deleted = 0;
    for task in tasks {
        match task.await.expect("delete task") {
            Ok(_) => deleted += 1,
            Err(Error::NotFound { .. } | Error::Conflict { .. }) => {}
            Err(err) => panic!("delete: {err}"),
        }
    }
    assert_eq!(deleted, 1, "exactly one concurrent delete wins");
}

const WRITERS: usize = 16;
const INCREMENTS: usize = 8;

/// 16 writers increment one counter by compare-and-swap, retrying on Conflict. No update is lost,
/// and each revision of the key is superseded by exactly one update: the successful updates form one
/// chain from the create to the final mod revision.
pub async fn concurrent_compare_and_swap(ctx: Ctx) {
    let key: Arc<[u8]> = ctx.key("counter").into();
    let created = op("create", ctx.store.create(&key, b("0")))
        .await
        .expect("create");
    let tasks: Vec<_> = (0..WRITERS)
        .map(|_| {
            let (store, key) = (ctx.store.clone(), key.clone());
            tokio::spawn(async move {
                let mut swaps: Vec<(Revision, Revision)> = Vec::new();
                while swaps.len() < INCREMENTS {
                    let kv = op("get", store.get(&key))
                        .await
                        .expect("get")
                        .kv
                        .expect("counter");
                    let n: usize = std::str::from_utf8(&kv.value)
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .expect("a counter value");
                    // Widen the race window between the read and the compare-and-swap.
                    tokio::task::yield_now().await;
                    match op(
                        "update",
                        store.update(&key, b(&(n + 1).to_string()), kv.mod_revision),
                    )
                    .await
                    {
                        Ok(rev) => swaps.push((kv.mod_revision, rev)),
                        Err(Error::Conflict { .. }) => tokio::task::yield_now().await,
                        Err(err) => panic!("update: {err}"),
                    }
                }
                swaps
            })
        })
        .collect();
    let mut chain = std::collections::HashMap::new();
    let mut revs = HashSet::new();
    for task in tasks {
        for (expected, rev) in task.await.expect("writer task") {
            assert!(rev > expected);
            assert!(revs.insert(rev), "revision {rev} returned to two updates");
            assert!(
                chain.insert(expected, rev).is_none(),
                "two updates won from revision {expected}"
            );
        }
    }
    let kv = op("get", ctx.store.get(&key))
        .await
        .expect("get")
        .kv
        .expect("counter");
    assert_eq!(
        kv.value,
        b(&(WRITERS * INCREMENTS).to_string()),
        "lost update"
    );
    let (mut at, mut steps) = (created, 0);
    while let Some(next) = chain.get(&at) {
        at = *next;
        steps += 1;
    }
    assert_eq!(
        (steps, at),
        (WRITERS * INCREMENTS, kv.mod_revision),
        "updates form one chain"
    );
    assert_eq!(kv.create_revision, created);
}
