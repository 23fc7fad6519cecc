//! Access control, built once from configuration and shared by the filter chain and the servers:
//! who a request is (authentication), what they may do (authorization) and what is recorded
//! (audit).
//!
//! Building it reads the files the settings name (`auth.token_file`, `audit.policy_file`, the
//! ServiceAccount signing key under `server.data_dir`); a bad file is a [`ConfigError`] naming the
//! setting, so start-up exits with status 2. Parts that need the stores (RBAC's roles and
//! bindings, the ServiceAccounts tokens belong to) are connected by [`AccessControl::attach`] once
//! the stores exist.

use std::sync::Arc;

use crate::config::{AuthorizationMode, Config, ConfigError};
use crate::filters::audit::Auditor;
use crate::filters::authn::Authentication;
use crate::rbac::RbacAuthorizer;
use crate::registry::stores::ResourceStores;
use crate::request::authorization::{AlwaysAllow, AlwaysDeny, Authorization, Authorizer};

/// The shared access-control state.
#[derive(Debug, Clone)]
pub struct AccessControl {
    /// Client certificates, the token file, ServiceAccount tokens; anonymous when configured.
    pub authentication: Arc<Authentication>,
    /// The authorizers of `auth.authorization_modes`, in order.
    pub authorization: Arc<Authorization>,
    /// RBAC's view of roles and bindings. It runs whatever the modes are: writes of RBAC objects
    /// are guarded by its escalation checks, as upstream guards them always.
    pub rbac: Arc<RbacAuthorizer>,
    /// The audit policy and log; `None` when auditing is off.
    pub auditor: Option<Arc<Auditor>>,
}

impl AccessControl {
    /// Reads the settings and the files they name.
    pub fn from_config(config: &Config) -> Result<Self, ConfigError> {
        let authentication = Arc::new(Authentication::from_config(config)?);
        let rbac = Arc::new(RbacAuthorizer::new());
        let authorizers = config
            .auth
            .authorization_modes
            .iter()
            .map(|mode| -> Arc<dyn Authorizer> {
                match mode {
                    AuthorizationMode::Rbac => rbac.clone(),
                    AuthorizationMode::AlwaysAllow => Arc::new(AlwaysAllow),
                    AuthorizationMode::AlwaysDeny => Arc::new(AlwaysDeny),
                }
            })
            .collect();
        let auditor = Auditor::from_config(&config.audit)?;
        Ok(Self {
            authentication,
            authorization: Arc::new(Authorization::new(authorizers)),
            rbac,
            auditor,
        })
    }

    /// Connects the parts that read objects to the stores: RBAC starts following roles and
    /// bindings, ServiceAccount tokens are checked against their ServiceAccounts. Returns once
    /// RBAC has read every role and binding, so nothing is decided on a partial view.
    pub async fn attach(&self, stores: &Arc<ResourceStores>) -> anyhow::Result<()> {
        self.rbac
            .start(stores)
            .map_err(|err| anyhow::anyhow!("starting the RBAC authorizer: {err}"))?;
        self.authentication.set_object_getter(stores.clone());
        self.rbac.wait_synced().await;
        Ok(())
    }
}
