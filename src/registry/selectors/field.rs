//! Field selectors, as upstream's `k8s.io/apimachinery/pkg/fields`: terms `f=v`, `f==v`, `f!=v`
//! joined by `,`, with `\` escaping `,`, `=`, `!` and `\` in values; plus the per-resource field
//! sets of upstream's `GetAttrs`/`ToSelectableFields` functions ([`SelectableFields`]). Every resource supports
//! `metadata.name` and `metadata.namespace` (cluster-scoped: `metadata.name`, and `metadata.namespace`
//! which is always empty); a field outside the set is `field label not supported: <f>`.

use serde_json::Value;

/// One `field op value` term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRequirement {
    pub field: String,
    /// `true` for `!=`.
    pub not_equals: bool,
    pub value: String,
}

/// A parsed field selector: the AND of its terms. Empty selects everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    pub requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// Parses a selector and checks every field against `supported`, with upstream's messages.
    pub fn parse(input: &str, supported: &[&str]) -> Result<Self, String> {
        let mut parts = split_unescaped(input, ',');
        parts.sort();
        let mut requirements = Vec::new();
        for part in parts.iter().filter(|p| !p.is_empty()) {
            let Some((field, not_equals, raw)) = split_term(part) else {
                return Err(format!(
                    "invalid selector: '{input}'; can't understand '{part}'"
                ));
            };
            let value = unescape(raw)?;
            if !supported.contains(&field) {
                return Err(format!("field label not supported: {field}"));
            }
            requirements.push(FieldRequirement {
                field: field.to_string(),
                not_equals,
                value,
            });
        }
        Ok(Self { requirements })
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The single `metadata.name=<x>` value the selector pins, if any (lets a list read one key).
    pub fn pinned_name(&self) -> Option<&str> {
        self.requirements
            .iter()
            .find(|r| r.field == "metadata.name" && !r.not_equals)
            .map(|r| r.value.as_str())
    }

    /// The value of the first `field=value` (or `==`) term on `field`, if any.
    pub fn equals(&self, field: &str) -> Option<&str> {
        self.requirements
            .iter()
            .find(|r| r.field == field && !r.not_equals)
            .map(|r| r.value.as_str())
    }

    /// Whether `obj` of resource `group`/`plural` is selected.
    pub fn matches(&self, fields: &SelectableFields, obj: &Value) -> bool {
        self.requirements.iter().all(|r| {
            let actual = fields.value(obj, &r.field);
            (actual == r.value) != r.not_equals
        })
    }
}

/// Splits on `sep` not preceded by an escaping backslash, keeping escapes in the parts.
fn split_unescaped(input: &str, sep: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut escaped = false;
    for c in input.chars() {
        if escaped {
            current.push(c);
            escaped = false;
        } else if c == '\\' {
            current.push(c);
            escaped = true;
        } else if c == sep {
            parts.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    parts.push(current);
    parts
}

/// Finds the first unescaped operator (`!=`, `==`, `=`, tried in that order at each position).
fn split_term(term: &str) -> Option<(&str, bool, &str)> {
    let bytes = term.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'!' if bytes.get(i + 1) == Some(&b'=') => {
                return Some((&term[..i], true, &term[i + 2..]))
            }
            b'=' if bytes.get(i + 1) == Some(&b'=') => {
                return Some((&term[..i], false, &term[i + 2..]))
            }
            b'=' => return Some((&term[..i], false, &term[i + 1..])),
            _ => i += 1,
        }
    }
    None
}

fn unescape(value: &str) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('\\' | ',' | '=' | '!')) => out.push(e),
                _ => return Err("invalid field selector: invalid escape sequence".into()),
            },
            ',' | '=' => return Err(format!("invalid field selector: unescaped character '{c}'")),
            _ => out.push(c),
        }
    }
    Ok(out)
}

/// The fields a resource's objects can be selected by, and how each reads from an object: what
/// upstream's per-resource `GetAttrs`/`ToSelectableFields` give. Fixed when the store is built.
#[derive(Debug, Clone, Copy)]
pub struct SelectableFields {
    supported: &'static [&'static str],
    value: fn(&Value, &str) -> String,
    /// The fields the watch cache indexes (upstream's `IndexerFuncs`): a list or watch pinning
    /// one of them to a value reads only the objects with that value.
    indexed: &'static [&'static str],
}

impl Default for SelectableFields {
    fn default() -> Self {
        Self::COMMON
    }
}

impl SelectableFields {
    /// Every resource: `metadata.name` and `metadata.namespace` (always empty when
    /// cluster-scoped).
    pub const COMMON: Self = Self::new(&["metadata.name", "metadata.namespace"]);
    pub const PODS: Self = Self {
        supported: &[
            "metadata.name",
            "metadata.namespace",
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.podIPs",
            "status.nominatedNodeName",
        ],
        value: pod_field,
        // The kubelet's `spec.nodeName=<node>` (upstream's pod `NodeNameTriggerFunc`).
        indexed: &["spec.nodeName"],
    };
    /// Core `v1` Events.
    pub const EVENTS: Self = Self {
        supported: &[
            "metadata.name",
            "metadata.namespace",
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        value: core_event_field,
        indexed: &[],
    };
    /// `events.k8s.io` Events: upstream maps these labels onto the core set (`regarding.*` to
    /// `involvedObject.*`, `reportingController` to `reportingComponent`, `source` to `source`).
    pub const EVENTS_API_EVENTS: Self = Self {
        supported: &[
            "metadata.name",
            "metadata.namespace",
            "regarding.kind",
            "regarding.namespace",
            "regarding.name",
            "regarding.uid",
            "regarding.apiVersion",
            "regarding.resourceVersion",
            "regarding.fieldPath",
            "reason",
            "reportingController",
            "source",
            "type",
        ],
        value: events_api_event_field,
        indexed: &[],
    };
    pub const SECRETS: Self = Self::new(&["metadata.name", "metadata.namespace", "type"]);
    pub const NAMESPACES: Self =
        Self::new(&["metadata.name", "metadata.namespace", "status.phase"]);
    pub const NODES: Self = Self {
        supported: &["metadata.name", "metadata.namespace", "spec.unschedulable"],
        value: bool_or_text,
        indexed: &[],
    };
    /// ReplicationControllers and ReplicaSets.
    pub const REPLICAS: Self = Self {
        supported: &["metadata.name", "metadata.namespace", "status.replicas"],
        value: integer_or_text,
        indexed: &[],
    };
    pub const JOBS: Self = Self {
        supported: &["metadata.name", "metadata.namespace", "status.successful"],
        value: integer_or_text,
        indexed: &[],
    };
    pub const CERTIFICATE_SIGNING_REQUESTS: Self =
        Self::new(&["metadata.name", "metadata.namespace", "spec.signerName"]);
    pub const SERVICES: Self = Self::new(&[
        "metadata.name",
        "metadata.namespace",
        "spec.clusterIP",
        "spec.type",
    ]);

    /// Fields read as the text at their path.
    const fn new(supported: &'static [&'static str]) -> Self {
        Self {
            supported,
            value: text_field,
            indexed: &[],
        }
    }

    /// The fields upstream gives the built-in resource `plural` in `group`.
    pub fn builtin(group: &str, plural: &str) -> Self {
        match (group, plural) {
            ("", "pods") => Self::PODS,
            ("", "events") => Self::EVENTS,
            ("events.k8s.io", "events") => Self::EVENTS_API_EVENTS,
            ("", "secrets") => Self::SECRETS,
            ("", "namespaces") => Self::NAMESPACES,
            ("", "nodes") => Self::NODES,
            ("", "replicationcontrollers") | ("apps", "replicasets") => Self::REPLICAS,
            ("batch", "jobs") => Self::JOBS,
            ("certificates.k8s.io", "certificatesigningrequests") => {
                Self::CERTIFICATE_SIGNING_REQUESTS
            }
            ("", "services") => Self::SERVICES,
            _ => Self::COMMON,
        }
    }

    /// The selectable field names.
    pub fn supported(&self) -> &'static [&'static str] {
        self.supported
    }

    /// The fields the watch cache indexes, each one of [`Self::supported`].
    pub fn indexed(&self) -> &'static [&'static str] {
        self.indexed
    }

    /// These fields, with `indexed` as the indexed ones.
    pub const fn with_indexed(self, indexed: &'static [&'static str]) -> Self {
        Self {
            supported: self.supported,
            value: self.value,
            indexed,
        }
    }

    /// The value of the selectable `field` of `obj`, as a string; missing fields read as `""`.
    pub fn value(&self, obj: &Value, field: &str) -> String {
        (self.value)(obj, field)
    }
}

/// The text at the field's path: strings as they are, booleans and numbers printed.
fn text_field(obj: &Value, field: &str) -> String {
    match obj.pointer(&format!("/{}", field.replace('.', "/"))) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// Metadata as text; other fields as a boolean, `false` when missing.
fn bool_or_text(obj: &Value, field: &str) -> String {
    if field.starts_with("metadata.") {
        return text_field(obj, field);
    }
    obj.pointer(&format!("/{}", field.replace('.', "/")))
        .and_then(Value::as_bool)
        .unwrap_or(false)
        .to_string()
}

/// Metadata as text; other fields as an integer, `0` when missing.
fn integer_or_text(obj: &Value, field: &str) -> String {
    if field.starts_with("metadata.") {
        return text_field(obj, field);
    }
    obj.pointer(&format!("/{}", field.replace('.', "/")))
        .and_then(Value::as_i64)
        .unwrap_or(0)
        .to_string()
}

fn pod_field(obj: &Value, field: &str) -> String {
    match field {
        "spec.hostNetwork" => bool_or_text(obj, field),
        "status.podIP" | "status.podIPs" => {
            match obj.pointer("/status/podIPs/0/ip").and_then(Value::as_str) {
                Some(ip) => ip.to_string(),
                None => text_field(obj, "status.podIP"),
            }
        }
        _ => text_field(obj, field),
    }
}

/// Core Events: `source` is `source.component`, or the reporting controller when that is empty
/// (upstream's `ToSelectableFields`), so events written through `events.k8s.io` without a
/// `deprecatedSource` are found by their controller.
fn core_event_field(obj: &Value, field: &str) -> String {
    match field {
        "source" => event_source(obj, "source.component", "reportingComponent"),
        _ => text_field(obj, field),
    }
}

/// `events.k8s.io` Events: the same rule on the fields as that version names them.
fn events_api_event_field(obj: &Value, field: &str) -> String {
    match field {
        "source" => event_source(obj, "deprecatedSource.component", "reportingController"),
        _ => text_field(obj, field),
    }
}

fn event_source(obj: &Value, component: &str, controller: &str) -> String {
    let source = text_field(obj, component);
    if source.is_empty() {
        text_field(obj, controller)
    } else {
        source
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn parse_and_match() {
        let pod = json!({
            "metadata": {"name": "p1", "namespace": "ns"},
            "spec": {"nodeName": "n1", "restartPolicy": "Always"},
            "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.1"}]}
        });
        let fields = SelectableFields::PODS;
        let cases: &[(&str, bool)] = &[
            ("", true),
            ("metadata.name=p1", true),
            ("metadata.name==p1", true),
            ("metadata.name!=p1", false),
            ("spec.nodeName=n1,status.phase=Running", true),
            ("spec.nodeName=n2", false),
            ("spec.nodeName!=", true),
            ("spec.schedulerName=", true),
            ("spec.hostNetwork=false", true),
            ("status.podIP=10.0.0.1", true),
            ("metadata.namespace=ns,metadata.name=p1", true),
        ];
        for (input, want) in cases {
            let sel = FieldSelector::parse(input, fields.supported())
                .unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(sel.matches(&fields, &pod), *want, "{input}");
        }
    }

    #[test]
    fn per_type_fields() {
        // The sets stores of these resources are built with.
        let [nodes, events, replica_sets, secrets] = [
            SelectableFields::builtin("", "nodes"),
            SelectableFields::builtin("", "events"),
            SelectableFields::builtin("apps", "replicasets"),
            SelectableFields::builtin("", "secrets"),
        ];
        let node = json!({"metadata": {"name": "n"}, "spec": {"unschedulable": true}});
        let sel = FieldSelector::parse("spec.unschedulable=true", nodes.supported()).unwrap();
        assert!(sel.matches(&nodes, &node));
        let event = json!({"metadata": {"name": "e"}, "source": {"component": "kubelet"}, "involvedObject": {"kind": "Pod"}});
        let sel =
            FieldSelector::parse("source=kubelet,involvedObject.kind=Pod", events.supported())
                .unwrap();
        assert!(sel.matches(&events, &event));
        // Without `source.component`, `source` is the reporting controller.
        let reported = json!({"metadata": {"name": "e"}, "reportingComponent": "ctrl"});
        let sel = FieldSelector::parse("source=ctrl", events.supported()).unwrap();
        assert!(sel.matches(&events, &reported));
        assert!(!sel.matches(&events, &event));
        let events_api = SelectableFields::builtin("events.k8s.io", "events");
        let served = json!({"metadata": {"name": "e"}, "reportingController": "ctrl"});
        assert!(FieldSelector::parse("source=ctrl", events_api.supported())
            .unwrap()
            .matches(&events_api, &served));
        let rs = json!({"metadata": {"name": "r"}});
        let sel = FieldSelector::parse("status.replicas=0", replica_sets.supported()).unwrap();
        assert!(sel.matches(&replica_sets, &rs));
        let secret = json!({"metadata": {"name": "s"}, "type": "Opaque"});
        let sel = FieldSelector::parse("type=Opaque", secrets.supported()).unwrap();
        assert!(sel.matches(&secrets, &secret));
    }

    #[test]
    fn errors_and_escapes() {
        let common = SelectableFields::builtin("", "configmaps").supported();
        assert_eq!(
            FieldSelector::parse("spec.x=1", common).unwrap_err(),
            "field label not supported: spec.x"
        );
        assert_eq!(
            FieldSelector::parse("abc", common).unwrap_err(),
            "invalid selector: 'abc'; can't understand 'abc'"
        );
        assert!(FieldSelector::parse("metadata.name=a\\q", common).is_err());
        let sel = FieldSelector::parse("metadata.name=a\\,b", common).unwrap();
        assert_eq!(sel.requirements[0].value, "a,b");
        assert_eq!(sel.pinned_name(), Some("a,b"));
        assert!(sel.matches(
            &SelectableFields::COMMON,
            &json!({"metadata": {"name": "a,b"}})
        ));
    }
}
