//! Acknowledged writes survive `kill -9`.
//!
//! The test re-executes its own binary as a child (selected by an environment variable). The child
//! opens a store and runs concurrent writers, printing every acknowledged write as a line
//! `ACK <hex key> <revision>`. The parent reads lines for a while, kills the child with SIGKILL,
//! reads what the child printed before dying, reopens the store and checks every acknowledged write.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use apiary_rocksdb::{open, RocksDbOptions};
use apiary_storage::{Error, Storage};
use bytes::Bytes;

const CHILD_ENV: &str = "APIARY_ROCKSDB_CRASH_CHILD_DIR";
const WRITERS: usize = 8;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// The child's work: runs only when re-executed by `acknowledged_writes_survive_kill_9`.
#[test]
fn crash_child_writer() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async move {
        let store = open(RocksDbOptions::new(dir))
            .await
            .expect("open in the child");
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let store = store.clone();
                tokio::spawn(async move {
                    let counter = format!("/crash/counter/{w}").into_bytes();
                    let mut counter_rev = store
                        .create(&counter, Bytes::from_static(b"0"))
                        .await
                        .expect("create");
                    ack(&counter, counter_rev);
                    // Bounded, so an orphaned child stops on its own.
                    for i in 1..20_000u32 {
                        let key = format!("/crash/keys/{w}/{i:06}").into_bytes();
                        let rev = store
                            .create(&key, Bytes::from(i.to_string()))
                            .await
                            .expect("create");
                        ack(&key, rev);
                        let value = Bytes::from(i.to_string());
                        counter_rev = store
                            .update(&counter, value, counter_rev)
                            .await
                            .expect("update");
                        ack(&counter, counter_rev);
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.expect("writer");
        }
    });
}

fn ack(key: &[u8], rev: i64) {
    let mut out = std::io::stdout().lock();
    // A failed print means the parent is gone; nothing useful is left to do.
    let _ = writeln!(out, "ACK {} {rev}", hex(key));
    let _ = out.flush();
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut child = Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            "--exact",
            "crash_child_writer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the child");
    let mut lines = BufReader::new(child.stdout.take().expect("child stdout")).lines();

    let deadline = Instant::now() + Duration::from_secs(60);
    let mut acked: Vec<(Vec<u8>, i64)> = Vec::new();
    let mut first_ack = None;
    while acked.len() < 2000
        && first_ack.is_none_or(|t: Instant| t.elapsed() < Duration::from_millis(1500))
    {
        assert!(
            Instant::now() < deadline,
            "the child acknowledged too little in time: {}",
            acked.len()
        );
        let Some(line) = lines.next() else {
            panic!("the child exited early after {} acks", acked.len())
        };
        if let Some(ack) = parse(&line.expect("read a line")) {
            acked.push(ack);
            first_ack.get_or_insert_with(Instant::now);
        }
    }
    child.kill().expect("SIGKILL the child");
    child.wait().expect("reap the child");
    // Whatever the child printed before it died was acknowledged too.
    acked.extend(lines.map_while(|l| l.ok()).filter_map(|l| parse(&l)));
    assert!(
        acked.len() > 50,
        "too few acknowledged writes to prove anything: {}",
        acked.len()
    );
    eprintln!("{} writes acknowledged before kill -9", acked.len());

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let opts = RocksDbOptions {
            compaction_interval: Duration::ZERO,
            ..RocksDbOptions::new(dir.path())
        };
        let store = open(opts).await.expect("reopen after kill -9");
        check_acknowledged(&store, &acked).await;
        store
            .verify(b"/crash/")
            .await
            .expect("invariants after kill -9");
    });
}

fn parse(line: &str) -> Option<(Vec<u8>, i64)> {
    let mut parts = line.strip_prefix("ACK ")?.split(' ');
    let key = unhex(parts.next()?);
    Some((key, parts.next()?.parse().ok()?))
}

async fn check_acknowledged(store: &Arc<apiary_rocksdb::RocksDbStorage>, acked: &[(Vec<u8>, i64)]) {
    let max = acked.iter().map(|(_, rev)| *rev).max().expect("acks");
    let mut latest: HashMap<&[u8], i64> = HashMap::new();
    for (key, rev) in acked {
        let entry = latest.entry(key).or_default();
        *entry = (*entry).max(*rev);
    }
    for (key, rev) in &latest {
        let kv = store.get(key).await.expect("get").kv;
        let kv =
            kv.unwrap_or_else(|| panic!("acknowledged key {} lost", String::from_utf8_lossy(key)));
        if key.starts_with(b"/crash/keys/") {
            assert_eq!(kv.mod_revision, *rev, "a created key keeps its revision");
        } else {
            assert!(
                kv.mod_revision >= *rev,
                "counter {} went back",
                String::from_utf8_lossy(key)
            );
        }
    }
    let current = store.current_revision().await.expect("current");
    assert!(
        current >= max,
        "current revision {current} below acknowledged {max}"
    );
    let rev = store
        .create(b"/crash/after", Bytes::from_static(b"x"))
        .await
        .expect("write after restart");
    assert!(
        rev > max,
        "revision {rev} after restart does not continue above {max}"
    );
    // Every acknowledged revision is still in the history.
    let resp = store
        .list(apiary_storage::ListRequest {
            prefix: b"/crash/keys/".to_vec(),
            revision: max,
            ..Default::default()
        })
        .await;
    match resp {
        Ok(list) => {
            let created = latest
                .keys()
                .filter(|k| k.starts_with(b"/crash/keys/"))
                .count();
            assert!(
                list.kvs.len() >= created,
                "list at {max} misses acknowledged keys"
            );
        }
        Err(err @ Error::Compacted { .. }) => panic!("nothing was compacted: {err}"),
        Err(err) => panic!("list at the last acknowledged revision: {err}"),
    }
}
