use std::sync::Arc;

use apiary_storage::testkit::memory::MemoryStorage;
use apiary_storage::{EventKind, ListRequest, Storage};
use base64::Engine;
use bytes::Bytes;
use futures::StreamExt;

use super::providers::{Provider, Transformer};
use super::*;

const PLAIN: &[u8] = br#"{"kind":"Secret","data":{"password":"aHVudGVyMg=="}}"#;
const SECRET_KEY: &[u8] = b"/registry/secrets/default/s1";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn config(providers_yaml: &str) -> String {
    format!(
        "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources:\n      - secrets\n    providers:\n{providers_yaml}"
    )
}

fn aescbc_yaml(keys: &[(&str, Vec<u8>)]) -> String {
    let mut out = String::from("      - aescbc:\n          keys:\n");
    for (name, key) in keys {
        out.push_str(&format!(
            "            - name: {name}\n              secret: {}\n",
            b64(key)
        ));
    }
    out
}

fn encrypted(inner: &Arc<dyn Storage>, yaml: &str) -> Arc<dyn Storage> {
    let rules = parse(yaml).expect("valid configuration");
    Arc::new(EncryptedStorage::new(
        inner.clone(),
        rules,
        b"/registry".to_vec(),
    ))
}

fn memory() -> Arc<dyn Storage> {
    MemoryStorage::new()
}

// ---- providers ----

#[test]
fn each_provider_round_trips_with_upstreams_prefix_and_layout() {
    let plain = Bytes::from_static(PLAIN);
    let cases: Vec<(Provider, &str, usize)> = vec![
        // (provider, prefix, overhead after the prefix)
        (
            Provider::aesgcm("k1", &[7; 16]).unwrap(),
            "k8s:enc:aesgcm:v1:k1:",
            12 + 16,
        ),
        (
            Provider::aesgcm("k1", &[7; 24]).unwrap(),
            "k8s:enc:aesgcm:v1:k1:",
            12 + 16,
        ),
        (
            Provider::aesgcm("k1", &[7; 32]).unwrap(),
            "k8s:enc:aesgcm:v1:k1:",
            12 + 16,
        ),
        (
            Provider::secretbox("k1", &[7; 32]).unwrap(),
            "k8s:enc:secretbox:v1:k1:",
            24 + 16,
        ),
    ];
    for (provider, prefix, overhead) in cases {
        let sealed = provider.seal(&plain, SECRET_KEY).unwrap();
        assert!(sealed.starts_with(prefix.as_bytes()), "{prefix}");
        assert_eq!(
            sealed.len(),
            prefix.len() + overhead + PLAIN.len(),
            "{prefix}"
        );
        assert!(
            !contains(&sealed, b"aHVudGVyMg=="),
            "{prefix}: plaintext visible"
        );
        assert_eq!(
            provider.open(&sealed, SECRET_KEY).unwrap(),
            plain,
            "{prefix}"
        );
        // Fresh randomness per write.
        assert_ne!(
            provider.seal(&plain, SECRET_KEY).unwrap(),
            sealed,
            "{prefix}"
        );
    }
    for key_len in [16, 24, 32] {
        let provider = Provider::aescbc("key1", &vec![9; key_len]).unwrap();
        let sealed = provider.seal(&plain, SECRET_KEY).unwrap();
        let prefix = b"k8s:enc:aescbc:v1:key1:";
        assert!(sealed.starts_with(prefix));
        // IV, then the value padded to whole blocks (a full block of padding when aligned).
        let padded = (PLAIN.len() / 16 + 1) * 16;
        assert_eq!(sealed.len(), prefix.len() + 16 + padded);
        assert_eq!(provider.open(&sealed, SECRET_KEY).unwrap(), plain);
    }
}

#[test]
fn aescbc_pads_block_aligned_values_with_a_whole_block() {
    let provider = Provider::aescbc("k", &[1; 32]).unwrap();
    for len in [0usize, 1, 15, 16, 17, 32] {
        let plain = Bytes::from(vec![b'x'; len]);
        let sealed = provider.seal(&plain, b"").unwrap();
        let body = sealed.len() - b"k8s:enc:aescbc:v1:k:".len() - 16;
        assert_eq!(body, (len / 16 + 1) * 16, "length {len}");
        assert_eq!(provider.open(&sealed, b"").unwrap(), plain, "length {len}");
    }
}

#[test]
fn aesgcm_binds_the_value_to_its_storage_key() {
    let provider = Provider::aesgcm("k1", &[3; 32]).unwrap();
    let sealed = provider
        .seal(&Bytes::from_static(PLAIN), SECRET_KEY)
        .unwrap();
    let err = provider
        .open(&sealed, b"/registry/secrets/default/other")
        .unwrap_err();
    assert!(err.contains("authentication failed"), "{err}");
}

#[test]
fn a_wrong_key_or_tampered_value_does_not_decrypt() {
    let plain = Bytes::from_static(PLAIN);
    let pairs = [
        (
            Provider::aesgcm("k", &[1; 32]).unwrap(),
            Provider::aesgcm("k", &[2; 32]).unwrap(),
        ),
        (
            Provider::secretbox("k", &[1; 32]).unwrap(),
            Provider::secretbox("k", &[2; 32]).unwrap(),
        ),
    ];
    for (right, wrong) in pairs {
        let sealed = right.seal(&plain, SECRET_KEY).unwrap();
        assert!(wrong.open(&sealed, SECRET_KEY).is_err());
        let mut tampered = sealed.to_vec();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(right.open(&Bytes::from(tampered), SECRET_KEY).is_err());
    }
    // CBC has no authentication: a wrong key gives garbage, which the padding check or JSON
    // decoding rejects; it must never give the plaintext back.
    let right = Provider::aescbc("k", &[1; 32]).unwrap();
    let wrong = Provider::aescbc("k", &[2; 32]).unwrap();
    let sealed = right.seal(&plain, SECRET_KEY).unwrap();
    assert_ne!(wrong.open(&sealed, SECRET_KEY).ok(), Some(plain));
}

#[test]
fn short_or_misaligned_values_get_upstreams_errors() {
    let cbc = Provider::aescbc("k", &[1; 16]).unwrap();
    let prefix = b"k8s:enc:aescbc:v1:k:".to_vec();
    let short = Bytes::from([prefix.clone(), vec![0; 8]].concat());
    assert_eq!(
        cbc.open(&short, b"").unwrap_err(),
        "the stored data was shorter than the required size"
    );
    let misaligned = Bytes::from([prefix, vec![0; 16 + 5]].concat());
    assert_eq!(
        cbc.open(&misaligned, b"").unwrap_err(),
        "the stored data is not a multiple of the block size"
    );
}

#[test]
fn transformer_reads_by_prefix_and_reports_stale_values() {
    let plain = Bytes::from_static(PLAIN);
    let old = Provider::aescbc("key1", &[1; 32]).unwrap();
    let written_old = old.seal(&plain, SECRET_KEY).unwrap();
    let rotated = Transformer::new(vec![
        Provider::aescbc("key2", &[2; 32]).unwrap(),
        Provider::aescbc("key1", &[1; 32]).unwrap(),
    ]);
    assert_eq!(
        rotated.read(&written_old, SECRET_KEY).unwrap(),
        (plain.clone(), true)
    );
    let written_new = rotated.write(&plain, SECRET_KEY).unwrap();
    assert!(written_new.starts_with(b"k8s:enc:aescbc:v1:key2:"));
    assert_eq!(
        rotated.read(&written_new, SECRET_KEY).unwrap(),
        (plain.clone(), false)
    );

    // identity last reads the values written before encryption was configured, as stale.
    let with_identity = Transformer::new(vec![
        Provider::aescbc("key2", &[2; 32]).unwrap(),
        Provider::identity(),
    ]);
    assert_eq!(
        with_identity.read(&plain, SECRET_KEY).unwrap(),
        (plain.clone(), true)
    );

    // identity first (decrypting everything): encrypted values are read by the later keys.
    let identity_first = Transformer::new(vec![
        Provider::identity(),
        Provider::aescbc("key1", &[1; 32]).unwrap(),
    ]);
    assert_eq!(
        identity_first.read(&written_old, SECRET_KEY).unwrap(),
        (plain.clone(), true)
    );
    assert_eq!(identity_first.write(&plain, SECRET_KEY).unwrap(), plain);

    // No provider for the prefix.
    let only_key2 = Transformer::new(vec![Provider::aescbc("key2", &[2; 32]).unwrap()]);
    assert_eq!(
        only_key2.read(&written_old, SECRET_KEY).unwrap_err(),
        "no matching prefix found"
    );
    let only_identity = Transformer::new(vec![Provider::identity()]);
    assert_eq!(
        only_identity.read(&written_old, SECRET_KEY).unwrap_err(),
        "identity transformer tried to read encrypted data"
    );
}

// ---- configuration ----

#[test]
fn upstreams_documented_example_parses() {
    // The example of the "Encrypting Confidential Data at Rest" task page, JSON and YAML.
    let yaml = format!(
        "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources:\n      - secrets\n      - configmaps\n      - pandas.awesome.bears.example\n    providers:\n      - aescbc:\n          keys:\n            - name: key1\n              secret: {}\n      - identity: {{}}\n  - resources:\n      - '*.apps'\n    providers:\n      - aesgcm:\n          keys:\n            - name: key1\n              secret: {}\n  - resources:\n      - '*.*'\n    providers:\n      - secretbox:\n          keys:\n            - name: key1\n              secret: {}\n",
        b64(&[1; 32]),
        b64(&[2; 16]),
        b64(&[3; 32])
    );
    let rules = parse(&yaml).expect("parses");
    let plain = Bytes::from_static(PLAIN);
    let sealed_with = |key: &str| {
        let key = key.as_bytes();
        rules
            .lookup(key)
            .expect("configured")
            .write(&plain, key)
            .unwrap()
    };
    assert!(sealed_with("/registry/secrets/ns/a").starts_with(b"k8s:enc:aescbc:v1:key1:"));
    assert!(sealed_with("/registry/configmaps/ns/a").starts_with(b"k8s:enc:aescbc:v1:key1:"));
    assert!(sealed_with("/registry/awesome.bears.example/pandas/ns/a")
        .starts_with(b"k8s:enc:aescbc:v1:key1:"));
    // apps keys carry no group segment: deployments live under /registry/deployments/.
    assert!(sealed_with("/registry/deployments/ns/a").starts_with(b"k8s:enc:aesgcm:v1:key1:"));
    // Everything else falls to '*.*'.
    assert!(sealed_with("/registry/pods/ns/a").starts_with(b"k8s:enc:secretbox:v1:key1:"));

    let json = format!(
        r#"{{"apiVersion":"apiserver.config.k8s.io/v1","kind":"EncryptionConfiguration","resources":[{{"resources":["secrets"],"providers":[{{"secretbox":{{"keys":[{{"name":"k","secret":"{}"}}]}}}}]}}]}}"#,
        b64(&[5; 32])
    );
    let rules = parse(&json).expect("JSON parses");
    assert!(rules.lookup(b"/registry/secrets/a/b").is_some());
    assert!(rules.lookup(b"/registry/configmaps/a/b").is_none());
}

#[test]
fn bad_configurations_name_the_field() {
    let cases: Vec<(String, &str)> = vec![
        (
            config(&aescbc_yaml(&[("key1", b"password".to_vec())])),
            "resources[0].providers[0].aescbc.keys[0].secret: Invalid value: \"REDACTED\": secret is not of the expected length, got 8, expected one of [16 24 32]",
        ),
        (
            config(&format!(
                "      - secretbox:\n          keys:\n            - name: k\n              secret: {}\n",
                b64(&[1; 16])
            )),
            "resources[0].providers[0].secretbox.keys[0].secret: Invalid value: \"REDACTED\": secret is not of the expected length, got 16, expected one of [32]",
        ),
        (
            config("      - aesgcm:\n          keys:\n            - name: k\n              secret: '!!notbase64'\n"),
            "secrets must be base64 encoded",
        ),
        (
            config("      - aesgcm:\n          keys: []\n"),
            "resources[0].providers[0].aesgcm.keys: Required value: at least one keys is required",
        ),
        (
            config("      - rot13:\n          keys: []\n"),
            "provider does not contain any of the expected providers",
        ),
        (
            config("      - identity: {}\n        aescbc:\n          keys: []\n"),
            "more than one provider specified in a single element",
        ),
        (
            config("      - kms:\n          apiVersion: v2\n          name: vault\n          endpoint: unix:///tmp/kms.sock\n"),
            "resources[0].providers[0].kms: Unsupported value: KMS providers are not supported",
        ),
        (
            "apiVersion: v1\nkind: ConfigMap\nresources: []\n".to_string(),
            "got unexpected config type",
        ),
        (
            "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources: ['*']\n    providers:\n      - identity: {}\n".to_string(),
            "use '*.' to encrypt all the resources from core API group",
        ),
        (
            "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources: ['Secrets']\n    providers:\n      - identity: {}\n".to_string(),
            "resource name must be lowercase",
        ),
    ];
    for (text, want) in cases {
        let err = parse(&text).expect_err(want);
        assert!(err.contains(want), "{err}\nwanted: {want}");
        assert!(!err.contains('\n'), "one line: {err}");
    }
}

#[test]
fn the_first_entry_naming_a_resource_wins() {
    let yaml = format!(
        "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources: [secrets]\n    providers:\n      - identity: {{}}\n  - resources: [secrets, configmaps]\n    providers:\n      - aescbc:\n          keys:\n            - name: k\n              secret: {}\n",
        b64(&[1; 32])
    );
    let rules = parse(&yaml).unwrap();
    let plain = Bytes::from_static(PLAIN);
    let key = b"/registry/secrets/a/b";
    assert_eq!(
        rules.lookup(key).unwrap().write(&plain, key).unwrap(),
        plain
    );
    let key = b"/registry/configmaps/a/b";
    assert!(rules
        .lookup(key)
        .unwrap()
        .write(&plain, key)
        .unwrap()
        .starts_with(b"k8s:enc:aescbc:v1:k:"));
}

// ---- the storage decorator ----

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn configured_values_are_encrypted_on_the_way_down_and_decrypted_on_every_read() {
    let inner = memory();
    let store = encrypted(&inner, &config(&aescbc_yaml(&[("key1", vec![1; 32])])));
    let cm_key = b"/registry/configmaps/default/c1";
    let mut watch = store.watch(b"/registry/", 0).await.unwrap();
    let mut progress = store.watch_progress(b"/registry/", 0).await.unwrap();

    store
        .create(SECRET_KEY, Bytes::from_static(PLAIN))
        .await
        .unwrap();
    store
        .create(cm_key, Bytes::from_static(b"{\"cm\":1}"))
        .await
        .unwrap();

    let raw = inner.get(SECRET_KEY).await.unwrap().kv.unwrap();
    assert!(raw.value.starts_with(b"k8s:enc:aescbc:v1:key1:"));
    assert!(!contains(&raw.value, b"aHVudGVyMg=="));
    // Not configured: stored as it is.
    let raw_cm = inner.get(cm_key).await.unwrap().kv.unwrap();
    assert_eq!(raw_cm.value, Bytes::from_static(b"{\"cm\":1}"));

    let got = store.get(SECRET_KEY).await.unwrap().kv.unwrap();
    assert_eq!(got.value, Bytes::from_static(PLAIN));
    assert!(!got.stale);

    let listed = store
        .list(ListRequest {
            prefix: b"/registry/".to_vec(),
            ..Default::default()
        })
        .await
        .unwrap();
    let values: Vec<&[u8]> = listed.kvs.iter().map(|kv| &kv.value[..]).collect();
    assert_eq!(values, vec![&b"{\"cm\":1}"[..], PLAIN]);

    let rev = store
        .get(SECRET_KEY)
        .await
        .unwrap()
        .kv
        .unwrap()
        .mod_revision;
    store
        .update(SECRET_KEY, Bytes::from_static(b"{\"v\":2}"), rev)
        .await
        .unwrap();
    let (_, deleted) = store.delete(SECRET_KEY, None).await.unwrap();
    assert_eq!(deleted.value, Bytes::from_static(b"{\"v\":2}"));

    let mut seen = Vec::new();
    for _ in 0..4 {
        let event = watch.next().await.unwrap().unwrap();
        seen.push((event.kind, event.value.clone(), event.prev_value.clone()));
    }
    let plain = Bytes::from_static(PLAIN);
    let v2 = Bytes::from_static(b"{\"v\":2}");
    assert_eq!(seen[0], (EventKind::Create, plain.clone(), None));
    assert_eq!(
        seen[2],
        (EventKind::Update, v2.clone(), Some(plain.clone()))
    );
    assert_eq!(seen[3], (EventKind::Delete, v2.clone(), Some(v2.clone())));
    // The progress stream decrypts too.
    loop {
        match progress.next().await.unwrap().unwrap() {
            WatchItem::Event(event) => {
                assert_eq!(event.value, plain);
                break;
            }
            WatchItem::Progress(_) => continue,
        }
    }
}

#[tokio::test]
async fn a_value_read_with_an_older_key_is_stale_until_rewritten() {
    let inner = memory();
    let before = encrypted(&inner, &config(&aescbc_yaml(&[("key1", vec![1; 32])])));
    before
        .create(SECRET_KEY, Bytes::from_static(PLAIN))
        .await
        .unwrap();

    // Rotation step 1: key2 first, key1 still readable.
    let rotated = encrypted(
        &inner,
        &config(&aescbc_yaml(&[
            ("key2", vec![2; 32]),
            ("key1", vec![1; 32]),
        ])),
    );
    let kv = rotated.get(SECRET_KEY).await.unwrap().kv.unwrap();
    assert!(kv.stale);
    assert_eq!(kv.value, Bytes::from_static(PLAIN));
    let listed = rotated
        .list(ListRequest {
            prefix: b"/registry/secrets/".to_vec(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(listed.kvs[0].stale);

    // Step 2: rewriting stores it with key2, no longer stale.
    rotated
        .update(SECRET_KEY, kv.value, kv.mod_revision)
        .await
        .unwrap();
    let raw = inner.get(SECRET_KEY).await.unwrap().kv.unwrap();
    assert!(raw.value.starts_with(b"k8s:enc:aescbc:v1:key2:"));
    assert!(!rotated.get(SECRET_KEY).await.unwrap().kv.unwrap().stale);

    // Step 3: key1 removed; still readable.
    let after = encrypted(&inner, &config(&aescbc_yaml(&[("key2", vec![2; 32])])));
    let kv = after.get(SECRET_KEY).await.unwrap().kv.unwrap();
    assert_eq!(kv.value, Bytes::from_static(PLAIN));
    assert!(!kv.stale);
}

#[tokio::test]
async fn undecryptable_values_are_internal_errors_naming_the_key() {
    let inner = memory();
    let yaml = config(&format!(
        "      - aesgcm:\n          keys:\n            - name: k\n              secret: {}\n",
        b64(&[4; 32])
    ));
    let store = encrypted(&inner, &yaml);
    store
        .create(SECRET_KEY, Bytes::from_static(PLAIN))
        .await
        .unwrap();
    // The sealed value copied under another key fails its authentication.
    let raw = inner.get(SECRET_KEY).await.unwrap().kv.unwrap().value;
    let other = b"/registry/secrets/default/copy";
    inner.create(other, raw.clone()).await.unwrap();
    match store.get(other).await {
        Err(Error::Internal(why)) => {
            assert!(why.contains("/registry/secrets/default/copy"), "{why}")
        }
        other => panic!("expected an internal error, got {other:?}"),
    }
    // An unconfigured resource holding encrypted data is refused, as upstream's identity.
    let cm = b"/registry/configmaps/default/enc";
    inner.create(cm, raw).await.unwrap();
    match store.get(cm).await {
        Err(Error::Internal(why)) => {
            assert!(
                why.contains("identity transformer tried to read encrypted data"),
                "{why}"
            )
        }
        other => panic!("expected an internal error, got {other:?}"),
    }
}

#[test]
fn aesgcm_authenticates_the_etcd_key_under_a_custom_prefix() {
    assert_eq!(context(b"/registry", SECRET_KEY).as_ref(), SECRET_KEY);
    assert_eq!(
        context(b"/cluster-a", SECRET_KEY).as_ref(),
        b"/cluster-a/secrets/default/s1"
    );
}

/// The decorator keeps the storage contract: the conformance suite over an in-memory store with
/// every key encrypted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_encrypted_store_passes_the_conformance_suite() {
    apiary_storage::testkit::run_all(|| async {
        let transformer = Transformer::new(vec![Provider::aesgcm("k", &[6; 32]).unwrap()]);
        let rules = EncryptionRules::for_prefix(b"/conformance/", transformer);
        let store: Arc<dyn Storage> = Arc::new(EncryptedStorage::new(
            MemoryStorage::new(),
            rules,
            b"/registry".to_vec(),
        ));
        apiary_storage::testkit::TestStore::new(store)
    })
    .await;
}

/// Upstream's rotation step "replace every Secret": an update that changes nothing still rewrites
/// a value read with an older key (GuaranteedUpdate's `stale`), then no-op updates write nothing.
#[tokio::test]
async fn an_unchanged_update_of_a_stale_secret_rewrites_it_with_the_new_key() {
    use crate::registry::options::WriteOptions;
    use crate::registry::test_support::builtin_store;
    use serde_json::json;

    let inner = memory();
    let before = encrypted(&inner, &config(&aescbc_yaml(&[("key1", vec![1; 32])])));
    let store = builtin_store(&before, ("", "v1", "secrets"));
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s1"},
        "data": {"password": "aHVudGVyMg=="}});
    let created = store
        .create(Some("default"), secret, &WriteOptions::default())
        .await
        .unwrap();
    let raw = inner.get(SECRET_KEY).await.unwrap().kv.unwrap();
    assert!(raw.value.starts_with(b"k8s:enc:aescbc:v1:key1:"));

    let rotated = encrypted(
        &inner,
        &config(&aescbc_yaml(&[
            ("key2", vec![2; 32]),
            ("key1", vec![1; 32]),
        ])),
    );
    let store = builtin_store(&rotated, ("", "v1", "secrets"));
    let (updated, _) = store
        .update(
            Some("default"),
            "s1",
            created.clone(),
            &WriteOptions::default(),
        )
        .await
        .unwrap();
    assert_ne!(
        updated["metadata"]["resourceVersion"], created["metadata"]["resourceVersion"],
        "a stale value is rewritten"
    );
    let raw = inner.get(SECRET_KEY).await.unwrap().kv.unwrap();
    assert!(raw.value.starts_with(b"k8s:enc:aescbc:v1:key2:"));

    let (again, _) = store
        .update(
            Some("default"),
            "s1",
            updated.clone(),
            &WriteOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        again["metadata"]["resourceVersion"], updated["metadata"]["resourceVersion"],
        "a current value is not rewritten"
    );
}

// ---- the layouts, checked against independent implementations ----

/// `aesgcm`: nonce, then ciphertext and tag, the storage key as additional data (opened by ring).
#[test]
fn aesgcm_layout_opens_with_ring() {
    use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
    let key = [8u8; 32];
    let provider = Provider::aesgcm("k", &key).unwrap();
    let sealed = provider
        .seal(&Bytes::from_static(PLAIN), SECRET_KEY)
        .unwrap();
    let body = &sealed[b"k8s:enc:aesgcm:v1:k:".len()..];
    let (nonce, rest) = body.split_at(12);
    let ring_key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).unwrap());
    let mut in_out = rest.to_vec();
    let opened = ring_key
        .open_in_place(
            Nonce::try_assume_unique_for_key(nonce).unwrap(),
            Aad::from(SECRET_KEY),
            &mut in_out,
        )
        .unwrap();
    assert_eq!(&opened[..], PLAIN);
}

/// `aescbc`: IV, then CBC over PKCS#7-padded blocks (decrypted block by block by hand).
#[test]
fn aescbc_layout_decrypts_by_hand_chaining() {
    use aes::cipher::generic_array::GenericArray;
    use aes::cipher::{BlockDecrypt, KeyInit};
    let key = [9u8; 32];
    let provider = Provider::aescbc("k", &key).unwrap();
    let sealed = provider.seal(&Bytes::from_static(PLAIN), b"").unwrap();
    let body = &sealed[b"k8s:enc:aescbc:v1:k:".len()..];
    let cipher = aes::Aes256::new_from_slice(&key).unwrap();
    let mut previous = body[..16].to_vec();
    let mut out: Vec<u8> = Vec::new();
    for chunk in body[16..].chunks(16) {
        let mut block = GenericArray::clone_from_slice(chunk);
        cipher.decrypt_block(&mut block);
        out.extend(block.iter().zip(previous.iter()).map(|(a, b)| a ^ b));
        previous = chunk.to_vec();
    }
    let pad = usize::from(*out.last().unwrap());
    assert!((1..=16).contains(&pad), "padding {pad}");
    assert!(out[out.len() - pad..]
        .iter()
        .all(|&b| usize::from(b) == pad));
    out.truncate(out.len() - pad);
    assert_eq!(out, PLAIN);
}

/// `secretbox`: nonce, then NaCl's box (tag first), as the crate's NaCl-compatible form reads it.
#[test]
fn secretbox_layout_is_nacls() {
    use crypto_secretbox::aead::generic_array::GenericArray;
    use crypto_secretbox::aead::{Aead, KeyInit};
    let key = [10u8; 32];
    let provider = Provider::secretbox("k", &key).unwrap();
    let sealed = provider
        .seal(&Bytes::from_static(PLAIN), SECRET_KEY)
        .unwrap();
    let body = &sealed[b"k8s:enc:secretbox:v1:k:".len()..];
    let nacl = crypto_secretbox::XSalsa20Poly1305::new_from_slice(&key).unwrap();
    let opened = nacl
        .decrypt(GenericArray::from_slice(&body[..24]), &body[24..])
        .unwrap();
    assert_eq!(opened, PLAIN);
}
