//! `test/e2e/apimachinery/field_validation.go`: the FieldValidation conformance tests (server-side
//! field validation of typed objects and custom resources).

use serde_json::{json, Value};

use crate::common::Apiary;
use crate::crd_fixtures::{create_crd, random_name_multiple_version_crd};
use crate::shared_apiary::{conformance_tests, namespace};

/// The body of a failed request (client-go's `DoRaw` returns it with the error), or of a
/// successful one.
async fn raw(
    client: &kube::Client,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
) -> Result<String, String> {
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type)
        .body(kube::client::Body::from(body.as_bytes().to_vec()))
        .expect("request");
    let response = client.send(request).await.expect("send");
    let status = response.status();
    use http_body_util::BodyExt;
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if status.is_success() {
        Ok(text)
    } else {
        Err(text)
    }
}

const STRICT: &str = "fieldManager=field_validation_mgr&fieldValidation=Strict";

/// POSTs `deployment` (JSON) to the namespace's deployments with strict field validation: the
/// failure's message.
async fn post_deployment_strict(client: &kube::Client, ns: &str, deployment: &str) -> String {
    let path = format!("/apis/apps/v1/namespaces/{ns}/deployments?{STRICT}");
    match raw(client, "POST", &path, "application/json", deployment).await {
        Ok(created) => panic!("the deployment was created: {created}"),
        Err(body) => {
            let status: Value = serde_json::from_str(&body).expect("a Status");
            status["message"].as_str().unwrap_or_default().to_string()
        }
    }
}

/// `[sig-api-machinery] FieldValidation should detect unknown and duplicate fields of a typed object [Conformance]`
/// (test/e2e/apimachinery/field_validation.go).
async fn should_detect_unknown_and_duplicate_fields_of_a_typed_object(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "field-validation").await;
    let invalid = r#"{
		"apiVersion": "apps/v1",
		"kind": "Deployment",
		"metadata": {
			"name": "my-dep",
			"labels": {"app": "nginx"}
		},
		"spec": {
			"unknownField": "foo",
			"replicas": 2,
			"replicas": 3,
			"selector": {
				"matchLabels": {
					"app": "nginx"
				}
			},
			"template": {
				"metadata": {
					"labels": {
						"app": "nginx"
					}
				},
				"spec": {
					"containers": [{
						"name":  "nginx",
						"image": "nginx:latest"
					}]
				}
			}
		}
	}"#;
    let err = post_deployment_strict(&client, &ns, invalid).await;
    assert!(
        err.contains(r#"strict decoding error: unknown field "spec.unknownField", duplicate field "spec.replicas""#),
        "error missing unknown/duplicate field field, got: {err}"
    );
}

/// `[sig-api-machinery] FieldValidation should detect unknown metadata fields of a typed object [Conformance]`
/// (test/e2e/apimachinery/field_validation.go).
async fn should_detect_unknown_metadata_fields_of_a_typed_object(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "field-validation").await;
    let invalid = r#"{
		"apiVersion": "apps/v1",
		"kind": "Deployment",
		"metadata": {
			"name": "my-dep",
			"unknownMeta": "foo",
			"labels": {"app": "nginx"}
		},
		"spec": {
			"selector": {
				"matchLabels": {
					"app": "nginx"
				}
			},
			"template": {
				"metadata": {
					"labels": {
						"app": "nginx"
					}
				},
				"spec": {
					"containers": [{
						"name":  "nginx",
						"image": "nginx:latest"
					}]
				}
			}
		}
	}"#;
    let err = post_deployment_strict(&client, &ns, invalid).await;
    assert!(
        err.contains(r#"strict decoding error: unknown field "metadata.unknownMeta""#),
        "error missing unknown metadata field, got: {err}"
    );
}

/// The schema of the CR tests (`spec` with `foo`, `cronSpec` and the `ports` map list), with
/// `spec_extra` merged into `spec`.
fn cr_schema(spec_extra: Value) -> Value {
    let mut spec = json!({
        "type": "object",
        "properties": {
            "foo": {"type": "string"},
            "cronSpec": {"type": "string", "pattern": "^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$"},
            "ports": {
                "type": "array",
                "x-kubernetes-list-map-keys": ["containerPort", "protocol"],
                "x-kubernetes-list-type": "map",
                "items": {
                    "properties": {
                        "containerPort": {"format": "int32", "type": "integer"},
                        "hostIP": {"type": "string"},
                        "hostPort": {"format": "int32", "type": "integer"},
                        "name": {"type": "string"},
                        "protocol": {"type": "string"},
                    },
                    "required": ["containerPort", "protocol"],
                    "type": "object",
                },
            },
        },
    });
    if let (Some(spec), Value::Object(extra)) = (spec.as_object_mut(), spec_extra) {
        for (k, v) in extra {
            if k == "properties" {
                let props = spec["properties"].as_object_mut().expect("properties");
                props.extend(v.as_object().cloned().unwrap_or_default());
            } else {
                spec.insert(k, v);
            }
        }
    }
    json!({"openAPIV3Schema": {"type": "object", "properties": {"spec": spec}}})
}

/// Creates a random cluster-scoped multi-version CRD with `schema` (when given) on every version;
/// returns (group, version[0], plural, kind).
async fn setup_crd(
    client: &kube::Client,
    schema: Option<Value>,
) -> (String, String, String, String) {
    let mut crd = random_name_multiple_version_crd("Cluster");
    if let Some(schema) = schema {
        for version in crd["spec"]["versions"].as_array_mut().expect("versions") {
            version["schema"] = schema.clone();
        }
    }
    let crd = create_crd(client, &crd)
        .await
        .unwrap_or_else(|e| panic!("cannot create crd {e}"));
    let s = |v: &Value| v.as_str().expect("string").to_string();
    (
        s(&crd["spec"]["group"]),
        s(&crd["spec"]["versions"][0]["name"]),
        s(&crd["spec"]["names"]["plural"]),
        s(&crd["spec"]["names"]["kind"]),
    )
}

/// Applies `yaml` as `mytest` (server-side apply, strict field validation): the answer's body.
async fn apply_mytest(
    client: &kube::Client,
    (group, version, plural): (&str, &str, &str),
    yaml: &str,
) -> Result<String, String> {
    let path = format!("/apis/{group}/{version}/{plural}/mytest?{STRICT}");
    raw(client, "PATCH", &path, "application/apply-patch+yaml", yaml).await
}

/// `[sig-api-machinery] FieldValidation should create/apply a valid CR for CRD with validation schema [Conformance]`
/// (test/e2e/apimachinery/field_validation.go).
async fn should_create_apply_a_valid_cr_for_crd_with_validation_schema(apiary: &Apiary) {
    let client = apiary.client().await;
    let (group, version, plural, kind) = setup_crd(&client, Some(cr_schema(json!({})))).await;
    let yaml = format!(
        r#"
apiVersion: {group}/{version}
kind: {kind}
metadata:
  name: mytest
  finalizers:
  - test-finalizer
spec:
  foo: foo1
  cronSpec: "* * * * */5"
  ports:
  - name: x
    containerPort: 80
    protocol: TCP"#
    );
    if let Err(e) = apply_mytest(&client, (&group, &version, &plural), &yaml).await {
        panic!("{e}");
    }
}

/// `[sig-api-machinery] FieldValidation should create/apply a CR with unknown fields for CRD with no validation schema [Conformance]`
/// (test/e2e/apimachinery/field_validation.go).
async fn should_create_apply_a_cr_with_unknown_fields_for_crd_with_no_validation_schema(
    apiary: &Apiary,
) {
    let client = apiary.client().await;
    let (group, version, plural, kind) = setup_crd(&client, None).await;
    let yaml = format!(
        r#"
apiVersion: {group}/{version}
kind: {kind}
metadata:
  name: mytest
  finalizers:
  - test-finalizer
spec:
  unknown: uk1
  cronSpec: "* * * * */5"
  ports:
  - name: x
    containerPort: 80
    protocol: TCP"#
    );
    if let Err(e) = apply_mytest(&client, (&group, &version, &plural), &yaml).await {
        panic!("{e}");
    }
}

/// `[sig-api-machinery] FieldValidation should create/apply an invalid CR with extra properties for CRD with validation schema [Conformance]`
/// (test/e2e/apimachinery/field_validation.go).
async fn should_create_apply_an_invalid_cr_with_extra_properties_for_crd_with_validation_schema(
    apiary: &Apiary,
) {
    let client = apiary.client().await;
    let (group, version, plural, kind) = setup_crd(&client, Some(cr_schema(json!({})))).await;
    let yaml = format!(
        r#"
apiVersion: {group}/{version}
kind: {kind}
metadata:
  name: mytest
  finalizers:
  - test-finalizer
unknownField: unknown
spec:
  foo: foo1
  cronSpec: "* * * * */5"
  ports:
  - name: x
    containerPort: 80
    protocol: TCP"#
    );
    let result = apply_mytest(&client, (&group, &version, &plural), &yaml).await;
    let body = result.clone().unwrap_or_else(|e| e);
    assert!(
        body.contains(".unknownField: field not declared in schema"),
        "error missing unknown field: {result:?}"
    );
}

/// `[sig-api-machinery] FieldValidation should detect unknown metadata fields in both the root and embedded object of a CR [Conformance]`
/// (test/e2e/apimachinery/field_validation.go).
async fn should_detect_unknown_metadata_fields_in_both_the_root_and_embedded_object_of_a_cr(
    apiary: &Apiary,
) {
    let client = apiary.client().await;
    let ns = namespace(&client, "field-validation").await;
    let schema = cr_schema(json!({
        "x-kubernetes-preserve-unknown-fields": true,
        "properties": {
            "template": {
                "type": "object",
                "x-kubernetes-embedded-resource": true,
                "properties": {
                    "metadata": {"type": "object", "properties": {"name": {"type": "string"}}},
                    "spec": {"type": "object"},
                },
            },
        },
    }));
    let (group, version, plural, kind) = setup_crd(&client, Some(schema)).await;
    let yaml = format!(
        r#"
apiVersion: {group}/{version}
kind: {kind}
metadata:
  name: mytest
  unknownMeta: unknown
  finalizers:
  - test-finalizer
spec:
  template:
    apiversion: foo/v1
    kind: Sub
    metadata:
        unknownSubMeta: unknown
        name: subobject
        namespace: {ns}
  foo: foo1
  cronSpec: "* * * * */5"
  ports:
  - name: x
    containerPort: 80
    protocol: TCP"#
    );
    let result = apply_mytest(&client, (&group, &version, &plural), &yaml).await;
    let body = result.clone().unwrap_or_else(|e| e);
    assert!(
        body.contains(".spec.template.metadata.unknownSubMeta: field not declared in schema")
            || body.contains(".metadata.unknownMeta: field not declared in schema"),
        "error missing duplicate field: {result:?}"
    );
}

/// `[sig-api-machinery] FieldValidation should detect duplicates in a CR when preserving unknown fields [Conformance]`
/// (test/e2e/apimachinery/field_validation.go).
async fn should_detect_duplicates_in_a_cr_when_preserving_unknown_fields(apiary: &Apiary) {
    let client = apiary.client().await;
    let schema = cr_schema(json!({"x-kubernetes-preserve-unknown-fields": true}));
    let (group, version, plural, kind) = setup_crd(&client, Some(schema)).await;
    let yaml = format!(
        r#"
apiVersion: {group}/{version}
kind: {kind}
metadata:
  name: mytest
  finalizers:
  - test-finalizer
spec:
  unknown: uk1
  foo: foo1
  foo: foo2
  cronSpec: "* * * * */5"
  ports:
  - name: x
    containerPort: 80
    protocol: TCP"#
    );
    let result = apply_mytest(&client, (&group, &version, &plural), &yaml).await;
    let body = result.clone().unwrap_or_else(|e| e);
    // The Status body is JSON: the key's quotes are escaped.
    assert!(
        body.contains(r#"line 11: key \"foo\" already set in map"#),
        "error missing duplicate field: {result:?}"
    );
}

conformance_tests!(rocksdb_only {
    should_detect_unknown_and_duplicate_fields_of_a_typed_object,
    should_detect_unknown_metadata_fields_of_a_typed_object,
    should_create_apply_a_valid_cr_for_crd_with_validation_schema,
    should_create_apply_a_cr_with_unknown_fields_for_crd_with_no_validation_schema,
    should_create_apply_an_invalid_cr_with_extra_properties_for_crd_with_validation_schema,
    should_detect_unknown_metadata_fields_in_both_the_root_and_embedded_object_of_a_cr,
    should_detect_duplicates_in_a_cr_when_preserving_unknown_fields,
});
