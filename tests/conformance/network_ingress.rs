//! `test/e2e/network/ingress.go` and `test/e2e/network/ingressclass.go`: the Ingress and
//! IngressClass API operations conformance tests.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressClass, IngressClassSpec,
    IngressLoadBalancerIngress, IngressLoadBalancerStatus, IngressRule, IngressServiceBackend,
    IngressSpec, IngressStatus, ServiceBackendPort,
};
use kube::api::{
    Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams, WatchEvent,
};
use serde_json::json;

use crate::common::Apiary;
use crate::shared_apiary::{conformance_tests, namespace};
use crate::upstream_steps::{expect_discovery, get_json, next_event, suffix, watch};

fn annotation(metadata: &ObjectMeta, key: &str) -> Option<String> {
    metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .cloned()
}

fn service_backend(name: &str) -> IngressBackend {
    IngressBackend {
        service: Some(IngressServiceBackend {
            name: name.into(),
            port: Some(ServiceBackendPort {
                number: Some(8080),
                ..Default::default()
            }),
        }),
        ..Default::default()
    }
}

/// Upstream's `ingTemplate` with the rule's host set to `host`.
fn ingress(unique: &str, host: &str) -> Ingress {
    Ingress {
        metadata: ObjectMeta {
            generate_name: Some("e2e-example-ing".into()),
            labels: Some(BTreeMap::from([("special-label".into(), unique.into())])),
            ..Default::default()
        },
        spec: Some(IngressSpec {
            default_backend: Some(service_backend("default-backend")),
            rules: Some(vec![IngressRule {
                host: Some(host.into()),
                http: Some(HTTPIngressRuleValue {
                    paths: vec![HTTPIngressPath {
                        path: Some("/".into()),
                        path_type: "ImplementationSpecific".into(),
                        backend: service_backend("test-backend"),
                    }],
                }),
            }]),
            ..Default::default()
        }),
        status: Some(IngressStatus {
            load_balancer: Some(IngressLoadBalancerStatus::default()),
        }),
    }
}

fn load_balancer(ip: &str) -> IngressLoadBalancerStatus {
    IngressLoadBalancerStatus {
        ingress: Some(vec![IngressLoadBalancerIngress {
            ip: Some(ip.into()),
            ..Default::default()
        }]),
    }
}

/// Upstream's `expectFinalizer`: a deleted Ingress still listed must be terminating and held by
/// finalizers.
fn expect_finalizer(ing: &Ingress, msg: &str) {
    assert!(
        ing.metadata.deletion_timestamp.is_some(),
        "expected deletionTimestamp, got nil on step: {msg:?}, ingress: {ing:?}"
    );
    assert!(
        ing.metadata
            .finalizers
            .as_ref()
            .is_some_and(|f| !f.is_empty()),
        "expected finalizers on ingress, got none on step: {msg:?}, ingress: {ing:?}"
    );
}

/// `[sig-network] Ingress API should support creating Ingress API operations [Conformance]`
/// (test/e2e/network/ingress.go).
async fn should_support_creating_ingress_api_operations(apiary: &Apiary) {
    let client = apiary.client().await;
    // f.UniqueName: the test namespace's name.
    let ns = namespace(&client, "ingress").await;
    let ingresses: Api<Ingress> = Api::namespaced(client.clone(), &ns);
    let selector = format!("special-label={ns}");
    let selected = ListParams::default().labels(&selector);

    // getting /apis, /apis/networking.k8s.io, /apis/networking.k8s.io/v1
    expect_discovery(&client, "networking.k8s.io", "v1", &["ingresses"]).await;

    // creating
    let pp = PostParams::default();
    ingresses
        .create(&pp, &ingress(&ns, "host1.bar.com"))
        .await
        .expect("create");
    ingresses
        .create(&pp, &ingress(&ns, "host2.bar.com"))
        .await
        .expect("create");
    let created = ingresses
        .create(&pp, &ingress(&ns, "host3.bar.com"))
        .await
        .expect("create");
    let name = created.metadata.name.clone().expect("generated name");

    // getting
    let gotten = ingresses.get(&name).await.expect("get");
    assert_eq!(gotten.metadata.uid, created.metadata.uid);

    // listing
    let list = ingresses.list(&selected).await.expect("list");
    assert_eq!(list.items.len(), 3, "filtered list should have 3 items");

    // watching
    let list_rv = list.metadata.resource_version.clone().expect("list rv");
    let mut events = watch(&ingresses, &selector, &list_rv).await;

    // cluster-wide listing
    let cluster: Api<Ingress> = Api::all(client.clone());
    let cluster_list = cluster.list(&selected).await.expect("cluster-wide list");
    assert_eq!(
        cluster_list.items.len(),
        3,
        "filtered list should have 3 items"
    );

    // cluster-wide watching (started, then left unused, as upstream does)
    drop(watch(&cluster, &selector, &list_rv).await);

    // patching
    let patched = ingresses
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"patched": "true"}}})),
        )
        .await
        .expect("patch");
    assert_eq!(
        annotation(&patched.metadata, "patched").as_deref(),
        Some("true"),
        "patched object should have the applied annotation"
    );

    // updating (retry on conflict)
    let mut updated = None;
    for _ in 0..5 {
        let mut to_update = ingresses.get(&name).await.expect("get");
        to_update
            .metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert("updated".into(), "true".into());
        match ingresses.replace(&name, &pp, &to_update).await {
            Ok(object) => {
                updated = Some(object);
                break;
            }
            Err(kube::Error::Api(s)) if s.code == 409 => continue,
            Err(e) => panic!("update: {e}"),
        }
    }
    let updated = updated.expect("updated without a conflict");
    assert_eq!(
        annotation(&updated.metadata, "updated").as_deref(),
        Some("true"),
        "updated object should have the applied annotation"
    );

    // waiting for watch events with expected annotations
    loop {
        match next_event(&mut events).await {
            WatchEvent::Modified(ing) => {
                if annotation(&ing.metadata, "patched").as_deref() == Some("true") {
                    break;
                }
            }
            other => panic!("expected a MODIFIED event, got {other:?}"),
        }
    }
    drop(events);

    // patching /status
    let lb_status = load_balancer("169.1.1.1");
    let status_patch = json!({
        "metadata": {"annotations": {"patchedstatus": "true"}},
        "status": {"loadBalancer": &lb_status},
    });
    let patched_status = ingresses
        .patch_status(&name, &PatchParams::default(), &Patch::Merge(&status_patch))
        .await
        .expect("patch /status");
    assert_eq!(
        patched_status
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref()),
        Some(&lb_status),
        "patched object should have the applied loadBalancer status"
    );
    assert_eq!(
        annotation(&patched_status.metadata, "patchedstatus").as_deref(),
        Some("true"),
        "patched object should have the applied annotation"
    );

    // updating /status (retry on conflict)
    let mut updated_status = None;
    for _ in 0..5 {
        let mut to_update = ingresses.get(&name).await.expect("get");
        to_update
            .status
            .get_or_insert_with(Default::default)
            .load_balancer = Some(load_balancer("169.1.1.2"));
        match ingresses.replace_status(&name, &pp, &to_update).await {
            Ok(object) => {
                updated_status = Some((to_update, object));
                break;
            }
            Err(kube::Error::Api(s)) if s.code == 409 => continue,
            Err(e) => panic!("update /status: {e}"),
        }
    }
    let (status_to_update, updated_status) =
        updated_status.expect("status updated without a conflict");
    let expected_lb = status_to_update.status.and_then(|s| s.load_balancer);
    let updated_lb = updated_status.status.and_then(|s| s.load_balancer);
    assert_eq!(
        updated_lb, expected_lb,
        "updated object expected to have updated loadbalancer status"
    );

    // get /status
    let status = get_json(
        &client,
        &format!("/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses/{name}/status"),
    )
    .await;
    assert_eq!(
        status["metadata"]["uid"].as_str(),
        created.metadata.uid.as_deref(),
        "createdIngress.UID expected to match statusUID"
    );

    // deleting: without an ingress controller using finalizers a 404 is expected, otherwise the
    // finalizer behaviour is validated.
    ingresses
        .delete(&name, &DeleteParams::default())
        .await
        .expect("delete");
    match ingresses.get(&name).await {
        Ok(ing) => expect_finalizer(&ing, "deleting createdIngress"),
        Err(kube::Error::Api(s)) if s.code == 404 => {}
        Err(e) => panic!("expected 404, got {e}"),
    }
    let list = ingresses.list(&selected).await.expect("list");
    // <= 3 items: some ingresses might not have been deleted yet due to finalizers
    assert!(
        list.items.len() <= 3,
        "filtered list should have <= 3 items"
    );
    for ing in &list.items {
        if ing.metadata.namespace == created.metadata.namespace
            && ing.metadata.name == created.metadata.name
        {
            expect_finalizer(ing, "listing after deleting createdIngress");
        }
    }

    // deleting a collection
    ingresses
        .delete_collection(&DeleteParams::default(), &selected)
        .await
        .expect("delete collection");
    let list = ingresses.list(&selected).await.expect("list");
    assert!(
        list.items.len() <= 3,
        "filtered list should have <= 3 items"
    );
    for ing in &list.items {
        expect_finalizer(ing, "deleting ingress collection");
    }
}

/// Upstream's `createIngressClass` (never a default class here). Upstream names the classes
/// `ingressclass1`..`3`; they are cluster-scoped and the server is shared, so a suffix is added.
async fn create_ingress_class(
    classes: &Api<IngressClass>,
    name: &str,
    unique_name: &str,
) -> IngressClass {
    let class = IngressClass {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(BTreeMap::from([
                ("ingressclass".into(), unique_name.into()),
                ("special-label".into(), "generic".into()),
            ])),
            ..Default::default()
        },
        spec: Some(IngressClassSpec {
            controller: Some("example.com/controller".into()),
            ..Default::default()
        }),
    };
    classes
        .create(&PostParams::default(), &class)
        .await
        .expect("create IngressClass")
}

/// `[sig-network] IngressClass API should support creating IngressClass API operations [Conformance]`
/// (test/e2e/network/ingressclass.go).
async fn should_support_creating_ingress_class_api_operations(apiary: &Apiary) {
    let client = apiary.client().await;
    // f.UniqueName: the test namespace's name.
    let unique = namespace(&client, "ingressclass").await;
    let classes: Api<IngressClass> = Api::all(client.clone());
    let name_suffix = suffix();
    let unique_selector = format!("ingressclass={unique}");
    let unique_selected = ListParams::default().labels(&unique_selector);

    // getting /apis, /apis/networking.k8s.io, /apis/networking.k8s.io/v1
    expect_discovery(&client, "networking.k8s.io", "v1", &["ingressclasses"]).await;

    // creating
    let class1 =
        create_ingress_class(&classes, &format!("ingressclass1-{name_suffix}"), &unique).await;
    create_ingress_class(&classes, &format!("ingressclass2-{name_suffix}"), &unique).await;
    create_ingress_class(&classes, &format!("ingressclass3-{name_suffix}"), &unique).await;
    let name = class1.metadata.name.clone().expect("name");

    // getting
    let gotten = classes.get(&name).await.expect("get");
    assert_eq!(gotten.metadata.uid, class1.metadata.uid);

    // listing (upstream lists by the label all its classes share; only this test creates
    // IngressClasses on this module's server)
    let list = classes
        .list(&ListParams::default().labels("special-label=generic"))
        .await
        .expect("list");
    assert_eq!(list.items.len(), 3, "filtered list should have 3 items");

    // watching
    let mut events = watch(
        &classes,
        &unique_selector,
        list.metadata.resource_version.as_deref().expect("list rv"),
    )
    .await;

    // patching
    let patched = classes
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"patched": "true"}}})),
        )
        .await
        .expect("patch");
    assert_eq!(
        annotation(&patched.metadata, "patched").as_deref(),
        Some("true"),
        "patched object should have the applied annotation"
    );

    // updating
    let mut to_update = patched.clone();
    to_update
        .metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert("updated".into(), "true".into());
    let updated = classes
        .replace(&name, &PostParams::default(), &to_update)
        .await
        .expect("update");
    assert_eq!(
        annotation(&updated.metadata, "updated").as_deref(),
        Some("true"),
        "updated object should have the applied annotation"
    );

    // waiting for watch events with expected annotations
    loop {
        match next_event(&mut events).await {
            WatchEvent::Modified(class) => {
                if annotation(&class.metadata, "patched").as_deref() == Some("true") {
                    break;
                }
            }
            other => panic!("expected a MODIFIED event, got {other:?}"),
        }
    }
    drop(events);

    // deleting
    classes
        .delete(&name, &DeleteParams::default())
        .await
        .expect("delete");
    match classes.get(&name).await {
        Err(kube::Error::Api(s)) if s.code == 404 => {}
        other => panic!("expected 404, got {other:?}"),
    }
    let list = classes.list(&unique_selected).await.expect("list");
    assert_eq!(list.items.len(), 2, "filtered list should have 2 items");

    // deleting a collection
    classes
        .delete_collection(&DeleteParams::default(), &unique_selected)
        .await
        .expect("delete collection");
    let list = classes.list(&unique_selected).await.expect("list");
    assert!(list.items.is_empty(), "filtered list should have 0 items");
}

conformance_tests!(rocksdb_only {
    should_support_creating_ingress_api_operations,
    should_support_creating_ingress_class_api_operations,
});
