use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::middleware::from_fn_with_state;
use axum::routing::any;
use serde_json::{json, Value};
use tokio::sync::Notify;
use tower::ServiceExt as _;

use super::config::{
    allocate, flow_hash, nominal_limit, AllocItem, FlowControl, CATCH_ALL, EXEMPT,
};
use super::queueset::{deal, Arrival, QueueSet, RejectReason};
use super::*;
use crate::filters::metrics::Metrics;

#[test]
fn hands_are_deterministic_distinct_and_in_range() {
    for deck in 1..=8usize {
        for hand in 1..=deck {
            for hash in 0..2000u64 {
                let cards = deal(hash, deck, hand);
                assert_eq!(cards, deal(hash, deck, hand), "deterministic");
                assert_eq!(cards.len(), hand);
                let distinct: HashSet<_> = cards.iter().collect();
                assert_eq!(distinct.len(), hand, "{deck}/{hand}/{hash}: {cards:?}");
                assert!(cards.iter().all(|c| *c < deck));
            }
        }
    }
    // Every hand of 2 out of 4 is dealt by some hash (the digits cover the deck).
    let hands: HashSet<Vec<usize>> = (0..12u64)
        .map(|h| {
            let mut cards = deal(h, 4, 2);
            cards.sort();
            cards
        })
        .collect();
    assert_eq!(hands.len(), 6);
    // Flows of one schema are spread: 64 users over 64 queues, hand 1, fill many queues.
    let used: HashSet<usize> = (0..64)
        .map(|i| deal(flow_hash("s", &format!("user-{i}")), 64, 1)[0])
        .collect();
    assert!(used.len() > 30, "{}", used.len());
    assert_ne!(flow_hash("a", "b"), flow_hash("a", "c"));
    assert_ne!(
        flow_hash("ab", ""),
        flow_hash("a", "b"),
        "the separator counts"
    );
}

fn fired(arrival: &mut Arrival) -> bool {
    match arrival {
        Arrival::Queued { dispatched, .. } => dispatched.try_recv().is_ok(),
        Arrival::Dispatched => true,
        Arrival::Rejected(_) => false,
    }
}

#[test]
fn a_flood_does_not_delay_another_flow() {
    // 8 queues, hand 1: hash 0 lands in queue 0, hash 1 in queue 1; one seat.
    let mut set = QueueSet::new(8, 1, 200, 1);
    let (flooder, other) = (0u64, 1u64);
    let mut first = set.arrive(flooder, 1);
    assert!(fired(&mut first));
    let mut flood: Vec<Arrival> = (0..100).map(|_| set.arrive(flooder, 1)).collect();
    assert_eq!(set.waiting_requests(), 100);
    let mut victim = set.arrive(other, 1);
    assert!(!fired(&mut victim));
    let mut flood_served_first = 0;
    for _ in 0..101 {
        set.finish(Some(0), 1);
        if fired(&mut victim) {
            break;
        }
        flood_served_first += flood.iter_mut().map(fired).filter(|f| *f).count();
    }
    assert!(
        flood_served_first <= 1,
        "{flood_served_first} flood requests went first"
    );
    assert_eq!(set.executing_requests(), 1);
}

#[test]
fn full_queues_and_full_levels_reject() {
    let mut set = QueueSet::new(1, 1, 2, 1);
    assert!(matches!(
        set.arrive(7, 1),
        Arrival::Dispatched | Arrival::Queued { .. }
    ));
    let _a = set.arrive(7, 1);
    let _b = set.arrive(8, 1);
    assert_eq!(set.waiting_requests(), 2);
    assert!(matches!(
        set.arrive(9, 1),
        Arrival::Rejected(RejectReason::QueueFull)
    ));
    // Without queues, what does not fit is rejected at once.
    let mut set = QueueSet::new(0, 1, 0, 2);
    assert!(matches!(set.arrive(1, 1), Arrival::Dispatched));
    assert!(matches!(set.arrive(1, 1), Arrival::Dispatched));
    assert!(matches!(
        set.arrive(1, 1),
        Arrival::Rejected(RejectReason::ConcurrencyLimit)
    ));
    set.finish(None, 1);
    assert!(matches!(set.arrive(1, 1), Arrival::Dispatched));
    // A request wider than the limit runs alone.
    let mut set = QueueSet::new(0, 1, 0, 2);
    assert!(matches!(set.arrive(1, 10), Arrival::Dispatched));
    assert!(matches!(
        set.arrive(1, 1),
        Arrival::Rejected(RejectReason::ConcurrencyLimit)
    ));
}

#[test]
fn a_cancelled_wait_leaves_its_queue() {
    let mut set = QueueSet::new(1, 1, 5, 1);
    let _running = set.arrive(1, 1);
    let Arrival::Queued { queue, id, .. } = set.arrive(2, 1) else {
        panic!("queued")
    };
    assert!(set.cancel(queue, id));
    assert_eq!(set.waiting_requests(), 0);
    set.finish(Some(0), 1);
    assert_eq!(set.executing_requests(), 0);
}

#[test]
fn allocation_lends_idle_seats_to_busy_levels() {
    assert_eq!(nominal_limit(600, 5, 245.0), 13);
    assert_eq!(nominal_limit(600, 0, 245.0), 0);
    // A busy level (nominal 10, may borrow up to 30) and an idle one (nominal 10, lends 90%).
    let items = [
        AllocItem {
            lower: 10.0,
            upper: 30.0,
            target: 25.0,
        },
        AllocItem {
            lower: 1.0,
            upper: 10.0,
            target: 1.0,
        },
    ];
    let allocs = allocate(20.0, &items);
    assert!(
        (allocs.iter().sum::<f64>() - 20.0).abs() < 0.01,
        "{allocs:?}"
    );
    assert!(allocs[0] > 18.0, "{allocs:?}");
    assert!(allocs[1] >= 1.0);
    // Nothing to lend: each keeps its lower bound.
    let tight = [
        AllocItem {
            lower: 10.0,
            upper: 30.0,
            target: 25.0,
        },
        AllocItem {
            lower: 10.0,
            upper: 10.0,
            target: 1.0,
        },
    ];
    assert_eq!(allocate(20.0, &tight), vec![10.0, 10.0]);
}

fn level(
    name: &str,
    uid: &str,
    shares: i32,
    lendable: i32,
    queuing: Option<(i32, i32, i32)>,
) -> Value {
    let limit_response = match queuing {
        Some((queues, hand, length)) => json!({"type": "Queue", "queuing": {
            "queues": queues, "handSize": hand, "queueLengthLimit": length}}),
        None => json!({"type": "Reject"}),
    };
    json!({
        "apiVersion": "flowcontrol.apiserver.k8s.io/v1",
        "kind": "PriorityLevelConfiguration",
        "metadata": {"name": name, "uid": uid},
        "spec": {"type": "Limited", "limited": {
            "nominalConcurrencyShares": shares,
            "lendablePercent": lendable,
            "limitResponse": limit_response,
        }},
    })
}

fn schema(name: &str, uid: &str, precedence: i32, level: &str, user: &str) -> Value {
    json!({
        "apiVersion": "flowcontrol.apiserver.k8s.io/v1",
        "kind": "FlowSchema",
        "metadata": {"name": name, "uid": uid},
        "spec": {
            "matchingPrecedence": precedence,
            "priorityLevelConfiguration": {"name": level},
            "distinguisherMethod": {"type": "ByUser"},
            "rules": [{
                "subjects": [{"kind": "User", "user": {"name": user}}],
                "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"],
                    "namespaces": ["*"], "clusterScope": true}],
                "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            }],
        },
    })
}

#[test]
fn periodic_reallocation_lends_an_idle_levels_seats() {
    // 25 seats: busy 10, idle 10, catch-all 5, exempt 0.
    let control = FlowControl::new(25, None);
    control.replace_priority_levels(&[
        level("busy", "u1", 10, 0, Some((1, 1, 50))),
        level("idle", "u2", 10, 100, Some((1, 1, 50))),
    ]);
    let busy = control
        .snapshot_level("busy")
        .expect("the busy level exists");
    {
        let mut state = busy.lock();
        assert_eq!(state.nominal, 10);
        // Demand far above the nominal limit for a moment.
        for _ in 0..40 {
            let _ = state.queues.arrive(3, 1);
        }
    }
    std::thread::sleep(Duration::from_millis(20));
    control.reallocate();
    let limit = busy.lock().queues.limit();
    assert!(limit > 10, "borrowed nothing: {limit}");
    let idle = control.snapshot_level("idle").expect("idle");
    assert!(idle.lock().queues.limit() < 10);
}

fn request(path: &str, user: &str, groups: &[&str]) -> http::Request<Body> {
    let mut req = http::Request::builder()
        .uri(path)
        .body(Body::empty())
        .expect("request");
    let info = crate::request::info::RequestInfoFactory::default()
        .new_request_info(req.method(), req.uri())
        .expect("request info");
    req.extensions_mut().insert(info);
    req.extensions_mut().insert(UserInfo {
        name: user.into(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        ..Default::default()
    });
    req
}

fn app(control: Arc<FlowControl>, release: Arc<Notify>) -> axum::Router {
    let state = PriorityAndFairness {
        control,
        default_wait_limit: Duration::from_millis(200),
    };
    axum::Router::new()
        .fallback(any(move || {
            let release = release.clone();
            async move {
                release.notified().await;
                "done"
            }
        }))
        .layer(from_fn_with_state(state, priority_and_fairness))
}

#[tokio::test]
async fn the_filter_queues_rejects_with_headers_and_lets_exempt_through() {
    let metrics = Metrics::new().expect("metrics");
    let apf_metrics = metrics::ApfMetrics::register(metrics.registry()).expect("register");
    let control = Arc::new(FlowControl::new(4, Some(apf_metrics)));
    control.replace_priority_levels(&[level("tiny", "pl-uid", 1, 0, Some((1, 1, 1)))]);
    control.replace_flow_schemas(&[schema("flood", "fs-uid", 500, "tiny", "flooder")]);
    let release = Arc::new(Notify::new());
    let app = app(control.clone(), release.clone());
    let authenticated = ["system:authenticated"];

    // "tiny" has 1 seat of 4 (shares 1 of 1 + 5 catch-all): one executes, one waits, one is refused.
    let path = "/api/v1/namespaces/a/configmaps/c";
    let running = tokio::spawn(
        app.clone()
            .oneshot(request(path, "flooder", &authenticated)),
    );
    tokio::time::sleep(Duration::from_millis(30)).await;
    let waiting = tokio::spawn(
        app.clone()
            .oneshot(request(path, "flooder", &authenticated)),
    );
    tokio::time::sleep(Duration::from_millis(30)).await;
    let refused = app
        .clone()
        .oneshot(request(path, "flooder", &authenticated))
        .await
        .expect("infallible");
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.headers()[header::RETRY_AFTER], "1");
    assert_eq!(refused.headers()[FLOW_SCHEMA_UID_HEADER], "fs-uid");
    assert_eq!(refused.headers()[PRIORITY_LEVEL_UID_HEADER], "pl-uid");
    let body = axum::body::to_bytes(refused.into_body(), 1024)
        .await
        .expect("body");
    assert_eq!(&body[..], TOO_MANY_REQUESTS.as_bytes());

    // Another user (catch-all, its own seats) and a super-admin (exempt) are served meanwhile.
    let other = tokio::spawn(
        app.clone()
            .oneshot(request(path, "someone", &authenticated)),
    );
    let admin = tokio::spawn(
        app.clone()
            .oneshot(request(path, "root", &["system:masters"])),
    );
    tokio::time::sleep(Duration::from_millis(30)).await;
    let text = metrics.render().expect("render");
    for line in [
        r#"apiserver_flowcontrol_current_inqueue_requests{flow_schema="flood",priority_level="tiny"} 1"#,
        r#"apiserver_flowcontrol_current_executing_requests{flow_schema="exempt",priority_level="exempt"} 1"#,
        r#"apiserver_flowcontrol_rejected_requests_total{flow_schema="flood",priority_level="tiny",reason="queue-full"} 1"#,
        r#"apiserver_flowcontrol_nominal_limit_seats{priority_level="tiny"} 1"#,
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    release.notify_waiters();
    {
        // The seat is held until the response (its body) is dropped.
        let answer = running.await.unwrap().unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
        assert_eq!(answer.headers()[FLOW_SCHEMA_UID_HEADER], "fs-uid");
        assert_eq!(answer.headers()[PRIORITY_LEVEL_UID_HEADER], "pl-uid");
    }
    for task in [other, admin] {
        let answer = task.await.unwrap().unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
    }
    // The waiting request now holds the seat and runs (well within its 200 ms wait limit).
    tokio::time::sleep(Duration::from_millis(30)).await;
    release.notify_waiters();
    let waited = waiting.await.unwrap().unwrap();
    assert_eq!(waited.status(), StatusCode::OK);
    let text = metrics.render().expect("render");
    assert!(
        text.contains(r#"apiserver_flowcontrol_dispatched_requests_total{flow_schema="flood",priority_level="tiny"} 2"#),
        "{text}"
    );
}

#[tokio::test]
async fn a_queued_request_times_out_after_its_wait_limit() {
    let control = Arc::new(FlowControl::new(4, None));
    control.replace_priority_levels(&[level("tiny", "pl-uid", 1, 0, Some((1, 1, 5)))]);
    control.replace_flow_schemas(&[schema("flood", "fs-uid", 500, "tiny", "flooder")]);
    let release = Arc::new(Notify::new());
    let app = app(control, release.clone());
    // A watch has no deadline: it waits the default limit (200 ms here), then gets 429.
    let groups = ["system:authenticated"];
    let running = tokio::spawn(app.clone().oneshot(request(
        "/api/v1/namespaces/a/configmaps/c",
        "flooder",
        &groups,
    )));
    tokio::time::sleep(Duration::from_millis(30)).await;
    let started = std::time::Instant::now();
    let refused = app
        .clone()
        .oneshot(request("/api/v1/configmaps?watch=true", "flooder", &groups))
        .await
        .expect("infallible");
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(started.elapsed() >= Duration::from_millis(150));
    release.notify_waiters();
    assert_eq!(running.await.unwrap().unwrap().status(), StatusCode::OK);
}

#[test]
fn mandatory_objects_classify_before_anything_is_stored() {
    let control = FlowControl::new(600, None);
    let info = crate::request::info::RequestInfo {
        is_resource_request: true,
        verb: "list".into(),
        resource: "pods".into(),
        ..Default::default()
    };
    let admin = UserInfo {
        name: "admin".into(),
        groups: vec!["system:masters".into(), "system:authenticated".into()],
        ..Default::default()
    };
    let class = control.classify(&admin, &info);
    assert_eq!(
        (class.flow_schema.as_str(), class.level.name.as_str()),
        (EXEMPT, EXEMPT)
    );
    assert!(class.level.is_exempt());
    let user = UserInfo {
        name: "alice".into(),
        groups: vec!["system:authenticated".into()],
        ..Default::default()
    };
    let class = control.classify(&user, &info);
    assert_eq!(class.level.name, CATCH_ALL);
    // With only the two mandatory levels, catch-all has every seat (exempt has no shares).
    assert_eq!(class.level.lock().nominal, 600);
    assert_eq!(class.flow_hash, flow_hash(CATCH_ALL, "alice"));
}

#[test]
fn retry_after_doubles_while_a_level_keeps_dropping() {
    let tracker = DroppedRequests::default();
    assert_eq!(tracker.retry_after("l"), 1);
    for second in 100..103 {
        for _ in 0..10 {
            tracker.record_at("l", second);
        }
    }
    assert_eq!(tracker.retry_after("l"), 2);
    // Quiet seconds bring it back down.
    tracker.record_at("l", 200);
    tracker.record_at("l", 201);
    assert_eq!(tracker.retry_after("l"), 1);
    assert_eq!(tracker.retry_after("other"), 1);
}

/// A count source: `pods` have a known count, `configmaps` are counted later, the rest are not
/// served here.
#[derive(Debug)]
struct FixedCount(u64);

impl seats::ObjectCounts for FixedCount {
    fn count(&self, group: &str, resource: &str) -> seats::ObjectCount {
        match (group, resource) {
            ("", "pods") => seats::ObjectCount::Known(self.0),
            ("", "configmaps") => seats::ObjectCount::Unknown,
            _ => seats::ObjectCount::NotServed,
        }
    }
}

fn estimate_with(path: &str, counts: Option<&Arc<dyn seats::ObjectCounts>>) -> u32 {
    let uri: http::Uri = path.parse().expect("uri");
    let info = crate::request::info::RequestInfoFactory::default()
        .new_request_info(&http::Method::GET, &uri)
        .expect("request info");
    seats::estimate(&info, uri.query(), counts)
}

#[test]
fn lists_are_sized_as_upstreams_list_work_estimator() {
    let counts: Arc<dyn seats::ObjectCounts> = Arc::new(FixedCount(450));
    let estimate = |path: &str| estimate_with(path, Some(&counts));
    // Served from the cache (a consistent read, `resourceVersion=0`, `NotOlderThan`): every
    // stored object, whatever the limit.
    assert_eq!(estimate("/api/v1/pods"), 5);
    assert_eq!(estimate("/api/v1/pods?limit=50"), 5);
    assert_eq!(estimate("/api/v1/pods?limit=50&resourceVersion=0"), 5);
    assert_eq!(
        estimate("/api/v1/pods?resourceVersion=7&resourceVersionMatch=NotOlderThan&limit=10"),
        5
    );
    // From storage (a legacy exact read, `Exact`, a continuation): twice the limit ...
    assert_eq!(estimate("/api/v1/pods?limit=50&resourceVersion=7"), 1);
    assert_eq!(estimate("/api/v1/pods?limit=120&resourceVersion=7"), 3);
    assert_eq!(
        estimate("/api/v1/pods?resourceVersion=7&resourceVersionMatch=Exact"),
        9
    );
    assert_eq!(estimate("/api/v1/pods?limit=200&continue=abc"), 4);
    // ... and with a selector, every stored object plus the limit.
    assert_eq!(
        estimate("/api/v1/pods?limit=50&resourceVersion=7&labelSelector=a%3Db"),
        5
    );
    assert_eq!(
        estimate("/api/v1/pods?limit=150&continue=abc&fieldSelector=spec.nodeName%3Dn"),
        6
    );
    // Bounds: the maximum for many objects or undecodable options, the minimum for few.
    let many: Arc<dyn seats::ObjectCounts> = Arc::new(FixedCount(1_000_000));
    assert_eq!(
        estimate_with("/api/v1/pods", Some(&many)),
        seats::MAXIMUM_SEATS
    );
    let none: Arc<dyn seats::ObjectCounts> = Arc::new(FixedCount(0));
    assert_eq!(
        estimate_with("/api/v1/pods", Some(&none)),
        seats::MINIMUM_SEATS
    );
    assert_eq!(estimate("/api/v1/pods?limit=x"), seats::MAXIMUM_SEATS);
    // A count not known now: the maximum; a resource not stored here: the minimum; no source
    // at all: the maximum.
    assert_eq!(estimate("/api/v1/configmaps"), seats::MAXIMUM_SEATS);
    assert_eq!(
        estimate("/apis/metrics.k8s.io/v1beta1/pods"),
        seats::MINIMUM_SEATS
    );
    assert_eq!(estimate_with("/api/v1/pods", None), seats::MAXIMUM_SEATS);
    // Gets, mutations and watches without initial events: one seat; a watch that streams its
    // initial list is sized as a list from the cache.
    assert_eq!(estimate("/api/v1/namespaces/a/pods/p"), 1);
    assert_eq!(estimate("/api/v1/pods?watch=true"), 1);
    assert_eq!(
        estimate("/api/v1/pods?watch=true&sendInitialEvents=false"),
        1
    );
    assert_eq!(
        estimate(
            "/api/v1/pods?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
        ),
        5
    );
    let uri: http::Uri = "/api/v1/namespaces/a/pods".parse().expect("uri");
    let create = crate::request::info::RequestInfoFactory::default()
        .new_request_info(&http::Method::POST, &uri)
        .expect("request info");
    assert_eq!(seats::estimate(&create, None, Some(&many)), 1);
}

/// A filter over a handler that, for a watch, answers at once and fires the initialization
/// signal when `initial_sent` is notified (or drops it unfired with `?drop=1`); other requests
/// are answered at once.
fn watch_app(control: Arc<FlowControl>, initial_sent: Arc<Notify>) -> axum::Router {
    let state = PriorityAndFairness {
        control,
        default_wait_limit: Duration::from_secs(5),
    };
    axum::Router::new()
        .fallback(any(move |req: axum::extract::Request| {
            let initial_sent = initial_sent.clone();
            async move {
                let signal = req.extensions().get::<WatchInitSignal>().cloned();
                let drop_it = req.uri().query().is_some_and(|q| q.contains("drop=1"));
                drop(req);
                if let Some(signal) = signal {
                    if !drop_it {
                        tokio::spawn(async move {
                            initial_sent.notified().await;
                            signal.signal();
                        });
                    }
                }
                "stream"
            }
        }))
        .layer(from_fn_with_state(state, priority_and_fairness))
}

#[tokio::test]
async fn a_watch_holds_its_seat_until_its_initial_events_are_sent() {
    let control = Arc::new(FlowControl::new(4, None));
    control.replace_priority_levels(&[level("tiny", "pl-uid", 1, 0, Some((1, 1, 5)))]);
    control.replace_flow_schemas(&[schema("flood", "fs-uid", 500, "tiny", "flooder")]);
    let initial_sent = Arc::new(Notify::new());
    let app = watch_app(control.clone(), initial_sent.clone());
    let groups = ["system:authenticated"];
    let tiny = control.snapshot_level("tiny").expect("tiny");

    // The watch's response head is out, but its initial events are not sent yet.
    let watch = app
        .clone()
        .oneshot(request("/api/v1/configmaps?watch=true", "flooder", &groups))
        .await
        .expect("infallible");
    assert_eq!(watch.status(), StatusCode::OK);
    assert_eq!(watch.headers()[PRIORITY_LEVEL_UID_HEADER], "pl-uid");
    let get = tokio::spawn(app.clone().oneshot(request(
        "/api/v1/namespaces/a/configmaps/c",
        "flooder",
        &groups,
    )));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !get.is_finished(),
        "served while the watch held the only seat"
    );
    assert_eq!(tiny.lock().queues.executing_seats(), 1);
    assert_eq!(tiny.lock().queues.waiting_requests(), 1);

    // The initial events are sent: the seat goes to the waiting request.
    initial_sent.notify_waiters();
    let got = tokio::time::timeout(Duration::from_secs(2), get)
        .await
        .expect("dispatched after the signal")
        .expect("join")
        .expect("infallible");
    assert_eq!(got.status(), StatusCode::OK);
    // Its body done, its seat is free.
    drop(got);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(tiny.lock().queues.executing_seats(), 0);

    // A watch that ends without firing the signal (it failed) releases its seat too.
    let failed = app
        .clone()
        .oneshot(request(
            "/api/v1/configmaps?watch=true&drop=1",
            "flooder",
            &groups,
        ))
        .await
        .expect("infallible");
    assert_eq!(failed.status(), StatusCode::OK);
    let next = tokio::time::timeout(
        Duration::from_secs(2),
        app.clone().oneshot(request(
            "/api/v1/namespaces/a/configmaps/c",
            "flooder",
            &groups,
        )),
    )
    .await
    .expect("not held by a dropped signal")
    .expect("infallible");
    assert_eq!(next.status(), StatusCode::OK);
}

#[test]
fn the_init_signal_fires_once_and_on_drop() {
    let (signal, mut fired) = WatchInitSignal::new();
    let clone = signal.clone();
    assert!(fired.try_recv().is_err());
    clone.signal();
    assert_eq!(fired.try_recv(), Ok(()));
    signal.signal();
    let (signal, mut dropped) = WatchInitSignal::new();
    let clone = signal.clone();
    drop(signal);
    assert_eq!(
        dropped.try_recv(),
        Err(tokio::sync::oneshot::error::TryRecvError::Empty),
        "a clone still holds it"
    );
    drop(clone);
    assert_eq!(
        dropped.try_recv(),
        Err(tokio::sync::oneshot::error::TryRecvError::Closed)
    );
}
