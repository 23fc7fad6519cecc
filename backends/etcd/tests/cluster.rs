//! Failover and compaction on clusters of their own: losing the leader of a 3-member cluster while
//! writers and watchers run, losing every member and recovering, and the periodic compaction shared
//! by two replicas. One test at a time (each runs its own members on a 2-core budget).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use apiary_etcd::testing::TempEtcdCluster;
use apiary_etcd::{open, EtcdOptions, EtcdStore};
use apiary_storage::{Error, Event, EventKind, ListRequest, Revision, Storage, WatchStream};
use bytes::Bytes;
use futures::StreamExt;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

async fn store(cluster: &TempEtcdCluster, request_timeout: Duration) -> Arc<EtcdStore> {
    let opts = EtcdOptions {
        strip: b"/registry".to_vec(),
        prefix: b"/registry".to_vec(),
        request_timeout,
        compaction_interval: Duration::ZERO,
        watch_buffer: 100_000,
        ..EtcdOptions::new(cluster.endpoints())
    };
    open(opts).await.expect("open etcd")
}

/// One acknowledged write, as a watcher must see it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    revision: Revision,
    kind: EventKind,
    key: Vec<u8>,
    value: Bytes,
}

impl From<&Event> for Seen {
    fn from(e: &Event) -> Self {
        Seen {
            revision: e.revision,
            kind: e.kind,
            key: e.key.clone(),
            value: e.value.clone(),
        }
    }
}

/// Reads a watch until the event of `end`, checking revision order.
async fn collect(mut watch: WatchStream, end: Vec<u8>) -> Result<Vec<Seen>, String> {
    let mut seen: Vec<Seen> = Vec::new();
    loop {
        let event = match tokio::time::timeout(Duration::from_secs(60), watch.next()).await {
            Ok(Some(Ok(event))) => event,
            other => return Err(format!("after {} events: {other:?}", seen.len())),
        };
        if let Some(last) = seen.last() {
            if event.revision <= last.revision {
                return Err(format!("{event:?} after revision {}", last.revision));
            }
        }
        let done = event.key == end;
        seen.push(Seen::from(&event));
        if done {
            return Ok(seen);
        }
    }
}

const WRITERS: usize = 8;
const WATCHERS: usize = 6;

#[test]
fn losing_the_leader_loses_no_write_and_no_event() {
    let _serial = serial();
    let cluster = TempEtcdCluster::start(3);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let store = store(&cluster, Duration::from_secs(10)).await;
        let prefix = b"/registry/loss/".to_vec();
        let start = store.current_revision().await.expect("current revision");
        let mut watchers = Vec::new();
        for _ in 0..WATCHERS {
            // Each watcher on a store of its own, so their streams spread over the members.
            let own = self::store(&cluster, Duration::from_secs(10)).await;
            let watch = own.watch(&prefix, start).await.expect("watch");
            let end = b"/registry/loss/end".to_vec();
            watchers.push(tokio::spawn(async move {
                let _own = own;
                collect(watch, end).await
            }));
        }

        let stop = Arc::new(AtomicBool::new(false));
        let failed = Arc::new(AtomicUsize::new(0));
        let slowest = Arc::new(Mutex::new(Duration::ZERO));
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (store, stop, failed, slowest) =
                    (store.clone(), stop.clone(), failed.clone(), slowest.clone());
                tokio::spawn(async move {
                    let mut acked: Vec<Seen> = Vec::new();
                    let mut i = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let key = format!("/registry/loss/w{w}/k{i:05}").into_bytes();
                        i += 1;
                        let mut last = None;
                        for step in 0..3u8 {
                            let value = Bytes::from(format!("{w}/{i}/{step}"));
                            let began = Instant::now();
                            let result = match last {
                                None => store.create(&key, value.clone()).await,
                                Some(rev) => store.update(&key, value.clone(), rev).await,
                            };
                            let took = began.elapsed();
                            let mut slow = slowest.lock().unwrap();
                            *slow = (*slow).max(took);
                            drop(slow);
                            match result {
                                Ok(revision) => {
                                    let kind = if last.is_none() {
                                        EventKind::Create
                                    } else {
                                        EventKind::Update
                                    };
                                    acked.push(Seen {
                                        revision,
                                        kind,
                                        key: key.clone(),
                                        value,
                                    });
                                    last = Some(revision);
                                }
                                Err(err) => {
                                    eprintln!("writer {w}: {err}");
                                    failed.fetch_add(1, Ordering::Relaxed);
                                    break;
                                }
                            }
                        }
                    }
                    acked
                })
            })
            .collect();

        // Kill the leader, bring it back, then kill the new leader.
        let mut killed = Vec::new();
        for round in 0..2 {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let leader = tokio::task::block_in_place(|| cluster.leader());
            eprintln!("round {round}: killing leader m{leader}");
            tokio::task::block_in_place(|| cluster.kill(leader));
            killed.push(leader);
            tokio::time::sleep(Duration::from_millis(2500)).await;
            tokio::task::block_in_place(|| {
                cluster.restart(leader);
                cluster.wait_healthy();
            });
        }
        tokio::time::sleep(Duration::from_millis(1000)).await;
        stop.store(true, Ordering::Relaxed);
        let mut acked = Vec::new();
        for writer in writers {
            acked.extend(writer.await.expect("writer"));
        }
        let end = store
            .create(b"/registry/loss/end", Bytes::new())
            .await
            .expect("end marker");
        acked.sort_by_key(|s| s.revision);
        acked.push(Seen {
            revision: end,
            kind: EventKind::Create,
            key: b"/registry/loss/end".to_vec(),
            value: Bytes::new(),
        });
        let failed = failed.load(Ordering::Relaxed);
        eprintln!(
            "{} acknowledged writes, {failed} failed calls, slowest call {:?}, killed {killed:?}",
            acked.len(),
            slowest.lock().unwrap()
        );
        assert!(acked.len() > 100, "too few writes to mean anything");
        assert_eq!(failed, 0, "calls failed despite the retries");

        // Every acknowledged write is there.
        let mut latest: BTreeMap<Vec<u8>, &Seen> = BTreeMap::new();
        for seen in &acked {
            latest.insert(seen.key.clone(), seen);
        }
        let list = store
            .list(ListRequest {
                prefix: prefix.clone(),
                ..Default::default()
            })
            .await
            .expect("list");
        assert_eq!(list.kvs.len(), latest.len());
        for kv in &list.kvs {
            let want = latest[&kv.key];
            assert_eq!((&kv.value, kv.mod_revision), (&want.value, want.revision));
        }

        // Every watcher saw exactly the acknowledged writes, once each, in order.
        for (i, watcher) in watchers.into_iter().enumerate() {
            let seen = watcher.await.expect("watcher").unwrap_or_else(|e| {
                panic!("watcher {i}: {e}");
            });
            assert_eq!(
                seen.len(),
                acked.len(),
                "watcher {i}: every event exactly once"
            );
            assert_eq!(seen, acked, "watcher {i}");
        }
    });
}

#[test]
fn with_every_member_down_calls_fail_in_time_and_recover() {
    let _serial = serial();
    let cluster = TempEtcdCluster::start(3);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let timeout = Duration::from_secs(2);
        let store = store(&cluster, timeout).await;
        let key = b"/registry/down/a";
        let created = store
            .create(key, Bytes::from_static(b"1"))
            .await
            .expect("create");
        let mut watch = store
            .watch(b"/registry/down/", created)
            .await
            .expect("watch");

        tokio::task::block_in_place(|| (0..3).for_each(|m| cluster.kill(m)));
        let unreachable =
            |r: &Result<(), Error>| matches!(r, Err(Error::Unavailable(_) | Error::Timeout(_)));
        let began = Instant::now();
        let got = store.get(key).await.map(|_| ());
        assert!(unreachable(&got), "{got:?}");
        assert!(
            began.elapsed() < timeout + Duration::from_secs(1),
            "{:?}",
            began.elapsed()
        );
        let began = Instant::now();
        let wrote = store
            .update(key, Bytes::from_static(b"2"), created)
            .await
            .map(|_| ());
        assert!(unreachable(&wrote), "{wrote:?}");
        assert!(
            began.elapsed() < timeout + Duration::from_secs(1),
            "{:?}",
            began.elapsed()
        );
        let began = Instant::now();
        match tokio::time::timeout(timeout * 4, watch.next()).await {
            Ok(Some(Err(Error::Unavailable(_)))) => {}
            other => panic!("the watch must end with Unavailable: {other:?}"),
        }
        assert!(began.elapsed() < timeout * 2, "{:?}", began.elapsed());
        assert!(watch.next().await.is_none());

        tokio::task::block_in_place(|| {
            (0..3).for_each(|m| cluster.restart(m));
            cluster.wait_healthy();
        });
        // The same store recovers without being reopened.
        let began = Instant::now();
        let kv = loop {
            match store.get(key).await {
                Ok(got) => break got.kv.expect("the key survived"),
                Err(err) if began.elapsed() < Duration::from_secs(20) => {
                    eprintln!("after restart: {err}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(err) => panic!("no recovery: {err}"),
            }
        };
        assert_eq!(kv.value, Bytes::from_static(b"1"));
        let mut watch = store
            .watch(b"/registry/down/", kv.mod_revision)
            .await
            .expect("watch");
        let rev = store
            .update(key, Bytes::from_static(b"3"), kv.mod_revision)
            .await
            .expect("update");
        let event = tokio::time::timeout(Duration::from_secs(10), watch.next())
            .await
            .expect("an event")
            .expect("open")
            .expect("event");
        assert_eq!(
            (event.revision, event.value),
            (rev, Bytes::from_static(b"3"))
        );
    });
}

#[test]
fn periodic_compaction_is_shared_by_replicas() {
    let _serial = serial();
    let cluster = TempEtcdCluster::start(1);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let interval = Duration::from_millis(700);
        let replica = |_: usize| {
            let opts = EtcdOptions {
                strip: b"/registry".to_vec(),
                prefix: b"/registry".to_vec(),
                compaction_interval: interval,
                ..EtcdOptions::new(cluster.endpoints())
            };
            open(opts)
        };
        let (a, b) = (
            replica(0).await.expect("open a"),
            replica(1).await.expect("open b"),
        );
        let key = b"/registry/compaction/k";
        let first = a
            .create(key, Bytes::from_static(b"0"))
            .await
            .expect("create");
        let began = Instant::now();
        let mut last = first;
        let mut i = 0;
        // Keep writing until both replicas know that history past `first` is gone.
        loop {
            i += 1;
            last = b
                .update(key, Bytes::from(i.to_string()), last)
                .await
                .expect("update");
            let (ca, cb) = (
                a.compacted_revision().await.expect("compacted a"),
                b.compacted_revision().await.expect("compacted b"),
            );
            if ca > first && cb > first {
                break;
            }
            assert!(
                began.elapsed() < Duration::from_secs(20),
                "no compaction: {ca} {cb}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let elapsed = began.elapsed();
        match a.watch(b"/registry/compaction/", first).await {
            Err(Error::Compacted { .. }) => {}
            Ok(mut stream) => match stream.next().await {
                Some(Err(Error::Compacted { .. })) => {}
                other => panic!("an old watch must get Compacted: {other:?}"),
            },
            Err(err) => panic!("an old watch must get Compacted: {err}"),
        }
        let old = b
            .list(ListRequest {
                prefix: b"/registry/compaction/".to_vec(),
                revision: first,
                ..Default::default()
            })
            .await;
        assert!(matches!(old, Err(Error::Compacted { .. })), "{old:?}");

        // One compaction per round, not one per replica: the key's version counts the rounds won.
        let mut client = etcd_client::Client::connect(cluster.endpoints(), None)
            .await
            .expect("connect");
        let resp = client.get("compact_rev_key", None).await.expect("get");
        let version = resp.kvs()[0].version();
        let rounds = (elapsed.as_millis() / interval.as_millis()) as i64 + 1;
        eprintln!("{rounds} rounds, compact_rev_key version {version}, {i} updates");
        assert!(
            version <= rounds + 1,
            "version {version} after at most {rounds} rounds"
        );
    });
}
