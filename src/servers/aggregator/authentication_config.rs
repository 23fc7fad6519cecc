//! kube-system's `extension-apiserver-authentication` ConfigMap, as kube-apiserver's
//! `pkg/controlplane/controller/clusterauthenticationtrust` publishes it: extension API servers
//! read it to trust the aggregator's client certificate and request headers.

use serde_json::{json, Map, Value};

use super::proxy::{REMOTE_EXTRA_HEADER_PREFIX, REMOTE_GROUP_HEADER, REMOTE_USER_HEADER};
use super::Aggregator;
use crate::api::status::ApiResult;
use crate::pki::FRONT_PROXY_CLIENT_NAME;
use crate::registry::options::WriteOptions;

/// The ConfigMap's namespace and name.
pub const NAMESPACE: &str = "kube-system";
pub const NAME: &str = "extension-apiserver-authentication";

/// The `data` of the ConfigMap: the cluster CA as `client-ca-file` (when known), the
/// front-proxy CA as `requestheader-client-ca-file`, and the header names and allowed client
/// names as JSON arrays, as upstream writes them.
pub fn config_data(front_proxy_ca_pem: &str, client_ca_pem: Option<&str>) -> Map<String, Value> {
    let list = |item: &str| Value::String(json!([item]).to_string());
    let mut data = Map::new();
    if let Some(ca) = client_ca_pem {
        data.insert("client-ca-file".into(), Value::String(ca.to_string()));
    }
    data.insert(
        "requestheader-allowed-names".into(),
        list(FRONT_PROXY_CLIENT_NAME),
    );
    data.insert(
        "requestheader-client-ca-file".into(),
        Value::String(front_proxy_ca_pem.to_string()),
    );
    data.insert(
        "requestheader-extra-headers-prefix".into(),
        list(REMOTE_EXTRA_HEADER_PREFIX),
    );
    data.insert(
        "requestheader-group-headers".into(),
        list(REMOTE_GROUP_HEADER),
    );
    data.insert(
        "requestheader-username-headers".into(),
        list(REMOTE_USER_HEADER),
    );
    data
}

/// Creates the ConfigMap, or replaces its `data` when it differs. The kube-system namespace MUST
/// exist.
pub async fn publish(aggregator: &Aggregator) -> ApiResult<()> {
    let data = Value::Object(config_data(
        &aggregator.front_proxy_ca_pem,
        aggregator.client_ca_pem.as_deref(),
    ));
    let store = &aggregator.configmaps;
    let object = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": NAME, "namespace": NAMESPACE},
        "data": data,
    });
    match store
        .create(Some(NAMESPACE), object, &WriteOptions::default())
        .await
    {
        Ok(_) => return Ok(()),
        Err(err) if err.status.code == 409 => {}
        Err(err) => return Err(err),
    }
    store
        .guaranteed_update(Some(NAMESPACE), NAME, &WriteOptions::default(), |current| {
            let mut next = current.clone();
            next["data"] = data.clone();
            Ok(next)
        })
        .await
        .map(|_| ())
}
