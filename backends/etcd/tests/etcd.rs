//! etcd-specific behaviour on the test binary's shared member: the key layout seen by `etcdctl`,
//! key mapping errors, failing fast when etcd is unreachable, lagging watchers, and calls spread
//! over several channels.

use std::process::Command;
use std::time::{Duration, Instant};

use apiary_etcd::testing::{unique_prefix, TempEtcd};
use apiary_etcd::{open, EtcdOptions, EtcdStore, OpenError};
use apiary_storage::{Error, ListRequest, Storage};
use bytes::Bytes;
use futures::StreamExt;

async fn store(strip: &str, prefix: &str) -> std::sync::Arc<EtcdStore> {
    let opts = EtcdOptions {
        strip: strip.as_bytes().to_vec(),
        prefix: prefix.as_bytes().to_vec(),
        compaction_interval: Duration::ZERO,
        ..EtcdOptions::new(TempEtcd::shared().endpoints())
    };
    open(opts).await.expect("open etcd")
}

/// `etcdctl get --prefix <prefix>`: the keys and values, one per line each.
fn etcdctl_get(prefix: &str) -> String {
    let out = Command::new("etcdctl")
        .env("ETCDCTL_API", "3")
        .arg("--endpoints")
        .arg(TempEtcd::shared().endpoints().join(","))
        .args(["get", "--prefix", prefix])
        .output()
        .expect("run etcdctl");
    assert!(out.status.success(), "etcdctl: {out:?}");
    String::from_utf8(out.stdout).expect("utf-8")
}

#[tokio::test]
async fn keys_live_where_kube_apiserver_puts_them() {
    let name = unique_prefix().trim_start_matches('/').to_string();
    let key = format!("/registry/configmaps/default/{name}");
    let registry = store("/registry", "/registry").await;
    registry
        .create(
            key.as_bytes(),
            Bytes::from_static(b"{\"kind\":\"ConfigMap\"}"),
        )
        .await
        .expect("create");
    let listed = etcdctl_get("/registry/configmaps/");
    assert!(
        listed.contains(&format!("{key}\n{{\"kind\":\"ConfigMap\"}}\n")),
        "{listed}"
    );

    // Another prefix: the same store key lives under it instead.
    let other = store("/registry", "/other").await;
    other
        .create(key.as_bytes(), Bytes::from_static(b"x"))
        .await
        .expect("create");
    let listed = etcdctl_get(&format!("/other/configmaps/default/{name}"));
    assert_eq!(listed, format!("/other/configmaps/default/{name}\nx\n"));

    // Read back, the keys carry the server's `/registry` again.
    let got = other
        .get(key.as_bytes())
        .await
        .expect("get")
        .kv
        .expect("key");
    assert_eq!(
        (got.key, got.value),
        (key.clone().into_bytes(), Bytes::from_static(b"x"))
    );
    let list = other
        .list(ListRequest {
            prefix: b"/registry/configmaps/default/".to_vec(),
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(list.kvs.len(), 1);
    assert_eq!(list.kvs[0].key, key.as_bytes());

    // A key written by another etcd client is seen through the mapping too.
    let out = Command::new("etcdctl")
        .env("ETCDCTL_API", "3")
        .arg("--endpoints")
        .arg(TempEtcd::shared().endpoints().join(","))
        .args(["put", &format!("/other/secrets/default/{name}"), "s"])
        .output()
        .expect("run etcdctl");
    assert!(out.status.success(), "{out:?}");
    let got = other
        .get(format!("/registry/secrets/default/{name}").as_bytes())
        .await
        .expect("get");
    assert_eq!(
        got.kv.expect("written by etcdctl").value,
        Bytes::from_static(b"s")
    );
}

#[tokio::test]
async fn keys_outside_strip_are_invalid() {
    let registry = store("/registry", "/registry").await;
    for result in [
        registry.get(b"/elsewhere/a").await.map(|_| ()),
        registry
            .create(b"/elsewhere/a", Bytes::new())
            .await
            .map(|_| ()),
        registry.count(b"").await.map(|_| ()),
        registry.watch(b"/reg", 0).await.map(|_| ()),
    ] {
        assert!(
            matches!(result, Err(Error::InvalidArgument(_))),
            "{result:?}"
        );
    }
}

#[tokio::test]
async fn open_fails_fast_with_one_line() {
    let opts = EtcdOptions {
        dial_timeout: Duration::from_secs(1),
        ..EtcdOptions::new(["http://127.0.0.1:1"])
    };
    let started = Instant::now();
    let err = open(opts).await.err().expect("nothing listens on port 1");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(err, OpenError::Unreachable { .. }), "{err:?}");
    let line = err.to_string();
    assert!(
        line.starts_with("no etcd endpoint answered within 1s"),
        "{line}"
    );
    assert!(!line.contains('\n'), "{line}");

    let bad = EtcdOptions::new(["not a url"]);
    assert!(open(bad).await.is_err());
}

#[tokio::test]
async fn a_lagging_watcher_gets_its_events_then_watch_lagged() {
    let opts = EtcdOptions {
        compaction_interval: Duration::ZERO,
        watch_buffer: 8,
        ..EtcdOptions::new(TempEtcd::shared().endpoints())
    };
    let store = open(opts).await.expect("open");
    let prefix = format!("{}/", unique_prefix());
    let mut watch = store.watch(prefix.as_bytes(), 0).await.expect("watch");
    let mut revisions = Vec::new();
    for i in 0..50 {
        let key = format!("{prefix}{i:03}");
        revisions.push(
            store
                .create(key.as_bytes(), Bytes::new())
                .await
                .expect("create"),
        );
    }
    // Give the watch task time to receive everything.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut delivered = 0;
    loop {
        match tokio::time::timeout(Duration::from_secs(10), watch.next()).await {
            Ok(Some(Ok(event))) => {
                assert_eq!(
                    event.revision, revisions[delivered],
                    "no gap before the lag"
                );
                delivered += 1;
            }
            Ok(Some(Err(Error::WatchLagged))) => break,
            other => panic!("after {delivered} events: {other:?}"),
        }
    }
    assert!(
        delivered <= 8,
        "{delivered} events buffered with a buffer of 8"
    );
    assert!(
        matches!(
            tokio::time::timeout(Duration::from_secs(5), watch.next()).await,
            Ok(None)
        ),
        "the stream ends after WatchLagged"
    );
}

#[tokio::test]
async fn a_dropped_watch_cancels_its_task() {
    let store = store("", "").await;
    let prefix = unique_prefix();
    for _ in 0..20 {
        let watch = store.watch(prefix.as_bytes(), 0).await.expect("watch");
        drop(watch);
    }
    // The store still works, and new watches still see new writes.
    let mut watch = store.watch(prefix.as_bytes(), 0).await.expect("watch");
    let rev = store
        .create(format!("{prefix}/k").as_bytes(), Bytes::new())
        .await
        .expect("create");
    let event = tokio::time::timeout(Duration::from_secs(10), watch.next())
        .await
        .expect("event")
        .expect("open")
        .expect("event");
    assert_eq!(event.revision, rev);
}

/// However many channels carry the calls (`0` counts as one), each create is read back at once
/// through the next channel, and the watch, on its own channel, delivers every create once in
/// revision order.
#[tokio::test]
async fn writes_over_several_channels_are_read_back_and_watched_in_order() {
    const WRITES: usize = 24;
    for connections in [0, 1, 3] {
        let opts = EtcdOptions {
            compaction_interval: Duration::ZERO,
            connections,
            ..EtcdOptions::new(TempEtcd::shared().endpoints())
        };
        let store = open(opts).await.expect("open");
        let prefix = format!("{}/", unique_prefix());
        let mut watch = store.watch(prefix.as_bytes(), 0).await.expect("watch");
        let tasks: Vec<_> = (0..WRITES)
            .map(|i| {
                let store = store.clone();
                let key = format!("{prefix}{i:02}");
                tokio::spawn(async move {
                    let value = Bytes::from(format!("v{i}"));
                    let rev = store
                        .create(key.as_bytes(), value.clone())
                        .await
                        .expect("create");
                    let got = store.get(key.as_bytes()).await.expect("get");
                    assert!(got.revision >= rev, "{key}: read before its write");
                    let kv = got.kv.expect("the created key is visible");
                    assert_eq!((kv.value, kv.mod_revision), (value, rev), "{key}");
                    rev
                })
            })
            .collect();
        let mut revisions = Vec::new();
        for task in tasks {
            revisions.push(task.await.expect("task"));
        }
        revisions.sort_unstable();
        revisions.dedup();
        assert_eq!(revisions.len(), WRITES, "each create has its own revision");
        let mut delivered = Vec::new();
        while delivered.len() < WRITES {
            let event = tokio::time::timeout(Duration::from_secs(10), watch.next())
                .await
                .expect("an event in time")
                .expect("the watch is open")
                .expect("an event");
            delivered.push(event.revision);
        }
        assert_eq!(delivered, revisions, "{connections} connections");
        assert_eq!(store.count(prefix.as_bytes()).await.expect("count"), WRITES);
    }
}
