//! Watches: replay, "from now", event fields, prefix isolation, concurrent writers, slow watchers,
//! compacted revisions and progress.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;

use super::{assert_compacted, current, next_event, next_item, op, Ctx, OP_TIMEOUT};
use crate::{Error, Event, EventKind, ProgressStream, Revision, Storage, WatchItem, WatchStream};

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

async fn watch(ctx: &Ctx, prefix: &[u8], after: Revision) -> WatchStream {
    op("watch", ctx.store.watch(prefix, after))
        .await
        .expect("watch")
}

fn create(key: &[u8], value: &Bytes, revision: Revision) -> Event {
    let (key, value) = (key.to_vec(), value.clone());
    Event {
        kind: EventKind::Create,
        key,
        revision,
        value,
        prev_value: None,
        create_revision: revision,
    }
}

/// A revision to watch from that is above the compacted revision even in a store shared with a
/// case that just compacted: the revision of a write to a marker key outside the case's prefix.
async fn start_revision(ctx: &Ctx) -> Revision {
    let mut marker = ctx.prefix.clone();
    marker.pop();
    marker.extend_from_slice(b".marker");
    match op("marker", ctx.store.create(&marker, Bytes::new())).await {
        Ok(rev) => rev,
        Err(Error::AlreadyExists { .. }) => {
            op("marker", ctx.store.delete(&marker, None))
                .await
                .expect("delete the marker")
                .0
        }
        Err(err) => panic!("marker write: {err}"),
    }
}

/// Watching from a past revision replays every later change (and nothing at or before it), then
/// continues with new ones.
pub async fn watch_replays_history(ctx: Ctx) {
    let key = ctx.key("a");
    let start = start_revision(&ctx).await;
    let r1 = op("create", ctx.store.create(&key, b("1")))
        .await
        .expect("create");
    let r2 = op("update", ctx.store.update(&key, b("2"), r1))
        .await
        .expect("update");
    let r3 = op("update", ctx.store.update(&key, b("3"), r2))
        .await
        .expect("update");
    let mut stream = watch(&ctx, &ctx.prefix, r1).await;
    let e = next_event(&mut stream, "replayed update").await;
    assert_eq!(
        (e.kind, e.revision, e.value.clone(), e.prev_value.clone()),
        (EventKind::Update, r2, b("2"), Some(b("1")))
    );
    assert_eq!(
        next_event(&mut stream, "replayed update").await.revision,
        r3
    );
    let r4 = op("update", ctx.store.update(&key, b("4"), r3))
        .await
        .expect("update");
    let e = next_event(&mut stream, "live update").await;
    assert_eq!(
        (e.revision, e.value, e.prev_value, e.create_revision),
        (r4, b("4"), Some(b("3")), r1)
    );

    let mut from_start = watch(&ctx, &ctx.prefix, start).await;
    let e = next_event(&mut from_start, "replayed create").await;
    assert_eq!(e, create(&key, &b("1"), r1));
}

/// `after == 0` watches from now: earlier writes are not delivered, later ones are.
pub async fn watch_from_now(ctx: Ctx) {
    op("create", ctx.store.create(&ctx.key("before"), b("x")))
        .await
        .expect("create");
    let mut stream = watch(&ctx, &ctx.prefix, 0).await;
    let rev = op("create", ctx.store.create(&ctx.key("after"), b("y")))
        .await
        .expect("create");
    let e = next_event(&mut stream, "the write after the watch").await;
    assert_eq!(
        e,
        create(&ctx.key("after"), &b("y"), rev),
        "a watch from 0 starts now"
    );
}

/// Create, update and delete events carry kind, key, revision, value, previous value and create
/// revision; a delete carries the deleted value.
pub async fn watch_event_fields(ctx: Ctx) {
    let key = ctx.key("k");
    let mut stream = watch(&ctx, &ctx.prefix, start_revision(&ctx).await).await;
    let r1 = op("create", ctx.store.create(&key, b("v1")))
        .await
        .expect("create");
    let r2 = op("update", ctx.store.update(&key, b("v2"), r1))
        .await
        .expect("update");
    let (r3, _) = op("delete", ctx.store.delete(&key, Some(r2)))
        .await
        .expect("delete");
    let r4 = op("re-create", ctx.store.create(&key, b("v3")))
        .await
        .expect("re-create");
    let expected = vec![
        create(&key, &b("v1"), r1),
        Event {
            kind: EventKind::Update,
            key: key.clone(),
            revision: r2,
            value: b("v2"),
            prev_value: Some(b("v1")),
            create_revision: r1,
        },
        Event {
            kind: EventKind::Delete,
            key: key.clone(),
            revision: r3,
            value: b("v2"),
            prev_value: Some(b("v2")),
            create_revision: r1,
        },
        create(&key, &b("v3"), r4),
    ];
    for want in expected {
        let got = next_event(&mut stream, "event").await;
        assert_eq!(
            (&got.kind, &got.value, &got.prev_value),
            (&want.kind, &want.value, &want.prev_value)
        );
        assert_eq!(got, want);
    }
}

/// A watch sees only its prefix: not `a0` when watching `a/`, not a sibling prefix.
pub async fn watch_prefix_isolation(ctx: Ctx) {
    let start = start_revision(&ctx).await;
    let mut stream = watch(&ctx, &ctx.key("a/"), start).await;
    let mut other = watch(&ctx, &ctx.key("b/"), start).await;
    for key in ["a0", "a", "b/x", "a0/x"] {
        op("create", ctx.store.create(&ctx.key(key), b(key)))
            .await
            .expect("create");
    }
    let rev = op("create", ctx.store.create(&ctx.key("a/x"), b("mine")))
        .await
        .expect("create");
    let e = next_event(&mut stream, "the first event under a/").await;
    assert_eq!(
        e,
        create(&ctx.key("a/x"), &b("mine"), rev),
        "a watch of a/ saw another prefix"
    );
    let e = next_event(&mut other, "the first event under b/").await;
    assert_eq!(e.key, ctx.key("b/x"));
}

const WRITERS: usize = 8;
const KEYS_PER_WRITER: usize = 5;

/// Writes one key through create, two updates and a delete, recording the expected events.
async fn churn(store: Arc<dyn Storage>, key: Vec<u8>, log: &mut Vec<Event>) {
    let v = |i: usize| b(&format!("{}#{i}", String::from_utf8_lossy(&key)));
    let created = op("create", store.create(&key, v(0)))
        .await
        .expect("create");
    log.push(create(&key, &v(0), created));
    let mut last = created;
    for i in 1..3 {
        let rev = op("update", store.update(&key, v(i), last))
            .await
            .expect("update");
        log.push(Event {
            kind: EventKind::Update,
            key: key.clone(),
            revision: rev,
            value: v(i),
            prev_value: Some(v(i - 1)),
            create_revision: created,
        });
        last = rev;
    }
    let (rev, prior) = op("delete", store.delete(&key, Some(last)))
        .await
        .expect("delete");
    assert_eq!(prior.value, v(2));
    log.push(Event {
        kind: EventKind::Delete,
        key: key.clone(),
        revision: rev,
        value: v(2),
        prev_value: Some(v(2)),
        create_revision: created,
    });
}

/// A watch opened from a past revision while 8 writers run delivers every change exactly once, in
/// revision order, with the right kinds and values — across the replay/live switch-over.
pub async fn watch_with_concurrent_writers(ctx: Ctx) {
    let after = start_revision(&ctx).await;
    let mut expected = Vec::new();
    churn(ctx.store.clone(), ctx.key("early"), &mut expected).await;
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (store, ctx) = (ctx.store.clone(), ctx.clone());
            tokio::spawn(async move {
                let mut log = Vec::new();
                for k in 0..KEYS_PER_WRITER {
                    churn(store.clone(), ctx.key(format!("w{w}/k{k}")), &mut log).await;
                }
                log
            })
        })
        .collect();
    tokio::task::yield_now().await;
    let mut stream = watch(&ctx, &ctx.prefix, after).await;
    // Consume while the writers run, until the end marker written after them.
    let end_key = ctx.key("end");
    let reader = tokio::spawn(async move {
        let mut got: Vec<Event> = Vec::new();
        loop {
            let e = next_event(&mut stream, "watch while writers run").await;
            if let Some(last) = got.last() {
                assert!(
                    e.revision > last.revision,
                    "event {e:?} after {last:?}: not in revision order"
                );
            }
            let done = e.key == end_key;
            got.push(e);
            if done {
                return got;
            }
        }
    });
    for writer in writers {
        expected.extend(writer.await.expect("writer task"));
    }
    let end = op("create", ctx.store.create(&ctx.key("end"), b("end")))
        .await
        .expect("create");
    expected.sort_by_key(|e| e.revision);
    expected.push(create(&ctx.key("end"), &b("end"), end));
    let got = reader.await.expect("watch reader");
    assert_eq!(got.len(), expected.len(), "every change exactly once");
    for (got, want) in got.iter().zip(&expected) {
        assert_eq!(got, want);
        assert_eq!(
            (&got.value, &got.prev_value),
            (&want.value, &want.prev_value),
            "{want:?}"
        );
    }
}

const SLOW_WRITERS: usize = 16;
const SLOW_WRITES: usize = 64;

/// A watcher that is not polled while many writes happen either gets every event afterwards, or a
/// gap-free beginning followed by an error that ends the stream — never a silent gap.
pub async fn watch_slow_watcher(ctx: Ctx) {
    let mut stream = watch(&ctx, &ctx.prefix, start_revision(&ctx).await).await;
    let writers: Vec<_> = (0..SLOW_WRITERS)
        .map(|w| {
            let (store, ctx) = (ctx.store.clone(), ctx.clone());
            tokio::spawn(async move {
                let mut log = Vec::new();
                for i in 0..SLOW_WRITES {
                    let (key, value) = (ctx.key(format!("w{w:02}/{i:04}")), b(&format!("{w}/{i}")));
                    let rev = op("create", store.create(&key, value.clone()))
                        .await
                        .expect("create");
                    log.push(create(&key, &value, rev));
                }
                log
            })
        })
        .collect();
    let mut expected = Vec::new();
    for writer in writers {
        expected.extend(writer.await.expect("writer task"));
    }
    expected.sort_by_key(|e| e.revision);

    let mut delivered = 0;
    while delivered < expected.len() {
        match next_item(&mut stream, "slow watcher").await {
            Some(Ok(e)) => {
                assert_eq!(
                    e, expected[delivered],
                    "event {delivered} of a slow watcher: a silent gap"
                );
                delivered += 1;
            }
            Some(Err(Error::WatchLagged)) => {
                let end = tokio::time::timeout(OP_TIMEOUT, stream.next()).await;
                assert!(
                    matches!(end, Ok(None)),
                    "the stream must end after WatchLagged: {end:?}"
                );
                return;
            }
            Some(Err(err)) => {
                panic!("slow watcher after {delivered} events: unexpected error {err}")
            }
            None => panic!(
                "slow watcher ended silently after {delivered} of {} events",
                expected.len()
            ),
        }
    }
}

/// A watch from at or below the compacted revision fails with Compacted, from the call or as the
/// stream's first item; from above it works.
pub async fn watch_compacted_revision(ctx: Ctx) {
    let key = ctx.key("a");
    let r1 = op("create", ctx.store.create(&key, b("1")))
        .await
        .expect("create");
    let r2 = op("update", ctx.store.update(&key, b("2"), r1))
        .await
        .expect("update");
    op("compact", ctx.store.compact(r2)).await.expect("compact");
    for after in [r1, r2] {
        match op("watch", ctx.store.watch(&ctx.prefix, after)).await {
            Err(err) => assert_compacted::<()>(Err(err), "watch of a compacted revision"),
            Ok(mut stream) => {
                let first = next_item(&mut stream, "watch of a compacted revision").await;
                match first {
                    Some(Err(Error::Compacted { .. })) => {}
                    other => panic!(
                        "watch after {after} (compacted {r2}): expected Compacted, got {other:?}"
                    ),
                }
            }
        }
    }
    let r3 = op("update", ctx.store.update(&key, b("3"), r2))
        .await
        .expect("update");
    let mut stream = watch(&ctx, &ctx.prefix, r3).await;
    let r4 = op("update", ctx.store.update(&key, b("4"), r3))
        .await
        .expect("update");
    let e = next_event(&mut stream, "watch above the compacted revision").await;
    assert_eq!((e.revision, e.value), (r4, b("4")));
}

async fn progress_watch(ctx: &Ctx, prefix: &[u8], after: Revision) -> ProgressStream {
    op("watch_progress", ctx.store.watch_progress(prefix, after))
        .await
        .expect("watch_progress")
}

async fn request_progress(ctx: &Ctx) {
    op("request_progress", ctx.store.request_progress())
        .await
        .expect("request_progress");
}

/// Checks the progress rules on every item of one stream and keeps its events.
struct Checker {
    /// The watch's start revision: no progress below it.
    floor: Revision,
    last_event: Revision,
    progress: Option<Revision>,
    events: Vec<Event>,
}

impl Checker {
    fn new(floor: Revision) -> Self {
        Self {
            floor,
            last_event: floor,
            progress: None,
            events: Vec::new(),
        }
    }

    fn progress(&self) -> Revision {
        self.progress.unwrap_or(0)
    }

    fn take(&mut self, item: WatchItem) {
        match item {
            WatchItem::Event(e) => {
                assert!(
                    e.revision > self.last_event,
                    "event {e:?} after revision {}: not in revision order",
                    self.last_event
                );
                if let Some(p) = self.progress {
                    assert!(e.revision > p, "event {e:?} arrived after Progress({p})");
                }
                self.last_event = e.revision;
                self.events.push(e);
            }
            WatchItem::Progress(p) => {
                assert!(
                    p >= self.floor,
                    "Progress({p}) below the watch's start revision {}",
                    self.floor
                );
                if let Some(prev) = self.progress {
                    assert!(
                        p >= prev,
                        "Progress({p}) after Progress({prev}): decreasing"
                    );
                }
                self.progress = Some(p);
            }
        }
    }
}

/// The next item of a progress watch, which must be there and not an error.
async fn next_progress_item(stream: &mut ProgressStream, what: &str) -> WatchItem {
    match op(what, stream.next()).await {
        Some(Ok(item)) => item,
        Some(Err(err)) => panic!("{what}: watch failed: {err}"),
        None => panic!("{what}: watch ended"),
    }
}

/// Reads the stream until its progress reaches `target`, within [`OP_TIMEOUT`] in all.
async fn until_progress(
    stream: &mut ProgressStream,
    checker: &mut Checker,
    target: Revision,
    what: &str,
) {
    let deadline = tokio::time::Instant::now() + OP_TIMEOUT;
    while checker.progress() < target {
        let item = match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(Some(Ok(item))) => item,
            Ok(Some(Err(err))) => panic!("{what}: watch failed: {err}"),
            Ok(None) => panic!("{what}: watch ended"),
            Err(_) => panic!(
                "{what}: no progress at or above {target} within {OP_TIMEOUT:?} (last {:?})",
                checker.progress
            ),
        };
        checker.take(item);
    }
}

/// After a write under another prefix, a progress request makes a quiet prefix's stream report
/// progress at or above that write.
pub async fn watch_progress_on_request(ctx: Ctx) {
    let start = start_revision(&ctx).await;
    let mut stream = progress_watch(&ctx, &ctx.key("quiet/"), start).await;
    let mut checker = Checker::new(start);
    let written = op("create", ctx.store.create(&ctx.key("busy/x"), b("x")))
        .await
        .expect("create");
    request_progress(&ctx).await;
    until_progress(
        &mut stream,
        &mut checker,
        written,
        "progress of a quiet prefix after a request",
    )
    .await;
    assert!(
        checker.events.is_empty(),
        "a quiet prefix yielded events: {:?}",
        checker.events
    );
}

const PROGRESS_WRITERS: usize = 4;
const PROGRESS_WRITES: usize = 10;

/// No event at or below `r` follows `Progress(r)`, and progress never decreases: for changes
/// queued before a request, and while writers run and progress is requested again and again.
pub async fn watch_progress_after_events(ctx: Ctx) {
    let start = start_revision(&ctx).await;
    let mut stream = progress_watch(&ctx, &ctx.prefix, start).await;
    let mut checker = Checker::new(start);
    let mut expected = Vec::new();
    for i in 0..5 {
        let key = ctx.key(format!("queued/{i}"));
        let rev = op("create", ctx.store.create(&key, b("q")))
            .await
            .expect("create");
        expected.push(rev);
    }
    request_progress(&ctx).await;
    let last = expected[expected.len() - 1];
    until_progress(
        &mut stream,
        &mut checker,
        last,
        "progress after queued writes",
    )
    .await;
    assert_eq!(
        checker.events.len(),
        expected.len(),
        "the writes queued before the request all come before its progress"
    );

    let writers: Vec<_> = (0..PROGRESS_WRITERS)
        .map(|w| {
            let (store, ctx) = (ctx.store.clone(), ctx.clone());
            tokio::spawn(async move {
                let mut revs = Vec::new();
                for i in 0..PROGRESS_WRITES {
                    let key = ctx.key(format!("w{w}/{i}"));
                    let rev = op("create", store.create(&key, b("w")))
                        .await
                        .expect("create");
                    revs.push(rev);
                }
                revs
            })
        })
        .collect();
    let store = ctx.store.clone();
    let requester = tokio::spawn(async move {
        loop {
            op("request_progress", store.request_progress())
                .await
                .expect("request_progress");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    let end_key = ctx.key("end");
    let reader = tokio::spawn(async move {
        let mut end = None;
        loop {
            let item = next_progress_item(&mut stream, "progress watch while writers run").await;
            if let WatchItem::Event(e) = &item {
                if e.key == end_key {
                    end = Some(e.revision);
                }
            }
            checker.take(item);
            if end.is_some_and(|end| checker.progress() >= end) {
                return checker;
            }
        }
    });
    for writer in writers {
        expected.extend(writer.await.expect("writer task"));
    }
    let end = op("create", ctx.store.create(&ctx.key("end"), b("end")))
        .await
        .expect("create");
    expected.push(end);
    request_progress(&ctx).await;
    let checker = reader.await.expect("progress reader");
    requester.abort();
    expected.sort_unstable();
    let got: Vec<_> = checker.events.iter().map(|e| e.revision).collect();
    assert_eq!(got, expected, "every change exactly once, in order");
}

/// Progress never exceeds the store's current revision, with writes inside and outside the
/// prefix.
pub async fn watch_progress_bounded(ctx: Ctx) {
    let start = start_revision(&ctx).await;
    let mut stream = progress_watch(&ctx, &ctx.key("mine/"), start).await;
    let mut checker = Checker::new(start);
    for key in ["mine/a", "other/a", "mine/b", "other/b"] {
        let written = op("create", ctx.store.create(&ctx.key(key), b(key)))
            .await
            .expect("create");
        request_progress(&ctx).await;
        until_progress(&mut stream, &mut checker, written, "progress after a write").await;
        let current = current(&ctx).await;
        assert!(
            checker.progress() <= current,
            "Progress({}) above the current revision {current}",
            checker.progress()
        );
    }
    let keys: Vec<_> = checker.events.iter().map(|e| e.key.clone()).collect();
    assert_eq!(keys, vec![ctx.key("mine/a"), ctx.key("mine/b")]);
}

/// A plain watch is undisturbed by progress: requests and writes elsewhere yield nothing, and
/// its events arrive as before.
pub async fn watch_hides_progress(ctx: Ctx) {
    let mut stream = watch(&ctx, &ctx.key("mine/"), start_revision(&ctx).await).await;
    op("create", ctx.store.create(&ctx.key("other/a"), b("o")))
        .await
        .expect("create");
    request_progress(&ctx).await;
    let key = ctx.key("mine/a");
    let rev = op("create", ctx.store.create(&key, b("m")))
        .await
        .expect("create");
    let e = next_event(&mut stream, "the write under the prefix").await;
    assert_eq!(e, create(&key, &b("m"), rev));
    request_progress(&ctx).await;
    if let Ok(item) = tokio::time::timeout(Duration::from_millis(500), stream.next()).await {
        panic!("a plain watch yielded {item:?} after its only event");
    }
}
