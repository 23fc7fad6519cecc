//! Pods, pod specs and pod templates: `SetDefaults_Pod`, `SetDefaults_PodSpec`,
//! `SetDefaults_Container`, `SetDefaults_ContainerPort`, `SetDefaults_Probe`,
//! `SetDefaults_HTTPGetAction`, `SetDefaults_Volume` and the volume sources' defaults of
//! upstream's `pkg/apis/core/v1/defaults.go`, walked as `zz_generated.defaults.go` does.

use serde_json::{json, Map, Value};

use super::{child, each_object, object_entry, persistent_volume_claim_spec, set_default};
use crate::api::quantity::{canonical, canonicalize_resource_list};

/// Upstream's `DefaultTerminationGracePeriodSeconds`.
const TERMINATION_GRACE_PERIOD_SECONDS: i64 = 30;
/// The mode of secret, configMap, downwardAPI and projected volumes (0644).
const DEFAULT_VOLUME_MODE: i64 = 420;
/// `ServiceAccountTokenProjection.expirationSeconds` when unset (one hour).
const TOKEN_EXPIRATION_SECONDS: i64 = 3600;

/// A Pod: the spec's defaults plus what only pods get (`enableServiceLinks`, requests defaulted
/// to limits, host ports of host-network pods).
pub fn pod(obj: &mut Value) {
    let Some(spec) = obj.as_object_mut().and_then(|m| object_entry(m, "spec")) else {
        return;
    };
    pod_spec(spec);
    set_default(spec, "enableServiceLinks", json!(true));
    let host_network = spec.get("hostNetwork").and_then(Value::as_bool) == Some(true);
    for list in ["containers", "initContainers"] {
        each_object(spec, list, |container| {
            requests_from_limits(container);
            if host_network {
                each_object(container, "ports", |port| {
                    let unset = port
                        .get("hostPort")
                        .is_none_or(|p| p.is_null() || p.as_i64() == Some(0));
                    if unset {
                        if let Some(container_port) = port.get("containerPort").cloned() {
                            port.insert("hostPort".into(), container_port);
                        }
                    }
                });
            }
        });
    }
}

/// A pod template (`PodTemplateSpec`): `metadata.creationTimestamp: null` as Go prints an
/// embedded `ObjectMeta`, and the spec's defaults.
pub fn pod_template(template: &mut Value) {
    let Some(map) = template.as_object_mut() else {
        return;
    };
    template_metadata(map);
    if let Some(spec) = object_entry(map, "spec") {
        pod_spec(spec);
    }
}

/// The `metadata` of an embedded object (templates): Go prints its zero `creationTimestamp` as
/// `null`.
pub(crate) fn template_metadata(map: &mut Map<String, Value>) {
    if let Some(meta) = object_entry(map, "metadata") {
        if !meta.contains_key("creationTimestamp") {
            meta.insert("creationTimestamp".into(), Value::Null);
        }
    }
}

/// `SetDefaults_PodSpec` and the nested defaults of containers, volumes and the deprecated
/// `serviceAccount` field (upstream's v1 conversion keeps it equal to `serviceAccountName`).
pub fn pod_spec(spec: &mut Map<String, Value>) {
    set_default(spec, "dnsPolicy", json!("ClusterFirst"));
    set_default(spec, "restartPolicy", json!("Always"));
    set_default(spec, "securityContext", json!({}));
    set_default(
        spec,
        "terminationGracePeriodSeconds",
        json!(TERMINATION_GRACE_PERIOD_SECONDS),
    );
    set_default(spec, "schedulerName", json!("default-scheduler"));
    if let Some(overhead) = child(spec, "overhead") {
        canonicalize_resource_list(overhead);
    }
    service_account_alias(spec);
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        each_object(spec, list, container);
    }
    each_object(spec, "volumes", volume);
}

/// Upstream's conversion of `serviceAccountName` and the deprecated `serviceAccount`: the name
/// wins when set, else the deprecated field supplies it; the deprecated field always mirrors it.
fn service_account_alias(spec: &mut Map<String, Value>) {
    let name = spec
        .get("serviceAccountName")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .or_else(|| {
            spec.get("serviceAccount")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        })
        .map(str::to_string);
    match name {
        Some(name) => {
            spec.insert("serviceAccountName".into(), json!(name));
            spec.insert("serviceAccount".into(), json!(name));
        }
        None => {
            spec.remove("serviceAccount");
        }
    }
}

/// `SetDefaults_Container` (also ephemeral containers) and its ports, probes, lifecycle hooks
/// and env; `resources: {}` as Go prints the struct.
fn container(c: &mut Map<String, Value>) {
    if c.get("imagePullPolicy").is_none_or(Value::is_null) {
        let image = c.get("image").and_then(Value::as_str).unwrap_or("");
        let policy = if image_tag(image) == Some("latest") {
            "Always"
        } else {
            "IfNotPresent"
        };
        c.insert("imagePullPolicy".into(), json!(policy));
    }
    set_default(c, "terminationMessagePath", json!("/dev/termination-log"));
    set_default(c, "terminationMessagePolicy", json!("File"));
    set_default(c, "resources", json!({}));
    if let Some(resources) = child(c, "resources") {
        for list in ["requests", "limits"] {
            if let Some(list) = child(resources, list) {
                canonicalize_resource_list(list);
            }
        }
    }
    each_object(c, "ports", |port| {
        set_default(port, "protocol", json!("TCP"));
    });
    for probe_field in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = child(c, probe_field) {
            probe(p);
        }
    }
    if let Some(lifecycle) = child(c, "lifecycle") {
        for hook in ["postStart", "preStop"] {
            if let Some(handler) = child(lifecycle, hook) {
                if let Some(get) = child(handler, "httpGet") {
                    http_get(get);
                }
            }
        }
    }
    each_object(c, "env", |env| {
        if let Some(field_ref) = child(env, "valueFrom").and_then(|v| child(v, "fieldRef")) {
            set_default(field_ref, "apiVersion", json!("v1"));
        }
    });
}

/// The tag of an image reference as upstream's `parsers.ParseImageName` reports it: the text
/// after `:` in the last path segment; `latest` when there is neither tag nor digest; `None` for
/// a digest-only or empty reference.
pub fn image_tag(image: &str) -> Option<&str> {
    if image.is_empty() {
        return None;
    }
    let (name, digest) = match image.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (image, None),
    };
    let last_segment_start = name.rfind('/').map_or(0, |i| i + 1);
    match name[last_segment_start..].rsplit_once(':') {
        Some((_, tag)) => Some(tag),
        None if digest.is_some() => None,
        None => Some("latest"),
    }
}

/// `SetDefaults_Probe` and the handler's defaults.
fn probe(p: &mut Map<String, Value>) {
    set_default(p, "timeoutSeconds", json!(1));
    set_default(p, "periodSeconds", json!(10));
    set_default(p, "successThreshold", json!(1));
    set_default(p, "failureThreshold", json!(3));
    if let Some(get) = child(p, "httpGet") {
        http_get(get);
    }
    if let Some(grpc) = child(p, "grpc") {
        set_default(grpc, "service", json!(""));
    }
}

/// `SetDefaults_HTTPGetAction`: path `/`, scheme `HTTP`.
fn http_get(get: &mut Map<String, Value>) {
    set_default(get, "path", json!("/"));
    set_default(get, "scheme", json!("HTTP"));
}

/// Upstream's `SetDefaults_Pod`: a container's requests default to its limits, per resource.
fn requests_from_limits(c: &mut Map<String, Value>) {
    let Some(resources) = child(c, "resources") else {
        return;
    };
    let Some(limits) = resources.get("limits").and_then(Value::as_object).cloned() else {
        return;
    };
    if limits.is_empty() {
        return;
    }
    if let Some(requests) = object_entry(resources, "requests") {
        for (name, quantity) in limits {
            requests.entry(name).or_insert(quantity);
        }
    }
}

/// The volume source keys of `VolumeSource`; a volume with none of them becomes an `emptyDir`.
const VOLUME_SOURCES: &[&str] = &[
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "projected",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
    "image",
];

/// `SetDefaults_Volume` and the defaults of the common volume sources.
fn volume(v: &mut Map<String, Value>) {
    let has_source = VOLUME_SOURCES
        .iter()
        .any(|key| v.get(*key).is_some_and(|s| !s.is_null()));
    if !has_source {
        v.insert("emptyDir".into(), json!({}));
    }
    for source in ["secret", "configMap", "downwardAPI"] {
        if let Some(s) = child(v, source) {
            set_default(s, "defaultMode", json!(DEFAULT_VOLUME_MODE));
        }
    }
    if let Some(downward) = child(v, "downwardAPI") {
        downward_api_items(downward);
    }
    if let Some(projected) = child(v, "projected") {
        set_default(projected, "defaultMode", json!(DEFAULT_VOLUME_MODE));
        each_object(projected, "sources", |source| {
            if let Some(token) = child(source, "serviceAccountToken") {
                set_default(token, "expirationSeconds", json!(TOKEN_EXPIRATION_SECONDS));
            }
            if let Some(downward) = child(source, "downwardAPI") {
                downward_api_items(downward);
            }
        });
    }
    if let Some(empty_dir) = child(v, "emptyDir") {
        let limit = empty_dir
            .get("sizeLimit")
            .and_then(Value::as_str)
            .and_then(|text| canonical(text, false));
        if let Some(limit) = limit {
            empty_dir.insert("sizeLimit".into(), json!(limit));
        }
    }
    if let Some(host_path) = child(v, "hostPath") {
        set_default(host_path, "type", json!(""));
    }
    if let Some(claim_spec) = child(v, "ephemeral")
        .and_then(|e| child(e, "volumeClaimTemplate"))
        .and_then(|t| child(t, "spec"))
    {
        persistent_volume_claim_spec(claim_spec);
    }
}

/// `SetDefaults_ObjectFieldSelector` of downward API items: `apiVersion: v1`.
fn downward_api_items(source: &mut Map<String, Value>) {
    each_object(source, "items", |item| {
        if let Some(field_ref) = child(item, "fieldRef") {
            set_default(field_ref, "apiVersion", json!("v1"));
        }
    });
}
