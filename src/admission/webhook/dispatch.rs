//! Calling the matched webhooks of a request (upstream's `mutating/dispatcher.go` and
//! `validating/dispatcher.go`): mutating webhooks one after the other on the changing object,
//! then once more for those with `reinvocationPolicy: IfNeeded` that a later webhook's change
//! concerns; validating webhooks all at once. Each call is settled under its `failurePolicy`,
//! counted in the webhook metrics and logged at debug level.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;

use super::matching::{self, Invocation};
use super::review::{self, Response};
use super::Webhook;
use crate::admission::attributes::{Attributes, Record};
use crate::admission::chain::Services;
use crate::api::status::{ApiError, ApiResult};

/// Audit annotation prefixes of upstream's dispatchers.
const MUTATION_PREFIX: &str = "mutation.webhook.admission.k8s.io/";
const PATCH_PREFIX: &str = "patch.webhook.admission.k8s.io/";
const MUTATING_FAILED_OPEN_PREFIX: &str = "failed-open.mutation.webhook.admission.k8s.io/";
const VALIDATING_FAILED_OPEN_PREFIX: &str = "failed-open.validating.webhook.admission.k8s.io/";

/// Why a call did not end well, before `failurePolicy` is applied.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Calling the webhook failed (upstream's `ErrCallingWebhook`): fails open under `Ignore`.
    /// `code` is the HTTP code the metrics count.
    Calling { message: String, code: u16 },
    /// The webhook denied the request.
    Rejected(ApiError),
    /// Anything else (dry run refused, patch not applicable), returned as is.
    Other(ApiError),
}

fn calling(message: String, code: u16) -> Failure {
    Failure::Calling { message, code }
}

/// A matched webhook, ready to be called: what it is sent, in the version it matched.
pub(crate) struct Prepared {
    pub invocation: Invocation,
    pub object: Option<Value>,
    pub uid: String,
    /// The AdmissionReview version, or why none fits.
    pub version: Result<&'static str, String>,
    /// The AdmissionReview's `request`.
    pub request: Value,
}

/// Whether `hook` is called for the request: `None` when it does not match, the prepared call
/// otherwise; an error refuses the request (a missing namespace, a match condition failing
/// under `failurePolicy: Fail`, a failed conversion).
pub(crate) async fn prepare(
    hook: &Webhook,
    services: &Services,
    attributes: &Attributes,
    obj: Option<&Value>,
    old: Option<&Value>,
) -> ApiResult<Option<Prepared>> {
    let Some(invocation) = matching::invocation(hook, services, attributes, obj, old).await? else {
        return Ok(None);
    };
    let (object, old) = match &invocation.conversion {
        None => (obj.cloned(), old.cloned()),
        Some((from, to)) => {
            let object = match obj {
                Some(o) => Some(to.convert_from(from, o.clone()).await?),
                None => None,
            };
            let old = match old {
                Some(o) => Some(to.convert_from(from, o.clone()).await?),
                None => None,
            };
            (object, old)
        }
    };
    let uid = uuid::Uuid::new_v4().to_string();
    let request =
        review::admission_request(&uid, attributes, &invocation, object.as_ref(), old.as_ref());
    let mut bare = request.clone();
    if let Some(map) = bare.as_object_mut() {
        map.remove("object");
        map.remove("oldObject");
    }
    if !matching::conditions_match(hook, attributes, object.as_ref(), old.as_ref(), &bare)? {
        return Ok(None);
    }
    Ok(Some(Prepared {
        invocation,
        object,
        uid,
        version: review::review_version(&hook.review_versions),
        request,
    }))
}

/// Sends the review and checks the answer; records its warnings and audit annotations (as
/// `<webhook name>/<key>`). A denial is [`Failure::Rejected`].
pub(crate) async fn exchange(
    hook: &Webhook,
    services: &Services,
    attributes: &Attributes,
    record: &Record,
    prepared: &Prepared,
) -> Result<Response, Failure> {
    if attributes.dry_run && !matches!(hook.side_effects.as_str(), "None" | "NoneOnDryRun") {
        return Err(Failure::Other(review::dry_run_unsupported(&hook.name)));
    }
    let version = prepared
        .version
        .clone()
        .map_err(|why| calling(format!("could not create admission objects: {why}"), 400))?;
    let Some(target) = &hook.target else {
        let why = "could not get REST client: clientConfig names neither a url nor a service";
        return Err(calling(why.to_string(), 500));
    };
    let body = review::review(version, prepared.request.clone());
    let client = if hook.mutating {
        &services.mutating_webhooks
    } else {
        &services.webhooks
    };
    let (_, answer) = client
        .post(target, hook.ca_bundle.as_deref(), &body, hook.timeout, true)
        .await
        .map_err(|failure| {
            let code = if failure.status == 0 {
                503
            } else {
                failure.status
            };
            calling(format!("failed to call webhook: {}", failure.message), code)
        })?;
    let response = review::verify(&prepared.uid, version, hook.mutating, &answer)
        .map_err(|why| calling(format!("received invalid webhook response: {why}"), 503))?;
    for (key, value) in &response.audit_annotations {
        record.annotate(format!("{}/{key}", hook.name), value.clone());
    }
    for warning in &response.warnings {
        record.warn(warning.clone());
    }
    if !response.allowed {
        return Err(Failure::Rejected(review::denial(
            &hook.name,
            response.result.as_ref(),
        )));
    }
    Ok(response)
}

/// Settles a call's outcome under the webhook's `failurePolicy`, counting it in the metrics:
/// `Ok(Some)` when it succeeded, `Ok(None)` when it failed open (recording `failed_open_key`),
/// the request's error otherwise (`failed calling webhook "<name>": ...` as a 500 when calling
/// failed).
pub(crate) fn settle<T>(
    hook: &Webhook,
    services: &Services,
    attributes: &Attributes,
    record: &Record,
    started: Instant,
    outcome: Result<T, Failure>,
    failed_open_key: String,
) -> ApiResult<Option<T>> {
    let metrics = &services.metrics;
    let operation = attributes.operation.as_str();
    let took = started.elapsed();
    let (name, mutating) = (hook.name.as_str(), hook.mutating);
    match outcome {
        Ok(value) => {
            tracing::debug!(
                webhook = name,
                ?took,
                outcome = "allowed",
                "admission webhook called"
            );
            metrics.observe_webhook(name, mutating, operation, false, 200, took);
            Ok(Some(value))
        }
        Err(Failure::Calling { message, code }) => {
            let error = format!("failed calling webhook {name:?}: {message}");
            tracing::debug!(webhook = name, ?took, outcome = %error, "admission webhook called");
            if hook.fail_open {
                tracing::warn!("Failed calling webhook, failing open {name}: {error}");
                metrics.observe_webhook(name, mutating, operation, false, code, took);
                record.annotate(failed_open_key, name);
                return Ok(None);
            }
            tracing::warn!("Failed calling webhook, failing closed {name}: {error}");
            metrics.observe_webhook(name, mutating, operation, true, code, took);
            metrics.webhook_rejection(name, mutating, operation, "calling_webhook_error", code);
            Err(ApiError::internal(error))
        }
        Err(Failure::Rejected(error)) => {
            let code = error.status.code;
            tracing::debug!(
                webhook = name,
                ?took,
                outcome = "denied",
                "admission webhook called"
            );
            metrics.observe_webhook(name, mutating, operation, true, code, took);
            metrics.webhook_rejection(name, mutating, operation, "no_error", code);
            Err(error)
        }
        Err(Failure::Other(error)) => {
            tracing::debug!(webhook = name, ?took, outcome = %error, "admission webhook called");
            metrics.observe_webhook(name, mutating, operation, true, 0, took);
            metrics.webhook_rejection(name, mutating, operation, "apiserver_internal_error", 0);
            Err(error)
        }
    }
}

/// The JSON text of a string.
fn quoted(text: &str) -> String {
    Value::String(text.to_string()).to_string()
}

/// A JSON patch applied: the patched object, whether it changed, the patch as JSON.
pub(crate) struct Patched {
    pub object: Value,
    pub changed: bool,
    pub patch: Value,
}

/// Applies the patch of a mutating webhook's answer to `object` (the object in the webhook's
/// version): `None` when there is no patch or it is empty. An undecodable patch or another type
/// than `JSONPatch` is a calling failure, a patch for a request without an object or one that
/// does not apply an internal error, as upstream's.
pub(crate) fn apply_patch(
    hook: &Webhook,
    response: &Response,
    object: Option<&Value>,
) -> Result<Option<Patched>, Failure> {
    let Some((bytes, patch_type)) = &response.patch else {
        return Ok(None);
    };
    let undecodable =
        |e: serde_json::Error| format!("received undecodable patch in webhook response: {e}");
    let patch: json_patch::Patch =
        serde_json::from_slice(bytes).map_err(|e| calling(undecodable(e), 503))?;
    if patch.0.is_empty() {
        return Ok(None);
    }
    let Some(object) = object else {
        return Err(Failure::Other(ApiError::internal(format!(
            "admission webhook {:?} attempted to modify the object, which is not supported for this operation",
            hook.name
        ))));
    };
    if patch_type != "JSONPatch" {
        let code = review::denial(&hook.name, response.result.as_ref())
            .status
            .code;
        return Err(calling(
            format!("unsupported patch type {patch_type:?}"),
            code,
        ));
    }
    let mut patched = object.clone();
    json_patch::patch(&mut patched, &patch.0).map_err(|e| Failure::Other(ApiError::internal(e)))?;
    Ok(Some(Patched {
        changed: patched != *object,
        object: patched,
        patch: serde_json::from_slice(bytes).unwrap_or(Value::Null),
    }))
}

/// One mutating call: the exchange, then the answer's JSON patch applied to the object in the
/// webhook's version and the result carried back into `obj`. Answers whether the object changed.
async fn call_mutating(
    hook: &Webhook,
    services: &Services,
    attributes: &Attributes,
    record: &Record,
    prepared: Prepared,
    obj: &mut Value,
    annotation: &str,
) -> Result<bool, Failure> {
    let response = exchange(hook, services, attributes, record, &prepared).await?;
    let Some(patched) = apply_patch(hook, &response, prepared.object.as_ref())? else {
        return Ok(false);
    };
    record.annotate(
        format!("{PATCH_PREFIX}{annotation}"),
        format!(
            "{{\"configuration\":{},\"webhook\":{},\"patch\":{},\"patchType\":\"JSONPatch\"}}",
            quoted(&hook.configuration),
            quoted(&hook.name),
            patched.patch
        ),
    );
    // Upstream decodes the patched JSON into the kind's type in the webhook's version, which
    // drops unknown fields and applies defaults, then converts it back.
    *obj = match &prepared.invocation.conversion {
        Some((from, to)) => {
            let decoded = to.decode_patched(patched.object).map_err(Failure::Other)?;
            from.convert_from(to, decoded)
                .await
                .map_err(Failure::Other)?
        }
        None => {
            let kind = &attributes.kind;
            match services
                .stores
                .by_kind(&kind.group, &kind.version, &kind.kind)
            {
                Some(store) => store
                    .decode_patched(patched.object)
                    .map_err(Failure::Other)?,
                None => patched.object,
            }
        }
    };
    Ok(patched.changed)
}

/// Which IfNeeded webhooks to call again (upstream's `webhookReinvokeContext`), by index.
#[derive(Debug, Default)]
pub(crate) struct Reinvocation {
    /// IfNeeded webhooks called since the last change.
    since_change: HashSet<usize>,
    /// Webhooks a later change concerns.
    reinvoke: HashSet<usize>,
    /// Whether any webhook changed the object in the first round.
    requested: bool,
}

impl Reinvocation {
    /// Whether webhook `index` is called in `round` (the second round calls only those a later
    /// change concerns).
    pub(crate) fn calls(&self, round: usize, index: usize) -> bool {
        round == 0 || self.reinvoke.contains(&index)
    }

    /// Notes a call of webhook `index` in `round`: a change concerns the IfNeeded webhooks
    /// called before it since the last change.
    pub(crate) fn called(&mut self, round: usize, index: usize, changed: bool, if_needed: bool) {
        if changed {
            let earlier: Vec<usize> = self.since_change.drain().collect();
            self.reinvoke.extend(earlier);
            self.requested |= round == 0;
        }
        if if_needed {
            self.since_change.insert(index);
        }
    }
}

/// Runs the mutating webhooks `hooks` (in order) on `obj`, which they MAY change, reinvoking
/// those with `reinvocationPolicy: IfNeeded` once when a later one changed the object. MUST
/// answer upstream's Status when a webhook refuses the request or a call fails closed; records
/// warnings and audit annotations in `record`.
pub async fn mutate(
    hooks: &[Arc<Webhook>],
    services: &Services,
    attributes: &Attributes,
    record: &Record,
    obj: &mut Value,
    old: Option<&Value>,
) -> ApiResult<()> {
    if matching::is_exempt(attributes) {
        return Ok(());
    }
    let mut state = Reinvocation::default();
    for round in 0..2 {
        if round == 1 && !state.requested {
            break;
        }
        for (index, hook) in hooks.iter().enumerate() {
            let Some(prepared) = prepare(hook, services, attributes, Some(obj), old).await? else {
                continue;
            };
            if !state.calls(round, index) {
                continue;
            }
            let annotation = format!("round_{round}_index_{index}");
            let started = Instant::now();
            let outcome = call_mutating(
                hook,
                services,
                attributes,
                record,
                prepared,
                obj,
                &annotation,
            )
            .await;
            let changed = matches!(outcome, Ok(true));
            record.annotate(
                format!("{MUTATION_PREFIX}{annotation}"),
                format!(
                    "{{\"configuration\":{},\"webhook\":{},\"mutated\":{changed}}}",
                    quoted(&hook.configuration),
                    quoted(&hook.name)
                ),
            );
            state.called(round, index, changed, hook.reinvoke_if_needed);
            let failed_open = format!("{MUTATING_FAILED_OPEN_PREFIX}{annotation}");
            settle(
                hook,
                services,
                attributes,
                record,
                started,
                outcome,
                failed_open,
            )?;
        }
    }
    Ok(())
}

/// Runs the validating webhooks `hooks` in parallel; the first error (in `hooks` order) refuses
/// the request. Never changes anything; records warnings and audit annotations in `record`.
pub async fn validate(
    hooks: &[Arc<Webhook>],
    services: &Services,
    attributes: &Attributes,
    record: &Record,
    obj: Option<&Value>,
    old: Option<&Value>,
) -> ApiResult<()> {
    if matching::is_exempt(attributes) {
        return Ok(());
    }
    let mut calls = Vec::new();
    for (index, hook) in hooks.iter().enumerate() {
        if let Some(prepared) = prepare(hook, services, attributes, obj, old).await? {
            calls.push(async move {
                let started = Instant::now();
                let outcome = exchange(hook, services, attributes, record, &prepared).await;
                let failed_open = format!("{VALIDATING_FAILED_OPEN_PREFIX}round_0_index_{index}");
                settle(
                    hook,
                    services,
                    attributes,
                    record,
                    started,
                    outcome,
                    failed_open,
                )
                .map(drop)
            });
        }
    }
    let results = futures::future::join_all(calls).await;
    results
        .into_iter()
        .collect::<ApiResult<Vec<()>>>()
        .map(drop)
}
