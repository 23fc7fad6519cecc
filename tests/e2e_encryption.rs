//! End-to-end encryption at rest (`storage.encryption_config`, upstream's
//! `--encryption-provider-config`): a Secret kubectl creates is stored encrypted in upstream's
//! format on RocksDB, PostgreSQL and etcd (read back raw from each), ConfigMaps stay plaintext,
//! upstream's documented key rotation works, and a bad file stops start-up naming the setting.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use apiary_storage::Storage;
use base64::Engine;
use common::{free_port, Apiary, Backend};

const FILE: &str = "encryption.yaml";
/// What the Secret holds; its base64 form is what the stored JSON carries.
const PASSWORD: &str = "correct-horse-battery-staple-7731";
/// A ConfigMap value: stored as it is, so a raw read that can see plaintext finds it.
const VISIBLE: &str = "plainly-visible-configmap-value-4410";
const SECRET_KEY: &str = "/registry/secrets/default/db";
const CONFIGMAP_KEY: &str = "/registry/configmaps/default/settings";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// An EncryptionConfiguration for Secrets with aescbc `keys` (name, key byte), then identity.
fn encryption_config(keys: &[(&str, u8)]) -> String {
    let mut out = String::from(
        "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources:\n      - secrets\n    providers:\n      - aescbc:\n          keys:\n",
    );
    for (name, byte) in keys {
        out.push_str(&format!(
            "            - name: {name}\n              secret: {}\n",
            b64(&[*byte; 32])
        ));
    }
    out.push_str("      - identity: {}\n");
    out
}

fn env_with_encryption(backend: Backend) -> Vec<(String, String)> {
    let mut env = backend.fresh_store_env();
    env.push(("APIARY_STORAGE__ENCRYPTION_CONFIG".into(), FILE.into()));
    env
}

fn start(backend: Backend, keys: &[(&str, u8)]) -> Apiary {
    let config = encryption_config(keys);
    Apiary::start_prepared(env_with_encryption(backend), move |dir: &Path| {
        std::fs::write(dir.join(FILE), config).expect("write the encryption configuration");
    })
}

fn create_objects(apiary: &Apiary) {
    apiary.ok(&[
        "create",
        "secret",
        "generic",
        "db",
        &format!("--from-literal=password={PASSWORD}"),
    ]);
    apiary.ok(&[
        "create",
        "configmap",
        "settings",
        &format!("--from-literal=value={VISIBLE}"),
    ]);
    // kubectl reads the Secret back decrypted.
    let got = apiary.ok(&["get", "secret", "db", "-o", "jsonpath={.data.password}"]);
    assert_eq!(got, b64(PASSWORD.as_bytes()));
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Asserts a raw Secret value is upstream's aescbc form with `key_name` and hides the password.
fn assert_encrypted(raw: &[u8], key_name: &str) {
    let prefix = format!("k8s:enc:aescbc:v1:{key_name}:");
    assert!(
        raw.starts_with(prefix.as_bytes()),
        "raw value starts {:?}",
        String::from_utf8_lossy(&raw[..raw.len().min(40)])
    );
    assert!(!contains(raw, PASSWORD.as_bytes()));
    assert!(!contains(raw, b64(PASSWORD.as_bytes()).as_bytes()));
    assert!(!contains(raw, b"\"kind\""), "no JSON visible");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn env_value<'a>(env: &'a [(String, String)], name: &str) -> &'a str {
    env.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("{name} not set"))
}

/// The RocksDB store's raw values, opened by the backend crate after the server stopped.
fn rocksdb_raw(data_dir: &Path, keys: &[&str]) -> Vec<Vec<u8>> {
    runtime().block_on(async {
        let store = apiary_rocksdb::open(apiary_rocksdb::RocksDbOptions::new(
            data_dir.join("rocksdb"),
        ))
        .await
        .expect("open the RocksDB store");
        let mut out = Vec::new();
        for key in keys {
            let kv = store.get(key.as_bytes()).await.expect("get").kv;
            out.push(kv.expect("stored").value.to_vec());
        }
        out
    })
}

/// Every byte of every file under `dir`.
fn all_file_bytes(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(all_file_bytes(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.extend(bytes);
        }
    }
    out
}

#[test]
fn secrets_are_encrypted_on_disk_with_rocksdb() {
    let mut apiary = start(Backend::Rocksdb, &[("key1", 1)]);
    create_objects(&apiary);
    let _ = apiary.child.kill();
    let _ = apiary.child.wait();

    // Nowhere in the store's files (WAL included) is the password; the ConfigMap's value is.
    let files = all_file_bytes(&apiary.data_dir().join("rocksdb"));
    assert!(
        contains(&files, VISIBLE.as_bytes()),
        "the scan sees plaintext"
    );
    assert!(!contains(&files, PASSWORD.as_bytes()));
    assert!(!contains(&files, b64(PASSWORD.as_bytes()).as_bytes()));
    assert!(contains(&files, b"k8s:enc:aescbc:v1:key1:"));

    let raw = rocksdb_raw(apiary.data_dir(), &[SECRET_KEY, CONFIGMAP_KEY]);
    assert_encrypted(&raw[0], "key1");
    assert!(contains(&raw[1], VISIBLE.as_bytes()));
}

#[test]
fn secrets_are_encrypted_in_postgres() {
    let apiary = start(Backend::Postgres, &[("key1", 1)]);
    create_objects(&apiary);
    let url = env_value(&apiary.env, "APIARY_STORAGE__POSTGRES__URL").to_string();
    let raw = runtime().block_on(async {
        let store = apiary_postgres::open(apiary_postgres::PostgresOptions::new(url))
            .await
            .expect("open the database");
        let mut out = Vec::new();
        for key in [SECRET_KEY, CONFIGMAP_KEY] {
            let kv = store.get(key.as_bytes()).await.expect("get").kv;
            out.push(kv.expect("stored").value.to_vec());
        }
        out
    });
    assert_encrypted(&raw[0], "key1");
    assert!(contains(&raw[1], VISIBLE.as_bytes()));
}

/// etcd is read with `etcdctl`, as an operator checks upstream's encryption.
#[test]
fn secrets_are_encrypted_in_etcd() {
    let apiary = start(Backend::Etcd, &[("key1", 1)]);
    create_objects(&apiary);
    let endpoints = apiary_etcd::testing::TempEtcd::shared().endpoints();
    let prefix = env_value(&apiary.env, "APIARY_STORAGE__ETCD__PREFIX").to_string();
    let etcd_key = |key: &str| format!("{prefix}{}", key.trim_start_matches("/registry"));
    let get = |key: String| {
        let out = Command::new("etcdctl")
            .env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={}", endpoints.join(",")))
            .args(["get", key.as_str(), "--print-value-only"])
            .output()
            .expect("run etcdctl");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let secret = get(etcd_key(SECRET_KEY));
    assert_encrypted(&secret, "key1");
    let configmap = get(etcd_key(CONFIGMAP_KEY));
    assert!(contains(&configmap, VISIBLE.as_bytes()));
}

/// Upstream's documented rotation: add key2 first, restart, replace every Secret, remove key1,
/// restart; the Secrets stay readable, and are stored with key2.
#[test]
fn key_rotation_by_the_documented_steps() {
    let mut apiary = start(Backend::Rocksdb, &[("key1", 1)]);
    create_objects(&apiary);

    std::fs::write(
        apiary.data_dir().join(FILE),
        encryption_config(&[("key2", 2), ("key1", 1)]),
    )
    .expect("add key2");
    apiary.kill_and_restart();
    let all = apiary.ok(&["get", "secrets", "-A", "-o", "json"]);
    apiary.ok_stdin(&["replace", "-f", "-"], &all);

    std::fs::write(
        apiary.data_dir().join(FILE),
        encryption_config(&[("key2", 2)]),
    )
    .expect("remove key1");
    apiary.kill_and_restart();
    // Readable with key2 alone: every Secret was rewritten.
    let got = apiary.ok(&["get", "secret", "db", "-o", "jsonpath={.data.password}"]);
    assert_eq!(got, b64(PASSWORD.as_bytes()));
    let names = apiary.ok(&["get", "secrets", "-A", "-o", "name"]);
    assert!(names.contains("secret/db"), "{names}");

    let _ = apiary.child.kill();
    let _ = apiary.child.wait();
    let raw = rocksdb_raw(apiary.data_dir(), &[SECRET_KEY, CONFIGMAP_KEY]);
    assert_encrypted(&raw[0], "key2");
    assert!(
        contains(&raw[1], VISIBLE.as_bytes()),
        "ConfigMaps stay plaintext"
    );
}

/// A configuration Apiary cannot honour stops start-up: one line naming the setting, exit 2.
#[test]
fn a_bad_encryption_configuration_stops_start_up() {
    let cases = [
        (
            encryption_config(&[("key1", 1)]).replace(&b64(&[1; 32]), &b64(b"password")),
            "secret is not of the expected length, got 8, expected one of [16 24 32]",
        ),
        (
            "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources: [secrets]\n    providers:\n      - kms:\n          apiVersion: v2\n          name: vault\n          endpoint: unix:///tmp/kms.sock\n".to_string(),
            "KMS providers are not supported",
        ),
    ];
    for (config, expected) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(FILE), config).expect("write");
        let output = Command::new(env!("CARGO_BIN_EXE_apiary"))
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", free_port()))
            .arg("--data-dir")
            .arg(dir.path())
            .current_dir(dir.path())
            .env("APIARY_STORAGE__ENCRYPTION_CONFIG", FILE)
            .stdin(Stdio::null())
            .output()
            .expect("run apiary");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        let last = stderr.lines().last().unwrap_or_default();
        assert!(
            last.contains("storage.encryption_config = \"encryption.yaml\": ")
                && last.contains(expected),
            "{stderr}"
        );
    }
}
