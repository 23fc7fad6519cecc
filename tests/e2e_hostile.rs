//! Hostile input against the real binary, driven with curl:
//!
//! * a body over upstream's 3 MiB limit, sent at once (HTTP/1.1 without `Expect: 100-continue`,
//!   and HTTP/2), is answered with upstream's 413 Status, which the client reads;
//! * `server.tls_min_version = "VersionTLS13"` refuses a TLS 1.2 client and serves a default one;
//! * `server.tls_cipher_suites` limits TLS 1.2 to the suites listed
//!   (a bad `server.tls_*` value stopping start-up is in `serve_tls.rs`).

mod common;

use std::path::Path;

use common::curl::curl_as_admin;
use common::Apiary;

/// A ConfigMap document of more than 4 MiB (one long value).
fn oversized_configmap(dir: &Path) -> std::path::PathBuf {
    let value = "x".repeat(4 * 1024 * 1024);
    let document = format!(
        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"big"}},"data":{{"k":"{value}"}}}}"#
    );
    let path = dir.join("big.json");
    std::fs::write(&path, document).expect("write the body");
    path
}

#[test]
fn an_oversized_body_sent_at_once_gets_a_readable_413() {
    let apiary = Apiary::start();
    let body = oversized_configmap(apiary.data_dir());
    let data = format!("@{}", body.display());
    let path = "/api/v1/namespaces/default/configmaps";
    for protocol in [
        &["--http1.1", "-H", "Expect:"][..],
        &["--http2", "-H", "Expect:"][..],
    ] {
        let mut args = vec!["-X", "POST", "-H", "Content-Type: application/json"];
        args.extend_from_slice(protocol);
        args.extend(["--data-binary", data.as_str()]);
        let answer = curl_as_admin(&apiary, &args, path);
        assert!(answer.success, "{protocol:?}: {}", answer.body);
        assert_eq!(answer.code, 413, "{protocol:?}: {}", answer.body);
        let status: serde_json::Value = serde_json::from_str(&answer.body).expect("a Status body");
        assert_eq!(status["kind"], "Status");
        assert_eq!(status["status"], "Failure");
        assert_eq!(status["reason"], "RequestEntityTooLarge");
        assert_eq!(status["code"], 413);
        assert_eq!(
            status["message"],
            "Request entity too large: limit is 3145728"
        );
    }
    // Nothing was created, and the server still answers.
    let answer = curl_as_admin(&apiary, &[], "/api/v1/namespaces/default/configmaps/big");
    assert_eq!(answer.code, 404, "{}", answer.body);
}

#[test]
fn tls13_minimum_refuses_a_tls12_client() {
    let apiary = Apiary::start_prepared(Vec::new(), |dir| {
        std::fs::write(
            dir.join("config.toml"),
            "[server]\ntls_min_version = \"VersionTLS13\"\n",
        )
        .expect("config");
    });
    let refused = curl_as_admin(&apiary, &["--tls-max", "1.2"], "/version");
    assert!(!refused.success, "a TLS 1.2 client got {}", refused.code);
    assert_eq!(refused.code, 0, "{}", refused.body);
    let served = curl_as_admin(&apiary, &[], "/version");
    assert_eq!(served.code, 200, "{}", served.body);
    let served = curl_as_admin(&apiary, &["--tlsv1.3"], "/version");
    assert_eq!(served.code, 200, "{}", served.body);
}

#[test]
fn tls12_suites_are_restricted_to_the_list() {
    let apiary = Apiary::start_prepared(Vec::new(), |dir| {
        std::fs::write(
            dir.join("config.toml"),
            "[server]\ntls_cipher_suites = [\"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384\"]\n",
        )
        .expect("config");
    });
    // The serving key is ECDSA (see pki.rs): the listed suite is served over TLS 1.2 ...
    let listed = [
        "--tls-max",
        "1.2",
        "--ciphers",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
    ];
    let served = curl_as_admin(&apiary, &listed, "/version");
    assert_eq!(served.code, 200, "{}", served.body);
    // ... and another one is not.
    let other = [
        "--tls-max",
        "1.2",
        "--ciphers",
        "ECDHE-ECDSA-AES128-GCM-SHA256",
    ];
    let refused = curl_as_admin(&apiary, &other, "/version");
    assert!(!refused.success, "got {}", refused.code);
}
