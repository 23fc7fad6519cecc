//! `test/e2e/auth/subjectreviews.go`: the SubjectReview conformance test.

use k8s_openapi::api::authorization::v1::{
    LocalSubjectAccessReview, ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
use kube::api::{Api, ListParams, ObjectMeta, PostParams};

use crate::common::Apiary;
use crate::shared_apiary::{conformance_tests, namespace};

/// `[sig-auth] SubjectReview should support SubjectReview API operations [Conformance]`
/// (test/e2e/auth/subjectreviews.go).
async fn should_support_subject_review_api_operations(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "subjectreview").await;
    let sa_name = "e2e";

    // Creating a Serviceaccount
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), &ns);
    let sa = sas
        .create(
            &PostParams::default(),
            &ServiceAccount {
                metadata: ObjectMeta {
                    name: Some(sa_name.into()),
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("Unable to create serviceaccount {sa_name}: {e}"));
    let sa_namespace = sa.metadata.namespace.clone().expect("namespace");
    // serviceaccount.MakeUsername and MakeGroupNames
    let sa_username = format!("system:serviceaccount:{sa_namespace}:{sa_name}");
    let sa_groups = vec![
        "system:authenticated".to_string(),
        "system:serviceaccounts".to_string(),
        format!("system:serviceaccounts:{sa_namespace}"),
    ];
    let sa_uid = sa.metadata.uid.clone().expect("uid");

    // Creating clientset to impersonate the service account
    let mut kubeconfig =
        kube::config::Kubeconfig::read_from(apiary.kubeconfig()).expect("kubeconfig");
    for named in &mut kubeconfig.auth_infos {
        if let Some(auth) = named.auth_info.as_mut() {
            auth.impersonate = Some(sa_username.clone());
            auth.impersonate_uid = Some(sa_uid.clone());
            auth.impersonate_groups = Some(sa_groups.clone());
        }
    }
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .expect("Could not load config");
    let impersonated = kube::Client::try_from(config).expect("impersonating client");

    // Creating SubjectAccessReview
    let attributes = ResourceAttributes {
        verb: Some("list".into()),
        resource: Some("configmaps".into()),
        namespace: Some(ns.clone()),
        version: Some("v1".into()),
        ..Default::default()
    };
    let sar = SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            resource_attributes: Some(attributes.clone()),
            user: Some(sa_username.clone()),
            groups: Some(sa_groups.clone()),
            uid: Some(sa_uid.clone()),
            ..Default::default()
        },
        ..Default::default()
    };
    let sars: Api<SubjectAccessReview> = Api::all(client.clone());
    let sar_response = sars
        .create(&PostParams::default(), &sar)
        .await
        .expect("Unable to create a SubjectAccessReview");
    let expected_allowed = sar_response.status.expect("status").allowed;

    // Verifying as the service account api 'list' configmaps in the namespace
    let configmaps: Api<ConfigMap> = Api::namespaced(impersonated, &ns);
    let request = configmaps.list(&ListParams::default()).await;
    let actually_allowed = match &request {
        Err(kube::Error::Api(s)) if s.code == 403 => false,
        Err(e) => panic!("Unexpected error: {e}"),
        Ok(_) => true,
    };
    assert_eq!(
        actually_allowed,
        expected_allowed,
        "Could not verify SubjectAccessReview for {sa_username} in namespace {ns}: request error: {:?}",
        request.err()
    );

    // Creating a LocalSubjectAccessReview
    let lsar = LocalSubjectAccessReview {
        metadata: ObjectMeta {
            namespace: Some(ns.clone()),
            ..Default::default()
        },
        spec: SubjectAccessReviewSpec {
            resource_attributes: Some(attributes),
            user: Some(sa_name.into()),
            groups: Some(sa_groups),
            uid: Some(sa_uid),
            ..Default::default()
        },
        ..Default::default()
    };
    let lsars: Api<LocalSubjectAccessReview> = Api::namespaced(client, &ns);
    let lsar_response = lsars
        .create(&PostParams::default(), &lsar)
        .await
        .expect("Unable to create a LocalSubjectAccessReview");
    let expected_allowed = lsar_response.status.expect("status").allowed;
    assert_eq!(
        actually_allowed, expected_allowed,
        "Could not verify LocalSubjectAccessReview for {sa_username} in namespace {ns}"
    );
}

conformance_tests!(rocksdb_only {
    should_support_subject_review_api_operations,
});
