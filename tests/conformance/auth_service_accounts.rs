//! `test/e2e/auth/service_accounts.go`: the ServiceAccounts conformance tests that need no
//! running pods.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, PodSpec, ServiceAccount};
use kube::api::{
    Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams, WatchEvent,
    WatchParams,
};

use crate::common::Apiary;
use crate::shared_apiary::{conformance_tests, namespace};

const ROOT_CA_CONFIG_MAP_NAME: &str = "kube-root-ca.crt";
/// `serviceaccount.DefaultAPITokenMountPath`.
const DEFAULT_API_TOKEN_MOUNT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// `imageutils.GetE2EImage(imageutils.Agnhost)` in 1.33.
const AGNHOST: &str = "registry.k8s.io/e2e-test-images/agnhost:2.53";

fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

/// The framework's `WaitForDefaultServiceAccountInNamespace`, done for every test namespace
/// before the test body runs.
async fn wait_for_default_service_account(client: &kube::Client, ns: &str) {
    let api: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match api.get("default").await {
            Ok(_) => return,
            Err(e) if is_not_found(&e) => {}
            Err(e) => panic!("get the default service account: {e}"),
        }
        assert!(
            Instant::now() < deadline,
            "no default service account in {ns}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `[sig-auth] ServiceAccounts should allow opting out of API token automount [Conformance]`
/// (test/e2e/auth/service_accounts.go).
async fn should_allow_opting_out_of_api_token_automount(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "svcaccounts").await;
    wait_for_default_service_account(&client, &ns).await;
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), &ns);
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);

    let sa = |name: &str, automount: bool| ServiceAccount {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        automount_service_account_token: Some(automount),
        ..Default::default()
    };
    let mount_sa = sas
        .create(&PostParams::default(), &sa("mount", true))
        .await
        .expect("create the mount service account");
    let nomount_sa = sas
        .create(&PostParams::default(), &sa("nomount", false))
        .await
        .expect("create the nomount service account");
    let mount = mount_sa.metadata.name.as_deref().expect("name");
    let nomount = nomount_sa.metadata.name.as_deref().expect("name");

    // (pod name, service account, pod spec's automountServiceAccountToken, token volume expected)
    let testcases: [(&str, &str, Option<bool>, bool); 9] = [
        ("pod-service-account-defaultsa", "default", None, true),
        ("pod-service-account-mountsa", mount, None, true),
        ("pod-service-account-nomountsa", nomount, None, false),
        // Make sure pod spec trumps when opting in
        (
            "pod-service-account-defaultsa-mountspec",
            "default",
            Some(true),
            true,
        ),
        (
            "pod-service-account-mountsa-mountspec",
            mount,
            Some(true),
            true,
        ),
        (
            "pod-service-account-nomountsa-mountspec",
            nomount,
            Some(true),
            true,
        ),
        // Make sure pod spec trumps when opting out
        (
            "pod-service-account-defaultsa-nomountspec",
            "default",
            Some(false),
            false,
        ),
        (
            "pod-service-account-mountsa-nomountspec",
            mount,
            Some(false),
            false,
        ),
        (
            "pod-service-account-nomountsa-nomountspec",
            nomount,
            Some(false),
            false,
        ),
    ];

    for (pod_name, service_account, automount, expect_token_volume) in testcases {
        let pod = Pod {
            metadata: ObjectMeta {
                name: Some(pod_name.into()),
                ..Default::default()
            },
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "token-test".into(),
                    image: Some(AGNHOST.into()),
                    ..Default::default()
                }],
                restart_policy: Some("Never".into()),
                service_account_name: Some(service_account.into()),
                automount_service_account_token: automount,
                ..Default::default()
            }),
            ..Default::default()
        };
        let created = pods
            .create(&PostParams::default(), &pod)
            .await
            .unwrap_or_else(|e| panic!("create pod {pod_name}: {e}"));
        let has_token_volume = created
            .spec
            .as_ref()
            .expect("spec")
            .containers
            .iter()
            .flat_map(|c| c.volume_mounts.iter().flatten())
            .any(|vm| vm.mount_path == DEFAULT_API_TOKEN_MOUNT_PATH);
        assert_eq!(
            has_token_volume, expect_token_volume,
            "{pod_name}: expected volume={expect_token_volume}, got {has_token_volume} ({created:?})"
        );
    }
}

type SaWatch =
    std::pin::Pin<Box<dyn Stream<Item = kube::Result<WatchEvent<ServiceAccount>>> + Send>>;

/// Reads `watch` until an event of the kind `is_kind` accepts; false if the watch ends first
/// (upstream ranges over the result channel, which its 180 s timeout closes).
async fn find_event(
    watch: &mut SaWatch,
    is_kind: impl Fn(&WatchEvent<ServiceAccount>) -> bool,
) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    while let Ok(Some(event)) = tokio::time::timeout_at(deadline, watch.next()).await {
        if is_kind(&event.expect("watch event")) {
            return true;
        }
    }
    false
}

/// `[sig-auth] ServiceAccounts should run through the lifecycle of a ServiceAccount [Conformance]`
/// (test/e2e/auth/service_accounts.go).
async fn should_run_through_the_lifecycle_of_a_service_account(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "svcaccounts").await;
    wait_for_default_service_account(&client, &ns).await;
    let api: Api<ServiceAccount> = Api::namespaced(client.clone(), &ns);
    let name = "testserviceaccount";
    let labels_flat = "test-serviceaccount-static=true";

    // creating a ServiceAccount
    let sa = ServiceAccount {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(BTreeMap::from([(
                "test-serviceaccount-static".into(),
                "true".into(),
            )])),
            ..Default::default()
        },
        ..Default::default()
    };
    let created = api
        .create(&PostParams::default(), &sa)
        .await
        .expect("failed to create a ServiceAccount");
    let got = api
        .get(name)
        .await
        .expect("failed to fetch the created ServiceAccount");
    assert_eq!(created.metadata.uid, got.metadata.uid);

    // watching for the ServiceAccount to be added
    let params = WatchParams::default().labels(labels_flat).timeout(180);
    let mut watch: SaWatch = api
        .watch(&params, "")
        .await
        .expect("failed to setup watch on newly created ServiceAccount")
        .boxed();
    assert!(
        find_event(&mut watch, |e| matches!(e, WatchEvent::Added(_))).await,
        "failed to find ADDED event"
    );

    // patching the ServiceAccount: upstream's patch is the JSON of a ServiceAccount holding only
    // automountServiceAccountToken=false, as Go marshals it
    let patch: serde_json::Value = serde_json::from_str(
        r#"{"metadata":{"creationTimestamp":null},"automountServiceAccountToken":false}"#,
    )
    .expect("patch");
    api.patch(name, &PatchParams::default(), &Patch::Strategic(patch))
        .await
        .expect("failed to patch the ServiceAccount");
    assert!(
        find_event(&mut watch, |e| matches!(e, WatchEvent::Modified(_))).await,
        "failed to find MODIFIED event"
    );

    // finding ServiceAccount in list of all ServiceAccounts (by LabelSelector)
    let all: Api<ServiceAccount> = Api::all(client.clone());
    let list = all
        .list(&ListParams::default().labels(labels_flat))
        .await
        .expect("failed to list ServiceAccounts by LabelSelector");
    let found = list.items.iter().any(|item| {
        item.metadata.name.as_deref() == Some(name)
            && item.metadata.namespace.as_deref() == Some(ns.as_str())
            && item.automount_service_account_token == Some(false)
    });
    assert!(found, "failed to find the created ServiceAccount");

    // deleting the ServiceAccount
    api.delete_collection(&DeleteParams::default(), &ListParams::default())
        .await
        .expect("failed to delete the ServiceAccount by Collection");
    assert!(
        find_event(&mut watch, |e| matches!(e, WatchEvent::Deleted(_))).await,
        "failed to find DELETED event"
    );
}

/// Polls every 500 ms (upstream's interval) for up to `wait.ForeverTestTimeout` (30 s) until
/// `done` holds for the kube-root-ca.crt ConfigMap; a missing ConfigMap means "not yet".
async fn poll_root_ca(api: &Api<ConfigMap>, what: &str, done: impl Fn(&ConfigMap) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match api.get(ROOT_CA_CONFIG_MAP_NAME).await {
            Ok(cm) if done(&cm) => return,
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => panic!("{what}: {e}"),
        }
        assert!(Instant::now() < deadline, "timed out {what}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// `[sig-auth] ServiceAccounts should guarantee kube-root-ca.crt exist in any namespace [Conformance]`
/// (test/e2e/auth/service_accounts.go).
async fn should_guarantee_kube_root_ca_crt_exist_in_any_namespace(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "svcaccounts").await;
    wait_for_default_service_account(&client, &ns).await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);

    poll_root_ca(&api, "waiting for the root ca configmap", |_| true).await;

    api.delete(
        ROOT_CA_CONFIG_MAP_NAME,
        &DeleteParams {
            grace_period_seconds: Some(0),
            ..Default::default()
        },
    )
    .await
    .expect("delete the root ca configmap");

    poll_root_ca(&api, "waiting for a new root ca configmap created", |_| {
        true
    })
    .await;

    let emptied = ConfigMap {
        metadata: ObjectMeta {
            name: Some(ROOT_CA_CONFIG_MAP_NAME.into()),
            ..Default::default()
        },
        data: Some(BTreeMap::from([("ca.crt".into(), String::new())])),
        ..Default::default()
    };
    api.replace(ROOT_CA_CONFIG_MAP_NAME, &PostParams::default(), &emptied)
        .await
        .expect("update the root ca configmap");

    poll_root_ca(&api, "waiting for the root ca configmap reconciled", |cm| {
        cm.data
            .as_ref()
            .and_then(|d| d.get("ca.crt"))
            .is_some_and(|v| !v.is_empty())
    })
    .await;
}

/// `[sig-auth] ServiceAccounts should update a ServiceAccount [Conformance]`
/// (test/e2e/auth/service_accounts.go).
async fn should_update_a_service_account(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "svcaccounts").await;
    wait_for_default_service_account(&client, &ns).await;
    let api: Api<ServiceAccount> = Api::namespaced(client.clone(), &ns);
    let name = format!("e2e-sa-{}", &uuid::Uuid::new_v4().simple().to_string()[..5]);

    // Creating ServiceAccount
    let initial = ServiceAccount {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            ..Default::default()
        },
        automount_service_account_token: Some(false),
        ..Default::default()
    };
    let created = api
        .create(&PostParams::default(), &initial)
        .await
        .expect("create the ServiceAccount");
    assert_eq!(
        created.automount_service_account_token,
        Some(false),
        "Failed to set AutomountServiceAccountToken"
    );

    // Updating ServiceAccount (retry.RetryOnConflict)
    let mut updated = None;
    for _ in 0..5 {
        let mut sa = api.get(&name).await.expect("Unable to get ServiceAccount");
        sa.automount_service_account_token = Some(true);
        match api.replace(&name, &PostParams::default(), &sa).await {
            Ok(sa) => {
                updated = Some(sa);
                break;
            }
            Err(kube::Error::Api(s)) if s.code == 409 => continue,
            Err(e) => panic!("Failed to update ServiceAccount: {e}"),
        }
    }
    let updated = updated.expect("Failed to update ServiceAccount: conflicts on every attempt");
    assert_eq!(
        updated.automount_service_account_token,
        Some(true),
        "Failed to set AutomountServiceAccountToken"
    );
}

conformance_tests!(rocksdb_only {
    should_allow_opting_out_of_api_token_automount,
    should_run_through_the_lifecycle_of_a_service_account,
    should_guarantee_kube_root_ca_crt_exist_in_any_namespace,
    should_update_a_service_account,
});
