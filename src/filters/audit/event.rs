//! The `audit.k8s.io/v1` `Event`, as written to the audit log, and the helpers that fill it
//! from a request (`k8s.io/apiserver/pkg/audit/request.go`, `k8s.io/apimachinery/pkg/util/net`).
//!
//! Field names and their order are upstream's JSON; empty optional fields are left out as Go's
//! `omitempty` does, while `verb`, `user`, `requestURI` and both timestamps are always present.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;
use serde_json::{Map, Value};

use super::policy::{Level, Stage};
use crate::request::info::RequestInfo;
use crate::request::user::UserInfo;

/// User agents longer than this are cut (upstream's `maxUserAgentLength`).
pub const MAX_USER_AGENT_LENGTH: usize = 1024;
/// Appended to a cut user agent.
pub const USER_AGENT_TRUNCATE_SUFFIX: &str = "...TRUNCATED";

/// One audit event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Always `Event`.
    pub kind: &'static str,
    /// Always `audit.k8s.io/v1`.
    pub api_version: &'static str,
    pub level: Level,
    #[serde(rename = "auditID")]
    pub audit_id: String,
    pub stage: Stage,
    /// The path and query as sent.
    #[serde(rename = "requestURI")]
    pub request_uri: String,
    pub verb: String,
    pub user: EventUser,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impersonated_user: Option<EventUser>,
    #[serde(rename = "sourceIPs", skip_serializing_if = "Vec::is_empty")]
    pub source_ips: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub user_agent: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_ref: Option<ObjectReference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_status: Option<ResponseStatus>,
    /// The request body as JSON (level `Request` and above).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_object: Option<Value>,
    /// The response body as JSON (level `RequestResponse`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_object: Option<Value>,
    #[serde(serialize_with = "serialize_micro_time")]
    pub request_received_timestamp: jiff::Timestamp,
    #[serde(serialize_with = "serialize_micro_time")]
    pub stage_timestamp: jiff::Timestamp,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Event {
    /// A new event at `level`, stage `RequestReceived`, received now.
    pub fn new(level: Level, audit_id: String) -> Self {
        let now = jiff::Timestamp::now();
        Self {
            kind: "Event",
            api_version: "audit.k8s.io/v1",
            level,
            audit_id,
            stage: Stage::RequestReceived,
            request_uri: String::new(),
            verb: String::new(),
            user: EventUser::default(),
            impersonated_user: None,
            source_ips: Vec::new(),
            user_agent: String::new(),
            object_ref: None,
            response_status: None,
            request_object: None,
            response_object: None,
            request_received_timestamp: now,
            stage_timestamp: now,
            annotations: BTreeMap::new(),
        }
    }

    /// The event as one line of JSON, newline included.
    pub fn to_json_line(&self) -> serde_json::Result<Vec<u8>> {
        let mut line = serde_json::to_vec(self)?;
        line.push(b'\n');
        Ok(line)
    }
}

/// `authentication.k8s.io/v1` `UserInfo` with every field optional: a request that failed
/// authentication has the user `{}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EventUser {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub username: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub uid: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, Vec<String>>,
}

impl From<&UserInfo> for EventUser {
    fn from(user: &UserInfo) -> Self {
        Self {
            username: user.name.clone(),
            uid: user.uid.clone(),
            groups: user.groups.clone(),
            extra: user.extra.clone(),
        }
    }
}

/// The object a resource request is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectReference {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub resource: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub uid: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub api_group: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub resource_version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subresource: String,
}

impl ObjectReference {
    /// The reference of a resource request; `None` for non-resource requests.
    pub fn of_request(info: &RequestInfo) -> Option<Self> {
        info.is_resource_request.then(|| Self {
            resource: info.resource.clone(),
            namespace: info.namespace.clone(),
            name: info.name.clone(),
            uid: String::new(),
            api_group: info.api_group.clone(),
            api_version: info.api_version.clone(),
            resource_version: String::new(),
            subresource: info.subresource.clone(),
        })
    }

    /// Fills the fields the request path did not give from the request body's `metadata`, as
    /// upstream does when a handler decodes the body.
    pub fn fill_from_object(&mut self, object: &Value) {
        let Some(metadata) = object.get("metadata").and_then(Value::as_object) else {
            return;
        };
        let field = |key: &str| {
            metadata
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        for (slot, key) in [
            (&mut self.namespace, "namespace"),
            (&mut self.name, "name"),
            (&mut self.uid, "uid"),
            (&mut self.resource_version, "resourceVersion"),
        ] {
            if slot.is_empty() {
                *slot = field(key);
            }
        }
    }
}

/// The bounded part of the response's Status: `metadata: {}` and the code, plus `status`,
/// `message`, `reason` and `details` when the response body was a Status.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ResponseStatus {
    pub metadata: Map<String, Value>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub status: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
    #[serde(skip_serializing_if = "is_zero")]
    pub code: u16,
}

fn is_zero(code: &u16) -> bool {
    *code == 0
}

impl ResponseStatus {
    /// Just the code.
    pub fn code(code: u16) -> Self {
        Self {
            code,
            ..Default::default()
        }
    }

    /// The fields of a `meta.k8s.io/v1` Status body, or `None` if `body` is not a Status.
    pub fn from_status_body(body: &Value) -> Option<Self> {
        if body.get("kind").and_then(Value::as_str) != Some("Status") {
            return None;
        }
        let text = |key: &str| {
            body.get(key)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let code = body
            .get("code")
            .and_then(Value::as_u64)
            .and_then(|c| u16::try_from(c).ok())
            .unwrap_or(0);
        Some(Self {
            metadata: Map::new(),
            status: text("status"),
            message: text("message"),
            reason: text("reason"),
            details: body.get("details").filter(|d| !d.is_null()).cloned(),
            code,
        })
    }
}

/// `metav1.MicroTime`: RFC 3339 in UTC with exactly six fractional digits.
pub fn format_micro_time(ts: jiff::Timestamp) -> String {
    format!(
        "{}.{:06}Z",
        ts.strftime("%Y-%m-%dT%H:%M:%S"),
        ts.subsec_microsecond().max(0)
    )
}

fn serialize_micro_time<S: serde::Serializer>(
    ts: &jiff::Timestamp,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format_micro_time(*ts))
}

/// The client addresses of a request, as upstream's `SourceIPs`: each valid address of
/// `X-Forwarded-For`, then `X-Real-Ip` unless already listed, then the peer address unless it is
/// the last one listed.
pub fn source_ips(headers: &http::HeaderMap, peer: Option<IpAddr>) -> Vec<String> {
    let mut ips: Vec<IpAddr> = Vec::new();
    if let Some(forwarded) = headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
    {
        ips.extend(forwarded.split(',').filter_map(parse_ip));
    }
    if let Some(real) = headers
        .get("x-real-ip")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_ip)
    {
        if !ips.contains(&real) {
            ips.push(real);
        }
    }
    if let Some(peer) = peer.map(canonical_ip) {
        if ips.last() != Some(&peer) {
            ips.push(peer);
        }
    }
    ips.iter().map(IpAddr::to_string).collect()
}

fn parse_ip(text: &str) -> Option<IpAddr> {
    text.trim().parse().ok().map(canonical_ip)
}

/// IPv4-mapped IPv6 addresses compare and print as IPv4, as Go's `net.IP` does.
fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The `User-Agent`, cut at [`MAX_USER_AGENT_LENGTH`] bytes.
pub fn user_agent(headers: &http::HeaderMap) -> String {
    let Some(value) = headers.get(http::header::USER_AGENT) else {
        return String::new();
    };
    let agent = String::from_utf8_lossy(value.as_bytes());
    if agent.len() <= MAX_USER_AGENT_LENGTH {
        return agent.into_owned();
    }
    let mut cut = MAX_USER_AGENT_LENGTH;
    while !agent.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{USER_AGENT_TRUNCATE_SUFFIX}", &agent[..cut])
}

/// Removes `metadata.managedFields` from an object, from each item of a list and from the
/// objects of a Table's rows (upstream's `copyWithoutManagedFields`).
pub fn strip_managed_fields(object: &mut Value) {
    fn strip(object: &mut Value) {
        if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            metadata.remove("managedFields");
        }
    }
    strip(object);
    if let Some(items) = object.get_mut("items").and_then(Value::as_array_mut) {
        items.iter_mut().for_each(strip);
    }
    if let Some(rows) = object.get_mut("rows").and_then(Value::as_array_mut) {
        for row in rows {
            if let Some(row_object) = row.get_mut("object") {
                strip(row_object);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micro_time_has_six_digits_in_utc() {
        let ts: jiff::Timestamp = "2024-03-05T07:08:09.123456789Z".parse().expect("timestamp");
        assert_eq!(format_micro_time(ts), "2024-03-05T07:08:09.123456Z");
        let ts: jiff::Timestamp = "2024-03-05T07:08:09Z".parse().expect("timestamp");
        assert_eq!(format_micro_time(ts), "2024-03-05T07:08:09.000000Z");
    }

    #[test]
    fn source_ips_follow_upstream_order() {
        let mut headers = http::HeaderMap::new();
        let peer: IpAddr = "10.0.0.9".parse().expect("ip");
        assert_eq!(source_ips(&headers, Some(peer)), vec!["10.0.0.9"]);

        headers.insert(
            "x-forwarded-for",
            "1.2.3.4, bogus, 5.6.7.8".parse().expect("header"),
        );
        headers.insert("x-real-ip", "1.2.3.4".parse().expect("header"));
        assert_eq!(
            source_ips(&headers, Some(peer)),
            vec!["1.2.3.4", "5.6.7.8", "10.0.0.9"]
        );

        // The peer is not repeated when it is the last forwarded address; mapped IPv6 is IPv4.
        let mapped: IpAddr = "::ffff:5.6.7.8".parse().expect("ip");
        assert_eq!(
            source_ips(&headers, Some(mapped)),
            vec!["1.2.3.4", "5.6.7.8"]
        );

        headers.insert("x-real-ip", "9.9.9.9".parse().expect("header"));
        assert_eq!(
            source_ips(&headers, None),
            vec!["1.2.3.4", "5.6.7.8", "9.9.9.9"]
        );
    }

    #[test]
    fn long_user_agents_are_truncated() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::USER_AGENT,
            "a".repeat(2000).parse().expect("header"),
        );
        let agent = user_agent(&headers);
        assert_eq!(
            agent.len(),
            MAX_USER_AGENT_LENGTH + USER_AGENT_TRUNCATE_SUFFIX.len()
        );
        assert!(agent.ends_with("a...TRUNCATED"));
    }

    #[test]
    fn object_reference_is_filled_from_the_body_only_where_empty() {
        let info = RequestInfo {
            is_resource_request: true,
            verb: "create".into(),
            api_version: "v1".into(),
            namespace: "default".into(),
            resource: "configmaps".into(),
            ..Default::default()
        };
        let mut reference = ObjectReference::of_request(&info).expect("resource request");
        reference.fill_from_object(&serde_json::json!({
            "metadata": {"name": "cfg", "namespace": "other", "uid": "u-1", "resourceVersion": "7"}
        }));
        assert_eq!(
            serde_json::to_value(&reference).expect("json"),
            serde_json::json!({
                "resource": "configmaps", "namespace": "default", "name": "cfg", "uid": "u-1",
                "apiVersion": "v1", "resourceVersion": "7"
            })
        );
        assert!(ObjectReference::of_request(&RequestInfo::default()).is_none());
    }

    #[test]
    fn status_bodies_give_the_bounded_fields() {
        let body = serde_json::json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "configmaps \"x\" not found", "reason": "NotFound",
            "details": {"name": "x", "kind": "configmaps"}, "code": 404
        });
        let status = ResponseStatus::from_status_body(&body).expect("a Status");
        assert_eq!(
            serde_json::to_string(&status).expect("json"),
            r#"{"metadata":{},"status":"Failure","message":"configmaps \"x\" not found","reason":"NotFound","details":{"kind":"configmaps","name":"x"},"code":404}"#
        );
        assert!(ResponseStatus::from_status_body(&serde_json::json!({"kind": "Pod"})).is_none());
        assert_eq!(
            serde_json::to_string(&ResponseStatus::code(200)).expect("json"),
            r#"{"metadata":{},"code":200}"#
        );
    }

    #[test]
    fn managed_fields_are_stripped_from_objects_lists_and_tables() {
        let mut list = serde_json::json!({
            "metadata": {"managedFields": [1]},
            "items": [{"metadata": {"name": "a", "managedFields": [1]}}],
            "rows": [{"object": {"metadata": {"name": "b", "managedFields": [1]}}}]
        });
        strip_managed_fields(&mut list);
        assert_eq!(
            list,
            serde_json::json!({
                "metadata": {},
                "items": [{"metadata": {"name": "a"}}],
                "rows": [{"object": {"metadata": {"name": "b"}}}]
            })
        );
    }
}
