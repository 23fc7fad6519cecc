//! `test/e2e/apimachinery/table_conversion.go`: the Table transformation conformance test.

use serde_json::json;

use crate::common::Apiary;
use crate::shared_apiary::conformance_tests;

/// `[sig-api-machinery] Servers with support for Table transformation should return a 406 for a backend which does not implement metadata [Conformance]`
/// (test/e2e/apimachinery/table_conversion.go): a SelfSubjectAccessReview asked for as a Table.
async fn should_return_a_406_for_a_backend_which_does_not_implement_metadata(apiary: &Apiary) {
    let client = apiary.client().await;
    let sar = json!({
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"nonResourceAttributes": {"path": "/", "verb": "get"}},
    });
    let request = http::Request::post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews")
        .header("content-type", "application/json")
        .header("accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
        .body(sar.to_string().into_bytes())
        .expect("request");
    match client.request_text(request).await {
        Err(kube::Error::Api(status)) => assert_eq!(status.code, 406, "{status:?}"),
        other => panic!(
            "failed to return error when posting self subject access review: {sar}, to a backend that does not implement metadata: {other:?}"
        ),
    }
}

conformance_tests!(rocksdb_only {
    should_return_a_406_for_a_backend_which_does_not_implement_metadata,
});
