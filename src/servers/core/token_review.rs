//! `POST /apis/authentication.k8s.io/v1/tokenreviews`, as upstream's
//! `pkg/registry/authentication/tokenreview/storage.go`.
//!
//! `spec.token` is checked by the server's own authenticators as if it came in
//! `Authorization: Bearer <token>` (token file, then ServiceAccount tokens), for `spec.audiences`
//! or, when empty, the API audiences. The answer is the review with its `status`:
//! `authenticated`, `user` (with `system:authenticated`), `audiences`, and `error` with upstream's
//! wording when the token was not accepted. An empty token is a 400. Nothing is stored.

use axum::body::Body;
use axum::response::Response;
use http::request::Parts;
use http::StatusCode;
use serde_json::{json, Map, Value};

use super::body::{self, ExpectedType};
use super::handlers::{content_type, fallback_output, respond_object, Scope};
use super::negotiation;
use super::query::{self, WriteKind};
use super::CoreContext;
use crate::api::status::{ApiError, ApiResult};
use crate::filters::authn::{intersect, Authentication};

/// Serves a TokenReview create (routes send only creates of `tokenreviews` here).
pub async fn create(ctx: &CoreContext, scope: Scope, parts: Parts, request_body: Body) -> Response {
    let output = match scope.output(&parts) {
        Ok(output) => output,
        Err(err) => return negotiation::respond_error(&fallback_output(&parts, &scope), err, &[]),
    };
    match review(ctx.authentication.as_deref(), &scope, &parts, request_body).await {
        Ok((object, warnings)) => {
            respond_object(&scope, &output, StatusCode::CREATED, object, &warnings)
        }
        Err(err) => negotiation::respond_error(&output, err, &[]),
    }
}

async fn review(
    authentication: Option<&Authentication>,
    scope: &Scope,
    parts: &Parts,
    request_body: Body,
) -> ApiResult<(Value, Vec<String>)> {
    let format = body::input_format(content_type(parts))?;
    let bytes = body::read_body(request_body).await?;
    let params = query::write_params(&scope.query, WriteKind::Create)?;
    let (object, warnings) = body::decode_with_validation(
        &bytes,
        format,
        &ExpectedType::of(&scope.info),
        params.field_validation,
    )?;
    Ok((answer(authentication, object).await?, warnings))
}

/// Fills in the `status` of a decoded TokenReview.
pub async fn answer(
    authentication: Option<&Authentication>,
    mut object: Value,
) -> ApiResult<Value> {
    let token = object
        .pointer("/spec/token")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if token.is_empty() {
        return Err(ApiError::bad_request(
            "token is required for TokenReview in authentication",
        ));
    }
    let mut status = Map::new();
    if let Some(authentication) = authentication {
        let requested: Vec<String> = object
            .pointer("/spec/audiences")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let audiences = if requested.is_empty() {
            authentication.api_audiences().to_vec()
        } else {
            requested
        };
        let outcome = authentication.review_token(&token, &audiences).await;
        if outcome.authenticated {
            status.insert("authenticated".into(), Value::Bool(true));
        }
        if let Some(error) = outcome.error {
            status.insert("error".into(), Value::String(error));
        }
        if let Some(user) = outcome.user {
            if !audiences.is_empty() && intersect(&audiences, &outcome.audiences).is_empty() {
                tracing::error!(want = ?audiences, got = ?outcome.audiences, "error validating audience");
                return Err(ApiError::internal("error validating audiences"));
            }
            status.insert(
                "user".into(),
                serde_json::to_value(user).map_err(ApiError::internal)?,
            );
            if !outcome.audiences.is_empty() {
                status.insert("audiences".into(), json!(outcome.audiences));
            }
        }
    }
    status.entry("user").or_insert_with(|| json!({}));
    if let Some(map) = object.as_object_mut() {
        let metadata = map.entry("metadata").or_insert_with(|| json!({}));
        if let Some(metadata) = metadata.as_object_mut() {
            metadata.insert("creationTimestamp".into(), Value::Null);
        }
        map.insert("status".into(), Value::Object(status));
    }
    Ok(object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filters::authn::service_account::{now_seconds, BoundObjects};
    use crate::filters::authn::test_support::{api_audiences, authentication, signing_key, ISSUER};
    use crate::registry::options::WriteOptions;
    use std::sync::Arc;

    fn review_of(token: &str, audiences: &[&str]) -> Value {
        json!({
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "spec": {"token": token, "audiences": audiences},
        })
    }

    #[tokio::test]
    async fn reviews_token_file_and_service_account_tokens() {
        let stores = Arc::new(crate::registry::test_support::builtin_stores(
            &crate::registry::test_support::memory_storage(),
            &[("", "v1", "serviceaccounts")],
        ));
        let created = stores
            .get("", "v1", "serviceaccounts")
            .expect("served")
            .create(
                Some("default"),
                json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "robot"}}),
                &WriteOptions::default(),
            )
            .await
            .expect("created");
        let uid = crate::filters::authn::service_account::uid_of(&created);
        let key = signing_key();
        let authn = authentication(key, Some("file-token,alice,uid-a,devs\n"), 0);
        authn.set_object_getter(stores.clone());

        // A token-file user: its groups plus system:authenticated, for the API audiences.
        let reviewed = answer(Some(&authn), review_of("file-token", &[]))
            .await
            .expect("answered");
        assert_eq!(
            reviewed["status"],
            json!({
                "authenticated": true,
                "user": {"username": "alice", "uid": "uid-a", "groups": ["devs", "system:authenticated"]},
                "audiences": [ISSUER],
            })
        );
        assert_eq!(reviewed["metadata"]["creationTimestamp"], Value::Null);
        assert_eq!(reviewed["spec"]["token"], "file-token");

        // A ServiceAccount token.
        let issued = authn
            .token_issuer()
            .expect("issuer")
            .issue(
                "default",
                "robot",
                &uid,
                &BoundObjects::default(),
                3600,
                &api_audiences(),
                now_seconds(),
            )
            .expect("issued");
        let reviewed = answer(Some(&authn), review_of(&issued.token, &[]))
            .await
            .expect("answered");
        assert_eq!(reviewed["status"]["authenticated"], true);
        assert_eq!(
            reviewed["status"]["user"],
            json!({
                "username": "system:serviceaccount:default:robot",
                "uid": uid,
                "groups": ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"],
                "extra": {"authentication.kubernetes.io/credential-id": [format!("JTI={}", issued.jti)]},
            })
        );

        // Reviewed for an audience it was not issued for.
        let reviewed = answer(Some(&authn), review_of(&issued.token, &["vault"]))
            .await
            .expect("answered");
        assert_eq!(
            reviewed["status"],
            json!({
                "user": {},
                "error": format!("[invalid bearer token, token audiences [\"{ISSUER}\"] is invalid for the target audiences [\"vault\"]]"),
            })
        );

        // An unknown token.
        let reviewed = answer(Some(&authn), review_of("nope", &[]))
            .await
            .expect("answered");
        assert_eq!(
            reviewed["status"],
            json!({"user": {}, "error": "invalid bearer token"})
        );
    }

    #[tokio::test]
    async fn empty_tokens_and_no_authenticators() {
        let err = answer(None, review_of("", &[])).await.expect_err("400");
        assert_eq!(err.code(), StatusCode::BAD_REQUEST);
        assert_eq!(
            err.status.message,
            "token is required for TokenReview in authentication"
        );
        let reviewed = answer(None, review_of("anything", &[])).await.expect("ok");
        assert_eq!(reviewed["status"], json!({"user": {}}));
    }
}
