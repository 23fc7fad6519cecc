//! Start-up: certificates, storage, servers, filter chain, listener — in that order of checks.
//!
//! [`run`] is what `apiary serve` does. Every failure caused by a setting (the listen address, the
//! data directory, the storage backend) is a [`StartupError::Setting`]: one line naming the
//! setting, exit status 2. Anything else is [`StartupError::Fatal`], exit status 1.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::access::AccessControl;
use crate::admission::plugins::PluginSettings;
use crate::chain::ChainConfig;
use crate::config::Config;
use crate::control_plane::ControlPlaneContext;
use crate::filters::cors::CorsConfig;
use crate::filters::max_in_flight::InFlightLimits;
use crate::filters::metrics::Metrics;
use crate::filters::priority_and_fairness::metrics::ApfMetrics;
use crate::filters::priority_and_fairness::{FlowControl, PriorityAndFairness};

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A setting is wrong; the message is one line that names it.
    #[error("{0}")]
    Setting(String),
    /// Anything else.
    #[error("{0:#}")]
    Fatal(anyhow::Error),
}

impl StartupError {
    /// The process exit status for this error: 2 for a wrong setting, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Setting(_) => 2,
            Self::Fatal(_) => 1,
        }
    }
}

impl From<crate::config::ConfigError> for StartupError {
    fn from(err: crate::config::ConfigError) -> Self {
        Self::Setting(err.to_string())
    }
}

/// Serves until SIGINT or SIGTERM.
pub async fn run(config: Config) -> Result<(), StartupError> {
    run_until(config, crate::serve::shutdown_signal()).await
}

/// Serves until `shutdown` completes (tests pass their own signal).
///
/// Binds `server.listen` first (so a bad or busy address fails fast), then creates or loads the
/// certificates and the admin kubeconfig, opens the storage, builds the servers and the filter
/// chain, marks the server ready and serves HTTPS.
pub async fn run_until(
    config: Config,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), StartupError> {
    let config = Arc::new(config);
    let listen = config.server.listen;
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|err| {
        StartupError::Setting(format!(
            "server.listen = \"{listen}\": cannot listen: {err}"
        ))
    })?;
    // With port 0 (tests) the kernel picks the port; certificates and kubeconfig use the real one.
    let bound = listener
        .local_addr()
        .map_err(|err| StartupError::Fatal(err.into()))?;

    let data_dir = &config.server.data_dir;
    let pki = crate::pki::ensure(data_dir, bound).map_err(|err| {
        StartupError::Setting(format!(
            "server.data_dir = \"{}\": {err}",
            data_dir.display()
        ))
    })?;
    let tls = crate::serve::tls_config(&pki, &config.server)
        .map_err(|err| StartupError::Fatal(err.into()))?;

    // A bad encryption file stops start-up before the backend is touched.
    let encryption = match &config.storage.encryption_config {
        Some(path) => Some(crate::encryption::load(path).map_err(|err| {
            StartupError::Setting(format!(
                "storage.encryption_config = \"{}\": {err}",
                path.display()
            ))
        })?),
        None => None,
    };
    let storage = crate::backend::open(&config.storage)
        .await
        .map_err(|err| StartupError::Setting(err.to_string()))?;
    let storage = match encryption {
        Some(rules) => crate::encryption::wrap(storage, rules, &config.storage),
        None => storage,
    };

    let access = AccessControl::from_config(&config)?;
    let admission = PluginSettings::from_config(&config.admission)?;
    let metrics = Arc::new(Metrics::new().map_err(|err| StartupError::Fatal(err.into()))?);
    let cors = CorsConfig::new(&config.server.cors_allowed_origins)
        .map_err(|err| StartupError::Setting(format!("server.cors_allowed_origins: {err}")))?;

    // API Priority and Fairness over the sum of the two in-flight limits (upstream's
    // serverConcurrencyLimit), fed by the control plane's flowcontrol stores.
    // Both limits 0 means unlimited: nothing to share out, so max in-flight (a no-op) serves.
    let server_limit = config
        .server
        .max_requests_inflight
        .saturating_add(config.server.max_mutating_requests_inflight);
    let flow_control = if config.server.enable_priority_and_fairness && server_limit > 0 {
        let apf_metrics = ApfMetrics::register(metrics.registry())
            .map_err(|err| StartupError::Fatal(err.into()))?;
        Some(Arc::new(FlowControl::new(server_limit, Some(apf_metrics))))
    } else {
        None
    };

    let ready = Arc::new(AtomicBool::new(false));
    let ctx = ControlPlaneContext {
        storage: storage.clone(),
        config: config.clone(),
        ready: ready.clone(),
        access: access.clone(),
        metrics: metrics.clone(),
        admission,
        flow_control: flow_control.clone(),
    };
    let servers = crate::control_plane::build(ctx).await.map_err(|err| {
        match err.downcast::<crate::config::ConfigError>() {
            Ok(setting) => StartupError::from(setting),
            Err(err) => StartupError::Fatal(err),
        }
    })?;
    let chain = ChainConfig {
        request_timeout: config.request_timeout(),
        cors: cors.is_enabled().then(|| Arc::new(cors)),
        authentication: access.authentication,
        auditor: access.auditor,
        authorization: access.authorization,
        in_flight: InFlightLimits::new(
            config.server.max_requests_inflight,
            config.server.max_mutating_requests_inflight,
        )
        .with_metrics(metrics.clone()),
        priority_and_fairness: flow_control.map(|control| PriorityAndFairness {
            control,
            default_wait_limit: config.request_timeout() / 4,
        }),
        metrics,
    };
    let app = crate::chain::build(servers, &chain);

    let kubeconfig =
        std::path::absolute(&pki.admin_kubeconfig).unwrap_or_else(|_| pki.admin_kubeconfig.clone());
    tracing::info!(
        listen = %bound,
        storage = storage.backend_name(),
        data_dir = %data_dir.display(),
        "apiary is serving"
    );
    println!(
        "apiary serving on {} (storage: {})",
        crate::pki::server_url(bound),
        storage.backend_name()
    );
    println!("export KUBECONFIG={}", kubeconfig.display());

    // Every API is installed once the servers are built.
    ready.store(true, Ordering::Release);
    let limits = crate::serve::ConnectionLimits::from_config(&config.server);
    crate::serve::serve(listener, Arc::new(tls), app, limits, shutdown)
        .await
        .map_err(|err| StartupError::Fatal(err.into()))?;
    tracing::info!("apiary stopped");
    Ok(())
}
