//! Request bodies: reading (with upstream's 3 MiB limit), content types, and decoding objects the
//! way upstream's `createHandler`/`UpdateResource` decode them into Go structs.
//!
//! Decoding, in upstream's order:
//! 1. the document must parse (JSON, or YAML converted to JSON) and be an object, else 400
//!    `the object provided is unrecognized (must be of type ConfigMap): couldn't get version/kind;
//!    json parse error: ... (<first 30 bytes>)`;
//! 2. a missing `kind`/`apiVersion` is defaulted from the endpoint; another kind is a 400
//!    `<Kind> in version "<v>" cannot be handled as a <Expected>: ...`, another group/version a
//!    400 `the API version in the data (x) does not match the expected API version (y)`;
//! 3. the object is decoded into its k8s-openapi type (the catalogue's codec): wrongly
//!    typed values are a 400 `<Kind> in version "<v>" cannot be handled as a <Kind>: <error>`, and
//!    unknown or duplicate fields are dropped and, per `fieldValidation`, ignored, returned as
//!    warnings, or a 400 `... cannot be handled as a <Kind>: strict decoding error: unknown field "spec.foo"`.

use axum::body::Body;
use bytes::Bytes;
use http::StatusCode;
use http_body_util::BodyExt;
use std::collections::HashSet;

use serde_json::Value;

use super::query::FieldValidation;
use crate::api::status::{ApiError, ApiResult};
use crate::catalog::codec::{
    dropped_fields, duplicate_field_message, key_occurrences, parse_json_document,
    unknown_field_message,
};
use crate::catalog::{Codec, ResourceInfo};

/// The largest request body accepted, as upstream's default `MaxRequestBodyBytes` (3 MiB).
pub const MAX_REQUEST_BODY_BYTES: usize = 3 * 1024 * 1024;

/// The media types request bodies may be sent in.
pub const ACCEPTED_INPUT: &[&str] = &[
    "application/json",
    "application/yaml",
    "application/vnd.kubernetes.protobuf",
];

/// How much of an oversized body is read and thrown away before its 413 is answered. A client
/// that sends its whole body without waiting (HTTP/1.1 without `Expect: 100-continue`, HTTP/2)
/// then reads the Status instead of a reset connection or stream, as with Go's server; a body
/// longer still is cut off (the connection closes after the answer).
pub const MAX_DRAINED_BODY_BYTES: usize = 8 * MAX_REQUEST_BODY_BYTES;

/// Reads a whole request body; more than [`MAX_REQUEST_BODY_BYTES`] is upstream's 413
/// `Request entity too large: limit is 3145728`, answered after draining the rest of the body
/// (up to [`MAX_DRAINED_BODY_BYTES`]).
pub async fn read_body(body: Body) -> ApiResult<Bytes> {
    let mut body = body;
    let mut collected = bytes::BytesMut::new();
    let mut seen: usize = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|err| {
            ApiError::bad_request(format!("unable to read the request body: {err}"))
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen = seen.saturating_add(data.len());
        if seen > MAX_REQUEST_BODY_BYTES {
            // Over the limit: keep nothing, only count (and stop counting past the bound).
            collected = bytes::BytesMut::new();
            if seen > MAX_DRAINED_BODY_BYTES {
                break;
            }
            continue;
        }
        collected.extend_from_slice(&data);
    }
    if seen > MAX_REQUEST_BODY_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            format!("Request entity too large: limit is {MAX_REQUEST_BODY_BYTES}"),
            None,
        ));
    }
    Ok(collected.freeze())
}

/// The format of a request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    Json,
    Yaml,
    /// `application/vnd.kubernetes.protobuf`, for built-in kinds (see [`crate::catalog::protobuf`]).
    Protobuf,
}

/// The 415 of a body in a format we do not read, listing `accepted`.
pub fn unsupported_media_type(accepted: &[&str]) -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UnsupportedMediaType",
        format!(
            "the body of the request was in an unknown format - accepted media types include: {}",
            accepted.join(", ")
        ),
        None,
    )
}

/// The media type of a `Content-Type` value without parameters, lower-cased.
pub fn base_media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// The body format named by `Content-Type`: JSON when absent (or `*/*`), YAML for
/// `application/yaml`, protobuf for `application/vnd.kubernetes.protobuf`; anything else is a 415.
pub fn input_format(content_type: Option<&str>) -> ApiResult<InputFormat> {
    match content_type.map(base_media_type).as_deref() {
        None | Some("") | Some("application/json") | Some("*/*") => Ok(InputFormat::Json),
        Some("application/yaml") => Ok(InputFormat::Yaml),
        Some(crate::catalog::protobuf::MEDIA_TYPE) => Ok(InputFormat::Protobuf),
        Some(_) => Err(unsupported_media_type(ACCEPTED_INPUT)),
    }
}

/// Parses a body into JSON. The error text is upstream's, without the "unrecognized" prefix.
pub fn parse_document(bytes: &[u8], format: InputFormat) -> Result<Value, String> {
    match format {
        InputFormat::Json => {
            serde_json::from_slice(bytes).map_err(|e| format!("json parse error: {e}"))
        }
        InputFormat::Yaml => {
            // Repeated keys: the last wins (they are strict errors, see `yaml_keys`).
            let yaml: serde_yaml::Value = super::yaml_keys::parse_last_wins(bytes)
                .map_err(|e| format!("error converting YAML to JSON: yaml: {e}"))?;
            serde_json::to_value(yaml).map_err(|e| format!("error converting YAML to JSON: {e}"))
        }
        InputFormat::Protobuf => crate::catalog::protobuf::decode_object(bytes),
    }
}

/// Upstream's `summarizeData`: the first 30 bytes of a JSON object, or their hex otherwise.
fn summarize(data: &[u8]) -> String {
    const MAX: usize = 30;
    let head = &data[..data.len().min(MAX)];
    let more = if data.len() > MAX { " ..." } else { "" };
    match data.first() {
        None => "<empty>".to_string(),
        Some(b'{') => format!("{}{more}", String::from_utf8_lossy(head)),
        Some(_) => {
            let hex: String = head.iter().map(|b| format!("{b:02x}")).collect();
            format!("{hex}{more}")
        }
    }
}

/// What an object body must be: the kind and group/version of the endpoint, and its codec.
#[derive(Debug, Clone)]
pub struct ExpectedType<'a> {
    pub group: &'a str,
    pub version: &'a str,
    pub kind: &'a str,
    pub codec: Codec,
}

impl<'a> ExpectedType<'a> {
    /// The type of a resource's own objects.
    pub fn of(info: &'a ResourceInfo) -> Self {
        Self {
            group: &info.group,
            version: &info.version,
            kind: &info.kind,
            codec: info.codec(),
        }
    }

    fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `<Kind> in version "<v>" cannot be handled as a <Expected>: <why>`.
    fn cannot_handle(&self, kind: &str, version: &str, why: impl std::fmt::Display) -> ApiError {
        ApiError::bad_request(format!(
            "{kind} in version \"{version}\" cannot be handled as a {}: {why}",
            self.kind
        ))
    }
}

/// A decoded object and what strict decoding found wrong with its fields.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedObject {
    /// The object as its type knows it: unknown fields dropped, `kind`/`apiVersion` set.
    pub object: Value,
    /// `unknown field "spec.foo"` / `duplicate field "x"` texts in upstream's order, after a YAML
    /// body's `yaml: unmarshal errors:` text of repeated keys.
    pub field_errors: Vec<String>,
}

fn string_field<'v>(object: &'v serde_json::Map<String, Value>, key: &str) -> Option<&'v str> {
    object
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// Decodes an object body per the module rules, without applying `fieldValidation`.
pub fn decode_object(
    bytes: &[u8],
    format: InputFormat,
    expected: &ExpectedType<'_>,
) -> ApiResult<DecodedObject> {
    let unrecognized = |why: &str| {
        ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): couldn't get version/kind; {why} ({})",
            expected.kind,
            summarize(bytes)
        ))
    };
    // A JSON body is parsed once, noting repeated keys; their paths and the document order of
    // strict errors are only worked out (from the bytes) when there are any.
    let (mut document, repeats) = match format {
        InputFormat::Json => parse_json_document(bytes)
            .map_err(|e| unrecognized(&format!("json parse error: {e}")))?,
        InputFormat::Yaml | InputFormat::Protobuf => (
            parse_document(bytes, format).map_err(|why| unrecognized(&why))?,
            false,
        ),
    };
    let Value::Object(map) = &document else {
        let found = match document {
            Value::Array(_) => "array",
            Value::String(_) => "string",
            Value::Number(_) => "number",
            Value::Bool(_) => "bool",
            _ => "null",
        };
        return Err(unrecognized(&format!(
            "json parse error: json: cannot unmarshal {found} into Go value of type struct {{ APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; Kind string \"json:\\\"kind,omitempty\\\"\" }}"
        )));
    };
    let expected_api_version = expected.api_version();
    let api_version = string_field(map, "apiVersion")
        .unwrap_or(&expected_api_version)
        .to_string();
    let kind = string_field(map, "kind")
        .unwrap_or(expected.kind)
        .to_string();
    let data_version = api_version
        .rsplit('/')
        .next()
        .unwrap_or(&api_version)
        .to_string();
    if kind != expected.kind {
        return Err(expected.cannot_handle(
            &kind,
            &data_version,
            format_args!(
                "the kind in the data ({kind}) does not match the expected kind ({})",
                expected.kind
            ),
        ));
    }
    if api_version != expected_api_version {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({expected_api_version})"
        )));
    }
    let object = expected
        .codec
        .decode_from(&mut document)
        .map_err(|err| expected.cannot_handle(&kind, &data_version, err))?;
    let unknown = dropped_fields(&document, &object);
    let occurrences = match format {
        InputFormat::Json if repeats || !unknown.is_empty() => {
            key_occurrences(bytes).unwrap_or_default()
        }
        _ => Vec::new(),
    };
    // A YAML body's repeated keys come first, as one error (the YAML to JSON conversion). Its
    // unknown fields follow in key order (that conversion sorts keys).
    let mut field_errors: Vec<String> = Vec::new();
    if format == InputFormat::Yaml {
        let repeated = yaml_keys_of(bytes);
        if !repeated.is_empty() {
            field_errors.push(unmarshal_errors(&repeated));
        }
    }
    if expected.codec.prunes_after_decoding() {
        // The JSON decoder's duplicates, then what pruning dropped.
        let duplicates = occurrences.iter().filter(|(_, repeat)| *repeat);
        field_errors.extend(duplicates.map(|(path, _)| duplicate_field_message(path)));
        field_errors.extend(unknown.iter().map(|p| unknown_field_message(p)));
    } else {
        field_errors.extend(in_document_order(&occurrences, &unknown));
    }
    Ok(DecodedObject {
        object,
        field_errors,
    })
}

/// Applies `fieldValidation` to a decoded object's field errors: `Strict` fails with upstream's
/// 400, `Warn` returns them as warnings, `Ignore` drops them.
pub fn apply_field_validation(
    decoded: DecodedObject,
    validation: FieldValidation,
    expected: &ExpectedType<'_>,
) -> ApiResult<(Value, Vec<String>)> {
    if decoded.field_errors.is_empty() {
        return Ok((decoded.object, Vec::new()));
    }
    match validation {
        FieldValidation::Ignore => Ok((decoded.object, Vec::new())),
        FieldValidation::Warn => Ok((decoded.object, warnings(decoded.field_errors))),
        FieldValidation::Strict => Err(expected.cannot_handle(
            expected.kind,
            expected.version,
            format_args!("strict decoding error: {}", decoded.field_errors.join(", ")),
        )),
    }
}

/// A typed decoder's strict errors, in the order it meets them: an unknown field at its first
/// occurrence, a repeated known key at its repeat; nothing inside an unknown field. `unknown`
/// fields missing from `occurrences` (a YAML body) follow in their own order.
fn in_document_order(occurrences: &[(String, bool)], unknown: &[String]) -> Vec<String> {
    let unknown_set: HashSet<&str> = unknown.iter().map(String::as_str).collect();
    let within_unknown = |path: &str| {
        path.char_indices()
            .filter(|(_, c)| matches!(c, '.' | '['))
            .any(|(i, _)| unknown_set.contains(&path[..i]))
    };
    let mut reported: HashSet<&str> = HashSet::new();
    let mut out = Vec::new();
    for (path, repeat) in occurrences {
        if unknown_set.contains(path.as_str()) {
            if reported.insert(path) {
                out.push(unknown_field_message(path));
            }
        } else if *repeat && !within_unknown(path) {
            out.push(duplicate_field_message(path));
        }
    }
    for path in unknown {
        if !reported.contains(path.as_str()) {
            out.push(unknown_field_message(path));
        }
    }
    out
}

/// The repeated keys of a YAML body: `line 5: key "foo" already set in map`, one per repeat.
pub fn yaml_keys_of(bytes: &[u8]) -> Vec<String> {
    super::yaml_keys::repeated_keys(bytes)
}

/// yaml.v2's error of `repeated` keys: `yaml: unmarshal errors:\n  line 5: ...`.
pub fn unmarshal_errors(repeated: &[String]) -> String {
    format!(
        "{}\n  {}",
        super::yaml_keys::UNMARSHAL_ERRORS,
        repeated.join("\n  ")
    )
}

/// Strict errors as upstream's `addStrictDecodingWarnings` warns them: a YAML error text is
/// split into one warning per line (`line 5: key "foo" already set in map`).
pub fn warnings(field_errors: Vec<String>) -> Vec<String> {
    let split = |error: String| -> Vec<String> {
        let prefixes = [
            format!("{}\n", super::yaml_keys::UNMARSHAL_ERRORS),
            format!(
                "error converting YAML to JSON: {}\n",
                super::yaml_keys::UNMARSHAL_ERRORS
            ),
        ];
        match prefixes.iter().find_map(|p| error.strip_prefix(p.as_str())) {
            Some(rest) => rest.split('\n').map(|l| l.trim().to_string()).collect(),
            None => vec![error],
        }
    };
    field_errors.into_iter().flat_map(split).collect()
}

/// Decodes an object body and applies `fieldValidation`: the object to store and the warnings.
pub fn decode_with_validation(
    bytes: &[u8],
    format: InputFormat,
    expected: &ExpectedType<'_>,
    validation: FieldValidation,
) -> ApiResult<(Value, Vec<String>)> {
    let decoded = decode_object(bytes, format, expected)?;
    apply_field_validation(decoded, validation, expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::ConfigMap;
    use serde_json::json;

    fn configmap() -> ExpectedType<'static> {
        ExpectedType {
            group: "",
            version: "v1",
            kind: "ConfigMap",
            codec: Codec::of::<ConfigMap>(),
        }
    }

    fn deployment() -> ExpectedType<'static> {
        ExpectedType {
            group: "apps",
            version: "v1",
            kind: "Deployment",
            codec: Codec::of::<Deployment>(),
        }
    }

    #[test]
    fn content_types() {
        let cases = [
            (None, Some(InputFormat::Json)),
            (Some("application/json"), Some(InputFormat::Json)),
            (
                Some("application/json; charset=utf-8"),
                Some(InputFormat::Json),
            ),
            (Some("*/*"), Some(InputFormat::Json)),
            (Some("application/yaml"), Some(InputFormat::Yaml)),
            (
                Some("application/vnd.kubernetes.protobuf"),
                Some(InputFormat::Protobuf),
            ),
            (Some("text/plain"), None),
        ];
        for (content_type, want) in cases {
            assert_eq!(input_format(content_type).ok(), want, "{content_type:?}");
        }
        let err = input_format(Some("text/plain")).unwrap_err();
        assert_eq!(err.status.code, 415);
        assert_eq!(err.status.reason, "UnsupportedMediaType");
        assert_eq!(
            err.status.message,
            "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf"
        );
    }

    #[test]
    fn defaults_type_meta_and_keeps_known_fields() {
        let body = br#"{"metadata":{"name":"a"},"data":{"k":"v"}}"#;
        let decoded = decode_object(body, InputFormat::Json, &configmap()).expect("decodes");
        assert_eq!(decoded.object["kind"], "ConfigMap");
        assert_eq!(decoded.object["apiVersion"], "v1");
        assert_eq!(decoded.object["data"]["k"], "v");
        assert!(decoded.field_errors.is_empty());
    }

    #[test]
    fn malformed_bodies_are_unrecognized() {
        let err = decode_object(b"{\"metadata\":", InputFormat::Json, &configmap()).unwrap_err();
        assert_eq!(err.status.code, 400);
        assert!(
            err.status.message.starts_with(
                "the object provided is unrecognized (must be of type ConfigMap): couldn't get version/kind; json parse error: "
            ),
            "{}",
            err.status.message
        );
        assert!(
            err.status.message.ends_with("({\"metadata\":)"),
            "{}",
            err.status.message
        );
        let err = decode_object(b"[1]", InputFormat::Json, &configmap()).unwrap_err();
        assert!(
            err.status.message.contains("cannot unmarshal array"),
            "{}",
            err.status.message
        );
        assert!(
            err.status.message.ends_with("(5b315d)"),
            "{}",
            err.status.message
        );
    }

    #[test]
    fn type_mismatches() {
        let err = decode_object(
            br#"{"apiVersion":"v1","kind":"Secret"}"#,
            InputFormat::Json,
            &configmap(),
        )
        .unwrap_err();
        assert!(err
            .status
            .message
            .starts_with("Secret in version \"v1\" cannot be handled as a ConfigMap: "));
        let err = decode_object(
            br#"{"apiVersion":"apps/v1beta2","kind":"Deployment"}"#,
            InputFormat::Json,
            &deployment(),
        )
        .unwrap_err();
        assert_eq!(
            err.status.message,
            "the API version in the data (apps/v1beta2) does not match the expected API version (apps/v1)"
        );
        let err =
            decode_object(br#"{"data":{"k":5}}"#, InputFormat::Json, &configmap()).unwrap_err();
        assert!(err
            .status
            .message
            .starts_with("ConfigMap in version \"v1\" cannot be handled as a ConfigMap: "));
    }

    #[test]
    fn field_validation_modes() {
        // Upstream's JSON decoder meets them in document order; a repeated unknown field is
        // only unknown, once.
        let body = br#"{"metadata":{"name":"a","name":"b","unknownMeta":{"x":1,"x":2}},
            "spec":{"foo":1,"foo":2,"paused":true,"paused":false,"selector":{}}}"#;
        let want = vec![
            "duplicate field \"metadata.name\"".to_string(),
            "unknown field \"metadata.unknownMeta\"".to_string(),
            "unknown field \"spec.foo\"".to_string(),
            "duplicate field \"spec.paused\"".to_string(),
        ];
        let (object, warnings) = decode_with_validation(
            body,
            InputFormat::Json,
            &deployment(),
            FieldValidation::Warn,
        )
        .expect("warn");
        assert_eq!(warnings, want);
        assert!(object["spec"].get("foo").is_none());
        assert_eq!(object["metadata"]["name"], "b");
        let (_, warnings) = decode_with_validation(
            body,
            InputFormat::Json,
            &deployment(),
            FieldValidation::Ignore,
        )
        .expect("ignore");
        assert!(warnings.is_empty());
        let err = decode_with_validation(
            body,
            InputFormat::Json,
            &deployment(),
            FieldValidation::Strict,
        )
        .unwrap_err();
        assert_eq!(err.status.code, 400);
        assert_eq!(
            err.status.message,
            format!("Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: {}", want.join(", "))
        );
    }

    #[test]
    fn yaml_bodies() {
        let body = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\ndata:\n  a: b\n";
        let decoded = decode_object(body, InputFormat::Yaml, &configmap()).expect("decodes");
        assert_eq!(decoded.object["metadata"]["name"], json!("y"));
        // Repeated keys (the last wins), then unknown fields in key order.
        let body = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\n  zz: 1\ndata:\n  a: b\n  a: c\naa: 1\n";
        let (object, warnings) =
            decode_with_validation(body, InputFormat::Yaml, &configmap(), FieldValidation::Warn)
                .expect("warn");
        assert_eq!(object["data"]["a"], "c");
        assert_eq!(
            warnings,
            [
                "line 8: key \"a\" already set in map",
                "unknown field \"aa\"",
                "unknown field \"metadata.zz\"",
            ]
        );
        let err = decode_with_validation(
            body,
            InputFormat::Yaml,
            &configmap(),
            FieldValidation::Strict,
        )
        .unwrap_err();
        assert_eq!(
            err.status.message,
            "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: yaml: unmarshal errors:\n  line 8: key \"a\" already set in map, unknown field \"aa\", unknown field \"metadata.zz\""
        );
        let err = decode_object(b"a: [", InputFormat::Yaml, &configmap()).unwrap_err();
        assert!(
            err.status.message.contains("error converting YAML to JSON"),
            "{}",
            err.status.message
        );
    }

    #[tokio::test]
    async fn bodies_over_the_limit_are_rejected() {
        let big = vec![b' '; MAX_REQUEST_BODY_BYTES + 1];
        let err = read_body(Body::from(big)).await.unwrap_err();
        assert_eq!(err.status.code, 413);
        assert_eq!(err.status.reason, "RequestEntityTooLarge");
        assert_eq!(
            err.status.message,
            "Request entity too large: limit is 3145728"
        );
        assert_eq!(
            read_body(Body::from(vec![b'x'; MAX_REQUEST_BODY_BYTES]))
                .await
                .unwrap()
                .len(),
            MAX_REQUEST_BODY_BYTES,
            "exactly the limit is accepted"
        );
        assert_eq!(
            read_body(Body::from("abc")).await.unwrap(),
            Bytes::from_static(b"abc")
        );
    }
}
