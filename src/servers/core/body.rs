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
//! 3. the object is round-tripped through its k8s-openapi type (the catalogue's codec): wrongly
//!    typed values are a 400 `<Kind> in version "<v>" cannot be handled as a <Kind>: <error>`, and
//!    unknown or duplicate fields are dropped and, per `fieldValidation`, ignored, returned as
//!    warnings, or a 400 `... cannot be handled as a <Kind>: strict decoding error: unknown field "spec.foo"`.

use axum::body::Body;
use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::Value;

use super::query::FieldValidation;
use crate::api::status::{ApiError, ApiResult};
use crate::catalog::codec::{
    dropped_fields, duplicate_field_message, duplicate_fields, unknown_field_message,
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

/// Reads a whole request body; more than [`MAX_REQUEST_BODY_BYTES`] is a 413.
pub async fn read_body(body: Body) -> ApiResult<Bytes> {
    match Limited::new(body, MAX_REQUEST_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.downcast_ref::<LengthLimitError>().is_some() => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            format!("Request entity too large: limit is {MAX_REQUEST_BODY_BYTES}"),
            None,
        )),
        Err(err) => Err(ApiError::bad_request(format!(
            "unable to read the request body: {err}"
        ))),
    }
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
            let yaml: serde_yaml::Value = serde_yaml::from_slice(bytes)
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
    /// `unknown field "spec.foo"` / `duplicate field "x"` texts, duplicates first.
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
    let document = parse_document(bytes, format).map_err(|why| unrecognized(&why))?;
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
    let duplicates = match format {
        InputFormat::Json => duplicate_fields(bytes).unwrap_or_default(),
        InputFormat::Yaml | InputFormat::Protobuf => Vec::new(),
    };
    let object = expected
        .codec
        .round_trip(document.clone())
        .map_err(|err| expected.cannot_handle(&kind, &data_version, err))?;
    let mut field_errors: Vec<String> = duplicates
        .iter()
        .map(|p| duplicate_field_message(p))
        .collect();
    field_errors.extend(
        dropped_fields(&document, &object)
            .iter()
            .map(|p| unknown_field_message(p)),
    );
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
        FieldValidation::Warn => Ok((decoded.object, decoded.field_errors)),
        FieldValidation::Strict => Err(expected.cannot_handle(
            expected.kind,
            expected.version,
            format_args!("strict decoding error: {}", decoded.field_errors.join(", ")),
        )),
    }
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
        let body =
            br#"{"metadata":{"name":"a","name":"b"},"spec":{"replicas":1,"foo":1,"selector":{}}}"#;
        let want = vec![
            "duplicate field \"metadata.name\"".to_string(),
            "unknown field \"spec.foo\"".to_string(),
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
            "Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: duplicate field \"metadata.name\", unknown field \"spec.foo\""
        );
    }

    #[test]
    fn yaml_bodies() {
        let body = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\ndata:\n  a: b\n";
        let decoded = decode_object(body, InputFormat::Yaml, &configmap()).expect("decodes");
        assert_eq!(decoded.object["metadata"]["name"], json!("y"));
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
            read_body(Body::from("abc")).await.unwrap(),
            Bytes::from_static(b"abc")
        );
    }
}
