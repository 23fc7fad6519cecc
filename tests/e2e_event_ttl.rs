//! End-to-end: Events expire after `server.event_ttl_seconds` (upstream's `--event-ttl`). Apiary
//! runs on RocksDB with a TTL of 2 s; a core `v1` Event and an `events.k8s.io/v1` Event created
//! with kubectl are seen DELETED by `kubectl get events -w` no sooner than the TTL and within a
//! few seconds after it, and then answer 404, while a ConfigMap created before them stays.

mod common;

use std::collections::BTreeMap;
use std::process::Child;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::Apiary;

const TTL: Duration = Duration::from_secs(2);
/// The sweep interval (1 s) plus a loaded test machine.
const SLACK: Duration = Duration::from_secs(10);

fn core_event(name: &str) -> String {
    format!(
        r#"{{"apiVersion": "v1", "kind": "Event",
  "metadata": {{"name": "{name}", "namespace": "default"}},
  "involvedObject": {{"kind": "ConfigMap", "name": "stays", "namespace": "default"}},
  "reason": "Tested", "message": "expires", "type": "Normal"}}"#
    )
}

fn events_k8s_io_event(name: &str) -> String {
    format!(
        r#"{{"apiVersion": "events.k8s.io/v1", "kind": "Event",
  "metadata": {{"name": "{name}", "namespace": "default"}},
  "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "e2e/ttl",
  "reportingInstance": "e2e", "action": "Testing", "reason": "Tested",
  "regarding": {{"kind": "ConfigMap", "name": "stays", "namespace": "default"}},
  "note": "expires", "type": "Normal"}}"#
    )
}

/// `kubectl get events -w --output-watch-events -o json` in `default`, as (type, name) pairs.
fn watch_events(apiary: &Apiary) -> (Child, mpsc::Receiver<(String, String)>) {
    apiary.kubectl_watch(&["get", "events", "-n", "default"], |event| {
        (
            event["type"].as_str().unwrap_or_default().to_string(),
            event["object"]["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )
    })
}

/// Waits until the watch reports `kind` for `name`, at most until `until`.
fn wait_for(rx: &mpsc::Receiver<(String, String)>, kind: &str, name: &str, until: Instant) -> bool {
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((k, n)) if k == kind && n == name => return true,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
}

#[test]
fn events_expire_after_the_event_ttl() {
    let apiary = Apiary::start_with_env(vec![(
        "APIARY_SERVER__EVENT_TTL_SECONDS".into(),
        TTL.as_secs().to_string(),
    )]);
    apiary.ok(&["create", "configmap", "stays", "-n", "default"]);
    let (mut watcher, rx) = watch_events(&apiary);

    // A first Event proves the watch is live before the measured ones are written.
    apiary.ok_stdin(&["create", "-f", "-"], &core_event("probe"));
    assert!(
        wait_for(
            &rx,
            "ADDED",
            "probe",
            Instant::now() + Duration::from_secs(30)
        ),
        "the watch never showed the probe Event"
    );

    let written = Instant::now();
    apiary.ok_stdin(&["create", "-f", "-"], &core_event("core-event"));
    apiary.ok_stdin(&["create", "-f", "-"], &events_k8s_io_event("new-event"));
    let mut deleted_after: BTreeMap<String, Duration> = BTreeMap::new();
    let until = written + TTL + SLACK;
    while deleted_after.len() < 2 {
        let left = until.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((kind, name)) if kind == "DELETED" && name != "probe" => {
                deleted_after.insert(name, written.elapsed());
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    let _ = watcher.kill();
    let _ = watcher.wait();

    for name in ["core-event", "new-event"] {
        let after = deleted_after
            .get(name)
            .unwrap_or_else(|| panic!("{name} was not DELETED within {:?}", TTL + SLACK));
        assert!(
            *after >= TTL,
            "{name} was deleted after {after:?}, before its TTL of {TTL:?}"
        );
        let err = apiary.fails(&["get", "event", name, "-n", "default"]);
        assert!(
            err.contains("NotFound") || err.contains("not found"),
            "{err}"
        );
    }
    let err = apiary.fails(&[
        "get",
        "events.v1.events.k8s.io",
        "new-event",
        "-n",
        "default",
    ]);
    assert!(err.contains("not found"), "{err}");
    apiary.ok(&["get", "configmap", "stays", "-n", "default"]);
    let names = apiary.ok(&["get", "events", "-n", "default", "-o", "name"]);
    assert!(
        !names.contains("core-event") && !names.contains("new-event"),
        "expired Events are still listed: {names}"
    );
}
