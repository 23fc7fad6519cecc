//! `test/e2e/common/node/configmap.go`, `secrets.go` and `common/storage/configmap_volume.go`,
//! `secrets_volume.go`: the ConfigMap and Secret conformance tests that need no running pods.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::ByteString;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::common::Apiary;
use crate::shared_apiary::{conformance_tests, namespace};

fn is_invalid(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 422 && s.reason == "Invalid")
}

fn suffix() -> String {
    format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_nanos()
    )
}

/// `[sig-node] ConfigMap should fail to create ConfigMap with empty key [Conformance]`
/// (test/e2e/common/node/configmap.go).
async fn configmap_with_empty_key_fails(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "configmap").await;
    let api: Api<ConfigMap> = Api::namespaced(client, &ns);
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some(format!("configmap-test-emptykey-{}", suffix())),
            ..Default::default()
        },
        data: Some(BTreeMap::from([(String::new(), "value-1".into())])),
        ..Default::default()
    };
    api.create(&PostParams::default(), &cm)
        .await
        .expect_err("created a configMap with an empty key");
}

/// `[sig-node] ConfigMap should run through a ConfigMap lifecycle [Conformance]`
/// (test/e2e/common/node/configmap.go).
async fn configmap_lifecycle(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "configmap").await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    let name = format!("test-configmap{}", suffix());
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            labels: Some(BTreeMap::from([(
                "test-configmap-static".into(),
                "true".into(),
            )])),
            ..Default::default()
        },
        data: Some(BTreeMap::from([("valueName".into(), "value".into())])),
        ..Default::default()
    };
    api.create(&PostParams::default(), &cm)
        .await
        .expect("create ConfigMap");
    let got = api.get(&name).await.expect("get ConfigMap");
    assert_eq!(got.data.unwrap_or_default()["valueName"], "value");
    assert_eq!(
        got.metadata.labels.unwrap_or_default()["test-configmap-static"],
        "true"
    );

    // Upstream marshals a v1.ConfigMap, so the patch carries `creationTimestamp: null`.
    let patch = json!({
        "metadata": {"labels": {"test-configmap": "patched"}, "creationTimestamp": null},
        "data": {"valueName": "value1"},
    });
    api.patch(&name, &PatchParams::default(), &Patch::Strategic(&patch))
        .await
        .expect("patch ConfigMap");

    let all: Api<ConfigMap> = Api::all(client);
    let selected = ListParams::default().labels("test-configmap-static=true");
    let list = all.list(&selected).await.expect("list ConfigMaps");
    assert!(
        list.items.iter().any(|cm| {
            cm.metadata.name.as_deref() == Some(&name)
                && cm.metadata.namespace.as_deref() == Some(&ns)
                && cm.metadata.labels.as_ref().unwrap()["test-configmap-static"] == "true"
                && cm.data.as_ref().unwrap()["valueName"] == "value1"
        }),
        "the patched ConfigMap is not listed"
    );

    api.delete_collection(&DeleteParams::default(), &selected)
        .await
        .expect("delete ConfigMaps by collection");
    let list = api.list(&selected).await.expect("list ConfigMaps");
    assert!(list.items.is_empty(), "{:?}", list.items);
}

/// `[sig-storage] ConfigMap should be immutable if `immutable` field is set [Conformance]`
/// (test/e2e/common/storage/configmap_volume.go).
async fn configmap_immutable(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "configmap").await;
    let api: Api<ConfigMap> = Api::namespaced(client, &ns);
    let pp = PostParams::default();
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some("immutable".into()),
            ..Default::default()
        },
        data: Some(BTreeMap::from([
            ("data-1".into(), "value-1".into()),
            ("data-2".into(), "value-2".into()),
            ("data-3".into(), "value-3".into()),
        ])),
        ..Default::default()
    };
    let mut current = api.create(&pp, &cm).await.expect("create");
    current
        .data
        .get_or_insert_with(Default::default)
        .insert("data-4".into(), "value-4".into());
    let mut current = api
        .replace("immutable", &pp, &current)
        .await
        .expect("update data");
    current.immutable = Some(true);
    let mut current = api
        .replace("immutable", &pp, &current)
        .await
        .expect("mark immutable");

    // Its data can no longer change.
    current
        .data
        .get_or_insert_with(Default::default)
        .insert("data-5".into(), "value-5".into());
    let err = api
        .replace("immutable", &pp, &current)
        .await
        .expect_err("data changed");
    assert!(
        is_invalid(&err),
        "expected 'invalid' as error, got instead: {err}"
    );

    // Nor can it become mutable again.
    let mut current = api.get("immutable").await.expect("get");
    assert_eq!(current.immutable, Some(true));
    current.immutable = Some(false);
    let err = api
        .replace("immutable", &pp, &current)
        .await
        .expect_err("became mutable");
    assert!(
        is_invalid(&err),
        "expected 'invalid' as error, got instead: {err}"
    );

    // Its metadata can change, and it can be deleted.
    let mut current = api.get("immutable").await.expect("get");
    current.metadata.labels = Some(BTreeMap::from([("label1".into(), "value1".into())]));
    api.replace("immutable", &pp, &current)
        .await
        .expect("update labels");
    api.delete("immutable", &DeleteParams::default())
        .await
        .expect("delete");
}

/// `[sig-node] Secrets should fail to create secret due to empty secret key [Conformance]`
/// (test/e2e/common/node/secrets.go).
async fn secret_with_empty_key_fails(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "secrets").await;
    let api: Api<Secret> = Api::namespaced(client, &ns);
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(format!("secret-emptykey-test-{}", suffix())),
            ..Default::default()
        },
        data: Some(BTreeMap::from([(
            String::new(),
            ByteString(b"value-1\n".to_vec()),
        )])),
        ..Default::default()
    };
    api.create(&PostParams::default(), &secret)
        .await
        .expect_err("created a secret with an empty key");
}

/// `[sig-node] Secrets should patch a secret [Conformance]` (test/e2e/common/node/secrets.go).
async fn secret_patch(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "secrets").await;
    let api: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let all: Api<Secret> = Api::all(client);
    let name = format!("test-secret-{}", suffix());
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            labels: Some(BTreeMap::from([(
                "testsecret-constant".into(),
                "true".into(),
            )])),
            ..Default::default()
        },
        data: Some(BTreeMap::from([(
            "key".into(),
            ByteString(b"value".to_vec()),
        )])),
        type_: Some("Opaque".into()),
        ..Default::default()
    };
    api.create(&PostParams::default(), &secret)
        .await
        .expect("create secret");

    let constant = ListParams::default().labels("testsecret-constant=true");
    let ours = |list: &kube::core::ObjectList<Secret>| {
        list.items.iter().any(|s| {
            s.metadata.name.as_deref() == Some(&name)
                && s.metadata.namespace.as_deref() == Some(&ns)
        })
    };
    let list = all.list(&constant).await.expect("list secrets");
    assert!(!list.items.is_empty());
    assert!(ours(&list), "the created secret is not listed");

    // "dmFsdWUx" is base64 of "value1".
    let patch =
        json!({"metadata": {"labels": {"testsecret": "true"}}, "data": {"key": "dmFsdWUx"}});
    api.patch(&name, &PatchParams::default(), &Patch::Strategic(&patch))
        .await
        .expect("patch secret");
    let got = api.get(&name).await.expect("get secret");
    assert_eq!(got.data.unwrap_or_default()["key"].0, b"value1");
    assert_eq!(
        got.metadata.labels.unwrap_or_default()["testsecret"],
        "true"
    );

    api.delete_collection(
        &DeleteParams::default(),
        &ListParams::default().labels("testsecret=true"),
    )
    .await
    .expect("delete secrets by label");
    let list = all.list(&constant).await.expect("list secrets");
    assert!(!ours(&list), "the deleted secret is still listed");
}

/// `[sig-storage] Secrets should be immutable if `immutable` field is set [Conformance]`
/// (test/e2e/common/storage/secrets_volume.go).
async fn secret_immutable(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "secrets").await;
    let api: Api<Secret> = Api::namespaced(client, &ns);
    let pp = PostParams::default();
    let bytes = |s: &str| ByteString(s.as_bytes().to_vec());
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some("immutable".into()),
            ..Default::default()
        },
        data: Some(BTreeMap::from([
            ("data-1".into(), bytes("value-1\n")),
            ("data-2".into(), bytes("value-2\n")),
            ("data-3".into(), bytes("value-3\n")),
        ])),
        ..Default::default()
    };
    let mut current = api.create(&pp, &secret).await.expect("create");
    current
        .data
        .get_or_insert_with(Default::default)
        .insert("data-4".into(), bytes("value-4\n"));
    let mut current = api
        .replace("immutable", &pp, &current)
        .await
        .expect("update data");
    current.immutable = Some(true);
    let mut current = api
        .replace("immutable", &pp, &current)
        .await
        .expect("mark immutable");

    current
        .data
        .get_or_insert_with(Default::default)
        .insert("data-5".into(), bytes("value-5\n"));
    let err = api
        .replace("immutable", &pp, &current)
        .await
        .expect_err("data changed");
    assert!(
        is_invalid(&err),
        "expected 'invalid' as error, got instead: {err}"
    );

    let mut current = api.get("immutable").await.expect("get");
    assert_eq!(current.immutable, Some(true));
    current.immutable = Some(false);
    let err = api
        .replace("immutable", &pp, &current)
        .await
        .expect_err("became mutable");
    assert!(
        is_invalid(&err),
        "expected 'invalid' as error, got instead: {err}"
    );

    let mut current = api.get("immutable").await.expect("get");
    current.metadata.labels = Some(BTreeMap::from([("label1".into(), "value1".into())]));
    api.replace("immutable", &pp, &current)
        .await
        .expect("update labels");
    api.delete("immutable", &DeleteParams::default())
        .await
        .expect("delete");
}

conformance_tests!(rocksdb_only {
    configmap_with_empty_key_fails,
    configmap_lifecycle,
    configmap_immutable,
    secret_with_empty_key_fails,
    secret_patch,
    secret_immutable,
});
