//! List continue tokens in upstream's wire format (`staging/src/k8s.io/apiserver/pkg/storage/continue.go`):
//! unpadded base64url of the JSON `{"v":"meta.k8s.io/v1","rv":<revision>,"start":"<key suffix>"}`,
//! where the start key is relative to the list's key prefix. Tokens are therefore interchangeable
//! with kube-apiserver's, and a client cannot use one to range outside the prefix it listed.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::api::status::{ApiError, ApiResult};

const TOKEN_VERSION: &str = "meta.k8s.io/v1";

/// The message of a 410 for a continue token whose revision was compacted; the answer carries a
/// fresh token (at [`LATEST_REVISION`]) in `metadata.continue`.
pub const INCONSISTENT_CONTINUE: &str = "The provided continue parameter is too old to display a consistent list result. \
You can start a new list without the continue parameter, or use the continue value from this response. \
Please note that the result of using the continue value from this response may not be consistent with the list \
started with the original continue value.";

/// The revision a token carries to mean "continue at the latest revision" (upstream uses -1 after a
/// compaction, so as not to confuse it with a token missing its revision).
pub const LATEST_REVISION: i64 = -1;

#[derive(Debug, Serialize, Deserialize)]
struct WireToken {
    v: String,
    rv: i64,
    start: String,
}

/// A decoded continue token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContinueToken {
    /// The revision the first page was read at, or [`LATEST_REVISION`].
    pub revision: i64,
    /// The full storage key to resume at (inclusive).
    pub start_key: String,
}

/// Encodes a token resuming at `next_key` (a full key under `key_prefix`) at `revision`.
///
/// MUST fail (500) when `next_key` does not start with `key_prefix`: that is a bug, not bad input.
pub fn encode(next_key: &str, key_prefix: &str, revision: i64) -> ApiResult<String> {
    let suffix = next_key
        .strip_prefix(key_prefix)
        .ok_or_else(|| ApiError::internal(format!("unable to encode next field: the key and key prefix do not match {key_prefix} {next_key}")))?;
    let wire = WireToken {
        v: TOKEN_VERSION.to_string(),
        rv: revision,
        start: suffix.to_string(),
    };
    let json = serde_json::to_vec(&wire).map_err(ApiError::internal)?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

/// Decodes a token for a list of `key_prefix`, with upstream's 400 messages for invalid tokens.
pub fn decode(token: &str, key_prefix: &str) -> ApiResult<ContinueToken> {
    let invalid = |why: String| ApiError::bad_request(format!("invalid continue token: {why}"));
    let data = URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .map_err(|e| invalid(format!("continue key is not valid: {e}")))?;
    let wire: WireToken = serde_json::from_slice(&data)
        .map_err(|e| invalid(format!("continue key is not valid: {e}")))?;
    if wire.v != TOKEN_VERSION {
        return Err(invalid(format!(
            "continue key is not valid: server does not recognize this encoded version {}",
            wire.v
        )));
    }
    if wire.rv == 0 {
        return Err(invalid(
            "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)".into(),
        ));
    }
    if wire.start.is_empty() {
        return Err(invalid(
            "continue key is not valid: encoded start key empty (version meta.k8s.io/v1)".into(),
        ));
    }
    // Refuse anything that is not already a clean relative path: no `..`, `.`, or empty segments,
    // so the resumed range cannot leave the listed prefix.
    let relative = wire.start.strip_prefix('/').unwrap_or(&wire.start);
    let clean = relative
        .split('/')
        .all(|seg| !seg.is_empty() && seg != "." && seg != "..");
    if !clean {
        return Err(invalid(format!(
            "continue key is not valid: {}",
            wire.start
        )));
    }
    Ok(ContinueToken {
        revision: wire.rv,
        start_key: format!("{key_prefix}{relative}"),
    })
}

/// The 410 for a continue token whose revision is compacted: upstream's message, with a fresh token
/// in `metadata.continue` that resumes at the same key at the latest revision.
pub fn expired_error(start_key: &str, key_prefix: &str) -> ApiError {
    let mut err = ApiError::expired(INCONSISTENT_CONTINUE);
    if let Ok(fresh) = encode(start_key, key_prefix, LATEST_REVISION) {
        err.status
            .metadata
            .insert("continue".into(), serde_json::Value::String(fresh));
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_relative_to_the_prefix() {
        let token = encode("/registry/pods/ns/b\u{0}", "/registry/pods/ns/", 42).unwrap();
        let raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
        assert_eq!(
            String::from_utf8(raw).unwrap(),
            "{\"v\":\"meta.k8s.io/v1\",\"rv\":42,\"start\":\"b\\u0000\"}"
        );
        let decoded = decode(&token, "/registry/pods/ns/").unwrap();
        assert_eq!(
            decoded,
            ContinueToken {
                revision: 42,
                start_key: "/registry/pods/ns/b\u{0}".into()
            }
        );
    }

    #[test]
    fn decodes_an_upstream_token() {
        // {"v":"meta.k8s.io/v1","rv":5,"start":"default/x\u0000"} as kube-apiserver encodes it.
        let token =
            URL_SAFE_NO_PAD.encode(br#"{"v":"meta.k8s.io/v1","rv":5,"start":"default/x\u0000"}"#);
        let decoded = decode(&token, "/registry/configmaps/").unwrap();
        assert_eq!(decoded.start_key, "/registry/configmaps/default/x\u{0}");
        assert_eq!(decoded.revision, 5);
    }

    #[test]
    fn rejects_invalid_tokens_with_400() {
        let enc = |s: &str| URL_SAFE_NO_PAD.encode(s.as_bytes());
        let cases = [
            "%%%".to_string(),
            enc("not json"),
            enc(r#"{"v":"meta.k8s.io/v2","rv":5,"start":"a"}"#),
            enc(r#"{"v":"meta.k8s.io/v1","rv":0,"start":"a"}"#),
            enc(r#"{"v":"meta.k8s.io/v1","rv":5,"start":""}"#),
            enc(r#"{"v":"meta.k8s.io/v1","rv":5,"start":"../secrets/a"}"#),
            enc(r#"{"v":"meta.k8s.io/v1","rv":5,"start":"a//b"}"#),
        ];
        for token in cases {
            let err = decode(&token, "/registry/pods/").unwrap_err();
            assert_eq!(err.status.code, 400, "{token}");
            assert!(err
                .status
                .message
                .starts_with("invalid continue token: continue key is not valid"));
        }
    }

    #[test]
    fn expired_error_carries_a_fresh_token() {
        let err = expired_error("/registry/pods/a\u{0}", "/registry/pods/");
        assert_eq!(err.status.code, 410);
        assert_eq!(err.status.reason, "Expired");
        let fresh = err.status.metadata["continue"].as_str().unwrap();
        assert_eq!(
            decode(fresh, "/registry/pods/").unwrap().revision,
            LATEST_REVISION
        );
    }
}
