//! The `scale` subresource: an `autoscaling/v1` Scale read from where a resource keeps its replica
//! counts and selector; a write of the Scale sets only the spec replicas of the object. Built-in
//! resources as upstream's `ScaleREST`s (Deployments, ReplicaSets, StatefulSets,
//! ReplicationControllers), custom resources as `apiextensions-apiserver`'s, from the paths the
//! CRD version names (`specReplicasPath`, `statusReplicasPath`, `labelSelectorPath`).

use std::sync::Arc;

use axum::extract::Request;
use axum::response::Response;
use http::{header, Method, StatusCode};
use serde_json::{json, Value};

use crate::admission::attributes::GroupVersionKind;
use crate::admission::attributes::SubresourceView;
use crate::api::status::{ApiError, ApiResult, StatusCause};
use crate::registry::scale::{set_at, to_scale, ScalePaths};
use crate::registry::store::Store;
use crate::servers::core::body;
use crate::servers::core::handlers::admission::{admission_for, options_object, AdmissionTarget};
use crate::servers::core::negotiation::{self, Output};
use crate::servers::core::query::{self, QueryParams, WriteKind};
use crate::servers::core::routes::ParsedPath;
use crate::servers::core::CoreContext;

/// Upstream's `ValidateScale`: replicas not negative.
fn validate_scale(scale: &Value, name: &str) -> ApiResult<i64> {
    let replicas = scale
        .pointer("/spec/replicas")
        .map_or(Some(0), Value::as_i64)
        .ok_or_else(|| ApiError::bad_request("Scale in version \"v1\" cannot be handled as a Scale: spec.replicas must be an integer"))?;
    if replicas < 0 {
        return Err(ApiError::invalid(
            "autoscaling",
            "Scale",
            name,
            vec![StatusCause {
                reason: "FieldValueInvalid".into(),
                message: format!("Invalid value: {replicas}: must be greater than or equal to 0"),
                field: "spec.replicas".into(),
            }],
        ));
    }
    Ok(replicas)
}

/// Applies a PATCH body of `content_type` to the current Scale.
fn patch_scale(current: &Value, content_type: &str, patch: &[u8]) -> ApiResult<Value> {
    let media = content_type.split(';').next().unwrap_or("").trim();
    let mut scale = current.clone();
    match media {
        "application/merge-patch+json" | "application/strategic-merge-patch+json" => {
            let patch: Value = serde_json::from_slice(patch)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            json_patch::merge(&mut scale, &patch);
        }
        "application/json-patch+json" => {
            let patch: json_patch::Patch = serde_json::from_slice(patch)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            json_patch::patch(&mut scale, &patch).map_err(|e| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Invalid",
                    format!("the server rejected our request due to an error in our request: {e}"),
                    None,
                )
            })?;
        }
        other => {
            return Err(ApiError::unsupported_media_type(
                other,
                &[
                    "application/json-patch+json",
                    "application/merge-patch+json",
                    "application/strategic-merge-patch+json",
                ],
            ));
        }
    }
    Ok(scale)
}

/// Answers GET, PUT and PATCH of `<resource>/<name>/scale`.
pub async fn serve(
    rest: &Arc<CoreContext>,
    paths: &ScalePaths,
    path: ParsedPath,
    request: Request,
) -> Response {
    let accept = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let output = match negotiation::negotiate(accept.as_deref(), false, false) {
        Ok(output) => output,
        Err(err) => return negotiation::respond_error(&Output::default(), err, &[]),
    };
    let mut warnings = Vec::new();
    match answer(rest, paths, &path, request, &mut warnings).await {
        Ok(scale) => negotiation::respond(&output, StatusCode::OK, &scale, &warnings),
        Err(err) => negotiation::respond_error(&output, err, &warnings),
    }
}

/// How an object looks as its Scale to admission, and how a mutated Scale carries back.
struct ScaleView(ScalePaths);

impl SubresourceView for ScaleView {
    fn to_view(&self, obj: &Value) -> Value {
        to_scale(obj, &self.0)
    }

    fn carry_back(&self, view: &Value, obj: &mut Value) -> ApiResult<()> {
        let name = obj
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let replicas = validate_scale(view, &name)?;
        set_at(obj, &self.0.spec_replicas, json!(replicas));
        Ok(())
    }
}

async fn answer(
    rest: &Arc<CoreContext>,
    paths: &ScalePaths,
    path: &ParsedPath,
    request: Request,
    warnings: &mut Vec<String>,
) -> ApiResult<Value> {
    let store: Arc<Store> = rest
        .stores
        .get(&path.group, &path.version, &path.resource)
        .cloned()
        .ok_or_else(ApiError::path_not_found)?;
    let info = store.info();
    let (Some(name), true) = (&path.name, path.namespace.is_some() == info.namespaced) else {
        return Err(ApiError::path_not_found());
    };
    let namespace = path.namespace.as_deref();
    let method = request.method().clone();
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    match method {
        Method::GET => Ok(to_scale(&store.get(namespace, name).await?, paths)),
        Method::PUT | Method::PATCH => {
            let kind = if method == Method::PUT {
                WriteKind::Update
            } else {
                WriteKind::Patch
            };
            let query = QueryParams::parse(request.uri().query());
            let mut write = query::write_params(&query, kind)?.write;
            // Upstream records a scale write as an Update of the `scale` subresource by the
            // request's manager; the store itself records nothing for it.
            let user_agent = request
                .headers()
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok());
            let manager = crate::registry::fieldmanager::manager_or_user_agent(
                &write.field_manager,
                user_agent,
            );
            write.field_manager = String::new();
            // A patch is admitted as an update (upstream's patchToUpdateOptions).
            let options = options_object("UpdateOptions", &write, &[]);
            let view: Arc<dyn SubresourceView> = Arc::new(ScaleView(paths.clone()));
            let scale_kind = GroupVersionKind {
                group: "autoscaling".into(),
                version: "v1".into(),
                kind: "Scale".into(),
            };
            let target = AdmissionTarget {
                info,
                subresource: Some("scale"),
                namespace,
                name: Some(name),
            };
            let extensions = request.extensions().clone();
            let admission = admission_for(
                rest.admission.as_ref(),
                target,
                &extensions,
                &mut write,
                options,
                Some((scale_kind, view)),
            );
            let bytes = body::read_body(request.into_body()).await?;
            let name = name.clone();
            let updated = store
                .guaranteed_update(namespace, &name, &write, |current| {
                    let scale = if method == Method::PUT {
                        serde_json::from_slice::<Value>(&bytes).map_err(|e| {
                            ApiError::bad_request(format!(
                                "Scale in version \"v1\" cannot be handled as a Scale: {e}"
                            ))
                        })?
                    } else {
                        patch_scale(&to_scale(current, paths), &content_type, &bytes)?
                    };
                    let replicas = validate_scale(&scale, &name)?;
                    let mut next = current.clone();
                    set_at(&mut next, &paths.spec_replicas, json!(replicas));
                    // A resourceVersion in the Scale is a precondition on the custom resource.
                    if let Some(rv) = scale
                        .pointer("/metadata/resourceVersion")
                        .and_then(Value::as_str)
                        .filter(|rv| !rv.is_empty())
                    {
                        next["metadata"]["resourceVersion"] = Value::from(rv);
                    }
                    if !manager.is_empty() {
                        crate::registry::fieldmanager::track_update(
                            info,
                            Some(current),
                            &mut next,
                            &manager,
                            Some("scale"),
                        );
                    }
                    Ok(next)
                })
                .await;
            admission.finish_with(&extensions, warnings);
            Ok(to_scale(&updated?, paths))
        }
        other => Err(ApiError::method_not_supported(
            &info.group_resource(),
            &other.as_str().to_ascii_lowercase(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::scale::ScaleSelector;

    fn paths() -> ScalePaths {
        ScalePaths {
            spec_replicas: ".spec.replicas".into(),
            status_replicas: ".status.replicas".into(),
            selector: ScaleSelector::Text(".status.labelSelector".into()),
        }
    }

    #[test]
    fn scale_reads_the_named_paths() {
        let cr = json!({"metadata": {"name": "a", "namespace": "ns", "uid": "u",
            "resourceVersion": "7", "labels": {"x": "y"}},
            "spec": {"replicas": 3}, "status": {"replicas": 2, "labelSelector": "app=a"}});
        let scale = to_scale(&cr, &paths());
        assert_eq!(
            scale,
            json!({"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {"name": "a", "namespace": "ns", "uid": "u", "resourceVersion": "7"},
                "spec": {"replicas": 3}, "status": {"replicas": 2, "selector": "app=a"}})
        );
    }

    #[test]
    fn builtin_scales_format_their_selectors() {
        let deployment = json!({"metadata": {"name": "web"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"},
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]}]}},
            "status": {"replicas": 1}});
        let scale = to_scale(&deployment, &ScalePaths::workload());
        assert_eq!(
            scale["status"],
            json!({"replicas": 1, "selector": "app=web,tier in (a,b)"})
        );
        let rc = json!({"metadata": {"name": "rc"}, "spec": {"selector": {"b": "2", "a": "1"}}});
        let scale = to_scale(&rc, &ScalePaths::replication_controller());
        assert_eq!(
            scale["status"],
            json!({"replicas": 0, "selector": "a=1,b=2"})
        );
    }

    #[test]
    fn writes_set_only_the_spec_path_and_refuse_negative_replicas() {
        let mut cr = json!({"metadata": {"name": "a"}});
        set_at(&mut cr, ".spec.replicas", json!(5));
        assert_eq!(cr["spec"]["replicas"], 5);
        let patched = patch_scale(
            &to_scale(&cr, &paths()),
            "application/merge-patch+json",
            br#"{"spec":{"replicas":-1}}"#,
        )
        .unwrap();
        let err = validate_scale(&patched, "a").unwrap_err();
        assert_eq!(err.code(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(err
            .status
            .message
            .contains("spec.replicas: Invalid value: -1"));
    }
}
