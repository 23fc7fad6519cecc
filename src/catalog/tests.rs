use std::collections::HashSet;

use serde_json::{json, Value};

use super::codec::{
    dropped_fields, duplicate_field_message, duplicate_fields, unknown_field_message,
};
use super::*;

#[test]
fn every_codec_round_trips_a_minimal_object_of_its_kind() {
    for info in builtin().iter() {
        assert!(
            codec_for(&info.group, &info.version, &info.kind).is_some(),
            "{} has no typed codec",
            info.kind
        );
        let out = info
            .codec()
            .round_trip(json!({"metadata": {"name": "x"}}))
            .unwrap_or_else(|e| panic!("{} {}: {e}", info.api_version(), info.plural));
        assert_eq!(
            out["apiVersion"],
            json!(info.api_version()),
            "{}",
            info.plural
        );
        assert_eq!(out["kind"], json!(info.kind), "{}", info.plural);
        assert_eq!(out["metadata"]["name"], json!("x"), "{}", info.plural);
        for sub in &info.subresources {
            let connect = ["attach", "exec", "log", "portforward", "proxy"].contains(&sub.name);
            assert_eq!(
                sub.codec(info).is_none(),
                connect,
                "{}/{}",
                info.plural,
                sub.name
            );
            let Some(codec) = sub.codec(info) else {
                continue;
            };
            let out = codec
                .round_trip(json!({"metadata": {"name": "x"}}))
                .unwrap_or_else(|e| panic!("{}/{}: {e}", info.plural, sub.name));
            let (group, version) = sub.kind_group_version(info);
            let api_version = if group.is_empty() {
                version.to_string()
            } else {
                format!("{group}/{version}")
            };
            assert_eq!(
                out["apiVersion"],
                json!(api_version),
                "{}/{}",
                info.plural,
                sub.name
            );
            assert_eq!(out["kind"], json!(sub.kind), "{}/{}", info.plural, sub.name);
        }
    }
}

#[test]
fn plurals_and_kinds_are_unique_per_group_version() {
    let mut paths = HashSet::new();
    let mut kinds = HashSet::new();
    for info in builtin().iter() {
        assert!(
            paths.insert((&info.group, &info.version, &info.plural)),
            "duplicate {}",
            info.plural
        );
        assert!(
            kinds.insert((&info.group, &info.version, &info.kind)),
            "duplicate {}",
            info.kind
        );
        assert_eq!(info.plural, info.plural.to_lowercase());
        assert!(!info.singular.is_empty(), "{}", info.plural);
        let mut names = HashSet::new();
        assert!(
            info.subresources.iter().all(|s| names.insert(s.name)),
            "{}",
            info.plural
        );
    }
    assert_eq!(builtin().iter().count(), 59);
}

/// Rows as `kubectl api-resources -o wide` shows them against a default 1.33 cluster, with the
/// storage version hashes its discovery reports.
#[test]
fn rows_match_upstream() {
    const ALL_VERBS: &str = "create,delete,deletecollection,get,list,patch,update,watch";
    // group, version, plural, kind, namespaced, short names, categories, verbs, storageVersionHash
    type Row = (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        bool,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    );
    #[rustfmt::skip]
    let table: &[Row] = &[
        // group, version, plural, kind, namespaced, short names, categories, verbs, storageVersionHash
        ("", "v1", "bindings", "Binding", true, "", "", "create", ""),
        ("", "v1", "componentstatuses", "ComponentStatus", false, "cs", "", "get,list", ""),
        ("", "v1", "configmaps", "ConfigMap", true, "cm", "", ALL_VERBS, "qFsyl6wFWjQ="),
        ("", "v1", "endpoints", "Endpoints", true, "ep", "", ALL_VERBS, "fWeeMqaN/OA="),
        ("", "v1", "events", "Event", true, "ev", "", ALL_VERBS, "r2yiGXH7wu8="),
        ("", "v1", "limitranges", "LimitRange", true, "limits", "", ALL_VERBS, "EBKMFVe6cwo="),
        ("", "v1", "namespaces", "Namespace", false, "ns", "", "create,delete,get,list,patch,update,watch", "Q3oi5N2YM8M="),
        ("", "v1", "nodes", "Node", false, "no", "", ALL_VERBS, "XwShjMxG9Fs="),
        ("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", true, "pvc", "", ALL_VERBS, "QWTyNDq0dC4="),
        ("", "v1", "persistentvolumes", "PersistentVolume", false, "pv", "", ALL_VERBS, "HN/zwEC+JgM="),
        ("", "v1", "pods", "Pod", true, "po", "all", ALL_VERBS, "xPOwRZ+Yhw8="),
        ("", "v1", "podtemplates", "PodTemplate", true, "", "", ALL_VERBS, "LIXB2x4IFpk="),
        ("", "v1", "replicationcontrollers", "ReplicationController", true, "rc", "all", ALL_VERBS, "Jond2If31h0="),
        ("", "v1", "resourcequotas", "ResourceQuota", true, "quota", "", ALL_VERBS, "8uhSgffRX6w="),
        ("", "v1", "secrets", "Secret", true, "", "", ALL_VERBS, "S6u1pOWzb84="),
        ("", "v1", "serviceaccounts", "ServiceAccount", true, "sa", "", ALL_VERBS, "pbx9ZvyFpBE="),
        ("", "v1", "services", "Service", true, "svc", "all", ALL_VERBS, "0/CO1lhkEBI="),
        ("apps", "v1", "controllerrevisions", "ControllerRevision", true, "", "", ALL_VERBS, "85nkx63pcBU="),
        ("apps", "v1", "daemonsets", "DaemonSet", true, "ds", "all", ALL_VERBS, "dd7pWHUlMKQ="),
        ("apps", "v1", "deployments", "Deployment", true, "deploy", "all", ALL_VERBS, "8aSe+NMegvE="),
        ("autoscaling", "v1", "horizontalpodautoscalers", "HorizontalPodAutoscaler", true, "hpa", "all", ALL_VERBS, "qwQve8ut294="),
        ("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", true, "hpa", "all", ALL_VERBS, "qwQve8ut294="),
        ("batch", "v1", "cronjobs", "CronJob", true, "cj", "all", ALL_VERBS, "sd5LIXh4Fjs="),
        ("batch", "v1", "jobs", "Job", true, "", "all", ALL_VERBS, "mudhfqk/qZY="),
        ("events.k8s.io", "v1", "events", "Event", true, "ev", "", ALL_VERBS, "r2yiGXH7wu8="),
        ("authentication.k8s.io", "v1", "tokenreviews", "TokenReview", false, "", "", "create", ""),
        ("authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview", false, "", "", "create", ""),
        ("authorization.k8s.io", "v1", "localsubjectaccessreviews", "LocalSubjectAccessReview", true, "", "", "create", ""),
        ("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", false, "", "", "create", ""),
        ("certificates.k8s.io", "v1", "certificatesigningrequests", "CertificateSigningRequest", false, "csr", "", ALL_VERBS, "95fRKMXA+00="),
        ("networking.k8s.io", "v1", "ingressclasses", "IngressClass", false, "", "", ALL_VERBS, "l/iqIbDgFyQ="),
        ("networking.k8s.io", "v1", "ingresses", "Ingress", true, "ing", "", ALL_VERBS, "39NQlfNR+bo="),
        ("networking.k8s.io", "v1", "ipaddresses", "IPAddress", false, "ip", "", ALL_VERBS, "3f/plJFChNE="),
        ("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", true, "netpol", "", ALL_VERBS, ""),
        ("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", true, "pdb", "", ALL_VERBS, "EVWiDmWqyJw="),
        ("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", false, "", "", ALL_VERBS, "48tpQ8gZHFc="),
        ("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false, "", "", ALL_VERBS, "bYE5ZWDrJ44="),
        ("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true, "", "", ALL_VERBS, "eGsCzGH6b1g="),
        ("rbac.authorization.k8s.io", "v1", "roles", "Role", true, "", "", ALL_VERBS, "7FuwZcIIItM="),
        ("storage.k8s.io", "v1", "csidrivers", "CSIDriver", false, "", "", ALL_VERBS, "hL6j/rwBV5w="),
        ("storage.k8s.io", "v1", "csinodes", "CSINode", false, "", "", ALL_VERBS, "Pe62DkZtjuo="),
        ("storage.k8s.io", "v1", "csistoragecapacities", "CSIStorageCapacity", true, "", "", ALL_VERBS, "xeVl+2Ly1kE="),
        ("storage.k8s.io", "v1", "storageclasses", "StorageClass", false, "sc", "", ALL_VERBS, "K+m6uJwbjGY="),
        ("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", "MutatingWebhookConfiguration", false, "", "api-extensions", ALL_VERBS, "Sqi0GUgDaX0="),
        ("admissionregistration.k8s.io", "v1", "validatingadmissionpolicies", "ValidatingAdmissionPolicy", false, "", "api-extensions", ALL_VERBS, ""),
        ("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", false, "pc", "", ALL_VERBS, "1QwjyaZjj3Y="),
        ("coordination.k8s.io", "v1", "leases", "Lease", true, "", "", ALL_VERBS, ""),
        ("node.k8s.io", "v1", "runtimeclasses", "RuntimeClass", false, "", "", ALL_VERBS, "WQTu1GL3T2Q="),
        ("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", true, "", "", ALL_VERBS, "qgS0xkrxYAI="),
        ("flowcontrol.apiserver.k8s.io", "v1", "flowschemas", "FlowSchema", false, "", "", ALL_VERBS, "GJVAJZSZBIw="),
        ("flowcontrol.apiserver.k8s.io", "v1", "prioritylevelconfigurations", "PriorityLevelConfiguration", false, "", "", ALL_VERBS, "Kir5PVfvNeI="),
    ];
    let split = |s: &str| {
        if s.is_empty() {
            Vec::new()
        } else {
            s.split(',').map(str::to_string).collect::<Vec<_>>()
        }
    };
    let owned = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    for &(group, version, plural, kind, namespaced, short, categories, verbs, hash) in table {
        let info = builtin()
            .lookup(group, version, plural)
            .unwrap_or_else(|| panic!("missing {group}/{version} {plural}"));
        assert_eq!(info.kind, kind, "{plural}");
        assert_eq!(info.namespaced, namespaced, "{plural}");
        let names = |s: &[Name]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(names(&info.short_names), split(short), "{plural}");
        assert_eq!(names(&info.categories), split(categories), "{plural}");
        assert_eq!(owned(info.verbs), split(verbs), "{plural}");
        if !hash.is_empty() {
            assert_eq!(
                info.storage_version_hash().as_deref(),
                Some(hash),
                "{plural}"
            );
        }
        if verbs == "create" || verbs == "get,list" {
            assert_eq!(info.storage_version_hash(), None, "{plural}");
        }
        assert_eq!(
            builtin()
                .by_kind(group, version, kind)
                .map(|r| r.plural.as_str()),
            Some(plural)
        );
    }
}

#[test]
fn pod_subresources_match_upstream() {
    let pods = builtin().lookup("", "v1", "pods").expect("pods");
    let names: Vec<&str> = pods.subresources.iter().map(|s| s.name).collect();
    assert_eq!(
        names,
        [
            "attach",
            "binding",
            "ephemeralcontainers",
            "eviction",
            "exec",
            "log",
            "portforward",
            "proxy",
            "resize",
            "status"
        ]
    );
    let eviction = pods.subresource("eviction").expect("eviction");
    assert_eq!(
        (
            eviction.kind.as_str(),
            eviction.group_version,
            eviction.verbs
        ),
        ("Eviction", Some("policy/v1"), &["create"][..])
    );
    let proxy = pods.subresource("proxy").expect("proxy");
    assert_eq!(proxy.kind, "PodProxyOptions");
    assert_eq!(proxy.verbs, ["create", "delete", "get", "patch", "update"]);
    let scale = builtin()
        .lookup("apps", "v1", "deployments")
        .and_then(|d| d.subresource("scale"))
        .expect("scale");
    assert_eq!(
        (scale.kind.as_str(), scale.group_version),
        ("Scale", Some("autoscaling/v1"))
    );
    let token = builtin()
        .lookup("", "v1", "serviceaccounts")
        .and_then(|d| d.subresource("token"))
        .expect("token");
    assert_eq!(
        (token.kind.as_str(), token.group_version),
        ("TokenRequest", Some("authentication.k8s.io/v1"))
    );
    let finalize = builtin()
        .lookup("", "v1", "namespaces")
        .and_then(|d| d.subresource("finalize"))
        .expect("finalize");
    assert_eq!(finalize.verbs, ["update"]);
}

#[test]
fn groups_follow_upstream_order_and_preferred_versions() {
    let names: Vec<&str> = builtin().groups().iter().map(|g| g.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "",
            "apps",
            "events.k8s.io",
            "authentication.k8s.io",
            "authorization.k8s.io",
            "autoscaling",
            "batch",
            "certificates.k8s.io",
            "networking.k8s.io",
            "policy",
            "rbac.authorization.k8s.io",
            "storage.k8s.io",
            "admissionregistration.k8s.io",
            "scheduling.k8s.io",
            "coordination.k8s.io",
            "node.k8s.io",
            "discovery.k8s.io",
            "flowcontrol.apiserver.k8s.io",
        ]
    );
    let autoscaling = builtin().group("autoscaling").expect("autoscaling");
    assert_eq!(autoscaling.versions, ["v2", "v1"]);
    assert_eq!(autoscaling.preferred_version(), "v2");
    assert_eq!(
        builtin()
            .preferred("autoscaling", "horizontalpodautoscalers")
            .map(|r| r.version.as_str()),
        Some("v2")
    );
    assert!(builtin()
        .lookup("autoscaling", "v2", "horizontalpodautoscalers")
        .is_some_and(|r| r.storage_version));
    assert!(builtin()
        .lookup("autoscaling", "v1", "horizontalpodautoscalers")
        .is_some_and(|r| !r.storage_version));
    assert!(builtin().serves("", "v1") && !builtin().serves("batch", "v1beta1"));
    assert_eq!(builtin().resources("", "v1").count(), 17);
    assert!(builtin()
        .lookup("resource.k8s.io", "v1beta1", "resourceclaims")
        .is_none());
    assert!(builtin()
        .lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        .is_none());
}

#[test]
fn group_order_puts_apiregistration_first_then_priority_then_name() {
    use std::cmp::Ordering::*;
    assert_eq!(group_order(APIREGISTRATION_GROUP, 1000, "", 18000), Less);
    assert_eq!(group_order("apps", 17800, "batch", 17400), Less);
    assert_eq!(
        group_order(
            "apiextensions.k8s.io",
            16700,
            "admissionregistration.k8s.io",
            16700
        ),
        Greater
    );
    assert_eq!(
        api_service_priority("apiextensions.k8s.io", "v1"),
        Some(ApiServicePriority {
            group: 16700,
            version: 15
        })
    );
}

#[test]
fn kube_aware_version_order() {
    let mut versions = vec![
        "foo10",
        "v1alpha1",
        "v2",
        "v1",
        "v11beta2",
        "foo1",
        "v10beta3",
        "v12alpha1",
        "v3beta1",
        "v10",
    ];
    versions.sort_by(|a, b| compare_kube_versions(b, a));
    assert_eq!(
        versions,
        [
            "v10",
            "v2",
            "v1",
            "v11beta2",
            "v10beta3",
            "v3beta1",
            "v12alpha1",
            "v1alpha1",
            "foo1",
            "foo10"
        ]
    );
}

#[test]
fn storage_version_hash_matches_upstream_examples() {
    assert_eq!(storage_version_hash("", "v1", "Pod"), "xPOwRZ+Yhw8=");
    assert_eq!(
        storage_version_hash("apps", "v1", "Deployment"),
        "8aSe+NMegvE="
    );
}

fn deployment_codec() -> Codec {
    builtin()
        .lookup("apps", "v1", "deployments")
        .expect("deployments")
        .codec()
}

#[test]
fn round_trip_drops_unknown_fields_and_reports_their_paths() {
    let before = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d", "labels": {"free": "form"}, "bogus": 1, "annotations": null},
        "spec": {
            "foo": "bar",
            "replicas": null,
            "selector": {"matchLabels": {"a": "b"}},
            "template": {"spec": {"containers": [
                {"name": "c", "image": "i"},
                {"name": "d", "image": "i", "imagePullSecretz": []}
            ]}}
        }
    });
    let after = deployment_codec()
        .round_trip(before.clone())
        .expect("round trip");
    assert_eq!(after["metadata"]["labels"], json!({"free": "form"}));
    assert!(after["spec"].get("foo").is_none());
    assert_eq!(
        dropped_fields(&before, &after),
        [
            "metadata.bogus",
            "spec.foo",
            "spec.template.spec.containers[1].imagePullSecretz"
        ]
    );
    assert_eq!(
        unknown_field_message("spec.foo"),
        "unknown field \"spec.foo\""
    );
}

#[test]
fn round_trip_rejects_wrong_types_and_fills_type_meta() {
    let codec = deployment_codec();
    assert!(codec
        .round_trip(json!({"spec": {"replicas": "three"}}))
        .is_err());
    assert!(codec
        .round_trip(json!({"spec": {"replicas": 1.5}}))
        .is_err());
    assert!(codec.round_trip(json!({"kind": "ReplicaSet"})).is_err());
    assert!(codec.round_trip(json!({"apiVersion": "apps/v2"})).is_err());
    let filled = codec
        .round_trip(json!({"apiVersion": "", "kind": null}))
        .expect("defaults");
    assert_eq!(
        (filled["apiVersion"].as_str(), filled["kind"].as_str()),
        (Some("apps/v1"), Some("Deployment"))
    );
    let secret = builtin()
        .lookup("", "v1", "secrets")
        .expect("secrets")
        .codec();
    assert!(secret
        .round_trip(json!({"data": {"k": "not base64!"}}))
        .is_err());
    assert_eq!(
        secret
            .round_trip(json!({"data": {"k": "dg=="}}))
            .expect("secret")["data"]["k"],
        json!("dg==")
    );
    let identity = Codec::identity();
    assert_eq!(
        identity.round_trip(json!({"x": 1})).expect("identity"),
        json!({"x": 1})
    );
    assert_ne!(identity, codec);
}

#[test]
fn duplicate_fields_are_found_with_paths() {
    let body = br#"{"metadata":{"name":"a","name":"b"},"spec":{"containers":[{"image":"x","image":"y"}]},"kind":"Pod","kind":"Pod"}"#;
    assert_eq!(
        duplicate_fields(body).expect("valid json"),
        ["metadata.name", "spec.containers[0].image", "kind"]
    );
    assert_eq!(duplicate_field_message("kind"), "duplicate field \"kind\"");
    assert!(duplicate_fields(br#"{"a":1,"b":{"a":2}}"#)
        .expect("valid")
        .is_empty());
    assert!(duplicate_fields(b"{\"a\":").is_err());
}

#[test]
fn custom_versions_report_their_storage_version_and_codec() {
    let custom = |version: &'static str| ResourceInfo {
        storage_version: version == "v2",
        custom: Some(CustomVersion {
            storage_version: Name::new_static("v2"),
            codec: Codec::identity(),
            schema: None,
        }),
        ..build::resource(
            "dynamic.example.com",
            version,
            "Thing",
            "things",
            "thing",
            true,
        )
    };
    let (v1, v2) = (custom("v1"), custom("v2"));
    assert!(v1.is_custom());
    assert_eq!(
        v1.persistence(),
        Persistence::StoredAs(GroupVersionKind {
            group: Name::new_static("dynamic.example.com"),
            version: Name::new_static("v2"),
            kind: Name::new_static("Thing"),
        })
    );
    assert_eq!(v2.persistence(), Persistence::Stored);
    assert_eq!(
        v1.storage_version_hash(),
        Some(storage_version_hash("dynamic.example.com", "v2", "Thing"))
    );
    // Without a CRD's serving state the same names are an ordinary, untyped resource.
    let plain = ResourceInfo {
        custom: None,
        ..custom("v1")
    };
    assert!(!plain.is_custom());
    assert_eq!(plain.persistence(), Persistence::Stored);
    assert!(plain.same_names(&v1));
}

#[test]
fn a_condition_without_transition_time_decodes_as_gos_zero_time() {
    let codec = Codec::of::<k8s_openapi::api::core::v1::Service>();
    let conditions = json!([
        {"type": "A", "status": "True", "reason": "R", "message": "m", "lastTransitionTime": null},
        {"type": "B", "status": "True", "reason": "R", "message": "m"},
        {"type": "C", "status": "True", "reason": "R", "message": "m",
         "lastTransitionTime": "2026-01-02T03:04:05Z"},
    ]);
    let decoded = codec
        .round_trip(json!({"status": {"conditions": conditions}}))
        .expect("zero times decode");
    let times: Vec<&Value> = decoded["status"]["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .map(|c| &c["lastTransitionTime"])
        .collect();
    assert_eq!(
        times,
        [&Value::Null, &Value::Null, &json!("2026-01-02T03:04:05Z")]
    );
}

#[test]
fn one_parse_gives_serde_jsons_value_and_notes_repeated_keys() {
    let cases: [(&[u8], bool); 6] = [
        (
            br#"{"a":1,"b":[1.5,-2,18446744073709551615,"s\u00e9",null,true]}"#,
            false,
        ),
        (br#"{"a":{"x":1},"a":{"y":2}}"#, true),
        (br#"{"a":[{"k":1,"k":2}]}"#, true),
        (br#"{"a":{"k":1},"b":{"k":2}}"#, false),
        (b"  [1, {\"z\": {}}]  ", false),
        (br#""text""#, false),
    ];
    for (body, repeats) in cases {
        let (value, found) = super::codec::parse_json_document(body).expect("parses");
        let want: Value = serde_json::from_slice(body).expect("serde_json parses");
        assert_eq!(value, want, "{}", String::from_utf8_lossy(body));
        assert_eq!(found, repeats, "{}", String::from_utf8_lossy(body));
    }
    let bad: [&[u8]; 3] = [b"{\"a\":", b"{} x", b""];
    for bad in bad {
        let ours = super::codec::parse_json_document(bad).unwrap_err();
        let theirs = serde_json::from_slice::<Value>(bad).unwrap_err();
        assert_eq!(ours.to_string(), theirs.to_string());
    }
}

#[test]
fn decoding_in_place_answers_what_the_round_trip_answers() {
    let codec = Codec::of::<k8s_openapi::api::apps::v1::Deployment>();
    let documents = [
        json!({"metadata": {"name": "a", "bogus": 1}, "spec": {"replicas": 2, "extra": {"x": 1},
            "selector": {}, "template": {"spec": {"containers": [{"name": "c", "oops": true}]}}}}),
        json!({"kind": "", "apiVersion": null, "status": {"conditions": [
            {"type": "Available", "status": "True"}]}}),
        json!({"spec": {"replicas": "three"}}),
    ];
    for document in documents {
        let mut kept = document.clone();
        let in_place = codec.decode_from(&mut kept);
        let round_trip = codec.round_trip(document.clone());
        match (in_place, round_trip) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a, b);
                assert_eq!(dropped_fields(&kept, &a), dropped_fields(&document, &b));
            }
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
            (a, b) => panic!("{a:?} != {b:?}"),
        }
    }
}
