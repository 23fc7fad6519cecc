//! Pods and pod templates, as the most-hit rules of upstream's
//! `pkg/apis/core/validation/validation.go` (`ValidatePodSpec`, `validateContainers`,
//! `validateContainerCommon`, `validateContainerPorts`, `ValidateVolumes`,
//! `ValidateVolumeMounts`, `ValidateResourceRequirements`, `validateRestartPolicy`,
//! `ValidatePodTemplateSpec`, `ValidatePodUpdate`), with upstream's messages and field paths.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::label_selector::validate_labels;
use super::FieldError;
use crate::api::names::{is_dns1123_label, is_valid_port_name, is_valid_port_num};
use crate::api::quantity::{parse, quantity_text};

/// The pod spec fields an update may change, in upstream's message.
const UPDATABLE_POD_SPEC_FIELDS: &str = "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/// A new Pod.
pub fn validate_pod(obj: &Value) -> Vec<FieldError> {
    match obj.get("spec") {
        Some(spec) => validate_pod_spec(spec, "spec"),
        None => vec![FieldError::required("spec.containers", "")],
    }
}

/// A pod template (`ValidatePodTemplateSpec`) at `path` (e.g. `spec.template`): its labels
/// (reported under `<path>.labels`, as upstream), its spec, and no ephemeral containers.
pub fn validate_pod_template(template: Option<&Value>, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(template) = template else {
        errs.push(FieldError::required(path, ""));
        return errs;
    };
    if let Some(labels) = template
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
    {
        errs.extend(validate_labels(labels, &format!("{path}.labels")));
    }
    let empty = Value::Object(Map::new());
    let spec = template.get("spec").unwrap_or(&empty);
    errs.extend(validate_pod_spec(spec, &format!("{path}.spec")));
    if spec
        .get("ephemeralContainers")
        .and_then(Value::as_array)
        .is_some_and(|l| !l.is_empty())
    {
        errs.push(FieldError::forbidden(
            format!("{path}.spec.ephemeralContainers"),
            "ephemeral containers not allowed in pod template",
        ));
    }
    errs
}

/// `ValidatePodSpec` at `path`: volumes, containers, init containers, restart policy.
pub fn validate_pod_spec(spec: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let volumes = validate_volumes(spec, &format!("{path}.volumes"), &mut errs);
    let containers = list(spec, "containers");
    if containers.is_empty() {
        errs.push(FieldError::required(format!("{path}.containers"), ""));
    }
    let mut names = HashSet::new();
    for (i, container) in containers.iter().enumerate() {
        let at = format!("{path}.containers[{i}]");
        validate_container(container, &at, &volumes, &mut errs);
        let name = text(container, "name");
        if !names.insert(name) {
            errs.push(FieldError::duplicate(format!("{at}.name"), name));
        }
        validate_probes(container, &at, &mut errs);
    }
    for (i, container) in list(spec, "initContainers").iter().enumerate() {
        let at = format!("{path}.initContainers[{i}]");
        validate_container(container, &at, &volumes, &mut errs);
        let name = text(container, "name");
        if !names.insert(name) {
            errs.push(FieldError::duplicate(format!("{at}.name"), name));
        }
        if text(container, "restartPolicy") != "Always" {
            for field in [
                "lifecycle",
                "livenessProbe",
                "readinessProbe",
                "startupProbe",
            ] {
                if container.get(field).is_some_and(|v| !v.is_null()) {
                    errs.push(FieldError::forbidden(
                        format!("{at}.{field}"),
                        "may not be set for init containers without restartPolicy=Always",
                    ));
                }
            }
        }
    }
    match text(spec, "restartPolicy") {
        "Always" | "OnFailure" | "Never" => {}
        "" => errs.push(FieldError::required(format!("{path}.restartPolicy"), "")),
        other => errs.push(FieldError::not_supported(
            format!("{path}.restartPolicy"),
            other,
            &["Always", "OnFailure", "Never"],
        )),
    }
    if let Some(sysctls) = spec
        .pointer("/securityContext/sysctls")
        .and_then(Value::as_array)
    {
        validate_sysctls(
            sysctls,
            &format!("{path}.securityContext.sysctls"),
            &mut errs,
        );
    }
    errs
}

/// Upstream's `SysctlContainSlashFmt`: segments joined by `.` or `/`.
const SYSCTL_FMT: &str = r"([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?";

/// Upstream's `SysctlMaxLength`.
const SYSCTL_MAX_LENGTH: usize = 253;

/// Upstream's `IsValidSysctlName`: at most 253 characters matching [`SYSCTL_FMT`].
pub fn is_valid_sysctl_name(name: &str) -> bool {
    let segment = |s: &str| {
        let b = s.as_bytes();
        let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        !b.is_empty()
            && alnum(&b[0])
            && alnum(&b[b.len() - 1])
            && b.iter().all(|c| alnum(c) || *c == b'-' || *c == b'_')
    };
    name.len() <= SYSCTL_MAX_LENGTH && name.split(['.', '/']).all(segment)
}

/// Upstream's `validateSysctls` (without the host namespace checks): names given, valid and
/// unique.
fn validate_sysctls(sysctls: &[Value], path: &str, errs: &mut Vec<FieldError>) {
    let mut names = HashSet::new();
    for (i, sysctl) in sysctls.iter().enumerate() {
        let at = format!("{path}[{i}].name");
        let name = text(sysctl, "name");
        if name.is_empty() {
            errs.push(FieldError::required(at, ""));
        } else if !is_valid_sysctl_name(name) {
            errs.push(FieldError::invalid(
                at,
                name,
                format!(
                    "must have at most {SYSCTL_MAX_LENGTH} characters and match regex {SYSCTL_FMT}"
                ),
            ));
        } else if names.contains(name) {
            errs.push(FieldError::duplicate(at, name));
        }
        names.insert(name);
    }
}

pub(crate) fn list<'a>(obj: &'a Value, key: &str) -> &'a [Value] {
    obj.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

pub(crate) fn text<'a>(obj: &'a Value, key: &str) -> &'a str {
    obj.get(key).and_then(Value::as_str).unwrap_or("")
}

/// `ValidateVolumes`: names are DNS-1123 labels and unique. Returns the volume names.
fn validate_volumes<'a>(
    spec: &'a Value,
    path: &str,
    errs: &mut Vec<FieldError>,
) -> HashSet<&'a str> {
    let mut names = HashSet::new();
    for (i, volume) in list(spec, "volumes").iter().enumerate() {
        let at = format!("{path}[{i}].name");
        let name = text(volume, "name");
        if name.is_empty() {
            errs.push(FieldError::required(&at, ""));
        } else {
            for msg in is_dns1123_label(name) {
                errs.push(FieldError::invalid(&at, name, msg));
            }
        }
        if !names.insert(name) {
            errs.push(FieldError::duplicate(&at, name));
        }
    }
    names
}

/// `validateContainerCommon` plus the image requirement.
pub(crate) fn validate_container(
    container: &Value,
    path: &str,
    volumes: &HashSet<&str>,
    errs: &mut Vec<FieldError>,
) {
    let name = text(container, "name");
    if name.is_empty() {
        errs.push(FieldError::required(format!("{path}.name"), ""));
    } else {
        for msg in is_dns1123_label(name) {
            errs.push(FieldError::invalid(format!("{path}.name"), name, msg));
        }
    }
    let image = text(container, "image");
    if image.is_empty() {
        errs.push(FieldError::required(format!("{path}.image"), ""));
    } else if image.trim() != image {
        errs.push(FieldError::invalid(
            format!("{path}.image"),
            image,
            "must not have leading or trailing whitespace",
        ));
    }
    match text(container, "terminationMessagePolicy") {
        "File" | "FallbackToLogsOnError" => {}
        "" => errs.push(FieldError::required(
            format!("{path}.terminationMessagePolicy"),
            "",
        )),
        other => errs.push(FieldError::not_supported(
            format!("{path}.terminationMessagePolicy"),
            other,
            &["File", "FallbackToLogsOnError"],
        )),
    }
    validate_ports(list(container, "ports"), &format!("{path}.ports"), errs);
    validate_env(list(container, "env"), &format!("{path}.env"), errs);
    validate_volume_mounts(
        list(container, "volumeMounts"),
        volumes,
        &format!("{path}.volumeMounts"),
        errs,
    );
    match text(container, "imagePullPolicy") {
        "Always" | "IfNotPresent" | "Never" => {}
        "" => errs.push(FieldError::required(format!("{path}.imagePullPolicy"), "")),
        other => errs.push(FieldError::not_supported(
            format!("{path}.imagePullPolicy"),
            other,
            &["Always", "IfNotPresent", "Never"],
        )),
    }
    if let Some(resources) = container.get("resources") {
        validate_resources(resources, &format!("{path}.resources"), errs);
    }
}

/// `validateContainerPorts`.
fn validate_ports(ports: &[Value], path: &str, errs: &mut Vec<FieldError>) {
    let mut names = HashSet::new();
    for (i, port) in ports.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let name = text(port, "name");
        if !name.is_empty() {
            let msgs = is_valid_port_name(name);
            if !msgs.is_empty() {
                for msg in msgs {
                    errs.push(FieldError::invalid(format!("{at}.name"), name, msg));
                }
            } else if !names.insert(name) {
                errs.push(FieldError::duplicate(format!("{at}.name"), name));
            }
        }
        let container_port = port
            .get("containerPort")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if container_port == 0 {
            errs.push(FieldError::required(format!("{at}.containerPort"), ""));
        } else {
            for msg in is_valid_port_num(container_port) {
                errs.push(FieldError::invalid_rendered(
                    format!("{at}.containerPort"),
                    container_port.to_string(),
                    msg,
                ));
            }
        }
        let host_port = port.get("hostPort").and_then(Value::as_i64).unwrap_or(0);
        if host_port != 0 {
            for msg in is_valid_port_num(host_port) {
                errs.push(FieldError::invalid_rendered(
                    format!("{at}.hostPort"),
                    host_port.to_string(),
                    msg,
                ));
            }
        }
        match text(port, "protocol") {
            "TCP" | "UDP" | "SCTP" => {}
            "" => errs.push(FieldError::required(format!("{at}.protocol"), "")),
            other => errs.push(FieldError::not_supported(
                format!("{at}.protocol"),
                other,
                &["SCTP", "TCP", "UDP"],
            )),
        }
    }
}

/// `ValidateEnv`: names required, printable ASCII without `=` (upstream's relaxed rule, on by
/// default since 1.32).
fn validate_env(env: &[Value], path: &str, errs: &mut Vec<FieldError>) {
    for (i, var) in env.iter().enumerate() {
        let at = format!("{path}[{i}].name");
        let name = text(var, "name");
        if name.is_empty() {
            errs.push(FieldError::required(&at, ""));
        } else if name.chars().any(|c| !(' '..='~').contains(&c) || c == '=') {
            errs.push(FieldError::invalid(
                &at,
                name,
                "a valid environment variable name must consist only of printable ASCII characters other than '='",
            ));
        }
    }
}

/// The probes of a regular container (`validateLivenessProbe`, `validateReadinessProbe`,
/// `validateStartupProbe`): one handler, non-negative numbers, liveness and startup probes
/// succeed after exactly one success.
fn validate_probes(container: &Value, path: &str, errs: &mut Vec<FieldError>) {
    for field in ["livenessProbe", "readinessProbe", "startupProbe"] {
        let Some(probe) = container.get(field).filter(|p| p.is_object()) else {
            continue;
        };
        let at = format!("{path}.{field}");
        validate_handler(probe, &at, errs);
        for number in [
            "initialDelaySeconds",
            "timeoutSeconds",
            "periodSeconds",
            "successThreshold",
            "failureThreshold",
        ] {
            if let Some(n) = probe.get(number).and_then(Value::as_i64).filter(|n| *n < 0) {
                errs.push(FieldError::invalid_rendered(
                    format!("{at}.{number}"),
                    n.to_string(),
                    "must be greater than or equal to 0",
                ));
            }
        }
        let success = probe.get("successThreshold").and_then(Value::as_i64);
        if field != "readinessProbe" && success.is_some_and(|n| n != 1) {
            errs.push(FieldError::invalid_rendered(
                format!("{at}.successThreshold"),
                success.unwrap_or(0).to_string(),
                "must be 1",
            ));
        }
    }
}

/// `validateHandler`: exactly one of exec, httpGet, tcpSocket, grpc; its port valid.
fn validate_handler(handler: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let mut handlers = 0;
    for kind in ["exec", "httpGet", "tcpSocket", "grpc"] {
        let Some(action) = handler.get(kind).filter(|a| !a.is_null()) else {
            continue;
        };
        if handlers > 0 {
            errs.push(FieldError::forbidden(
                format!("{path}.{kind}"),
                "may not specify more than 1 handler type",
            ));
            continue;
        }
        handlers += 1;
        let at = format!("{path}.{kind}");
        match kind {
            "exec" => {
                if list(action, "command").is_empty() {
                    errs.push(FieldError::required(format!("{at}.command"), ""));
                }
            }
            "httpGet" | "tcpSocket" => {
                validate_port_num_or_name(action.get("port"), &format!("{at}.port"), errs);
                if kind == "httpGet" {
                    match text(action, "scheme") {
                        "HTTP" | "HTTPS" => {}
                        other => errs.push(FieldError::not_supported(
                            format!("{at}.scheme"),
                            other,
                            &["HTTP", "HTTPS"],
                        )),
                    }
                }
            }
            _ => {
                let port = action.get("port").and_then(Value::as_i64).unwrap_or(0);
                for msg in is_valid_port_num(port) {
                    errs.push(FieldError::invalid_rendered(
                        format!("{at}.port"),
                        port.to_string(),
                        msg,
                    ));
                }
            }
        }
    }
    if handlers == 0 {
        errs.push(FieldError::required(path, "must specify a handler type"));
    }
}

/// `ValidatePortNumOrName`: a number in range or a valid port name.
fn validate_port_num_or_name(port: Option<&Value>, path: &str, errs: &mut Vec<FieldError>) {
    match port {
        Some(Value::String(name)) => {
            for msg in is_valid_port_name(name) {
                errs.push(FieldError::invalid(path, name, msg));
            }
        }
        Some(Value::Number(n)) => {
            let n = n.as_i64().unwrap_or(0);
            for msg in is_valid_port_num(n) {
                errs.push(FieldError::invalid_rendered(path, n.to_string(), msg));
            }
        }
        _ => errs.push(FieldError::invalid_rendered(
            path,
            "0",
            "must be between 1 and 65535, inclusive",
        )),
    }
}

/// `ValidateVolumeMounts`: a name naming a volume, a unique mount path.
fn validate_volume_mounts(
    mounts: &[Value],
    volumes: &HashSet<&str>,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    let mut paths = HashSet::new();
    for (i, mount) in mounts.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let name = text(mount, "name");
        if name.is_empty() {
            errs.push(FieldError::required(format!("{at}.name"), ""));
        }
        if !volumes.contains(name) {
            errs.push(FieldError::not_found(format!("{at}.name"), name));
        }
        let mount_path = text(mount, "mountPath");
        if mount_path.is_empty() {
            errs.push(FieldError::required(format!("{at}.mountPath"), ""));
        }
        if !paths.insert(mount_path) {
            errs.push(FieldError::invalid(
                format!("{at}.mountPath"),
                mount_path,
                "must be unique",
            ));
        }
    }
}

/// `ValidateResourceRequirements`: non-negative quantities, and requests not above limits.
fn validate_resources(resources: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let map = |key: &str| resources.get(key).and_then(Value::as_object);
    let sorted = |m: &Map<String, Value>| {
        let mut entries: Vec<(String, String)> = m
            .iter()
            .filter_map(|(k, v)| quantity_text(v).map(|t| (k.clone(), t)))
            .collect();
        entries.sort();
        entries
    };
    let limits = map("limits").map(sorted).unwrap_or_default();
    for (name, text) in &limits {
        non_negative(&format!("{path}.limits[{name}]"), text, errs);
    }
    for (name, text) in map("requests").map(sorted).unwrap_or_default() {
        non_negative(&format!("{path}.requests[{name}]"), &text, errs);
        let Some((_, limit_text)) = limits.iter().find(|(l, _)| *l == name) else {
            continue;
        };
        let (Ok(request), Ok(limit)) = (parse(&text), parse(limit_text)) else {
            continue;
        };
        let overcommit_allowed = !name.starts_with("hugepages-");
        if !overcommit_allowed && request != limit {
            errs.push(FieldError::invalid(
                format!("{path}.requests"),
                &text,
                format!("must be equal to {name} limit of {limit_text}"),
            ));
        } else if request > limit {
            errs.push(FieldError::invalid(
                format!("{path}.requests"),
                &text,
                format!("must be less than or equal to {name} limit of {limit_text}"),
            ));
        }
    }
}

fn non_negative(path: &str, text: &str, errs: &mut Vec<FieldError>) {
    if parse(text).is_ok_and(|q| q.0 < 0.0) {
        errs.push(FieldError::invalid(
            path,
            text,
            "must be greater than or equal to 0",
        ));
    }
}

/// `ValidatePodUpdate`'s spec rule: apart from the updatable fields, the spec must not change;
/// containers may not be added or removed.
pub fn validate_pod_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = match new.get("spec") {
        Some(spec) => validate_pod_spec(spec, "spec"),
        None => Vec::new(),
    };
    let (Some(new_spec), Some(old_spec)) = (new.get("spec"), old.get("spec")) else {
        return errs;
    };
    if list(new_spec, "containers").len() != list(old_spec, "containers").len() {
        errs.push(FieldError::forbidden(
            "spec.containers",
            "pod updates may not add or remove containers",
        ));
        return errs;
    }
    // The old spec with what may change taken from the new one must equal the new spec.
    let mut munged = old_spec.clone();
    for key in ["containers", "initContainers"] {
        let images: Vec<Option<Value>> = list(new_spec, key)
            .iter()
            .map(|c| c.get("image").cloned())
            .collect();
        if let Some(items) = munged.get_mut(key).and_then(Value::as_array_mut) {
            for (item, image) in items.iter_mut().zip(images) {
                if let (Some(map), Some(image)) = (item.as_object_mut(), image) {
                    map.insert("image".into(), image);
                }
            }
        }
    }
    if let Some(map) = munged.as_object_mut() {
        for key in ["activeDeadlineSeconds", "tolerations"] {
            match new_spec.get(key) {
                Some(v) => map.insert(key.into(), v.clone()),
                None => map.remove(key),
            };
        }
        let old_grace = old_spec
            .get("terminationGracePeriodSeconds")
            .and_then(Value::as_i64);
        let new_grace = new_spec
            .get("terminationGracePeriodSeconds")
            .and_then(Value::as_i64);
        if old_grace.is_some_and(|g| g < 0) && new_grace == Some(1) {
            map.insert("terminationGracePeriodSeconds".into(), 1.into());
        }
        // Binding a pod (`pods/binding`, which Apiary writes through the main resource) sets
        // `nodeName` once; upstream's binding storage skips this validation.
        let unbound = old_spec
            .get("nodeName")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty);
        if unbound {
            if let Some(node) = new_spec.get("nodeName") {
                map.insert("nodeName".into(), node.clone());
            }
        }
    }
    if &munged != new_spec {
        errs.push(FieldError::forbidden(
            "spec",
            format!(
                "pod updates may not change fields other than {UPDATABLE_POD_SPEC_FIELDS}\n{}",
                field_diff("core.PodSpec", &munged, new_spec)
            ),
        ));
    }
    errs
}

/// A short description of the top-level fields of the Go type `type_name` that differ, in the
/// spirit of the `cmp.Diff` upstream appends to update errors (whose exact text depends on Go's
/// internal types).
pub(crate) fn field_diff(type_name: &str, old: &Value, new: &Value) -> String {
    let empty = Map::new();
    let old = old.as_object().unwrap_or(&empty);
    let new = new.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = format!("  {type_name}{{\n");
    for key in keys {
        let (before, after) = (old.get(key.as_str()), new.get(key.as_str()));
        if before != after {
            if let Some(v) = before {
                out.push_str(&format!("- \t{key}: {v},\n"));
            }
            if let Some(v) = after {
                out.push_str(&format!("+ \t{key}: {v},\n"));
            }
        }
    }
    out.push_str("  }\n");
    out
}
