//! ResourceQuota (`plugin/pkg/admission/resourcequota`): a create or update in a namespace with
//! quotas is refused when it would exceed one of them, and otherwise charged to their
//! `status.used` before it is stored. Charges are compare-and-swap writes of the quota's status
//! (the read resourceVersion), re-evaluated against the fresh quota on a conflict, so replicas
//! sharing one store never admit more than a quota allows. Dry runs are checked, not charged.
//!
//! The evaluators, the usage arithmetic and [`usage::calculate_status`] are shared with the
//! resource quota controller, which computes `status.used` from the objects themselves.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use super::{Call, Plugin, PluginContext};
use crate::admission::attributes::WriteRequest;
use crate::api::status::{ApiError, ApiResult, GroupResource};
use crate::config::ConfigError;
use crate::registry::admission::AdmissionOperation;
use crate::registry::metadata::meta_str;
use crate::registry::options::{ListOptions, WriteOptions};
use crate::registry::store::Store;

pub mod check;
pub mod evaluators;
pub mod index;
pub mod quantity;
pub mod scopes;
pub mod usage;

#[cfg(test)]
mod tests;

use check::check_request;
use evaluators::Evaluator;
use index::QuotaIndex;
use quantity::{list_to_json, ResourceList};

/// How many times a charge is re-evaluated after losing a race for a quota's status.
const CHARGE_ATTEMPTS: usize = 40;

/// The ResourceQuota plugin, over the ResourceQuotas store.
pub struct ResourceQuotaPlugin {
    quotas: Arc<Store>,
    index: Arc<QuotaIndex>,
}

/// Builds the plugin and starts the watch that keeps its index of namespaces with quotas.
pub fn build(context: &PluginContext<'_>) -> Result<Arc<dyn Plugin>, ConfigError> {
    let quotas = context
        .stores
        .by_resource("", "v1", "resourcequotas")
        .ok_or_else(|| ConfigError::new("admission", "ResourceQuota needs resourcequotas"))?;
    let index = Arc::new(QuotaIndex::default());
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(QuotaIndex::follow(Arc::downgrade(&index), quotas.clone()));
    }
    Ok(Arc::new(ResourceQuotaPlugin { quotas, index }))
}

/// Writes `hard` (when given) and `used` into the quota's status through `/status`, on the
/// condition that the quota is still at the resourceVersion it was read at (409 otherwise).
pub async fn write_status(
    store: &Store,
    quota: &Value,
    hard: Option<&ResourceList>,
    used: &ResourceList,
) -> ApiResult<Value> {
    let mut next = quota.clone();
    let Some(object) = next.as_object_mut() else {
        return Err(ApiError::internal("a ResourceQuota that is not an object"));
    };
    let status = object
        .entry("status")
        .or_insert_with(|| Value::Object(Default::default()));
    if !status.is_object() {
        *status = Value::Object(Default::default());
    }
    let status = status.as_object_mut().expect("an object");
    if let Some(hard) = hard {
        status.insert("hard".into(), list_to_json(hard));
    }
    status.insert("used".into(), list_to_json(used));
    let opts = WriteOptions {
        subresource: Some("status".into()),
        ..Default::default()
    };
    let namespace = meta_str(quota, "namespace").to_string();
    let name = meta_str(quota, "name").to_string();
    store
        .update(Some(&namespace), &name, next, &opts)
        .await
        .map(|(stored, _)| stored)
}

fn is_conflict(err: &ApiError) -> bool {
    err.status.code == 409
}

#[async_trait]
impl Plugin for ResourceQuotaPlugin {
    fn handles(&self, request: &WriteRequest) -> bool {
        request.namespaced
            && request.subresource.is_empty()
            && !request.namespace.is_empty()
            && self.index.has_quotas(&request.namespace)
    }

    async fn validate(
        &self,
        call: &Call<'_>,
        obj: Option<&Value>,
        old: Option<&Value>,
    ) -> ApiResult<()> {
        let attributes = call.attributes;
        let operation = attributes.operation;
        let Some(obj) = obj else {
            return Ok(());
        };
        if !matches!(
            operation,
            AdmissionOperation::Create | AdmissionOperation::Update
        ) || !attributes.subresource.is_empty()
            || attributes.namespace.is_empty()
        {
            return Ok(());
        }
        let resource = &attributes.resource;
        let evaluator = Evaluator::for_resource(&resource.group, &resource.resource);
        if evaluator.handles_create_only() && operation != AdmissionOperation::Create {
            return Ok(());
        }
        let old = match operation {
            AdmissionOperation::Update => old,
            _ => None,
        };
        let forbidden = |why: String| {
            let gr = GroupResource::new(resource.group.clone(), resource.resource.clone());
            ApiError::forbidden(&gr, &attributes.name, &why)
        };
        let namespace = attributes.namespace.as_str();
        let listed = self
            .quotas
            .list(Some(namespace), &ListOptions::default())
            .await?;
        let mut quotas = listed.items;
        for attempt in 0..CHARGE_ATTEMPTS {
            if quotas.is_empty() {
                return Ok(());
            }
            let charges = check_request(&evaluator, &quotas, obj, old, false).map_err(forbidden)?;
            if attributes.dry_run || charges.is_empty() {
                return Ok(());
            }
            let mut lost = Vec::new();
            for charge in charges {
                let quota = &quotas[charge.index];
                match write_status(&self.quotas, quota, None, &charge.used).await {
                    Ok(_) => {}
                    Err(err) if is_conflict(&err) => lost.push(meta_str(quota, "name").to_string()),
                    Err(err) if err.status.code == 404 => {}
                    Err(err) => return Err(err),
                }
            }
            if lost.is_empty() {
                return Ok(());
            }
            // Charges that went through stay; the quotas that moved are read again and the
            // write re-evaluated against them alone, after a short, spread-out pause.
            let pause = 2 + (attempt as u64 % 8) * 3 + u64::from(rand_jitter());
            tokio::time::sleep(Duration::from_millis(pause)).await;
            let mut fresh = Vec::new();
            for name in lost {
                match self.quotas.get(Some(namespace), &name).await {
                    Ok(quota) => fresh.push(quota),
                    Err(err) if err.status.code == 404 => {}
                    Err(err) => return Err(err),
                }
            }
            quotas = fresh;
        }
        let gr = GroupResource::new("", "resourcequotas");
        Err(ApiError::conflict(
            &gr,
            namespace,
            "too many concurrent updates of the namespace's quotas; please try again",
        ))
    }
}

/// A few milliseconds of jitter, so that racing writers do not retry in step.
fn rand_jitter() -> u8 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() as u64)
            .unwrap_or(0),
    );
    (hasher.finish() % 10) as u8
}
