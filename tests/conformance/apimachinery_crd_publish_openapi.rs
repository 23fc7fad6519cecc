//! `test/e2e/apimachinery/crd_publish_openapi.go`: the CustomResourcePublishOpenAPI conformance
//! tests (CRD schemas published in `/openapi/v2`, used by `kubectl explain` and validation).

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{stderr, stdout, Apiary};
use crate::crd_fixtures::{create_crd, delete_crd, json_request, request, CRDS};
use crate::shared_apiary::{conformance_tests, namespace};

const SCHEMA_FOO: &str = r#"description: Foo CRD for Testing
type: object
properties:
  spec:
    type: object
    description: Specification of Foo
    properties:
      bars:
        description: List of Bars and their specs.
        type: array
        items:
          type: object
          required:
          - name
          properties:
            name:
              description: Name of Bar.
              type: string
            age:
              description: Age of Bar.
              type: string
            feeling:
              description: Whether Bar is feeling great.
              type: string
              enum:
              - Great
              - Down
            bazs:
              description: List of Bazs.
              items:
                type: string
              type: array
  status:
    description: Status of Foo
    type: object
    properties:
      bars:
        description: List of Bars and their statuses.
        type: array
        items:
          type: object
          properties:
            name:
              description: Name of Bar.
              type: string
            available:
              description: Whether the Bar is installed.
              type: boolean
            quxType:
              description: Indicates to external qux type.
              pattern: in-tree|out-of-tree
              type: string"#;

const SCHEMA_WALDO: &str = r#"description: Waldo CRD for Testing
type: object
properties:
  spec:
    description: Specification of Waldo
    type: object
    properties:
      dummy:
        description: Dummy property.
        type: object
  status:
    description: Status of Waldo
    type: object
    properties:
      bars:
        description: List of Bars and their statuses.
        type: array
        items:
          type: object"#;

const SCHEMA_PRESERVE_ROOT: &str = r#"description: preserve-unknown-properties at root for Testing
x-kubernetes-preserve-unknown-fields: true
type: object
properties:
  spec:
    description: Specification of Waldo
    type: object
    properties:
      dummy:
        description: Dummy property.
        type: object
  status:
    description: Status of Waldo
    type: object
    properties:
      bars:
        description: List of Bars and their statuses.
        type: array
        items:
          type: object"#;

const SCHEMA_PRESERVE_NESTED: &str = r#"description: preserve-unknown-properties in nested field for Testing
type: object
properties:
  spec:
    description: Specification of Waldo
    type: object
    x-kubernetes-preserve-unknown-fields: true
    properties:
      dummy:
        description: Dummy property.
        type: object
  status:
    description: Status of Waldo
    type: object
    properties:
      bars:
        description: List of Bars and their statuses.
        type: array
        items:
          type: object"#;

fn yaml(text: &str) -> Value {
    serde_yaml::from_str(text).expect("schema YAML")
}

/// A created test CRD (upstream's `crd.TestCrd`).
struct TestCrd {
    crd: Value,
}

impl TestCrd {
    fn kind(&self) -> &str {
        self.crd["spec"]["names"]["kind"].as_str().expect("kind")
    }
    fn plural(&self) -> &str {
        self.crd["spec"]["names"]["plural"]
            .as_str()
            .expect("plural")
    }
    fn group(&self) -> &str {
        self.crd["spec"]["group"].as_str().expect("group")
    }
    fn version(&self, i: usize) -> &str {
        self.crd["spec"]["versions"][i]["name"]
            .as_str()
            .expect("version")
    }
    fn name(&self) -> &str {
        self.crd["metadata"]["name"].as_str().expect("name")
    }
    /// `definitionName`: the OpenAPI definition name of the kind in `version` (the group
    /// reversed, `openapiutil.ToRESTFriendlyName`).
    fn definition_name(&self, version: &str) -> String {
        let group: Vec<&str> = self.group().split('.').rev().collect();
        format!("{}.{version}.{}", group.join("."), self.kind())
    }
}

/// `framework.RandomSuffix`: a number below 10000.
fn random_number() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .subsec_nanos();
    let suffix = crate::crd_fixtures::random_suffix();
    (nanos
        ^ suffix
            .bytes()
            .fold(0u32, |a, b| a.wrapping_mul(31).wrapping_add(b.into())))
        % 10000
}

/// `setupCRD`: a CRD in group `crd-publish-openapi-test-<suffix>.example.com` with `versions`
/// (the first stores), each with `schema` (or, without one, an object preserving unknown fields),
/// waiting until each version's definition is published as expected (`type: object` without a
/// schema).
async fn setup_crd(
    client: &kube::Client,
    ns: &str,
    schema: Option<&str>,
    group_suffix: &str,
    versions: &[&str],
) -> TestCrd {
    let expect = Some(schema.unwrap_or("type: object"));
    setup_crd_and_verify_schema(client, ns, schema, expect, group_suffix, versions).await
}

/// `setupCRDAndVerifySchema`: as [`setup_crd`], checking the published definitions against
/// `expect` (their presence only when `None`).
async fn setup_crd_and_verify_schema(
    client: &kube::Client,
    ns: &str,
    schema: Option<&str>,
    expect: Option<&str>,
    group_suffix: &str,
    versions: &[&str],
) -> TestCrd {
    let group = format!("crd-publish-openapi-test-{group_suffix}.example.com");
    let props = schema
        .map(yaml)
        .unwrap_or_else(|| json!({"x-kubernetes-preserve-unknown-fields": true, "type": "object"}));
    let versions: Vec<Value> = versions
        .iter()
        .enumerate()
        .map(|(i, v)| {
            json!({"name": v, "served": true, "storage": i == 0, "schema": {"openAPIV3Schema": props}})
        })
        .collect();
    // `crd.CreateMultiVersionTestCRD`: a random name, regenerated when taken.
    let deadline = Instant::now() + Duration::from_secs(30);
    let crd = loop {
        let name = format!("e2e-test-{ns}-{}-crd", random_number());
        let crd = json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": format!("{name}s.{group}")},
            "spec": {
                "group": group,
                "names": {"plural": format!("{name}s"), "singular": name, "kind": name, "listKind": format!("{name}List")},
                "scope": "Namespaced",
                "versions": versions,
            },
        });
        match create_crd(client, &crd).await {
            Ok(created) => break created,
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => panic!("failed to create CRD: {e}"),
        }
        assert!(Instant::now() < deadline, "failed to create CRD");
    };
    let crd = TestCrd { crd };
    let expect = expect.map(yaml);
    let names: Vec<String> = (0..versions.len())
        .map(|i| crd.definition_name(crd.version(i)))
        .collect();
    for name in names {
        wait_for_definition(client, &name, expect.as_ref()).await;
    }
    crd
}

/// `cleanupCRD`: deletes the CRD and waits until none of its versions' definitions is published.
async fn cleanup_crd(client: &kube::Client, crd: &TestCrd) {
    delete_crd(client, &crd.crd).await;
    for v in crd.crd["spec"]["versions"].as_array().expect("versions") {
        let name = crd.definition_name(v["name"].as_str().expect("version"));
        wait_for_definition_cleanup(client, &name).await;
    }
}

/// Upstream's `waitSuccessThreshold`: the predicate must hold on this many fetches in a row.
const WAIT_SUCCESS_THRESHOLD: usize = 10;

/// `waitForOpenAPISchema`: polls `/openapi/v2` (with its ETag) every 500ms for up to 60s until
/// `pred` holds [`WAIT_SUCCESS_THRESHOLD`] times in a row.
async fn wait_for_openapi_schema(
    client: &kube::Client,
    pred: impl Fn(&Value) -> Result<(), String>,
) {
    use http_body_util::BodyExt;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut etag = String::new();
    let mut etag_spec = Value::Null;
    let mut last_msg = String::new();
    loop {
        let mut ok = true;
        for _ in 0..WAIT_SUCCESS_THRESHOLD {
            let mut req = http::Request::get("/openapi/v2");
            if !etag.is_empty() {
                req = req.header("if-none-match", format!("\"{etag}\""));
            }
            let req = req
                .body(kube::client::Body::from(Vec::new()))
                .expect("request");
            let response = client.send(req).await.expect("GET /openapi/v2");
            let status = response.status();
            if status != http::StatusCode::NOT_MODIFIED {
                assert_eq!(
                    status,
                    http::StatusCode::OK,
                    "unexpected response: {status}"
                );
                let tag = response
                    .headers()
                    .get("etag")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .trim_matches('"')
                    .to_string();
                let body = response
                    .into_body()
                    .collect()
                    .await
                    .expect("body")
                    .to_bytes();
                etag_spec = serde_json::from_slice(&body).expect("the OpenAPI v2 document");
                etag = tag;
            }
            if let Err(msg) = pred(&etag_spec) {
                last_msg = msg;
                ok = false;
                break;
            }
        }
        if ok {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "failed to wait for OpenAPI spec validating condition; lastMsg: {last_msg}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// `dropDefaults`: the definition without the properties and extensions the server adds.
fn drop_defaults(definition: &Value) -> Value {
    let mut d = definition.clone();
    if let Some(map) = d.as_object_mut() {
        if let Some(props) = map.get_mut("properties").and_then(Value::as_object_mut) {
            props.remove("metadata");
            props.remove("apiVersion");
            props.remove("kind");
        }
        map.remove("x-kubernetes-group-version-kind");
        map.remove("x-kubernetes-selectable-fields");
    }
    d
}

/// `apiequality.Semantic.DeepEqual` on schemas: an empty map or list equals an absent one.
fn without_empty(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !matches!(v, Value::Object(m) if m.is_empty()))
                .filter(|(_, v)| !matches!(v, Value::Array(a) if a.is_empty()))
                .map(|(k, v)| (k.clone(), without_empty(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_empty).collect()),
        other => other.clone(),
    }
}

/// `waitForDefinition`: the definition `name` is published, equal to `schema` when given.
async fn wait_for_definition(client: &kube::Client, name: &str, schema: Option<&Value>) {
    let expect = schema.map(without_empty);
    wait_for_openapi_schema(client, |spec| {
        let Some(d) = spec["definitions"].get(name) else {
            return Err(format!("spec.SwaggerProps.Definitions[\"{name}\"] not found"));
        };
        if let Some(expect) = &expect {
            let actual = without_empty(&drop_defaults(d));
            if *expect != actual {
                return Err(format!(
                    "spec.SwaggerProps.Definitions[\"{name}\"] not match; expect: {expect}, actual: {actual}"
                ));
            }
        }
        Ok(())
    })
    .await
}

/// `waitForDefinitionCleanup`: the definition `name` is no longer published.
async fn wait_for_definition_cleanup(client: &kube::Client, name: &str) {
    wait_for_openapi_schema(client, |spec| match spec["definitions"].get(name) {
        Some(_) => Err(format!(
            "spec.SwaggerProps.Definitions[\"{name}\"] still exists"
        )),
        None => Ok(()),
    })
    .await
}

/// `metaPattern`.
fn meta(crd: &TestCrd, version: usize, name: &str) -> String {
    format!(
        r#""kind":"{}","apiVersion":"{}/{}","metadata":{{"name":"{name}"}}"#,
        crd.kind(),
        crd.group(),
        crd.version(version)
    )
}

/// `e2ekubectl.RunKubectlInput`: kubectl with `input` on stdin; stdout, or the failure's
/// stderr.
fn kubectl_input(apiary: &Apiary, input: Option<&str>, args: &[&str]) -> Result<String, String> {
    let out = apiary.kubectl_with_stdin(args, input);
    if out.status.success() {
        Ok(stdout(&out))
    } else {
        Err(format!("{}{}", stdout(&out), stderr(&out)))
    }
}

/// `verifyKubectlExplain`: `kubectl explain name` succeeds and matches `pattern`.
fn verify_kubectl_explain(apiary: &Apiary, ns: &str, name: &str, pattern: &str) {
    let ns = format!("--namespace={ns}");
    let result = kubectl_input(apiary, None, &[&ns, "explain", name])
        .unwrap_or_else(|e| panic!("failed to explain {name}: {e}"));
    let r = regex::Regex::new(pattern).expect("pattern");
    assert!(
        r.is_match(&result),
        "kubectl explain {name} result {{{result}}} doesn't match pattern {{{pattern}}}"
    );
}

/// Creates, deletes, applies and deletes `cr` with kubectl (each step must succeed).
fn create_and_apply(apiary: &Apiary, ns: &str, crd: &TestCrd, cr: &str, name: &str) {
    let ns = format!("--namespace={ns}");
    for verb in ["create", "apply"] {
        if let Err(e) = kubectl_input(apiary, Some(cr), &[&ns, verb, "-f", "-"]) {
            panic!("failed to {verb} CR {cr}: {e}");
        }
        if let Err(e) = kubectl_input(apiary, None, &[&ns, "delete", crd.plural(), name]) {
            panic!("failed to delete CR: {e}");
        }
    }
}

/// `[sig-api-machinery] CustomResourcePublishOpenAPI [Privileged:ClusterAdmin] works for CRD with validation schema [Conformance]`
/// (test/e2e/apimachinery/crd_publish_openapi.go).
async fn works_for_crd_with_validation_schema(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "crd-publish-openapi").await;
    let crd = setup_crd(&client, &ns, Some(SCHEMA_FOO), "foo", &["v1"]).await;
    let meta = meta(&crd, 0, "test-foo");
    let ns_flag = format!("--namespace={ns}");

    // kubectl validation (kubectl create and apply) allows request with known and required properties.
    let valid_cr = format!(r#"{{{meta},"spec":{{"bars":[{{"name":"test-bar"}}]}}}}"#);
    create_and_apply(apiary, &ns, &crd, &valid_cr, "test-foo");

    // kubectl validation (kubectl create and apply) rejects request with value outside defined enum values.
    let bad_enum_cr = format!(
        r#"{{{meta},"spec":{{"bars":[{{"name":"test-bar", "feeling":"NonExistentValue"}}]}}}}"#
    );
    match kubectl_input(apiary, Some(&bad_enum_cr), &[&ns_flag, "create", "-f", "-"]) {
        Err(e) if e.contains(r#"Unsupported value: "NonExistentValue""#) => {}
        other => panic!("unexpected no error when creating CR with unknown enum value: {other:?}"),
    }

    // kubectl validation (kubectl create and apply) rejects request with unknown properties when disallowed by the schema.
    let unknown_cr = format!(r#"{{{meta},"spec":{{"foo":true}}}}"#);
    for verb in ["create", "apply"] {
        match kubectl_input(apiary, Some(&unknown_cr), &[&ns_flag, verb, "-f", "-"]) {
            Err(e)
                if e.contains(r#"unknown field "foo""#)
                    || e.contains(r#"unknown field "spec.foo""#) => {}
            other => panic!("unexpected no error when {verb} CR with unknown field: {other:?}"),
        }
    }

    // kubectl validation (kubectl create and apply) rejects request without required properties.
    let no_require_cr = format!(r#"{{{meta},"spec":{{"bars":[{{"age":"10"}}]}}}}"#);
    for verb in ["create", "apply"] {
        match kubectl_input(apiary, Some(&no_require_cr), &[&ns_flag, verb, "-f", "-"]) {
            Err(e)
                if e.contains(r#"missing required field "name""#)
                    || e.contains("spec.bars[0].name: Required value") => {}
            other => panic!("unexpected no error when {verb} CR without required field: {other:?}"),
        }
    }

    // kubectl explain works to explain CR properties.
    let plural = crd.plural();
    verify_kubectl_explain(
        apiary,
        &ns,
        plural,
        r"(?s)DESCRIPTION:.*Foo CRD for Testing.*FIELDS:.*apiVersion.*<string>.*APIVersion defines.*spec.*<Object>.*Specification of Foo",
    );
    // kubectl explain works to explain CR properties recursively.
    verify_kubectl_explain(
        apiary,
        &ns,
        &format!("{plural}.metadata"),
        r"(?s)DESCRIPTION:.*Standard object's metadata.*FIELDS:.*creationTimestamp.*<string>.*CreationTimestamp is a timestamp",
    );
    verify_kubectl_explain(
        apiary,
        &ns,
        &format!("{plural}.spec"),
        r"(?s)DESCRIPTION:.*Specification of Foo.*FIELDS:.*bars.*<\[\]Object>.*List of Bars and their specs",
    );
    verify_kubectl_explain(
        apiary,
        &ns,
        &format!("{plural}.spec.bars"),
        r"(?s)(FIELD|RESOURCE):.*bars.*<\[\]Object>.*DESCRIPTION:.*List of Bars and their specs.*FIELDS:.*bazs.*<\[\]string>.*List of Bazs.*name.*<string>.*Name of Bar",
    );

    // kubectl explain works to return error when explain is called on property that doesn't exist.
    match kubectl_input(
        apiary,
        None,
        &[&ns_flag, "explain", &format!("{plural}.spec.bars2")],
    ) {
        Err(e) if e.contains(r#"field "bars2" does not exist"#) => {}
        other => {
            panic!("unexpected no error when explaining property that doesn't exist: {other:?}")
        }
    }

    cleanup_crd(&client, &crd).await;
}

/// The steps shared by the tests of CRDs accepting unknown properties: `cr` is created and
/// applied with kubectl, and `kubectl explain` of the kind matches `explain`.
async fn unknown_properties_allowed(
    apiary: &Apiary,
    ns: &str,
    crd: &TestCrd,
    cr: &str,
    explain: &str,
) {
    create_and_apply(apiary, ns, crd, cr, "test-cr");
    verify_kubectl_explain(apiary, ns, crd.plural(), explain);
}

/// `[sig-api-machinery] CustomResourcePublishOpenAPI [Privileged:ClusterAdmin] works for CRD without validation schema [Conformance]`
/// (test/e2e/apimachinery/crd_publish_openapi.go).
async fn works_for_crd_without_validation_schema(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "crd-publish-openapi").await;
    let crd = setup_crd(&client, &ns, None, "empty", &["v1"]).await;
    let random_cr = format!(
        r#"{{{},"a":{{"b":[{{"c":"d"}}]}}}}"#,
        meta(&crd, 0, "test-cr")
    );
    unknown_properties_allowed(apiary, &ns, &crd, &random_cr, r"(?s)DESCRIPTION:.*<empty>").await;
    cleanup_crd(&client, &crd).await;
}

/// `[sig-api-machinery] CustomResourcePublishOpenAPI [Privileged:ClusterAdmin] works for CRD preserving unknown fields at the schema root [Conformance]`
/// (test/e2e/apimachinery/crd_publish_openapi.go).
async fn works_for_crd_preserving_unknown_fields_at_the_schema_root(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "crd-publish-openapi").await;
    let crd = setup_crd_and_verify_schema(
        &client,
        &ns,
        Some(SCHEMA_PRESERVE_ROOT),
        None,
        "unknown-at-root",
        &["v1"],
    )
    .await;
    let random_cr = format!(
        r#"{{{},"a":{{"b":[{{"c":"d"}}]}}}}"#,
        meta(&crd, 0, "test-cr")
    );
    let explain = format!("(?s)KIND:.*{}", crd.kind());
    unknown_properties_allowed(apiary, &ns, &crd, &random_cr, &explain).await;
    cleanup_crd(&client, &crd).await;
}

/// `[sig-api-machinery] CustomResourcePublishOpenAPI [Privileged:ClusterAdmin] works for CRD preserving unknown fields in an embedded object [Conformance]`
/// (test/e2e/apimachinery/crd_publish_openapi.go).
async fn works_for_crd_preserving_unknown_fields_in_an_embedded_object(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "crd-publish-openapi").await;
    let crd = setup_crd_and_verify_schema(
        &client,
        &ns,
        Some(SCHEMA_PRESERVE_NESTED),
        None,
        "unknown-in-nested",
        &["v1"],
    )
    .await;
    let random_cr = format!(
        r#"{{{},"spec":{{"a":null,"b":[{{"c":"d"}}]}}}}"#,
        meta(&crd, 0, "test-cr")
    );
    let explain = r"(?s)DESCRIPTION:.*preserve-unknown-properties in nested field for Testing";
    unknown_properties_allowed(apiary, &ns, &crd, &random_cr, explain).await;
    cleanup_crd(&client, &crd).await;
}

/// `[sig-api-machinery] CustomResourcePublishOpenAPI [Privileged:ClusterAdmin] works for multiple CRDs of different groups [Conformance]`
/// (test/e2e/apimachinery/crd_publish_openapi.go).
async fn works_for_multiple_crds_of_different_groups(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "crd-publish-openapi").await;
    let foo_crd = setup_crd(&client, &ns, Some(SCHEMA_FOO), "foo", &["v1"]).await;
    let waldo = setup_crd(&client, &ns, Some(SCHEMA_WALDO), "waldo", &["v1beta1"]).await;
    assert_ne!(
        foo_crd.group(),
        waldo.group(),
        "CRDs should be of different group"
    );
    wait_for_definition(
        &client,
        &waldo.definition_name("v1beta1"),
        Some(&yaml(SCHEMA_WALDO)),
    )
    .await;
    wait_for_definition(
        &client,
        &foo_crd.definition_name("v1"),
        Some(&yaml(SCHEMA_FOO)),
    )
    .await;
    cleanup_crd(&client, &foo_crd).await;
    cleanup_crd(&client, &waldo).await;
}

/// Two CRDs of the common group, `foo` in `foo_version` and `waldo` in `waldo_version`, both
/// published.
async fn two_crds_of_common_group(
    client: &kube::Client,
    ns: &str,
    foo_version: &str,
    waldo_version: &str,
) {
    let foo_crd = setup_crd(client, ns, Some(SCHEMA_FOO), "common-group", &[foo_version]).await;
    let waldo = setup_crd(
        client,
        ns,
        Some(SCHEMA_WALDO),
        "common-group",
        &[waldo_version],
    )
    .await;
    assert_eq!(
        foo_crd.group(),
        waldo.group(),
        "CRDs should be of the same group"
    );
    wait_for_definition(
        client,
        &waldo.definition_name(waldo_version),
        Some(&yaml(SCHEMA_WALDO)),
    )
    .await;
    wait_for_definition(
        client,
        &foo_crd.definition_name(foo_version),
        Some(&yaml(SCHEMA_FOO)),
    )
    .await;
    cleanup_crd(client, &foo_crd).await;
    cleanup_crd(client, &waldo).await;
}

/// A two-version (`v2`, `v3`) CRD of `schemaFoo`, both versions published.
async fn multi_version_crd(client: &kube::Client, ns: &str) -> TestCrd {
    let crd = setup_crd(client, ns, Some(SCHEMA_FOO), "multi-ver", &["v2", "v3"]).await;
    let foo_schema = yaml(SCHEMA_FOO);
    wait_for_definition(client, &crd.definition_name("v3"), Some(&foo_schema)).await;
    wait_for_definition(client, &crd.definition_name("v2"), Some(&foo_schema)).await;
    crd
}

/// `[sig-api-machinery] CustomResourcePublishOpenAPI [Privileged:ClusterAdmin] works for multiple CRDs of same group but different versions [Conformance]`
/// (test/e2e/apimachinery/crd_publish_openapi.go).
async fn works_for_multiple_crds_of_same_group_but_different_versions(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "crd-publish-openapi").await;
    // One multi-version CRD.
    let crd = multi_version_crd(&client, &ns).await;
    cleanup_crd(&client, &crd).await;
    // Two CRDs.
    two_crds_of_common_group(&client, &ns, "v4", "v5").await;
}

/// `[sig-api-machinery] CustomResourcePublishOpenAPI [Privileged:ClusterAdmin] works for multiple CRDs of same group and version but different kinds [Conformance]`
/// (test/e2e/apimachinery/crd_publish_openapi.go).
async fn works_for_multiple_crds_of_same_group_and_version_but_different_kinds(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "crd-publish-openapi").await;
    two_crds_of_common_group(&client, &ns, "v6", "v6").await;
}

/// `[sig-api-machinery] CustomResourcePublishOpenAPI [Privileged:ClusterAdmin] updates the published spec when one version gets renamed [Conformance]`
/// (test/e2e/apimachinery/crd_publish_openapi.go).
async fn updates_the_published_spec_when_one_version_gets_renamed(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "crd-publish-openapi").await;
    let mut crd = multi_version_crd(&client, &ns).await;
    let foo_schema = yaml(SCHEMA_FOO);

    // Rename a version.
    let patch = br#"[
			{"op":"test","path":"/spec/versions/1/name","value":"v3"},
			{"op": "replace", "path": "/spec/versions/1/name", "value": "v4"}
		]"#;
    let path = format!("{CRDS}/{}", crd.name());
    crd.crd = request(
        &client,
        "PATCH",
        &path,
        "application/json-patch+json",
        Some(patch.to_vec()),
    )
    .await
    .expect("rename a version");

    // The new version name is served, the old one removed, the other one unchanged.
    wait_for_definition(&client, &crd.definition_name("v4"), Some(&foo_schema)).await;
    wait_for_definition_cleanup(&client, &crd.definition_name("v3")).await;
    wait_for_definition(&client, &crd.definition_name("v2"), Some(&foo_schema)).await;
    cleanup_crd(&client, &crd).await;
}

/// `[sig-api-machinery] CustomResourcePublishOpenAPI [Privileged:ClusterAdmin] removes definition from spec when one version gets changed to not be served [Conformance]`
/// (test/e2e/apimachinery/crd_publish_openapi.go).
async fn removes_definition_from_spec_when_one_version_gets_changed_to_not_be_served(
    apiary: &Apiary,
) {
    let client = apiary.client().await;
    let ns = namespace(&client, "crd-publish-openapi").await;
    let foo_schema = yaml(SCHEMA_FOO);
    let mut crd = setup_crd(
        &client,
        &ns,
        Some(SCHEMA_FOO),
        "multi-to-single-ver",
        &["v5", "v6alpha1"],
    )
    .await;
    wait_for_definition(&client, &crd.definition_name("v6alpha1"), Some(&foo_schema)).await;
    wait_for_definition(&client, &crd.definition_name("v5"), Some(&foo_schema)).await;

    // Mark a version not served.
    let path = format!("{CRDS}/{}", crd.name());
    let mut current = json_request(&client, "GET", &path, None)
        .await
        .expect("get the CRD");
    current["spec"]["versions"][1]["served"] = json!(false);
    crd.crd = json_request(&client, "PUT", &path, Some(&current))
        .await
        .expect("update the CRD");

    // The unserved version gets removed, the other one is unchanged.
    wait_for_definition_cleanup(&client, &crd.definition_name("v6alpha1")).await;
    wait_for_definition(&client, &crd.definition_name("v5"), Some(&foo_schema)).await;
    cleanup_crd(&client, &crd).await;
}

conformance_tests!(rocksdb_only {
    works_for_crd_with_validation_schema,
    works_for_crd_without_validation_schema,
    works_for_crd_preserving_unknown_fields_at_the_schema_root,
    works_for_crd_preserving_unknown_fields_in_an_embedded_object,
    works_for_multiple_crds_of_different_groups,
    works_for_multiple_crds_of_same_group_but_different_versions,
    works_for_multiple_crds_of_same_group_and_version_but_different_kinds,
    updates_the_published_spec_when_one_version_gets_renamed,
    removes_definition_from_spec_when_one_version_gets_changed_to_not_be_served,
});
