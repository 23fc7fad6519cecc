//! ValidatingAdmissionPolicies, and denials as kube-rs sees them.

use serde_json::{json, Value};

use crate::common::admission::{eventually, Answer, WebhookServer};
use crate::common::{stdout, Apiary};
use crate::*;
fn max_replicas_binding(
    name: &str,
    param: &str,
    not_found: &str,
    actions: &[&str],
    ns_label: &str,
) -> Value {
    json!({"apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": {"policyName": "max-replicas",
            "paramRef": {"name": param, "namespace": "vap", "parameterNotFoundAction": not_found},
            "validationActions": actions,
            "matchResources": {"namespaceSelector": {"matchLabels": {"e2e": ns_label}}}}})
}

/// 12 to 15: ValidatingAdmissionPolicy with a ConfigMap param: Deny, Warn and Audit actions,
/// a missing param under Allow and Deny, and policies whose expressions do not compile or
/// type-check.
#[test]
fn validating_admission_policies() {
    let apiary = start_audited();
    namespace(&apiary, "vap", json!({}));
    for ns in [
        "vap-deny",
        "vap-warn",
        "vap-audit",
        "vap-allow",
        "vap-missing",
    ] {
        namespace(&apiary, ns, json!({"e2e": ns}));
    }
    apiary.ok(&[
        "create",
        "configmap",
        "limits",
        "-n",
        "vap",
        "--from-literal=maxReplicas=3",
    ]);
    create(
        &apiary,
        &json!({"apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": "max-replicas"},
            "spec": {"failurePolicy": "Fail",
                "paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
                "matchConstraints": {"resourceRules": [{"apiGroups": ["apps"],
                    "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                    "resources": ["deployments"]}]},
                "validations": [{"expression": "object.spec.replicas <= int(params.data.maxReplicas)",
                    "message": "replicas must be no greater than maxReplicas"}]}}),
    );
    for binding in [
        max_replicas_binding(
            "max-replicas-binding",
            "limits",
            "Deny",
            &["Deny"],
            "vap-deny",
        ),
        max_replicas_binding("max-replicas-warn", "limits", "Deny", &["Warn"], "vap-warn"),
        max_replicas_binding(
            "max-replicas-audit",
            "limits",
            "Deny",
            &["Audit"],
            "vap-audit",
        ),
        max_replicas_binding("missing-allow", "absent", "Allow", &["Deny"], "vap-allow"),
        max_replicas_binding(
            "missing-deny",
            "absent-too",
            "Deny",
            &["Deny"],
            "vap-missing",
        ),
    ] {
        create(&apiary, &binding);
    }

    // 15. An expression that does not compile (undeclared variable) is refused with 422.
    let policy = |name: &str, expression: &str| {
        json!({"apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": name},
            "spec": {"matchConstraints": {"resourceRules": [{"apiGroups": ["apps"],
                    "apiVersions": ["v1"], "operations": ["CREATE"],
                    "resources": ["deployments"]}]},
                "validations": [{"expression": expression}]}})
    };
    let (ok, _, err) = try_create(&apiary, &policy("broken", "replicas > 1"), &["-v=6"]);
    assert!(!ok);
    assert!(err.contains("422 Unprocessable Entity"), "{err}");
    assert!(
        err.contains("The ValidatingAdmissionPolicy \"broken\" is invalid: spec.validations[0].expression: Invalid value: \"replicas > 1\": compilation failed: ERROR: <input>:1:1: undeclared reference to 'replicas' (in container '')"),
        "{err}"
    );
    // One that compiles but does not type-check against Deployments is stored, and its
    // status.typeChecking reports the field it does not know.
    assert_eq!(
        create(&apiary, &policy("typo", "object.spec.replicaz > 1")),
        "validatingadmissionpolicy.admissionregistration.k8s.io/typo created\n"
    );
    eventually("the type-checking warning", 10, || {
        let status = apiary.ok(&[
            "get",
            "validatingadmissionpolicy",
            "typo",
            "-o",
            "jsonpath={.status.typeChecking.expressionWarnings[0].fieldRef}|{.status.typeChecking.expressionWarnings[0].warning}",
        ]);
        (status.starts_with(
            "spec.validations[0].expression|apps/v1, Kind=Deployment: ERROR: <input>:1:",
        ) && status.contains("undefined field 'replicaz'"))
        .then_some(())
        .ok_or(status)
    });

    // 12. Deny: over the limit refused with upstream's message, within it created.
    let mut i = 0;
    eventually("the Deny binding takes effect", 10, || {
        i += 1;
        let (ok, _, err) = try_create(
            &apiary,
            &deployment(&format!("probe-{i}"), "vap-deny", 9, json!({})),
            &[],
        );
        (!ok).then_some(()).ok_or(err)
    });
    let (ok, _, err) = try_create(
        &apiary,
        &deployment("big", "vap-deny", 4, json!({})),
        &["-v=6"],
    );
    assert!(!ok);
    assert!(err.contains("422 Unprocessable Entity"), "{err}");
    assert!(
        err.ends_with("The deployments \"big\" is invalid: : ValidatingAdmissionPolicy 'max-replicas' with binding 'max-replicas-binding' denied request: replicas must be no greater than maxReplicas\n"),
        "{err}"
    );
    assert_eq!(
        create(&apiary, &deployment("small", "vap-deny", 3, json!({}))),
        "deployment.apps/small created\n"
    );

    // 13. Warn: the warning is printed and the object created.
    let warning = "Warning: Validation failed for ValidatingAdmissionPolicy 'max-replicas' with binding 'max-replicas-warn': replicas must be no greater than maxReplicas\n";
    let mut i = 0;
    eventually("the Warn binding takes effect", 10, || {
        i += 1;
        let (ok, _, err) = try_create(
            &apiary,
            &deployment(&format!("probe-{i}"), "vap-warn", 9, json!({})),
            &[],
        );
        (ok && err.contains("Warning:")).then_some(()).ok_or(err)
    });
    let (ok, out, err) = try_create(
        &apiary,
        &deployment("warned", "vap-warn", 9, json!({})),
        &[],
    );
    assert!(ok, "{err}");
    assert_eq!(out, "deployment.apps/warned created\n");
    assert_eq!(err, warning);

    // 13. Audit: the audit event carries the validation failure.
    let mut i = 0;
    let mut last = Value::Null;
    eventually("the Audit binding takes effect", 10, || {
        i += 1;
        let name = format!("probe-{i}");
        create(&apiary, &deployment(&name, "vap-audit", 9, json!({})));
        last = wait_audit_event_of_create(&apiary, "vap-audit", &name);
        last["annotations"]["validation.policy.admission.k8s.io/validation_failure"]
            .is_string()
            .then_some(())
            .ok_or_else(|| last.to_string())
    });
    let failure: Value = serde_json::from_str(
        last["annotations"]["validation.policy.admission.k8s.io/validation_failure"]
            .as_str()
            .expect("annotation"),
    )
    .expect("JSON");
    assert_eq!(
        failure,
        json!([{"message": "replicas must be no greater than maxReplicas",
            "policy": "max-replicas", "binding": "max-replicas-audit",
            "expressionIndex": 0, "validationActions": ["Audit"]}])
    );

    // 14. A missing param: Deny refuses, Allow lets the request through.
    let mut i = 0;
    eventually("the missing-param Deny binding takes effect", 10, || {
        i += 1;
        let (ok, _, err) = try_create(
            &apiary,
            &deployment(&format!("probe-{i}"), "vap-missing", 1, json!({})),
            &[],
        );
        (!ok).then_some(()).ok_or(err)
    });
    let (ok, _, err) = try_create(
        &apiary,
        &deployment("no-params", "vap-missing", 1, json!({})),
        &[],
    );
    assert!(!ok);
    assert_eq!(
        err,
        "The deployments \"no-params\" is invalid: : ValidatingAdmissionPolicy 'max-replicas' with binding 'missing-deny' denied request: failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction\n"
    );
    assert_eq!(
        create(&apiary, &deployment("free", "vap-allow", 9, json!({}))),
        "deployment.apps/free created\n"
    );
    // Once the param exists, the Allow binding validates against it.
    apiary.ok(&[
        "create",
        "configmap",
        "absent",
        "-n",
        "vap",
        "--from-literal=maxReplicas=1",
    ]);
    let mut i = 0;
    eventually("the param of the Allow binding takes effect", 10, || {
        i += 1;
        let (ok, _, err) = try_create(
            &apiary,
            &deployment(&format!("probe-{i}"), "vap-allow", 9, json!({})),
            &[],
        );
        (!ok).then_some(()).ok_or(err)
    });
    let (ok, _, err) = try_create(
        &apiary,
        &deployment("bounded", "vap-allow", 2, json!({})),
        &[],
    );
    assert!(!ok);
    assert_eq!(
        err,
        "The deployments \"bounded\" is invalid: : ValidatingAdmissionPolicy 'max-replicas' with binding 'missing-allow' denied request: replicas must be no greater than maxReplicas\n"
    );
}

/// 16: with kube-rs, a Gatekeeper-style policy (Deployments need an `owner` label) and a
/// Kyverno-style validating webhook (no `:latest` images): `Api::create` gets upstream's status.
#[test]
fn kube_rs_sees_policy_and_webhook_denials() {
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{Api, PostParams};

    let apiary = Apiary::start();
    let runtime = runtime();
    const KYVERNO_MESSAGE: &str = "\n\npolicy Pod/kube-rs/latest for resource violation: \n\ndisallow-latest-tag:\n  validate-image-tag: 'validation error: Using a mutable image tag e.g. ''latest'' is not allowed. rule validate-image-tag failed at path /spec/containers/0/image/'\n";
    let server = WebhookServer::start(&runtime, &[], |_, request| {
        let latest = request["object"]["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| {
                c["image"]
                    .as_str()
                    .is_some_and(|i| i.ends_with(":latest") || !i.contains(':'))
            });
        if latest {
            Answer::deny(KYVERNO_MESSAGE)
        } else {
            Answer::allow()
        }
    });
    namespace(&apiary, "kube-rs", json!({"e2e": "kube-rs"}));
    create(
        &apiary,
        &json!({"apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": "require-owner"},
            "spec": {"failurePolicy": "Fail",
                "matchConstraints": {"resourceRules": [{"apiGroups": ["apps"],
                    "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                    "resources": ["deployments"]}]},
                "validations": [{"expression": "has(object.metadata.labels) && 'owner' in object.metadata.labels",
                    "message": "Deployments must carry an owner label"}]}}),
    );
    create(
        &apiary,
        &json!({"apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": "require-owner-binding"},
            "spec": {"policyName": "require-owner", "validationActions": ["Deny"],
                "matchResources": {"namespaceSelector": {"matchLabels": {"e2e": "kube-rs"}}}}}),
    );
    let mut kyverno = hook(
        &server,
        "validate.kyverno.svc-fail",
        "/kyverno",
        rules(&[""], &["pods"], &["CREATE", "UPDATE"]),
        json!({"e2e": "kube-rs"}),
    );
    kyverno["failurePolicy"] = json!("Fail");
    create(
        &apiary,
        &configuration(
            "ValidatingWebhookConfiguration",
            "kyverno-resource-validating-webhook-cfg",
            vec![kyverno],
        ),
    );
    let mut i = 0;
    eventually("the policy takes effect", 10, || {
        i += 1;
        let out = apiary.kubectl(&[
            "create",
            "deployment",
            &format!("probe-{i}"),
            "--image=nginx:1.27",
            "-n",
            "kube-rs",
        ]);
        (!out.status.success()).then_some(()).ok_or(stdout(&out))
    });
    runtime.block_on(async {
        let client = apiary.client().await;
        let deployments: Api<Deployment> = Api::namespaced(client, "kube-rs");
        let unowned: Deployment =
            serde_json::from_value(deployment("unowned", "kube-rs", 1, json!({}))).expect("deployment");
        match deployments.create(&PostParams::default(), &unowned).await {
            Err(kube::Error::Api(status)) => {
                assert_eq!(status.code, 422, "{status:?}");
                assert_eq!(status.reason, "Invalid", "{status:?}");
                assert_eq!(
                    status.message,
                    "deployments.apps \"unowned\" is forbidden: ValidatingAdmissionPolicy 'require-owner' with binding 'require-owner-binding' denied request: Deployments must carry an owner label"
                );
                let details = status.details.as_ref().expect("details");
                assert_eq!(details.name, "unowned");
                assert_eq!(details.group, "apps");
                assert_eq!(details.kind, "deployments");
            }
            other => panic!("expected a 422 from the policy, got {other:?}"),
        }
        let owned: Deployment =
            serde_json::from_value(deployment("owned", "kube-rs", 1, json!({"owner": "team-a"})))
                .expect("deployment");
        let created = deployments
            .create(&PostParams::default(), &owned)
            .await
            .expect("a Deployment with an owner is admitted");
        assert_eq!(created.metadata.name.as_deref(), Some("owned"));

    });

    let mut i = 0;
    eventually("the webhook takes effect", 10, || {
        i += 1;
        let out = apiary.kubectl(&[
            "run",
            &format!("probe-{i}"),
            "--image=nginx:latest",
            "-n",
            "kube-rs",
        ]);
        (!out.status.success()).then_some(()).ok_or(stdout(&out))
    });
    runtime.block_on(async {
        let pods: Api<Pod> = Api::namespaced(apiary.client().await, "kube-rs");
        let pod = |name: &str, image: &str| -> Pod {
            serde_json::from_value(json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": "kube-rs"},
                "spec": {"containers": [{"name": "app", "image": image}]}}))
            .expect("pod")
        };
        match pods.create(&PostParams::default(), &pod("latest", "nginx:latest")).await {
            Err(kube::Error::Api(status)) => {
                assert_eq!(status.code, 400, "{status:?}");
                assert_eq!(status.reason, "", "{status:?}");
                assert_eq!(status.status, Some(kube::core::response::StatusSummary::Failure));
                assert_eq!(
                    status.message,
                    format!("admission webhook \"validate.kyverno.svc-fail\" denied the request: {KYVERNO_MESSAGE}")
                );
            }
            other => panic!("expected the webhook's denial, got {other:?}"),
        }
        pods.create(&PostParams::default(), &pod("pinned", "nginx:1.27"))
            .await
            .expect("a pinned image is admitted");
    });
}

/// A Binding is admitted as the create of `pods/binding` with the Binding as its object, as
/// upstream admits it before the pod is written.
#[test]
fn pod_bindings_are_admitted() {
    let apiary = Apiary::start();
    create(
        &apiary,
        &json!({"apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": "no-tainted-nodes"},
            "spec": {"failurePolicy": "Fail",
                "matchConstraints": {"resourceRules": [{"apiGroups": [""],
                    "apiVersions": ["v1"], "operations": ["CREATE"],
                    "resources": ["pods/binding"]}]},
                "validations": [{"expression": "object.target.name != 'tainted'",
                    "message": "not to a tainted node"}]}}),
    );
    create(
        &apiary,
        &json!({"apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": "no-tainted-nodes"},
            "spec": {"policyName": "no-tainted-nodes", "validationActions": ["Deny"]}}),
    );
    apiary.ok_stdin(
        &["create", "-f", "-"],
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p1}\nspec:\n  containers: [{name: c, image: busybox}]\n",
    );
    let bind = |node: &str| {
        let body = json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p1"},
            "target": {"kind": "Node", "name": node}});
        apiary.kubectl_with_stdin(
            &[
                "create",
                "--raw",
                "/api/v1/namespaces/default/pods/p1/binding",
                "-f",
                "-",
            ],
            Some(&body.to_string()),
        )
    };
    eventually("the policy denies bindings to the tainted node", 20, || {
        let out = bind("tainted");
        let err = crate::common::stderr(&out);
        if !out.status.success()
            && err.contains(
                "ValidatingAdmissionPolicy 'no-tainted-nodes' with binding 'no-tainted-nodes' denied request: not to a tainted node",
            )
        {
            Ok(())
        } else {
            Err(format!("{}: {err}", out.status))
        }
    });
    assert_eq!(
        apiary.ok(&["get", "pod", "p1", "-o", "jsonpath={.spec.nodeName}"]),
        "",
        "a denied binding leaves the pod unassigned"
    );
    let out = bind("n1");
    assert!(out.status.success(), "{}", crate::common::stderr(&out));
    assert_eq!(
        apiary.ok(&["get", "pod", "p1", "-o", "jsonpath={.spec.nodeName}"]),
        "n1"
    );
}
