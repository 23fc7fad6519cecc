//! Server-side apply: `kubectl apply --server-side`, managedFields and conflicts.

use serde_json::{json, Value};

use crate::common::{stderr, Apiary};

const CRONTABS: &str = include_str!("../fixtures/crontabs.crd.yaml");

fn deployment(replicas: u32) -> String {
    format!(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: nginx
        image: nginx
        ports:
        - containerPort: 80
"#
    )
}

/// The object as JSON with its managedFields.
fn get_json(apiary: &Apiary, what: &[&str]) -> Value {
    let mut args = vec!["get"];
    args.extend_from_slice(what);
    args.extend_from_slice(&["-o", "json", "--show-managed-fields"]);
    serde_json::from_str(&apiary.ok(&args)).expect("json")
}

/// The managedFields entry of `manager`.
fn entry(object: &Value, manager: &str) -> Value {
    object["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .find(|e| e["manager"] == manager)
        .cloned()
        .unwrap_or_else(|| panic!("no entry of {manager} in {object}"))
}

fn managers(object: &Value) -> Vec<String> {
    object["metadata"]["managedFields"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| {
                    format!(
                        "{}/{}",
                        e["manager"].as_str().unwrap(),
                        e["operation"].as_str().unwrap()
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn failing_stdin(apiary: &Apiary, args: &[&str], stdin: &str) -> String {
    let out = apiary.kubectl_with_stdin(args, Some(stdin));
    assert!(
        !out.status.success(),
        "kubectl {args:?} unexpectedly succeeded"
    );
    stderr(&out)
}

#[test]
fn server_side_apply_of_a_deployment_records_ownership_and_conflicts() {
    let apiary = Apiary::start();
    let out = apiary.ok_stdin(&["apply", "--server-side", "-f", "-"], &deployment(2));
    assert_eq!(out.trim(), "deployment.apps/web serverside-applied");

    let object = get_json(&apiary, &["deployment", "web"]);
    assert_eq!(managers(&object), vec!["kubectl/Apply"]);
    let kubectl = entry(&object, "kubectl");
    assert_eq!(kubectl["apiVersion"], "apps/v1");
    assert_eq!(kubectl["fieldsType"], "FieldsV1");
    assert!(kubectl.get("subresource").is_none());
    assert_eq!(
        kubectl["fieldsV1"],
        json!({
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {
                "f:replicas": {},
                "f:selector": {},
                "f:template": {
                    "f:metadata": {"f:labels": {"f:app": {}}},
                    "f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {
                        ".": {}, "f:image": {}, "f:name": {},
                        "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}}
                    }}}
                }
            }
        })
    );
    let yaml = apiary.ok(&[
        "get",
        "deployment",
        "web",
        "-o",
        "yaml",
        "--show-managed-fields",
    ]);
    assert!(yaml.contains("  managedFields:\n  - apiVersion: apps/v1\n    fieldsType: FieldsV1\n    fieldsV1:\n      f:metadata:\n        f:labels:\n          f:app: {}\n"), "{yaml}");
    assert!(
        yaml.contains("    manager: kubectl\n    operation: Apply\n    time: "),
        "{yaml}"
    );

    // A field the Deployment schema does not declare fails the typed conversion, as upstream.
    let unknown = deployment(2)
        .replace("  replicas: 2\n", "  replicas: 2\n  foo: bar\n")
        .replace("  name: web\n", "  name: web\n  namespace: default\n");
    let err = failing_stdin(&apiary, &["apply", "--server-side", "-f", "-"], &unknown);
    assert!(
        err.contains("failed to create typed patch object (default/web; apps/v1, Kind=Deployment): .spec.foo: field not declared in schema"),
        "{err}"
    );

    // Re-applying the same manifest is no conflict and no change.
    let out = apiary.ok_stdin(&["apply", "--server-side", "-f", "-"], &deployment(2));
    assert_eq!(out.trim(), "deployment.apps/web serverside-applied");

    // Another manager changing spec.replicas conflicts with kubectl.
    let err = failing_stdin(
        &apiary,
        &["apply", "--server-side", "--field-manager=other", "-f", "-"],
        &deployment(3),
    );
    let mut lines = err.lines();
    assert_eq!(
        lines.next(),
        Some("error: Apply failed with 1 conflict: conflict with \"kubectl\": .spec.replicas"),
        "{err}"
    );
    assert_eq!(
        lines.next(),
        Some("Please review the fields above--they currently have other managers. Here"),
        "{err}"
    );
    let replicas = apiary.ok(&[
        "get",
        "deployment",
        "web",
        "-o",
        "jsonpath={.spec.replicas}",
    ]);
    assert_eq!(replicas, "2");

    // Forced, the other manager takes spec.replicas.
    let out = apiary.ok_stdin(
        &[
            "apply",
            "--server-side",
            "--field-manager=other",
            "--force-conflicts",
            "-f",
            "-",
        ],
        &deployment(3),
    );
    assert_eq!(out.trim(), "deployment.apps/web serverside-applied");
    let object = get_json(&apiary, &["deployment", "web"]);
    assert_eq!(object["spec"]["replicas"], 3);
    assert!(entry(&object, "kubectl")["fieldsV1"]["f:spec"]
        .get("f:replicas")
        .is_none());
    assert_eq!(
        entry(&object, "other")["fieldsV1"]["f:spec"]["f:replicas"],
        json!({})
    );

    // An Update (kubectl patch) takes the field from its applier without a conflict.
    apiary.ok(&[
        "patch",
        "deployment",
        "web",
        "-p",
        r#"{"spec":{"replicas":4}}"#,
    ]);
    let object = get_json(&apiary, &["deployment", "web"]);
    let patcher = entry(&object, "kubectl-patch");
    assert_eq!(patcher["operation"], "Update");
    assert_eq!(patcher["fieldsV1"], json!({"f:spec": {"f:replicas": {}}}));
    let other = entry(&object, "other");
    assert!(
        other["fieldsV1"]["f:spec"].get("f:replicas").is_none(),
        "{object}"
    );
    assert_eq!(other["fieldsV1"]["f:spec"]["f:selector"], json!({}));
}

#[test]
fn server_side_apply_removes_fields_no_longer_applied() {
    let apiary = Apiary::start();
    let full = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  labels:\n    tier: web\ndata:\n  a: \"1\"\n  b: \"2\"\n";
    let out = apiary.ok_stdin(&["apply", "--server-side", "-f", "-"], full);
    assert_eq!(out.trim(), "configmap/cfg serverside-applied");
    let object = get_json(&apiary, &["configmap", "cfg"]);
    assert_eq!(
        entry(&object, "kubectl")["fieldsV1"],
        json!({"f:data": {"f:a": {}, "f:b": {}}, "f:metadata": {"f:labels": {"f:tier": {}}}})
    );

    let fewer = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  a: \"1\"\n";
    apiary.ok_stdin(&["apply", "--server-side", "-f", "-"], fewer);
    let object = get_json(&apiary, &["configmap", "cfg"]);
    assert_eq!(object["data"], json!({"a": "1"}));
    assert!(
        object["metadata"]
            .get("labels")
            .is_none_or(|l| l.get("tier").is_none()),
        "{object}"
    );
    assert_eq!(
        entry(&object, "kubectl")["fieldsV1"],
        json!({"f:data": {"f:a": {}}})
    );

    // An Update records its manager too, owning the map it created with a `.`.
    apiary.ok(&["label", "configmap", "cfg", "x=y"]);
    let object = get_json(&apiary, &["configmap", "cfg"]);
    assert_eq!(
        entry(&object, "kubectl-label")["fieldsV1"],
        json!({"f:metadata": {"f:labels": {".": {}, "f:x": {}}}})
    );
}

#[test]
fn client_side_apply_then_server_side_apply() {
    let apiary = Apiary::start();
    let v1 = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: csa\ndata:\n  x: \"1\"\n";
    let out = apiary.ok_stdin(&["apply", "-f", "-"], v1);
    assert_eq!(out.trim(), "configmap/csa created");
    let object = get_json(&apiary, &["configmap", "csa"]);
    assert_eq!(managers(&object), vec!["kubectl-client-side-apply/Update"]);
    assert_eq!(
        entry(&object, "kubectl-client-side-apply")["fieldsV1"],
        json!({
            "f:data": {".": {}, "f:x": {}},
            "f:metadata": {"f:annotations": {".": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {}}}
        })
    );

    let out = apiary.ok_stdin(&["apply", "--server-side", "-f", "-"], v1);
    assert_eq!(out.trim(), "configmap/csa serverside-applied");
    let v2 = v1.replace("\"1\"", "\"2\"");
    let out = apiary.ok_stdin(&["apply", "--server-side", "-f", "-"], &v2);
    assert_eq!(out.trim(), "configmap/csa serverside-applied");
    let object = get_json(&apiary, &["configmap", "csa"]);
    assert_eq!(object["data"], json!({"x": "2"}));
    assert!(
        managers(&object).contains(&"kubectl/Apply".to_string()),
        "{object}"
    );
}

#[test]
fn server_side_apply_of_a_custom_resource() {
    let apiary = Apiary::start();
    let out = apiary.ok_stdin(&["apply", "-f", "-"], CRONTABS);
    assert_eq!(
        out.trim(),
        "customresourcedefinition.apiextensions.k8s.io/crontabs.stable.example.com created"
    );
    apiary.ok(&[
        "wait",
        "--for=condition=Established",
        "--timeout=5s",
        "crd/crontabs.stable.example.com",
    ]);
    let cron = |replicas: u32| {
        format!("apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata:\n  name: my-cron\nspec:\n  cronSpec: \"* * * * */5\"\n  replicas: {replicas}\n")
    };
    let out = apiary.ok_stdin(&["apply", "--server-side", "-f", "-"], &cron(2));
    assert_eq!(
        out.trim(),
        "crontab.stable.example.com/my-cron serverside-applied"
    );
    let object = get_json(&apiary, &["crontab", "my-cron"]);
    assert_eq!(object["spec"]["image"], "nginx", "defaulted: {object}");
    assert_eq!(managers(&object), vec!["kubectl/Apply"]);
    assert_eq!(
        entry(&object, "kubectl")["fieldsV1"],
        json!({"f:spec": {"f:cronSpec": {}, "f:replicas": {}}})
    );

    let err = failing_stdin(
        &apiary,
        &["apply", "--server-side", "--field-manager=other", "-f", "-"],
        &cron(3),
    );
    assert_eq!(
        err.lines().next(),
        Some("error: Apply failed with 1 conflict: conflict with \"kubectl\": .spec.replicas"),
        "{err}"
    );

    // A status write is recorded with its subresource.
    apiary.ok(&[
        "patch",
        "crontab",
        "my-cron",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"replicas":5}}"#,
    ]);
    let object = get_json(&apiary, &["crontab", "my-cron"]);
    let status = entry(&object, "kubectl-patch");
    assert_eq!(status["operation"], "Update");
    assert_eq!(status["subresource"], "status");
    assert_eq!(status["apiVersion"], "stable.example.com/v1");
    assert_eq!(
        status["fieldsV1"],
        json!({"f:status": {".": {}, "f:replicas": {}}})
    );

    let err = apiary.fails(&[
        "patch",
        "crontab",
        "my-cron",
        "--type=strategic",
        "-p",
        r#"{"spec":{"replicas":1}}"#,
    ]);
    assert!(
        err.trim_end().ends_with("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"),
        "{err}"
    );
}

/// One raw PATCH of a ConfigMap; the Status of a failure as (code, reason, message).
async fn raw_patch(
    client: &kube::Client,
    query: &str,
    content_type: &str,
    body: &str,
) -> Result<String, (u16, String, String)> {
    let request = http::Request::patch(format!("/api/v1/namespaces/default/configmaps/raw{query}"))
        .header("Content-Type", content_type)
        .header("User-Agent", "raw-client/1.0 (linux/amd64) test")
        .body(body.as_bytes().to_vec())
        .expect("request");
    match client.request_text(request).await {
        Ok(text) => Ok(text),
        Err(kube::Error::Api(status)) => Err((status.code, status.reason, status.message)),
        Err(other) => panic!("PATCH failed: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_options_and_bodies_are_checked_as_upstream() {
    let apiary = Apiary::start();
    let client = apiary.client().await;
    let config =
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"raw"},"data":{"a":"1"}}"#;
    const APPLY: &str = "application/apply-patch+yaml";

    let missing = raw_patch(&client, "", APPLY, config).await.unwrap_err();
    assert_eq!(
        missing,
        (
            422,
            "Invalid".to_string(),
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch".to_string()
        )
    );
    let wrong_kind = raw_patch(
        &client,
        "?fieldManager=m",
        APPLY,
        r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"raw"}}"#,
    )
    .await
    .unwrap_err();
    assert_eq!(wrong_kind.0, 400);
    assert_eq!(wrong_kind.2, "invalid object type: /v1, Kind=Secret");
    let not_a_map = raw_patch(&client, "?fieldManager=m", APPLY, "- a\n- b\n")
        .await
        .unwrap_err();
    assert_eq!(
        not_a_map.2,
        "error decoding YAML: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type map[string]interface {}"
    );

    // Applying to a missing object creates it; YAML bodies are accepted.
    let created = raw_patch(
        &client,
        "?fieldManager=m&force=true",
        APPLY,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: raw\ndata:\n  a: \"1\"\n",
    )
    .await
    .expect("apply creates");
    let created: Value = serde_json::from_str(&created).expect("json");
    assert_eq!(created["data"], json!({"a": "1"}));
    assert_eq!(created["metadata"]["managedFields"][0]["manager"], "m");
    assert_eq!(
        created["metadata"]["managedFields"][0]["operation"],
        "Apply"
    );

    let with_managed = raw_patch(
        &client,
        "?fieldManager=m",
        APPLY,
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"raw","managedFields":[]}}"#,
    )
    .await
    .unwrap_err();
    assert_eq!(with_managed.2, "metadata.managedFields must be nil");

    let forced_merge = raw_patch(
        &client,
        "?force=true",
        "application/merge-patch+json",
        r#"{"data":{"b":"2"}}"#,
    )
    .await
    .unwrap_err();
    assert_eq!(
        forced_merge.2,
        "PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: may not be specified for non-apply patch"
    );

    let long = "x".repeat(129);
    let too_long = raw_patch(
        &client,
        &format!("?fieldManager={long}"),
        "application/merge-patch+json",
        r#"{"data":{"b":"2"}}"#,
    )
    .await
    .unwrap_err();
    assert_eq!(
        too_long.2,
        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Too long: may not be more than 128 bytes"
    );

    // The manager of a write without fieldManager is its User-Agent's first segment.
    let merged = raw_patch(
        &client,
        "",
        "application/merge-patch+json",
        r#"{"data":{"b":"2"}}"#,
    )
    .await
    .expect("merge patch");
    let merged: Value = serde_json::from_str(&merged).expect("json");
    let entries = merged["metadata"]["managedFields"]
        .as_array()
        .expect("entries");
    let update = entries
        .iter()
        .find(|e| e["operation"] == "Update")
        .unwrap_or_else(|| panic!("no update entry: {merged}"));
    assert_eq!(update["fieldsV1"], json!({"f:data": {"f:b": {}}}));
    assert_eq!(update["manager"], "raw-client");
}
