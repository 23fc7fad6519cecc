//! `test/e2e/common/node/podtemplates.go`: the PodTemplates conformance tests.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplate, PodTemplateSpec};
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::common::Apiary;
use crate::shared_apiary::{conformance_tests, namespace};

const NGINX: &str = "registry.k8s.io/e2e-test-images/nginx:1.14-4";
const AGNHOST: &str = "registry.k8s.io/e2e-test-images/agnhost:2.53";

fn template(name: &str, labels: &[(&str, &str)], container: &str, image: &str) -> PodTemplate {
    PodTemplate {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: (!labels.is_empty()).then(|| {
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            }),
            ..Default::default()
        },
        template: Some(PodTemplateSpec {
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: container.into(),
                    image: Some(image.into()),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        }),
    }
}

/// `[sig-node] PodTemplates should run the lifecycle of PodTemplates [Conformance]`
/// (test/e2e/common/node/podtemplates.go).
async fn podtemplates_lifecycle(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "podtemplate").await;
    let api: Api<PodTemplate> = Api::namespaced(client.clone(), &ns);
    let name = format!("nginx-pod-template-{}", std::process::id());
    api.create(
        &PostParams::default(),
        &template(&name, &[("podtemplate-static", "true")], "nginx", NGINX),
    )
    .await
    .expect("create PodTemplate");
    let read = api.get(&name).await.expect("get PodTemplate");
    assert_eq!(read.metadata.name.as_deref(), Some(name.as_str()));

    let patch = json!({"metadata": {"labels": {"podtemplate": "patched"}}});
    api.patch(&name, &PatchParams::default(), &Patch::Strategic(&patch))
        .await
        .expect("patch PodTemplate");
    let read = api.get(&name).await.expect("get PodTemplate");
    assert_eq!(
        read.metadata.labels.unwrap_or_default()["podtemplate"],
        "patched"
    );

    api.delete(&name, &DeleteParams::default())
        .await
        .expect("delete PodTemplate");
    let all: Api<PodTemplate> = Api::all(client);
    let list = all
        .list(&ListParams::default().labels("podtemplate-static=true"))
        .await
        .expect("list PodTemplates");
    assert!(list.items.is_empty(), "{:?}", list.items);
}

/// `[sig-node] PodTemplates should delete a collection of pod templates [Conformance]`
/// (test/e2e/common/node/podtemplates.go).
async fn podtemplates_delete_collection(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "podtemplate").await;
    let api: Api<PodTemplate> = Api::namespaced(client, &ns);
    let names = [
        "test-podtemplate-1",
        "test-podtemplate-2",
        "test-podtemplate-3",
    ];
    for name in names {
        api.create(
            &PostParams::default(),
            &template(name, &[("podtemplate-set", "true")], "token-test", AGNHOST),
        )
        .await
        .expect("create PodTemplate");
    }
    let selected = ListParams::default().labels("podtemplate-set=true");
    let list = api.list(&selected).await.expect("list PodTemplates");
    assert_eq!(list.items.len(), names.len());

    api.delete_collection(&DeleteParams::default(), &selected)
        .await
        .expect("delete collection of pod templates");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let list = api.list(&selected).await.expect("list PodTemplates");
        if list.items.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} pod templates remain",
            list.items.len()
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// `[sig-node] PodTemplates should replace a pod template [Conformance]`
/// (test/e2e/common/node/podtemplates.go).
async fn podtemplates_replace(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "podtemplate").await;
    let api: Api<PodTemplate> = Api::namespaced(client, &ns);
    let name = "podtemplate-replace";
    let mut pt = template(name, &[], "e2e-test", AGNHOST);
    pt.template
        .as_mut()
        .and_then(|t| t.spec.as_mut())
        .expect("spec")
        .termination_grace_period_seconds = Some(0);
    api.create(&PostParams::default(), &pt)
        .await
        .expect("create a pod template");

    let mut updated = None;
    for _ in 0..5 {
        let mut current = api.get(name).await.expect("get pod template");
        current.metadata.annotations = Some(BTreeMap::from([("updated".into(), "true".into())]));
        match api.replace(name, &PostParams::default(), &current).await {
            Ok(pt) => {
                updated = Some(pt);
                break;
            }
            Err(kube::Error::Api(s)) if s.code == 409 => continue,
            Err(e) => panic!("replace a pod template: {e}"),
        }
    }
    let updated = updated.expect("replaced without conflict");
    assert_eq!(
        updated.metadata.annotations.unwrap_or_default()["updated"],
        "true"
    );
}

conformance_tests!(rocksdb_only {
    podtemplates_lifecycle,
    podtemplates_delete_collection,
    podtemplates_replace,
});
