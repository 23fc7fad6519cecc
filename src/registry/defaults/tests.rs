use serde_json::json;

use serde_json::Value;

use super::*;
use crate::registry::resources::rules_of;

/// The defaults of the built-in resource `group`/`plural`, as its rules apply them.
fn apply(group: &str, plural: &str, obj: &mut Value) {
    (rules_of(group, plural).defaults)(obj)
}

/// The status a create of `group`/`plural` starts with.
fn initial_status(group: &str, plural: &str) -> Option<Value> {
    rules_of(group, plural).initial_status()
}

#[test]
fn pod_defaults_match_upstream() {
    let mut pod = json!({"metadata": {"name": "p"}, "spec": {"containers": [
        {"name": "a", "image": "nginx", "ports": [{"containerPort": 80}],
         "readinessProbe": {"httpGet": {"port": 80}},
         "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
         "resources": {"limits": {"cpu": "1"}}},
        {"name": "b", "image": "nginx:1.27", "imagePullPolicy": "Never"},
        {"name": "c", "image": "reg.io:5000/x@sha256:abc"},
    ], "volumes": [{"name": "cfg", "configMap": {"name": "c"}}, {"name": "scratch"}]}});
    apply("", "pods", &mut pod);
    let spec = &pod["spec"];
    assert_eq!(spec["dnsPolicy"], "ClusterFirst");
    assert_eq!(spec["restartPolicy"], "Always");
    assert_eq!(spec["schedulerName"], "default-scheduler");
    assert_eq!(spec["securityContext"], json!({}));
    assert_eq!(spec["terminationGracePeriodSeconds"], 30);
    assert_eq!(spec["enableServiceLinks"], true);
    let a = &spec["containers"][0];
    assert_eq!(a["imagePullPolicy"], "Always");
    assert_eq!(a["terminationMessagePath"], "/dev/termination-log");
    assert_eq!(a["terminationMessagePolicy"], "File");
    assert_eq!(a["ports"][0]["protocol"], "TCP");
    assert_eq!(
        a["readinessProbe"],
        json!({"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1,
               "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3})
    );
    assert_eq!(a["env"][0]["valueFrom"]["fieldRef"]["apiVersion"], "v1");
    assert_eq!(
        a["resources"],
        json!({"limits": {"cpu": "1"}, "requests": {"cpu": "1"}}),
        "requests default to limits on pods"
    );
    assert_eq!(spec["containers"][1]["imagePullPolicy"], "Never");
    assert_eq!(spec["containers"][1]["resources"], json!({}));
    assert_eq!(spec["containers"][2]["imagePullPolicy"], "IfNotPresent");
    assert_eq!(spec["volumes"][0]["configMap"]["defaultMode"], 420);
    assert_eq!(spec["volumes"][1]["emptyDir"], json!({}));
    assert!(spec.get("serviceAccount").is_none());
}

#[test]
fn image_tags_decide_the_pull_policy() {
    assert_eq!(pod_spec::image_tag("nginx"), Some("latest"));
    assert_eq!(pod_spec::image_tag("nginx:latest"), Some("latest"));
    assert_eq!(pod_spec::image_tag("nginx:1.27"), Some("1.27"));
    assert_eq!(pod_spec::image_tag("localhost:5000/app"), Some("latest"));
    assert_eq!(pod_spec::image_tag("localhost:5000/app:v2"), Some("v2"));
    assert_eq!(pod_spec::image_tag("app@sha256:abc"), None);
    assert_eq!(pod_spec::image_tag(""), None);
}

#[test]
fn deployment_defaults_match_upstream() {
    let mut deployment = json!({"spec": {"selector": {"matchLabels": {"app": "web"}},
        "strategy": {}, "template": {"metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27", "resources": {}}]}}}});
    apply("apps", "deployments", &mut deployment);
    assert_eq!(
        deployment["spec"],
        json!({
            "progressDeadlineSeconds": 600,
            "replicas": 1,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}, "type": "RollingUpdate"},
            "template": {
                "metadata": {"creationTimestamp": null, "labels": {"app": "web"}},
                "spec": {
                    "containers": [{"image": "nginx:1.27", "imagePullPolicy": "IfNotPresent", "name": "nginx",
                        "resources": {}, "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File"}],
                    "dnsPolicy": "ClusterFirst", "restartPolicy": "Always",
                    "schedulerName": "default-scheduler", "securityContext": {},
                    "terminationGracePeriodSeconds": 30
                }
            }
        })
    );
    assert_eq!(initial_status("apps", "deployments"), Some(json!({})));
}

#[test]
fn recreate_deployments_get_no_rolling_update() {
    let mut deployment = json!({"spec": {"strategy": {"type": "Recreate"}}});
    apply("apps", "deployments", &mut deployment);
    assert_eq!(deployment["spec"]["strategy"], json!({"type": "Recreate"}));
}

#[test]
fn job_defaults_and_generated_selector() {
    let mut job = json!({"metadata": {"name": "pi", "uid": "u-1"},
        "spec": {"template": {"spec": {"containers": [{"name": "pi", "image": "perl"}], "restartPolicy": "Never"}}}});
    apply("batch", "jobs", &mut job);
    job_generated_selector(&mut job);
    apply("batch", "jobs", &mut job);
    let spec = &job["spec"];
    assert_eq!(spec["completions"], 1);
    assert_eq!(spec["parallelism"], 1);
    assert_eq!(spec["backoffLimit"], 6);
    assert_eq!(spec["completionMode"], "NonIndexed");
    assert_eq!(spec["suspend"], false);
    assert_eq!(spec["manualSelector"], false);
    assert_eq!(spec["podReplacementPolicy"], "TerminatingOrFailed");
    assert_eq!(
        spec["selector"],
        json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}})
    );
    let labels = json!({"batch.kubernetes.io/controller-uid": "u-1", "batch.kubernetes.io/job-name": "pi",
        "controller-uid": "u-1", "job-name": "pi"});
    assert_eq!(spec["template"]["metadata"]["labels"], labels);
    assert_eq!(
        job["metadata"]["labels"], labels,
        "labels from the template"
    );
}

#[test]
fn parallelism_alone_leaves_completions_unset() {
    let mut job = json!({"spec": {"parallelism": 3}});
    apply("batch", "jobs", &mut job);
    assert!(job["spec"].get("completions").is_none());
}

#[test]
fn cron_job_defaults_leave_the_job_spec_alone() {
    let mut cron = json!({"spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {
        "containers": [{"name": "c", "image": "busybox"}], "restartPolicy": "OnFailure"}}}}}});
    apply("batch", "cronjobs", &mut cron);
    let spec = &cron["spec"];
    assert_eq!(spec["concurrencyPolicy"], "Allow");
    assert_eq!(spec["suspend"], false);
    assert_eq!(spec["successfulJobsHistoryLimit"], 3);
    assert_eq!(spec["failedJobsHistoryLimit"], 1);
    assert_eq!(
        spec["jobTemplate"]["metadata"],
        json!({"creationTimestamp": null})
    );
    assert!(spec["jobTemplate"]["spec"].get("backoffLimit").is_none());
    assert_eq!(
        spec["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
        "Always"
    );
}

#[test]
fn stateful_and_daemon_sets() {
    let mut sts =
        json!({"spec": {"volumeClaimTemplates": [{"metadata": {"name": "www"}, "spec": {}}]}});
    apply("apps", "statefulsets", &mut sts);
    let spec = &sts["spec"];
    assert_eq!(spec["podManagementPolicy"], "OrderedReady");
    assert_eq!(
        spec["updateStrategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
    );
    assert_eq!(
        spec["persistentVolumeClaimRetentionPolicy"],
        json!({"whenDeleted": "Retain", "whenScaled": "Retain"})
    );
    assert_eq!(spec["replicas"], 1);
    assert_eq!(spec["revisionHistoryLimit"], 10);
    assert_eq!(
        spec["volumeClaimTemplates"][0],
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
               "metadata": {"name": "www", "creationTimestamp": null},
               "spec": {"volumeMode": "Filesystem"}, "status": {"phase": "Pending"}})
    );
    let mut ds = json!({"spec": {}});
    apply("apps", "daemonsets", &mut ds);
    assert_eq!(
        ds["spec"]["updateStrategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
    );
}

#[test]
fn replication_controllers_take_selector_and_labels_from_the_template() {
    let mut rc = json!({"spec": {"template": {"metadata": {"labels": {"app": "x"}}}}});
    apply("", "replicationcontrollers", &mut rc);
    assert_eq!(rc["spec"]["selector"], json!({"app": "x"}));
    assert_eq!(rc["metadata"]["labels"], json!({"app": "x"}));
    assert_eq!(rc["spec"]["replicas"], 1);
}

#[test]
fn secrets_pvcs_and_network_policies() {
    let mut secret = json!({"data": {}});
    apply("", "secrets", &mut secret);
    assert_eq!(secret["type"], "Opaque");
    let mut typed = json!({"type": "kubernetes.io/tls"});
    apply("", "secrets", &mut typed);
    assert_eq!(typed["type"], "kubernetes.io/tls");
    let mut pvc = json!({"spec": {"accessModes": ["ReadWriteOnce"]}});
    apply("", "persistentvolumeclaims", &mut pvc);
    assert_eq!(pvc["spec"]["volumeMode"], "Filesystem");
    assert_eq!(pvc["status"], json!({"phase": "Pending"}));
    let mut policy = json!({"spec": {"egress": [{"ports": [{"port": 53}]}]}});
    apply("networking.k8s.io", "networkpolicies", &mut policy);
    assert_eq!(policy["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
    assert_eq!(policy["spec"]["podSelector"], json!({}));
    assert_eq!(policy["spec"]["egress"][0]["ports"][0]["protocol"], "TCP");
}

#[test]
fn deprecated_service_account_mirrors_the_name() {
    let mut pod = json!({"spec": {"serviceAccount": "builder", "containers": []}});
    apply("", "pods", &mut pod);
    assert_eq!(pod["spec"]["serviceAccountName"], "builder");
    assert_eq!(pod["spec"]["serviceAccount"], "builder");
}

#[test]
fn limit_range_container_defaults_come_from_the_bounds() {
    let mut range = json!({"spec": {"limits": [
        {"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "64Mi"},
            "default": {"memory": "256Mi"}},
        {"type": "Pod", "max": {"cpu": "4"}},
        {"type": "Container", "min": {"cpu": "10m"}, "defaultRequest": {"cpu": "50m"}},
    ]}});
    limit_range(&mut range);
    assert_eq!(
        range["spec"]["limits"],
        json!([
            {"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "64Mi"},
                "default": {"memory": "256Mi", "cpu": "2"},
                "defaultRequest": {"memory": "256Mi", "cpu": "2"}},
            {"type": "Pod", "max": {"cpu": "4"}},
            {"type": "Container", "min": {"cpu": "10m"}, "defaultRequest": {"cpu": "50m"}},
        ])
    );
}
