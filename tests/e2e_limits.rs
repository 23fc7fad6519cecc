//! Request limits and CORS against the real binary:
//!
//! * with its storage stalled (a frozen etcd member), a request ends with a 504 Timeout Status at
//!   `server.request_timeout_seconds`, and a burst beyond `server.max_requests_inflight` is refused
//!   at once with 429 and `Retry-After`; once storage answers again, so does Apiary;
//! * `server.cors_allowed_origins`: a preflight from an allowed origin is answered before
//!   authentication, a disallowed origin gets no CORS headers.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use apiary_etcd::testing::TempEtcdCluster;
use common::curl::{curl, Answer};
use common::Apiary;

fn with_config(config: String) -> impl FnOnce(&Path) {
    move |dir: &Path| {
        std::fs::write(dir.join("tokens.csv"), "loader-token,loader,uid-loader\n").expect("tokens");
        std::fs::write(dir.join("config.toml"), config).expect("config");
    }
}

#[test]
fn stalled_storage_gives_504_and_a_burst_beyond_the_limit_gives_429() {
    let etcd = TempEtcdCluster::start(1);
    let endpoints = etcd
        .endpoints()
        .iter()
        .map(|e| format!("{e:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    // The token user is not system:masters, so the limits apply to it.
    let config = format!(
        "[server]\nrequest_timeout_seconds = 2\nmax_requests_inflight = 1\nmax_mutating_requests_inflight = 1\nenable_priority_and_fairness = false\n\n\
         [storage]\nbackend = \"etcd\"\n\n[storage.etcd]\nendpoints = [{endpoints}]\nrequest_timeout_seconds = 60\n\n\
         [auth]\ntoken_file = \"tokens.csv\"\nauthorization_modes = [\"AlwaysAllow\"]\n"
    );
    let apiary = Apiary::start_prepared(Vec::new(), with_config(config));
    let token = ["-H", "Authorization: Bearer loader-token"];
    let path = "/api/v1/namespaces/default/configmaps";
    assert_eq!(curl(&apiary, &token, path).code, 200);

    etcd.pause(0);
    let started = Instant::now();
    let answers: Vec<Answer> = std::thread::scope(|scope| {
        let first = scope.spawn(|| curl(&apiary, &token, path));
        // Let the first request take the only read-only seat, then burst.
        std::thread::sleep(Duration::from_millis(500));
        let burst: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| curl(&apiary, &token, path)))
            .collect();
        let mut answers = vec![first.join().expect("first")];
        answers.extend(burst.into_iter().map(|t| t.join().expect("burst")));
        answers
    });
    let elapsed = started.elapsed();

    let timed_out = &answers[0];
    assert_eq!(timed_out.code, 504, "{}", timed_out.body);
    let status: serde_json::Value = serde_json::from_str(&timed_out.body).expect("a Status");
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["reason"], "Timeout");
    assert_eq!(status["code"], 504);
    assert!(
        elapsed >= Duration::from_secs(2) && elapsed < Duration::from_secs(20),
        "{elapsed:?}"
    );
    for refused in &answers[1..] {
        assert_eq!(refused.code, 429, "{}", refused.body);
        assert_eq!(refused.header("retry-after"), Some("1"));
        assert_eq!(refused.body, "Too many requests, please try again later.\n");
    }

    // Mutating requests have their own seats: one stalls, the next is refused. Over HTTP/1.1:
    // the refusal is answered before the request body is read, as upstream, and the HTTP/2
    // stream reset that ends such an upload is reported as an error by this machine's curl
    // (7.88); kubectl takes it (see e2e_auth's refused creates).
    let create = [
        "--http1.1",
        "-H",
        "Authorization: Bearer loader-token",
        "-H",
        "Content-Type: application/json",
        "-X",
        "POST",
        "-d",
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}"#,
    ];
    let answers: Vec<Answer> = std::thread::scope(|scope| {
        let first = scope.spawn(|| curl(&apiary, &create, path));
        std::thread::sleep(Duration::from_millis(500));
        let second = scope.spawn(|| curl(&apiary, &create, path));
        vec![first.join().expect("first"), second.join().expect("second")]
    });
    assert_eq!(answers[0].code, 504, "{}", answers[0].body);
    assert_eq!(answers[1].code, 429, "{}", answers[1].body);

    // The admin (system:masters) is never refused by the limits, only timed out.
    let cert = apiary.data_dir().join("admin.crt");
    let key = apiary.data_dir().join("admin.key");
    let admin = [
        "--cert",
        cert.to_str().expect("path"),
        "--key",
        key.to_str().expect("path"),
    ];
    let admin_answer = curl(&apiary, &admin, path);
    assert_eq!(admin_answer.code, 504, "{}", admin_answer.body);

    etcd.resume(0);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = curl(&apiary, &token, path);
        if answer.code == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "{} {}", answer.code, answer.body);
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn cors_preflight_and_origins() {
    let config = "[server]\ncors_allowed_origins = [\"//app\\\\.example\\\\.com$\", \"//localhost(:|$)\"]\n\n[auth]\ntoken_file = \"tokens.csv\"\n".to_string();
    let apiary = Apiary::start_prepared(Vec::new(), with_config(config));

    // A preflight from an allowed origin: answered before authentication, no credentials needed.
    let preflight = curl(
        &apiary,
        &[
            "-X",
            "OPTIONS",
            "-H",
            "Origin: https://app.example.com",
            "-H",
            "Access-Control-Request-Method: GET",
        ],
        "/api/v1/namespaces",
    );
    assert_eq!(preflight.code, 204, "{}", preflight.body);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(
        preflight.header("access-control-allow-methods"),
        Some("POST, GET, OPTIONS, PUT, DELETE, PATCH")
    );
    assert_eq!(
        preflight.header("access-control-allow-credentials"),
        Some("true")
    );
    assert!(preflight
        .header("access-control-allow-headers")
        .is_some_and(|h| h.contains("Authorization")));

    // A disallowed origin gets no CORS headers; its preflight goes on to authentication (401).
    let refused = curl(
        &apiary,
        &[
            "-X",
            "OPTIONS",
            "-H",
            "Origin: https://evil.example.org",
            "-H",
            "Access-Control-Request-Method: GET",
        ],
        "/api/v1/namespaces",
    );
    assert_eq!(refused.code, 401);
    assert!(refused.header("access-control-allow-origin").is_none());

    // An allowed origin's real request: the answer carries the CORS headers.
    let get = curl(
        &apiary,
        &[
            "-H",
            "Origin: http://localhost:8001",
            "-H",
            "Authorization: Bearer loader-token",
        ],
        "/version",
    );
    assert_eq!(get.code, 200, "{}", get.body);
    assert_eq!(
        get.header("access-control-allow-origin"),
        Some("http://localhost:8001")
    );
    assert_eq!(get.header("access-control-expose-headers"), Some("Date"));
}
