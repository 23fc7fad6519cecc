//! Local APIServices, as upstream's `pkg/controllers/autoregister` and kube-apiserver's
//! `apiServicesToRegister`: one APIService `<version>.<group>` (`v1.` for the core group) per
//! group/version the servers behind the aggregator serve, with no service, so
//! `kubectl get apiservices` lists them as `Local`.
//!
//! Those of the built-in catalogue (and the aggregator's own group) are registered at start with
//! the label `kube-aggregator.kubernetes.io/automanaged: onstart`; CRD group/versions are
//! registered and removed at run time with `automanaged: "true"`
//! ([`ensure_local_api_service`], [`remove_local_api_service`]).

use serde_json::{json, Value};

use super::{Aggregator, APIREGISTRATION_PRIORITY};
use crate::api::status::ApiResult;
use crate::catalog::{
    api_service_priority, ApiServicePriority, Catalog, APIREGISTRATION_GROUP, DEFAULT_PRIORITY,
};
use crate::registry::options::{DeleteOptions, WriteOptions};

/// The label of APIServices the aggregator manages itself.
pub const AUTOMANAGED_LABEL: &str = "kube-aggregator.kubernetes.io/automanaged";

/// Who keeps a local APIService: registered once at start, or kept in sync at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Automanaged {
    /// `onstart`: the built-in group/versions.
    OnStart,
    /// `true`: group/versions that come and go (CRDs).
    Sync,
}

impl Automanaged {
    /// The value of [`AUTOMANAGED_LABEL`].
    pub fn label_value(self) -> &'static str {
        match self {
            Self::OnStart => "onstart",
            Self::Sync => "true",
        }
    }
}

/// The name of the APIService of `group`/`version`: `<version>.<group>` (`v1.` for core).
pub fn api_service_name(group: &str, version: &str) -> String {
    format!("{version}.{group}")
}

/// The local APIService object of `group`/`version`.
pub fn local_api_service(
    group: &str,
    version: &str,
    priority: ApiServicePriority,
    managed: Automanaged,
) -> Value {
    json!({
        "apiVersion": "apiregistration.k8s.io/v1",
        "kind": "APIService",
        "metadata": {
            "name": api_service_name(group, version),
            "labels": {AUTOMANAGED_LABEL: managed.label_value()},
        },
        "spec": {
            "group": group,
            "version": version,
            "groupPriorityMinimum": priority.group,
            "versionPriority": priority.version,
        },
    })
}

/// Creates the local APIService of `group`/`version`, or brings an existing one's spec and
/// label back to what [`local_api_service`] says. The aggregator's next availability pass marks
/// it `Available=True` (`Local`).
///
/// The apiextensions server MUST call it (with [`Automanaged::Sync`]) when a CRD starts serving
/// a group/version, with the priority upstream gives CRD groups (see
/// [`CRD_PRIORITY`]).
pub async fn ensure_local_api_service(
    aggregator: &Aggregator,
    group: &str,
    version: &str,
    priority: ApiServicePriority,
    managed: Automanaged,
) -> ApiResult<()> {
    let wanted = local_api_service(group, version, priority, managed);
    let name = api_service_name(group, version);
    let store = &aggregator.api_services;
    match store
        .create(None, wanted.clone(), &WriteOptions::default())
        .await
    {
        Ok(_) => return Ok(()),
        Err(err) if err.status.code == 409 => {}
        Err(err) => return Err(err),
    }
    store
        .guaranteed_update(None, &name, &WriteOptions::default(), |current| {
            let mut next = current.clone();
            next["spec"] = wanted["spec"].clone();
            next["metadata"]["labels"][AUTOMANAGED_LABEL] =
                Value::String(managed.label_value().into());
            Ok(next)
        })
        .await
        .map(|_| ())
}

/// Deletes the local APIService of `group`/`version` when the aggregator manages it (it has
/// [`AUTOMANAGED_LABEL`]); APIServices created by users are left alone. Missing is fine.
///
/// The apiextensions server MUST call it when no CRD serves the group/version any more.
pub async fn remove_local_api_service(
    aggregator: &Aggregator,
    group: &str,
    version: &str,
) -> ApiResult<()> {
    let name = api_service_name(group, version);
    let store = &aggregator.api_services;
    let current = match store.get(None, &name).await {
        Ok(current) => current,
        Err(err) if err.status.code == 404 => return Ok(()),
        Err(err) => return Err(err),
    };
    let managed = current
        .pointer("/metadata/labels")
        .and_then(|labels| labels.get(AUTOMANAGED_LABEL))
        .is_some();
    if !managed
        || current
            .pointer("/spec/service")
            .is_some_and(|s| !s.is_null())
    {
        return Ok(());
    }
    match store
        .delete(
            None,
            &name,
            &DeleteOptions::default(),
            &WriteOptions::default(),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(err) if err.status.code == 404 => Ok(()),
        Err(err) => Err(err),
    }
}

/// The priority upstream's CRD registration controller (`crdregistration_controller.go`) gives
/// every CRD group/version: group 1000, version 100 (versions then sort kube-like).
pub const CRD_PRIORITY: ApiServicePriority = ApiServicePriority {
    group: 1000,
    version: 100,
};

/// Registers the local APIServices of every group/version of `catalog` and of
/// `apiregistration.k8s.io/v1` (label `onstart`).
pub async fn ensure_builtin(aggregator: &Aggregator, catalog: &'static Catalog) -> ApiResult<()> {
    ensure_local_api_service(
        aggregator,
        APIREGISTRATION_GROUP,
        "v1",
        APIREGISTRATION_PRIORITY,
        Automanaged::OnStart,
    )
    .await?;
    for group in catalog.groups() {
        for version in &group.versions {
            let priority = api_service_priority(&group.name, version).unwrap_or(DEFAULT_PRIORITY);
            ensure_local_api_service(
                aggregator,
                &group.name,
                version,
                priority,
                Automanaged::OnStart,
            )
            .await?;
        }
    }
    Ok(())
}
