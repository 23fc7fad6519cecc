//! `test/e2e/auth/certificates.go`: the Certificates API conformance test.

use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::certificates::v1::{
    CertificateSigningRequest, CertificateSigningRequestCondition, CertificateSigningRequestSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIGroup;
use k8s_openapi::ByteString;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, ListParams, ObjectMeta, Patch, PatchParams,
    PostParams, WatchEvent, WatchParams,
};
use rcgen::{CertificateParams, DnType, IsCa, Issuer, KeyPair};

use crate::common::Apiary;
use crate::shared_apiary::{conformance_tests, namespace};

/// `csr.DurationToExpirationSeconds(time.Hour)`.
const ONE_HOUR: i32 = 3600;

/// `cert.MakeCSR(pk, &pkix.Name{CommonName: "e2e.example.com"}, []string{"e2e.example.com"}, nil)`
/// as PEM (upstream's key is RSA; this one is ECDSA P-256, which the API accepts alike).
fn make_csr() -> Vec<u8> {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(vec!["e2e.example.com".into()]).expect("params");
    params
        .distinguished_name
        .push(DnType::CommonName, "e2e.example.com");
    params
        .serialize_request(&key)
        .expect("CSR")
        .pem()
        .expect("CSR PEM")
        .into_bytes()
}

/// `cert.GenerateSelfSignedCertKey("e2e.example.com", nil, []string{"e2e.example.com"})`'s
/// certificate bytes: a serving certificate followed by the self-signed CA that signed it.
fn self_signed_cert_chain() -> Vec<u8> {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "e2e.example.com-ca");
    ca_params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca_params, ca_key);

    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(vec!["e2e.example.com".into()]).expect("params");
    params
        .distinguished_name
        .push(DnType::CommonName, "e2e.example.com");
    let cert = params.signed_by(&key, &issuer).expect("certificate");
    format!("{}{}", cert.pem(), ca_cert.pem()).into_bytes()
}

fn condition(type_: &str, reason: &str, message: &str) -> CertificateSigningRequestCondition {
    CertificateSigningRequestCondition {
        type_: type_.into(),
        status: "True".into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        ..Default::default()
    }
}

/// `[sig-auth] Certificates API [Privileged:ClusterAdmin] should support CSR API operations [Conformance]`
/// (test/e2e/auth/certificates.go).
async fn should_support_csr_api_operations(apiary: &Apiary) {
    let client = apiary.client().await;
    // The framework's namespace gives the test its unique name.
    let unique_name = namespace(&client, "certificates").await;

    // Setup
    let csr_version = "v1";
    let csr_client: Api<CertificateSigningRequest> = Api::all(client.clone());
    let dynamic: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &ApiResource::erase::<CertificateSigningRequest>(&()),
    );
    let csr_data = make_csr();
    let certificate_data = self_signed_cert_chain();
    let certificate_data_json =
        serde_json::to_string(&ByteString(certificate_data.clone())).expect("json");
    let signer_name = format!("example.com/e2e-{unique_name}");
    let csr_template = CertificateSigningRequest {
        metadata: ObjectMeta {
            generate_name: Some("e2e-example-csr-".into()),
            ..Default::default()
        },
        spec: CertificateSigningRequestSpec {
            request: ByteString(csr_data),
            signer_name: signer_name.clone(),
            expiration_seconds: Some(ONE_HOUR),
            usages: Some(vec![
                "digital signature".into(),
                "key encipherment".into(),
                "server auth".into(),
            ]),
            ..Default::default()
        },
        ..Default::default()
    };
    let by_signer = ListParams::default().fields(&format!("spec.signerName={signer_name}"));

    // Discovery
    // getting /apis
    let groups = client.list_api_groups().await.expect("get /apis");
    let found = groups.groups.iter().any(|g| {
        g.name == "certificates.k8s.io" && g.versions.iter().any(|v| v.version == csr_version)
    });
    assert!(
        found,
        "expected certificates API group/version, got {:?}",
        groups.groups
    );

    // getting /apis/certificates.k8s.io
    let request = http::Request::get("/apis/certificates.k8s.io")
        .body(Vec::new())
        .expect("request");
    let group: APIGroup = client
        .request(request)
        .await
        .expect("get /apis/certificates.k8s.io");
    assert!(
        group.versions.iter().any(|v| v.version == csr_version),
        "expected certificates API version, got {:?}",
        group.versions
    );

    // getting /apis/certificates.k8s.io/v1
    let resources = client
        .list_api_group_resources("certificates.k8s.io/v1")
        .await
        .expect("get /apis/certificates.k8s.io/v1");
    for name in [
        "certificatesigningrequests",
        "certificatesigningrequests/approval",
        "certificatesigningrequests/status",
    ] {
        assert!(
            resources.resources.iter().any(|r| r.name == name),
            "expected {name}, got {:?}",
            resources.resources
        );
    }

    // Main resource create/read/update/watch operations

    // creating
    let pp = PostParams::default();
    csr_client.create(&pp, &csr_template).await.expect("create");
    csr_client.create(&pp, &csr_template).await.expect("create");
    let created = csr_client.create(&pp, &csr_template).await.expect("create");
    let created_name = created.metadata.name.clone().expect("name");

    // getting
    let gotten = csr_client.get(&created_name).await.expect("get");
    assert_eq!(gotten.metadata.uid, created.metadata.uid);
    assert_eq!(gotten.spec.expiration_seconds, Some(ONE_HOUR));

    // listing
    let csrs = csr_client.list(&by_signer).await.expect("list");
    assert_eq!(csrs.items.len(), 3, "filtered list should have 3 items");

    // watching
    let params = WatchParams {
        field_selector: Some(format!("metadata.name={created_name}")),
        bookmarks: false,
        ..Default::default()
    };
    let list_rv = csrs.metadata.resource_version.clone().expect("list RV");
    let mut csr_watch = csr_client
        .watch(&params, &list_rv)
        .await
        .expect("watch")
        .boxed();

    // patching
    let patched = csr_client
        .patch(
            &created_name,
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"metadata": {"annotations": {"patched": "true"}}})),
        )
        .await
        .expect("patch");
    assert_eq!(
        patched
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("patched"))
            .map(String::as_str),
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
    let updated = csr_client
        .replace(&created_name, &pp, &to_update)
        .await
        .expect("update");
    assert_eq!(
        updated
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("updated"))
            .map(String::as_str),
        Some("true"),
        "updated object should have the applied annotation"
    );

    // waiting for watch events with expected annotations
    loop {
        let event = tokio::time::timeout(Duration::from_secs(30), csr_watch.next())
            .await
            .expect("timed out waiting for watch event")
            .expect("watch channel should not close")
            .expect("watch event");
        let WatchEvent::Modified(watched) = event else {
            panic!("expected MODIFIED, got {event:?}");
        };
        let annotations = watched.metadata.annotations.unwrap_or_default();
        if annotations.get("patched").map(String::as_str) == Some("true") {
            break;
        }
    }
    drop(csr_watch);

    // /approval subresource operations

    // getting /approval
    let gotten_approval = dynamic
        .get_subresource("approval", &created_name)
        .await
        .expect("get /approval");
    let types = gotten_approval.types.clone().expect("type meta");
    assert_eq!(
        (types.api_version.as_str(), types.kind.as_str()),
        ("certificates.k8s.io/v1", "CertificateSigningRequest")
    );
    assert_eq!(gotten_approval.metadata.uid, created.metadata.uid);

    // patching /approval
    let patched_approval = csr_client
        .patch_subresource(
            "approval",
            &created_name,
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({
                "metadata": {"annotations": {"patchedapproval": "true"}},
                "status": {"conditions": [{"type": "ApprovalPatch", "status": "True", "reason": "e2e"}]},
            })),
        )
        .await
        .expect("patch /approval");
    let conditions = patched_approval
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    assert_eq!(
        conditions.len(),
        1,
        "patched object should have the applied condition, got {conditions:?}"
    );
    assert_eq!(
        conditions[0].type_, "ApprovalPatch",
        "patched object should have the applied condition, got {conditions:?}"
    );
    assert_eq!(
        patched_approval
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("patchedapproval"))
            .map(String::as_str),
        Some("true"),
        "patched object should have the applied annotation"
    );

    // updating /approval
    let mut approval_to_update = patched_approval.clone();
    approval_to_update
        .status
        .get_or_insert_with(Default::default)
        .conditions
        .get_or_insert_with(Vec::new)
        .push(condition("Approved", "E2E", "Set from an e2e test"));
    let updated_approval = csr_client
        .replace_subresource("approval", &created_name, &pp, &approval_to_update)
        .await
        .expect("update /approval");
    let conditions = updated_approval
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    assert_eq!(
        conditions.len(),
        2,
        "updated object should have the applied condition, got {conditions:?}"
    );
    assert_eq!(
        conditions[1].type_, "Approved",
        "updated object should have the approved condition, got {conditions:?}"
    );

    // /status subresource operations

    // getting /status
    let gotten_status = dynamic
        .get_subresource("status", &created_name)
        .await
        .expect("get /status");
    let types = gotten_status.types.clone().expect("type meta");
    assert_eq!(
        (types.api_version.as_str(), types.kind.as_str()),
        ("certificates.k8s.io/v1", "CertificateSigningRequest")
    );
    assert_eq!(gotten_status.metadata.uid, created.metadata.uid);

    // patching /status
    let status_patch: serde_json::Value = serde_json::from_str(&format!(
        r#"{{"metadata":{{"annotations":{{"patchedstatus":"true"}}}},"status":{{"certificate":{certificate_data_json}}}}}"#
    ))
    .expect("patch");
    let patched_status = csr_client
        .patch_status(
            &created_name,
            &PatchParams::default(),
            &Patch::Merge(status_patch),
        )
        .await
        .expect("patch /status");
    assert_eq!(
        patched_status
            .status
            .as_ref()
            .and_then(|s| s.certificate.clone()),
        Some(ByteString(certificate_data.clone())),
        "patched object should have the applied certificate"
    );
    assert_eq!(
        patched_status
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("patchedstatus"))
            .map(String::as_str),
        Some("true"),
        "patched object should have the applied annotation"
    );

    // updating /status
    let mut status_to_update = patched_status.clone();
    status_to_update
        .status
        .get_or_insert_with(Default::default)
        .conditions
        .get_or_insert_with(Vec::new)
        .push(condition("StatusUpdate", "E2E", "Set from an e2e test"));
    let sent = status_to_update
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .map_or(0, Vec::len);
    let updated_status = csr_client
        .replace_status(&created_name, &pp, &status_to_update)
        .await
        .expect("update /status");
    let conditions = updated_status
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    assert_eq!(
        conditions.len(),
        sent,
        "updated object should have the applied condition, got {conditions:?}"
    );
    assert_eq!(
        conditions.last().map(|c| c.type_.as_str()),
        Some("StatusUpdate"),
        "updated object should have the approved condition, got {conditions:?}"
    );

    // main resource delete operations

    // deleting
    csr_client
        .delete(&created_name, &DeleteParams::default())
        .await
        .expect("delete");
    match csr_client.get(&created_name).await {
        Err(kube::Error::Api(s)) if s.code == 404 => {}
        other => panic!("expected 404, got {other:?}"),
    }
    let csrs = csr_client.list(&by_signer).await.expect("list");
    assert_eq!(csrs.items.len(), 2, "filtered list should have 2 items");

    // deleting a collection
    csr_client
        .delete_collection(&DeleteParams::default(), &by_signer)
        .await
        .expect("delete collection");
    let csrs = csr_client.list(&by_signer).await.expect("list");
    assert_eq!(csrs.items.len(), 0, "filtered list should have 0 items");
}

conformance_tests!(rocksdb_only {
    should_support_csr_api_operations,
});
