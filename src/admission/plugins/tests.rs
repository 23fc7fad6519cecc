use serde_json::json;

use super::default_tolerations::default_tolerations;
use super::service_account::{mount_token, should_automount, TOKEN_VOLUME_PREFIX};
use super::{PluginSettings, Support, ORDER};
use crate::config::{AdmissionConfig, ConfigError};

#[test]
fn every_container_mounts_one_token_volume() {
    let mut pod = json!({"spec": {
        "initContainers": [{"name": "i"}],
        "containers": [
            {"name": "a"},
            {"name": "b", "volumeMounts": [{"name": "own", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]},
        ],
    }});
    let spec = pod["spec"].as_object_mut().unwrap();
    mount_token(spec);
    let volumes = pod["spec"]["volumes"].as_array().unwrap();
    assert_eq!(volumes.len(), 1);
    let name = volumes[0]["name"].as_str().unwrap();
    assert!(name.starts_with(TOKEN_VOLUME_PREFIX) && name.len() == TOKEN_VOLUME_PREFIX.len() + 5);
    assert_eq!(
        volumes[0]["projected"],
        json!({"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": "kube-root-ca.crt"}},
            {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}, "path": "namespace"}]}},
        ]})
    );
    let mount = json!([{"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": name, "readOnly": true}]);
    assert_eq!(pod["spec"]["initContainers"][0]["volumeMounts"], mount);
    assert_eq!(pod["spec"]["containers"][0]["volumeMounts"], mount);
    assert_eq!(
        pod["spec"]["containers"][1]["volumeMounts"][0]["name"], "own",
        "an existing mount at the path is kept"
    );
    assert_eq!(
        pod["spec"]["containers"][1]["volumeMounts"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn automount_preference_pod_then_account() {
    let spec = |v: serde_json::Value| v.as_object().unwrap().clone();
    assert!(should_automount(&json!({}), &spec(json!({}))));
    assert!(!should_automount(
        &json!({"automountServiceAccountToken": false}),
        &spec(json!({}))
    ));
    assert!(should_automount(
        &json!({"automountServiceAccountToken": false}),
        &spec(json!({"automountServiceAccountToken": true}))
    ));
}

#[test]
fn default_tolerations_unless_tolerated() {
    let mut pod = json!({"spec": {"tolerations": [{"key": "node.kubernetes.io/unreachable", "operator": "Exists"}]}});
    default_tolerations(&mut pod);
    assert_eq!(
        pod["spec"]["tolerations"],
        json!([
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists"},
            {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
        ])
    );
    let mut all = json!({"spec": {"tolerations": [{"operator": "Exists"}]}});
    default_tolerations(&mut all);
    assert_eq!(all["spec"]["tolerations"].as_array().unwrap().len(), 1);
}

fn settings(enable: &[&str], disable: &[&str]) -> Result<PluginSettings, ConfigError> {
    PluginSettings::from_config(&AdmissionConfig {
        enable_plugins: enable.iter().map(|s| s.to_string()).collect(),
        disable_plugins: disable.iter().map(|s| s.to_string()).collect(),
        config_file: None,
    })
}

fn enabled_names(settings: &PluginSettings) -> Vec<&'static str> {
    settings.enabled().map(|p| p.name).collect()
}

#[test]
fn default_plugins_are_upstreams_in_upstreams_order() {
    let defaults = settings(&[], &[]).unwrap();
    let names = enabled_names(&defaults);
    let position = |name: &str| names.iter().position(|n| *n == name).unwrap();
    assert!(position("NamespaceLifecycle") < position("ServiceAccount"));
    assert!(position("ServiceAccount") < position("Priority"));
    assert!(position("Priority") < position("DefaultTolerationSeconds"));
    assert!(position("MutatingAdmissionWebhook") < position("ValidatingAdmissionPolicy"));
    assert!(position("ValidatingAdmissionPolicy") < position("ValidatingAdmissionWebhook"));
    // Every default-on plugin Apiary runs is on; nothing default-off is.
    for known in ORDER {
        let implemented = !matches!(known.support, Support::Missing);
        assert_eq!(
            defaults.is_enabled(known.name),
            known.default_on && implemented,
            "{}",
            known.name
        );
    }

    // A plugin upstream has and Apiary does not is refused, never silently ignored.
    let err = settings(&["ImagePolicyWebhook"], &[]).unwrap_err();
    assert_eq!(
        err.message,
        "admission plugin \"ImagePolicyWebhook\" is not implemented by Apiary"
    );
    let changed = settings(&["AlwaysPullImages"], &["ServiceAccount"]).unwrap();
    let names = enabled_names(&changed);
    let position = |name: &str| names.iter().position(|n| *n == name).unwrap();
    assert!(!changed.is_enabled("ServiceAccount"));
    assert!(position("LimitRanger") < position("AlwaysPullImages"));
    assert!(position("AlwaysPullImages") < position("PodSecurity"));
    assert_eq!(names.last(), Some(&"ResourceQuota"));
    let without = settings(&[], &["ServiceAccount", "ValidatingAdmissionWebhook"]).unwrap();
    assert!(!without.is_enabled("ServiceAccount"));
    assert!(!without.is_enabled("ValidatingAdmissionWebhook"));
    assert!(without.is_enabled("MutatingAdmissionWebhook"));
}

#[test]
fn wrong_plugin_names_name_the_setting() {
    let err = settings(&["NoSuchPlugin"], &[]).unwrap_err();
    assert_eq!(err.setting, "admission.enable_plugins");
    assert_eq!(err.message, "unknown admission plugin \"NoSuchPlugin\"");
    let err = settings(&[], &["Nope"]).unwrap_err();
    assert_eq!(err.setting, "admission.disable_plugins");
    let err = settings(&["Priority"], &["Priority"]).unwrap_err();
    assert_eq!(
        err.message,
        "admission plugin \"Priority\" is both enabled and disabled"
    );
    let err = settings(&[], &["NamespaceLifecycle"]).unwrap_err();
    assert!(err.message.contains("cannot be disabled"), "{err}");
}

#[test]
fn admission_configuration_file_gives_each_plugin_its_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let own = dir.path().join("own.yaml");
    std::fs::write(&own, "kind: Own\nvalue: 2\n").unwrap();
    let file = dir.path().join("admission.yaml");
    std::fs::write(
        &file,
        "apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: Priority
  configuration:
    kind: Inline
    value: 1
- name: ServiceAccount
  path: own.yaml
",
    )
    .unwrap();
    let config = AdmissionConfig {
        config_file: Some(file.clone()),
        ..AdmissionConfig::default()
    };
    let settings = PluginSettings::from_config(&config).unwrap();
    assert_eq!(
        settings.configuration("Priority"),
        Some(&json!({"kind": "Inline", "value": 1}))
    );
    assert_eq!(
        settings.configuration("ServiceAccount"),
        Some(&json!({"kind": "Own", "value": 2}))
    );
    assert_eq!(settings.configuration("LimitRanger"), None);

    std::fs::write(&file, "apiVersion: v1\nkind: ConfigMap\n").unwrap();
    let err = PluginSettings::from_config(&config).unwrap_err();
    assert_eq!(err.setting, "admission.config_file");
    assert!(err.message.contains("AdmissionConfiguration"), "{err}");
    std::fs::write(
        &file,
        "apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins:\n- name: Bogus\n",
    )
    .unwrap();
    let err = PluginSettings::from_config(&config).unwrap_err();
    assert!(
        err.message.contains("unknown admission plugin \"Bogus\""),
        "{err}"
    );
}
