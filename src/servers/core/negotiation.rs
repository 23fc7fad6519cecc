//! Response negotiation and encoding, as upstream's `handlers/negotiation` and `response.go`.
//!
//! `Accept` is read clause by clause, best quality first. A clause is usable when its media type
//! is one we encode (`application/json`, `application/yaml`, or a wildcard, which means JSON) and
//! its parameters ask for nothing we cannot do: `as=Table|PartialObjectMetadata|PartialObjectMetadataList`
//! with `g=meta.k8s.io` and `v=v1|v1beta1` select a transform (Table only in JSON or YAML), and
//! `stream=watch` is accepted for watches. A protobuf clause
//! (`application/vnd.kubernetes.protobuf`) is usable where the endpoint's kind has a protobuf
//! message (built-in kinds; not custom resources) and it asks for no Table (Tables have no
//! protobuf form; PartialObjectMetadata has one), so client-go's
//! `application/vnd.kubernetes.protobuf,application/json` gets protobuf for built-in kinds and
//! JSON for custom resources. When no clause is usable the answer is 406 NotAcceptable naming the
//! types the endpoint serves, in upstream's order (JSON, YAML, protobuf). Watches encode JSON or
//! protobuf (upstream has no YAML stream encoder).
//!
//! As upstream, the `Content-Type` of a response is the encoding's media type (`application/json`
//! or `application/yaml`) even when the body is a Table or PartialObjectMetadata: the body's
//! `kind`/`apiVersion` say what it is. Compact JSON ends with a newline, indented JSON (`?pretty`,
//! or a curl/wget/browser user agent) does not, as Go's encoders.

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{header, HeaderValue, StatusCode};
use serde_json::{json, Map, Value};

use crate::api::accept::{parse_accept, AcceptClause};
use crate::api::status::{ApiError, ApiResult};
use crate::catalog::{key_order, protobuf, ResourceInfo};
use crate::registry::store::ObjectList;
use crate::registry::table::{self, IncludeObject, TableConvertor};

/// The media types objects can be answered in.
pub const ACCEPTED_OUTPUT: &[&str] = &["application/json", "application/yaml"];
/// The media types a watch can be answered in.
pub const ACCEPTED_STREAM: &[&str] = &["application/json"];
/// The media types objects of a kind with a protobuf message can be answered in.
pub const ACCEPTED_OUTPUT_PROTOBUF: &[&str] =
    &["application/json", "application/yaml", protobuf::MEDIA_TYPE];
/// The media types a watch of a kind with a protobuf message can be answered in, as upstream's
/// `MediaTypesForSerializer` names stream types (each with `;stream=watch`).
pub const ACCEPTED_STREAM_PROTOBUF: &[&str] = &[
    "application/json;stream=watch",
    "application/vnd.kubernetes.protobuf;stream=watch",
];

/// The serialisation of a response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    #[default]
    Json,
    Yaml,
    /// `application/vnd.kubernetes.protobuf`.
    Protobuf,
}

impl Encoding {
    /// The `Content-Type` of bodies in this encoding.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Yaml => "application/yaml",
            Self::Protobuf => protobuf::MEDIA_TYPE,
        }
    }

    /// The `Content-Type` of a watch stream: upstream's `serveWatch` adds `;stream=watch` to every
    /// media type but JSON's.
    pub fn stream_media_type(self) -> &'static str {
        match self {
            Self::Protobuf => "application/vnd.kubernetes.protobuf;stream=watch",
            Self::Json | Self::Yaml => "application/json",
        }
    }
}

/// The conversion asked for with `as=` in `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transform {
    /// The object or list itself.
    #[default]
    None,
    /// A `meta.k8s.io` Table (`version` is `v1` or `v1beta1`).
    Table { version: &'static str },
    /// A `PartialObjectMetadata` (single objects and watch events).
    PartialObjectMetadata { version: &'static str },
    /// A `PartialObjectMetadataList` (lists).
    PartialObjectMetadataList { version: &'static str },
}

/// The negotiated form of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Output {
    pub encoding: Encoding,
    pub transform: Transform,
    /// Indent JSON.
    pub pretty: bool,
}

fn clause_output(
    clause: &AcceptClause<'_>,
    streaming: bool,
    tables: bool,
    has_protobuf: bool,
) -> Option<(Encoding, Transform)> {
    let encoding = match clause.media_type.to_ascii_lowercase().as_str() {
        "application/json" | "application/*" | "*/*" => Encoding::Json,
        "application/yaml" if !streaming => Encoding::Yaml,
        protobuf::MEDIA_TYPE if has_protobuf => Encoding::Protobuf,
        _ => return None,
    };
    let (mut kind, mut group, mut version) = (None, None, None);
    for (key, value) in &clause.params {
        match *key {
            "as" => kind = Some(*value),
            "g" => group = Some(*value),
            "v" => version = Some(*value),
            "stream" if !value.is_empty() && (!streaming || *value != "watch") => return None,
            _ => {}
        }
    }
    if kind.is_none() && group.is_none() && version.is_none() {
        return Some((encoding, Transform::None));
    }
    if group != Some("meta.k8s.io") {
        return None;
    }
    let version = match version {
        Some("v1") => "v1",
        Some("v1beta1") => "v1beta1",
        _ => return None,
    };
    let transform = match kind {
        // Tables have no protobuf form.
        Some("Table") if tables && encoding != Encoding::Protobuf => Transform::Table { version },
        Some("PartialObjectMetadata") => Transform::PartialObjectMetadata { version },
        Some("PartialObjectMetadataList") => Transform::PartialObjectMetadataList { version },
        _ => return None,
    };
    Some((encoding, transform))
}

/// Chooses the response form from `Accept` (absent or empty means JSON) for an endpoint answering
/// JSON and YAML only. `streaming` is set for watches, which answer no YAML. No usable clause ->
/// 406 NotAcceptable.
pub fn negotiate(accept: Option<&str>, streaming: bool, pretty: bool) -> ApiResult<Output> {
    negotiate_with(accept, streaming, pretty, true, false)
}

/// [`negotiate`] for an endpoint that may have no Table convertor (`tables` false): as upstream's
/// `AllowsMediaTypeTransform`, a Table clause is then unusable, so the next clause is taken or,
/// with none left, the answer is 406. `has_protobuf` is set where the endpoint's kind has a
/// protobuf message ([`protobuf::has_message`]).
pub fn negotiate_with(
    accept: Option<&str>,
    streaming: bool,
    pretty: bool,
    tables: bool,
    has_protobuf: bool,
) -> ApiResult<Output> {
    let accept = accept.map(str::trim).filter(|a| !a.is_empty());
    let Some(accept) = accept else {
        return Ok(Output {
            encoding: Encoding::Json,
            transform: Transform::None,
            pretty,
        });
    };
    parse_accept(accept)
        .iter()
        .find_map(|clause| clause_output(clause, streaming, tables, has_protobuf))
        .map(|(encoding, transform)| Output {
            encoding,
            transform,
            pretty,
        })
        .ok_or_else(|| {
            ApiError::not_acceptable(match (streaming, has_protobuf) {
                (true, true) => ACCEPTED_STREAM_PROTOBUF,
                (true, false) => ACCEPTED_STREAM,
                (false, true) => ACCEPTED_OUTPUT_PROTOBUF,
                (false, false) => ACCEPTED_OUTPUT,
            })
        })
}

/// The options of a Table conversion, from the query (`includeObject`). Validated as upstream's
/// `optionsForTransform`: a bad value is a 400 `Unable to convert to Table as requested: ...`.
pub fn table_include(include_object: Option<&str>) -> ApiResult<IncludeObject> {
    match include_object.unwrap_or("") {
        "" | "Metadata" | "None" | "Object" => IncludeObject::from_query(include_object),
        other => Err(ApiError::bad_request(format!(
            "Unable to convert to Table as requested: includeObject: Invalid value: {}: must be 'Metadata', 'Object', 'None', or empty",
            crate::api::go_fmt::go_quote(other)
        ))),
    }
}

/// Sets `kind` and `apiVersion` on an object that lacks them.
pub fn with_type_meta(info: &ResourceInfo, mut object: Value) -> Value {
    if let Some(map) = object.as_object_mut() {
        if !map.contains_key("kind") {
            map.insert("kind".into(), Value::from(info.kind.as_str()));
        }
        if !map.contains_key("apiVersion") {
            map.insert("apiVersion".into(), Value::from(info.api_version()));
        }
    }
    object
}

/// Go's `%T` of the internal type of a resource, as upstream's 406 messages print it.
fn internal_type_name(info: &ResourceInfo, list: bool) -> String {
    let package = if info.group.is_empty() {
        "core"
    } else {
        info.group.split('.').next().unwrap_or(&info.group)
    };
    format!("*{package}.{}{}", info.kind, if list { "List" } else { "" })
}

fn not_acceptable(message: String) -> ApiError {
    ApiError::new(StatusCode::NOT_ACCEPTABLE, "NotAcceptable", message, None)
}

fn partial_object_metadata(object: &Value, version: &str) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": format!("meta.k8s.io/{version}"),
        "metadata": object.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

fn table_version(mut table: Value, version: &str) -> Value {
    if version != "v1" {
        if let Some(map) = table.as_object_mut() {
            map.insert(
                "apiVersion".into(),
                Value::from(format!("meta.k8s.io/{version}")),
            );
        }
    }
    table
}

/// The body answering a single object (get, create, update, patch, delete) in `output`'s form.
/// `include` is the Table's `includeObject` (ignored by other forms).
pub fn render_object(
    info: &ResourceInfo,
    table: &TableConvertor,
    output: &Output,
    include: IncludeObject,
    object: Value,
) -> ApiResult<Value> {
    let object = with_type_meta(info, object);
    match output.transform {
        Transform::None => Ok(object),
        Transform::PartialObjectMetadata { version } => {
            Ok(partial_object_metadata(&object, version))
        }
        Transform::PartialObjectMetadataList { .. } => Err(not_acceptable(format!(
            "you requested PartialObjectMetadataList, but the requested object is not a list ({})",
            internal_type_name(info, false)
        ))),
        Transform::Table { version } => Ok(table_version(
            table::to_table(table, info, std::slice::from_ref(&object), include, None),
            version,
        )),
    }
}

/// A list's `metadata`: `resourceVersion`, and `continue`/`remainingItemCount` when set.
pub fn list_meta(list: &ObjectList) -> Value {
    page_meta(
        &list.resource_version,
        list.continue_token.as_deref(),
        list.remaining_item_count,
    )
}

/// [`list_meta`] from its parts.
pub fn page_meta(
    resource_version: &str,
    continue_token: Option<&str>,
    remaining_item_count: Option<i64>,
) -> Value {
    let mut meta = Map::new();
    meta.insert("resourceVersion".into(), Value::from(resource_version));
    if let Some(token) = continue_token.filter(|t| !t.is_empty()) {
        meta.insert("continue".into(), Value::from(token));
    }
    if let Some(count) = remaining_item_count {
        meta.insert("remainingItemCount".into(), Value::from(count));
    }
    Value::Object(meta)
}

/// A plain list `{"kind":"<Kind>List","apiVersion":..,"metadata":..,"items":[..]}` of `info`'s
/// items: typed (built-in) items lose `kind`/`apiVersion`, custom ones keep theirs.
pub fn plain_list(info: &ResourceInfo, metadata: Value, items: Vec<Value>) -> Value {
    let typed = !info.is_custom();
    let items: Vec<Value> = items
        .into_iter()
        .map(|mut item| {
            if let Some(map) = item.as_object_mut().filter(|_| typed) {
                map.remove("kind");
                map.remove("apiVersion");
            }
            item
        })
        .collect();
    json!({
        "kind": format!("{}List", info.kind),
        "apiVersion": info.api_version(),
        "metadata": metadata,
        "items": items,
    })
}

/// The body answering a list (list, deletecollection) in `output`'s form.
///
/// A plain list is `{"kind":"<Kind>List","apiVersion":..,"metadata":{..},"items":[..]}` whose items
/// carry no `kind`/`apiVersion`, as upstream's typed lists of built-in resources; items of custom
/// resources keep theirs, as upstream's unstructured lists.
pub fn render_list(
    info: &ResourceInfo,
    table: &TableConvertor,
    output: &Output,
    include: IncludeObject,
    list: ObjectList,
) -> ApiResult<Value> {
    let metadata = list_meta(&list);
    match output.transform {
        Transform::None => Ok(plain_list(info, metadata, list.items)),
        Transform::PartialObjectMetadataList { version } => {
            let items: Vec<Value> = list
                .items
                .iter()
                .map(|item| partial_object_metadata(item, version))
                .collect();
            Ok(json!({
                "kind": "PartialObjectMetadataList",
                "apiVersion": format!("meta.k8s.io/{version}"),
                "metadata": metadata,
                "items": items,
            }))
        }
        Transform::PartialObjectMetadata { .. } => Err(not_acceptable(format!(
            "you requested PartialObjectMetadata, but the requested object is a list ({})",
            internal_type_name(info, true)
        ))),
        Transform::Table { version } => {
            let items: Vec<Value> = list
                .items
                .into_iter()
                .map(|item| with_type_meta(info, item))
                .collect();
            Ok(table_version(
                table::to_table(table, info, &items, include, Some(metadata)),
                version,
            ))
        }
    }
}

/// Serialises `body` per `encoding`: compact JSON with a trailing newline, indented JSON without
/// one, YAML, or protobuf (`k8s\0` + `runtime.Unknown`; lists as `<Kind>List` messages). JSON keys
/// of built-in types come in Go's field order ([`key_order`]); YAML keys are sorted, as upstream's
/// JSON-to-YAML conversion writes them.
pub fn encode(body: &Value, encoding: Encoding, pretty: bool) -> ApiResult<Bytes> {
    match encoding {
        Encoding::Protobuf => protobuf::encode_body(body).map_err(ApiError::internal),
        Encoding::Json if pretty => serde_json::to_vec_pretty(&key_order::ordered(body))
            .map(Bytes::from)
            .map_err(ApiError::internal),
        Encoding::Json => {
            let mut bytes =
                serde_json::to_vec(&key_order::ordered(body)).map_err(ApiError::internal)?;
            bytes.push(b'\n');
            Ok(Bytes::from(bytes))
        }
        Encoding::Yaml => serde_yaml::to_string(body)
            .map(Bytes::from)
            .map_err(ApiError::internal),
    }
}

/// A `Warning` header value: `299 - "<text>"` with the text escaped as upstream's warning writer.
pub fn warning_header(text: &str) -> Option<HeaderValue> {
    let escaped = text.replace('\\', "\\\\").replace('"', "\\\"");
    HeaderValue::from_str(&format!("299 - \"{escaped}\"")).ok()
}

fn attach_warnings(response: &mut Response, warnings: &[String]) {
    for warning in warnings {
        if let Some(value) = warning_header(warning) {
            response.headers_mut().append(header::WARNING, value);
        }
    }
}

/// A response with `body` encoded per `output`, and one `Warning` header per warning.
pub fn respond(output: &Output, status: StatusCode, body: &Value, warnings: &[String]) -> Response {
    match encode(body, output.encoding, output.pretty) {
        Ok(bytes) => {
            let mut response = (
                status,
                [(header::CONTENT_TYPE, output.encoding.media_type())],
                Body::from(bytes),
            )
                .into_response();
            attach_warnings(&mut response, warnings);
            response
        }
        Err(err) => respond_error(output, err, warnings),
    }
}

/// An error Status in the negotiated encoding (JSON when negotiation itself failed), with the
/// error's own headers and any warnings gathered before it.
pub fn respond_error(output: &Output, err: ApiError, warnings: &[String]) -> Response {
    let body = serde_json::to_value(&err.status).unwrap_or(Value::Null);
    let (encoding, bytes) = match encode(&body, output.encoding, output.pretty) {
        Ok(bytes) => (output.encoding, bytes),
        // Every Status has a JSON form.
        Err(_) => (
            Encoding::Json,
            encode(&body, Encoding::Json, output.pretty).unwrap_or_default(),
        ),
    };
    let mut response = (
        err.code(),
        [(header::CONTENT_TYPE, encoding.media_type())],
        Body::from(bytes),
    )
        .into_response();
    for (name, value) in err.headers {
        response.headers_mut().insert(name, value);
    }
    attach_warnings(&mut response, warnings);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUBECTL_GET: &str =
        "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

    #[test]
    fn accept_headers_choose_the_form() {
        let table = |version| Transform::Table { version };
        type Case = (&'static str, bool, Option<(Encoding, Transform)>);
        let cases: &[Case] = &[
            ("", false, Some((Encoding::Json, Transform::None))),
            ("*/*", false, Some((Encoding::Json, Transform::None))),
            ("application/yaml", false, Some((Encoding::Yaml, Transform::None))),
            ("application/json, */*", false, Some((Encoding::Json, Transform::None))),
            (KUBECTL_GET, false, Some((Encoding::Json, table("v1")))),
            (KUBECTL_GET, true, Some((Encoding::Json, table("v1")))),
            ("application/json;as=Table;v=v1beta1;g=meta.k8s.io", false, Some((Encoding::Json, table("v1beta1")))),
            ("application/yaml;as=Table;v=v1;g=meta.k8s.io", false, Some((Encoding::Yaml, table("v1")))),
            (
                "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json",
                false,
                Some((Encoding::Json, Transform::PartialObjectMetadataList { version: "v1" })),
            ),
            ("application/vnd.kubernetes.protobuf, application/json", false, Some((Encoding::Json, Transform::None))),
            ("application/vnd.kubernetes.protobuf", false, None),
            ("application/json;as=Table;v=v1;g=example.com", false, None),
            ("application/json;as=Deployment;v=v1;g=meta.k8s.io", false, None),
            ("application/yaml", true, None),
            ("application/json;stream=watch", true, Some((Encoding::Json, Transform::None))),
            ("text/html;q=0.9, application/yaml;q=0.5", false, Some((Encoding::Yaml, Transform::None))),
            ("application/json;q=0.1, application/yaml", false, Some((Encoding::Yaml, Transform::None))),
        ];
        for (accept, streaming, want) in cases {
            let got = negotiate(Some(accept), *streaming, false)
                .ok()
                .map(|o| (o.encoding, o.transform));
            assert_eq!(&got, want, "Accept: {accept} (streaming {streaming})");
        }
    }

    #[test]
    fn protobuf_is_chosen_where_the_kind_has_a_message() {
        // client-go's default Accept (`rest.Config` with protobuf content): upstream's
        // `NegotiateOutputMediaType` takes the first clause the endpoint's serializers support,
        // so built-in kinds answer protobuf and custom resources (no protobuf serializer) JSON.
        const CLIENT_GO: &str = "application/vnd.kubernetes.protobuf,application/json";
        const PROTOBUF_WATCH: &str = "application/vnd.kubernetes.protobuf;stream=watch";
        let pb = Some((Encoding::Protobuf, Transform::None));
        let json = Some((Encoding::Json, Transform::None));
        // (Accept, streaming, the kind has a message, the answer)
        type Case = (&'static str, bool, bool, Option<(Encoding, Transform)>);
        let cases: &[Case] = &[
            (CLIENT_GO, false, true, pb),
            (CLIENT_GO, false, false, json),
            (CLIENT_GO, true, true, pb),
            (CLIENT_GO, true, false, json),
            (PROTOBUF_WATCH, true, true, pb),
            (PROTOBUF_WATCH, false, true, None),
            ("application/vnd.kubernetes.protobuf", false, true, pb),
            ("application/vnd.kubernetes.protobuf", false, false, None),
            ("application/json, application/vnd.kubernetes.protobuf", false, true, json),
            ("application/vnd.kubernetes.protobuf;q=0.5, application/json", false, true, json),
            ("application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io, application/json", false, true, json),
            // client-go's metadata informers (garbage collector, namespace controller).
            (
                "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json",
                false,
                true,
                Some((Encoding::Protobuf, Transform::PartialObjectMetadataList { version: "v1" })),
            ),
            (
                "application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1beta1",
                true,
                true,
                Some((Encoding::Protobuf, Transform::PartialObjectMetadata { version: "v1beta1" })),
            ),
            (
                "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
                false,
                false,
                Some((Encoding::Json, Transform::PartialObjectMetadataList { version: "v1" })),
            ),
            ("*/*", false, true, json),
            ("", false, true, json),
        ];
        for (accept, streaming, has_protobuf, want) in cases {
            let got = negotiate_with(Some(accept), *streaming, false, true, *has_protobuf)
                .ok()
                .map(|o| (o.encoding, o.transform));
            assert_eq!(
                &got, want,
                "Accept: {accept} (streaming {streaming}, protobuf {has_protobuf})"
            );
        }
    }

    #[test]
    fn not_acceptable_names_protobuf_where_it_is_served() {
        // Upstream's serializers in order: JSON, YAML, protobuf; streams add `;stream=watch`.
        let err = negotiate_with(Some("text/html"), false, false, true, true).unwrap_err();
        assert_eq!(
            err.status.message,
            "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf"
        );
        let err = negotiate_with(Some("application/yaml"), true, false, true, true).unwrap_err();
        assert_eq!(
            err.status.message,
            "only the following media types are accepted: application/json;stream=watch, application/vnd.kubernetes.protobuf;stream=watch"
        );
        assert_eq!(
            Encoding::Protobuf.media_type(),
            "application/vnd.kubernetes.protobuf"
        );
        assert_eq!(
            Encoding::Protobuf.stream_media_type(),
            "application/vnd.kubernetes.protobuf;stream=watch"
        );
        assert_eq!(Encoding::Json.stream_media_type(), "application/json");
    }

    #[test]
    fn protobuf_bodies_and_errors() {
        let list = json!({
            "kind": "ConfigMapList", "apiVersion": "v1",
            "metadata": {"resourceVersion": "7"},
            "items": [{"metadata": {"name": "a"}}]
        });
        let bytes = encode(&list, Encoding::Protobuf, false).expect("a list encodes");
        assert_eq!(&bytes[..4], b"k8s\0");
        assert!(bytes.windows(13).any(|w| w == b"ConfigMapList"));
        let output = Output {
            encoding: Encoding::Protobuf,
            ..Output::default()
        };
        let response = respond_error(&output, ApiError::bad_request("no"), &[]);
        assert_eq!(
            response.headers().get(header::CONTENT_TYPE).unwrap(),
            "application/vnd.kubernetes.protobuf"
        );
        // A body without a message cannot be protobuf: a 500 Status answers, in protobuf.
        let response = respond(
            &output,
            StatusCode::OK,
            &json!({"kind": "Widget", "apiVersion": "example.com/v1"}),
            &[],
        );
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            response.headers().get(header::CONTENT_TYPE).unwrap(),
            "application/vnd.kubernetes.protobuf"
        );
    }

    #[test]
    fn not_acceptable_lists_the_served_types() {
        let err = negotiate(Some("application/vnd.kubernetes.protobuf"), false, false).unwrap_err();
        assert_eq!(err.status.code, 406);
        assert_eq!(err.status.reason, "NotAcceptable");
        assert_eq!(
            err.status.message,
            "only the following media types are accepted: application/json, application/yaml"
        );
    }

    #[test]
    fn tables_only_where_the_endpoint_has_a_convertor() {
        const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io";
        let err = negotiate_with(Some(TABLE), false, false, false, false).unwrap_err();
        assert_eq!(
            (err.status.code, err.status.reason.as_str()),
            (406, "NotAcceptable")
        );
        let fallback = format!("{TABLE}, application/json");
        let output = negotiate_with(Some(&fallback), false, false, false, false).expect("json");
        assert_eq!(output.transform, Transform::None);
        let output = negotiate_with(Some(&fallback), false, false, true, false).expect("table");
        assert_eq!(output.transform, Transform::Table { version: "v1" });
    }

    #[test]
    fn include_object_validation_is_upstreams() {
        assert_eq!(table_include(None).unwrap(), IncludeObject::Metadata);
        assert_eq!(
            table_include(Some("Object")).unwrap(),
            IncludeObject::Object
        );
        let err = table_include(Some("All")).unwrap_err();
        assert_eq!(
            err.status.message,
            "Unable to convert to Table as requested: includeObject: Invalid value: \"All\": must be 'Metadata', 'Object', 'None', or empty"
        );
    }

    #[test]
    fn encodings_match_go_framing() {
        let body = json!({"a": 1});
        assert_eq!(
            &encode(&body, Encoding::Json, false).unwrap()[..],
            b"{\"a\":1}\n"
        );
        assert_eq!(
            &encode(&body, Encoding::Json, true).unwrap()[..],
            b"{\n  \"a\": 1\n}"
        );
        assert_eq!(
            &encode(&body, Encoding::Yaml, false).unwrap()[..],
            b"a: 1\n"
        );
    }

    #[test]
    fn warning_headers_escape_quotes() {
        let value = warning_header("unknown field \"spec.foo\"").expect("valid header");
        assert_eq!(
            value.to_str().unwrap(),
            "299 - \"unknown field \\\"spec.foo\\\"\""
        );
    }
}
