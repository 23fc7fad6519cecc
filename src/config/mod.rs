//! Configuration: defaults <- config.toml <- APIARY_* environment <- flags.
//!
//! The contract (see `docs/configuration.md`, which users and scripts rely on):
//!
//! * The defaults below are overridden by the configuration file (`--config PATH`, or
//!   `./config.toml` when it exists), which is overridden by the environment
//!   (`APIARY_<SECTION>__<KEY>`, e.g. `APIARY_STORAGE__BACKEND=rocksdb`), which is overridden by
//!   command-line flags.
//! * Unknown keys are errors, so a typo never silently falls back to a default.
//! * Every failure is a [`ConfigError`] whose `Display` is ONE line naming the setting; start-up
//!   reports it and exits with status 2.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

pub mod tls;

/// The file read when no `--config` is given, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "config.toml";

/// The prefix of configuration environment variables.
pub const ENV_PREFIX: &str = "APIARY_";

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub auth: AuthConfig,
    pub audit: AuditConfig,
    pub admission: AdmissionConfig,
}

/// `[server]`: the listener and the request limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// `server.listen`: the address and port HTTPS is served on.
    pub listen: SocketAddr,
    /// `server.data_dir`: certificates, the admin kubeconfig and (by default) the RocksDB files.
    pub data_dir: PathBuf,
    /// `server.request_timeout_seconds`: the deadline of a non-long-running request.
    pub request_timeout_seconds: u64,
    /// `server.max_requests_inflight`: concurrent read-only requests before 429.
    pub max_requests_inflight: u32,
    /// `server.max_mutating_requests_inflight`: concurrent mutating requests before 429.
    pub max_mutating_requests_inflight: u32,
    /// `server.enable_priority_and_fairness`: API Priority and Fairness over the sum of the two
    /// limits above (upstream's `--enable-priority-and-fairness`); off: max in-flight.
    pub enable_priority_and_fairness: bool,
    /// `server.service_cidr`: the range ClusterIP Services are allocated from.
    pub service_cidr: String,
    /// `server.service_node_port_range`: the ports NodePort Services are allocated from, as
    /// `first-last` (upstream's `--service-node-port-range`).
    pub service_node_port_range: String,
    /// `server.advertise_address`: the IP this replica publishes in the `default/kubernetes`
    /// Endpoints (upstream's `--advertise-address`). Empty: the listen IP, or `127.0.0.1` when
    /// listening on every interface.
    pub advertise_address: String,
    /// `server.cors_allowed_origins`: regular expressions (upstream's `--cors-allowed-origins`);
    /// a request whose `Origin` matches one gets CORS headers. Empty: CORS is off.
    pub cors_allowed_origins: Vec<String>,
    /// `server.event_ttl_seconds`: how long Events live after their last write (upstream's
    /// `--event-ttl`, 1 h). `0`: they never expire (upstream attaches no lease then).
    pub event_ttl_seconds: u64,
    /// `server.tls_min_version` (upstream's `--tls-min-version`): `VersionTLS12` or
    /// `VersionTLS13`; empty is TLS 1.2.
    pub tls_min_version: String,
    /// `server.tls_cipher_suites` (upstream's `--tls-cipher-suites`): Go's names of the TLS 1.2
    /// suites allowed (TLS 1.3 suites are always on); empty is every suite served.
    pub tls_cipher_suites: Vec<String>,
    /// `server.http2_max_streams_per_connection` (upstream's
    /// `--http2-max-streams-per-connection`): concurrent HTTP/2 streams a client may open on one
    /// connection; 0 is upstream's default, 100.
    pub http2_max_streams_per_connection: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 6443)),
            data_dir: PathBuf::from("./data"),
            request_timeout_seconds: 60,
            max_requests_inflight: 400,
            max_mutating_requests_inflight: 200,
            enable_priority_and_fairness: true,
            service_cidr: "10.0.0.0/24".to_string(),
            service_node_port_range: "30000-32767".to_string(),
            advertise_address: String::new(),
            cors_allowed_origins: Vec::new(),
            event_ttl_seconds: 3600,
            tls_min_version: String::new(),
            tls_cipher_suites: Vec::new(),
            http2_max_streams_per_connection: 0,
        }
    }
}

/// `storage.backend`: which engine stores the objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// Embedded RocksDB under `storage.rocksdb.path`.
    #[default]
    Rocksdb,
    /// A PostgreSQL database at `storage.postgres.url`.
    Postgres,
    /// An etcd cluster at `storage.etcd.endpoints`.
    Etcd,
}

impl BackendKind {
    /// The name as written in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rocksdb => "rocksdb",
            Self::Postgres => "postgres",
            Self::Etcd => "etcd",
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[storage]`: the backend and the settings of each engine.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    pub backend: BackendKind,
    pub rocksdb: RocksDbConfig,
    pub postgres: PostgresConfig,
    pub etcd: EtcdConfig,
    pub watch_cache: WatchCacheConfig,
    /// `storage.encryption_config`: an `EncryptionConfiguration` file (upstream's
    /// `--encryption-provider-config`); values of the resources it names are encrypted at rest.
    /// Unset: nothing is encrypted.
    pub encryption_config: Option<PathBuf>,
}

/// `[storage.watch_cache]`: the watch cache each resource's store keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WatchCacheConfig {
    /// `storage.watch_cache.enabled`: serve reads and watches from the cache; `false` reads
    /// storage and gives every watch its own storage watch.
    pub enabled: bool,
    /// `storage.watch_cache.consistent_read_timeout_seconds`: how long a read waits for the cache
    /// to catch up before a consistent read goes to storage and a read at a resourceVersion
    /// answers 504 (upstream: 3).
    pub consistent_read_timeout_seconds: u64,
    /// `storage.watch_cache.beyond_window`: what a watch from before the cache's recent events
    /// gets: `expire` (410 Expired, as upstream) or `storage` (its own storage watch).
    pub beyond_window: BeyondWindowKind,
}

impl Default for WatchCacheConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            consistent_read_timeout_seconds: 3,
            beyond_window: BeyondWindowKind::Expire,
        }
    }
}

/// `storage.watch_cache.beyond_window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BeyondWindowKind {
    #[default]
    Expire,
    Storage,
}

/// `[storage.rocksdb]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RocksDbConfig {
    /// `storage.rocksdb.path`. Empty in the file means `<data_dir>/rocksdb`; [`Config::load`]
    /// resolves it, so after loading it is never empty.
    pub path: PathBuf,
    /// `storage.rocksdb.compaction_interval_seconds`: how often old revisions are compacted.
    pub compaction_interval_seconds: u64,
    /// `storage.rocksdb.keep_revisions`: how many revisions of history compaction keeps.
    pub keep_revisions: u64,
}

impl Default for RocksDbConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::new(),
            compaction_interval_seconds: 300,
            keep_revisions: 10_000,
        }
    }
}

/// `[storage.postgres]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PostgresConfig {
    /// `storage.postgres.url`, e.g. `postgres://apiary:secret@localhost/apiary`. Required when
    /// `storage.backend = "postgres"`.
    pub url: String,
    /// `storage.postgres.max_connections`: the size of the connection pool of this replica.
    pub max_connections: u32,
    /// `storage.postgres.connect_timeout_seconds`: how long opening a connection, or waiting for
    /// a free one, may take before a request fails with 503.
    pub connect_timeout_seconds: u64,
    /// `storage.postgres.compaction_interval_seconds`: how often superseded history is deleted;
    /// 0 disables the loop.
    pub compaction_interval_seconds: u64,
    /// `storage.postgres.keep_revisions`: how many recent revisions compaction never touches.
    pub keep_revisions: u64,
}

impl Default for PostgresConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            max_connections: 32,
            connect_timeout_seconds: 5,
            compaction_interval_seconds: 300,
            keep_revisions: 10_000,
        }
    }
}

/// `[storage.etcd]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EtcdConfig {
    /// `storage.etcd.endpoints`, e.g. `["http://127.0.0.1:2379"]`. Required when
    /// `storage.backend = "etcd"`.
    pub endpoints: Vec<String>,
    /// `storage.etcd.prefix`: the key prefix, `/registry` as upstream's `--etcd-prefix`.
    pub prefix: String,
    /// `storage.etcd.ca_file`: CA bundle that verifies the etcd members (enables TLS).
    pub ca_file: Option<PathBuf>,
    /// `storage.etcd.cert_file` and `key_file`: client certificate presented to etcd.
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// `storage.etcd.dial_timeout_seconds`: how long connecting to a member may take.
    pub dial_timeout_seconds: u64,
    /// `storage.etcd.request_timeout_seconds`: the deadline of one etcd call.
    pub request_timeout_seconds: u64,
    /// `storage.etcd.compaction_interval_seconds`: how often etcd is compacted, as
    /// kube-apiserver's `--etcd-compaction-interval`; 0 disables it.
    pub compaction_interval_seconds: u64,
    /// `storage.etcd.connections`: gRPC channels for reads and writes, used round-robin
    /// (watches have one more of their own); at least 1.
    pub connections: usize,
}

impl Default for EtcdConfig {
    fn default() -> Self {
        Self {
            endpoints: Vec::new(),
            prefix: "/registry".to_string(),
            ca_file: None,
            cert_file: None,
            key_file: None,
            dial_timeout_seconds: 5,
            request_timeout_seconds: 10,
            compaction_interval_seconds: 300,
            connections: 4,
        }
    }
}

/// `[auth]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// `auth.anonymous`: serve requests without credentials as `system:anonymous`.
    pub anonymous: bool,
    /// `auth.token_file`: static bearer tokens in upstream's `--token-auth-file` CSV format
    /// (`token,user,uid,"group1,group2"`).
    pub token_file: Option<PathBuf>,
    /// `auth.authorization_modes`: tried in order, the first decision wins (`RBAC`,
    /// `AlwaysAllow`).
    pub authorization_modes: Vec<AuthorizationMode>,
    /// `auth.service_account_issuer`: the `iss` of ServiceAccount tokens Apiary issues and accepts.
    pub service_account_issuer: String,
    /// `auth.api_audiences`: the audiences tokens are issued for by default and must carry one
    /// of; empty means the issuer alone, as upstream.
    pub api_audiences: Vec<String>,
    /// `auth.service_account_max_token_expiration_seconds`: the longest a requested token may live.
    pub service_account_max_token_expiration_seconds: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            anonymous: false,
            token_file: None,
            authorization_modes: vec![AuthorizationMode::Rbac],
            service_account_issuer: "https://kubernetes.default.svc.cluster.local".to_string(),
            api_audiences: Vec::new(),
            service_account_max_token_expiration_seconds: 48 * 3600,
        }
    }
}

impl AuthConfig {
    /// The audiences of issued tokens: `auth.api_audiences`, or the issuer when empty.
    pub fn audiences(&self) -> Vec<String> {
        if self.api_audiences.is_empty() {
            vec![self.service_account_issuer.clone()]
        } else {
            self.api_audiences.clone()
        }
    }
}

/// One entry of `auth.authorization_modes`, spelled as upstream's `--authorization-mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AuthorizationMode {
    /// Role-based access control over Roles, ClusterRoles and their bindings.
    #[serde(rename = "RBAC")]
    Rbac,
    /// Every request is allowed.
    AlwaysAllow,
    /// Every request is denied (useful after another mode, as upstream).
    AlwaysDeny,
}

/// `[audit]`: upstream's `--audit-policy-file` and `--audit-log-*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// `audit.policy_file`: an `audit.k8s.io/v1` Policy (YAML or JSON). Unset: no auditing.
    pub policy_file: Option<PathBuf>,
    /// `audit.log_path`: where events go, one JSON object per line; `-` is standard output.
    pub log_path: Option<PathBuf>,
    /// `audit.log_max_size_mb`: the log is rotated when it would grow beyond this (0: never).
    pub log_max_size_mb: u64,
    /// `audit.log_max_backups`: rotated files kept (0: all).
    pub log_max_backups: u32,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            policy_file: None,
            log_path: None,
            log_max_size_mb: 100,
            log_max_backups: 10,
        }
    }
}

/// `[admission]`: upstream's `--enable-admission-plugins`, `--disable-admission-plugins` and
/// `--admission-control-config-file`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdmissionConfig {
    /// `admission.enable_plugins`: plugins run besides the default-on ones.
    pub enable_plugins: Vec<String>,
    /// `admission.disable_plugins`: default-on plugins not run.
    pub disable_plugins: Vec<String>,
    /// `admission.config_file`: an `apiserver.config.k8s.io/v1` `AdmissionConfiguration`
    /// (YAML or JSON) with the plugins' own configurations.
    pub config_file: Option<PathBuf>,
}

/// Settings given on the command line; they win over everything else.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `--config PATH`: read this file instead of `./config.toml`; it MUST exist.
    pub config_file: Option<PathBuf>,
    /// `--listen ADDR`.
    pub listen: Option<String>,
    /// `--data-dir DIR`.
    pub data_dir: Option<PathBuf>,
}

/// A configuration that cannot be used. `Display` is one line that names the setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The setting at fault (`storage.backend`), or the file (`config.toml`) for a parse error.
    pub setting: String,
    /// What is wrong, on one line.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid configuration: {}: {}",
            self.setting, self.message
        )
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    pub fn new(setting: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            setting: setting.into(),
            message: one_line(&message.into()),
        }
    }

    /// Converts figment's error (the first of its chain) into one line naming the setting and
    /// where its value came from.
    fn from_figment(err: figment::Error, env_prefix: &str) -> Self {
        use figment::error::Kind;
        let mut path = err.path.clone();
        // Depending on where the unknown key sits, figment's path may already end with it.
        if let Kind::UnknownField(field, _) = &err.kind {
            if path.last() != Some(field) {
                path.push(field.clone());
            }
        }
        let origin = err.metadata.as_ref().map(|meta| match &meta.source {
            Some(figment::Source::File(file)) => format!("in {}", file.display()),
            _ if meta.name.contains("environment variable") && !err.path.is_empty() => {
                let var: Vec<String> = err.path.iter().map(|p| p.to_ascii_uppercase()).collect();
                format!("from environment variable {env_prefix}{}", var.join("__"))
            }
            _ => format!("from {}", meta.name),
        });
        let setting = if path.is_empty() {
            match &err.metadata {
                Some(meta) => match &meta.source {
                    Some(figment::Source::File(file)) => file.display().to_string(),
                    _ => meta.name.to_string(),
                },
                None => "configuration".to_string(),
            }
        } else {
            path.join(".")
        };
        let message = match origin {
            Some(origin) if !path.is_empty() => format!("{} ({origin})", err.kind),
            _ => err.kind.to_string(),
        };
        Self::new(setting, message)
    }
}

/// Joins a multi-line message into one line, dropping the source excerpt of TOML parse errors
/// (the lines drawn with `|`).
fn one_line(message: &str) -> String {
    if !message.contains('\n') {
        return message.to_string();
    }
    message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.contains('|'))
        .collect::<Vec<_>>()
        .join(" ")
}

impl Config {
    /// Loads the configuration from the process environment and the working directory.
    pub fn load(overrides: &Overrides) -> Result<Self, ConfigError> {
        Self::load_from(overrides, Path::new(DEFAULT_CONFIG_FILE), ENV_PREFIX)
    }

    /// Loads with an explicit default file and environment prefix ([`ENV_PREFIX`] in production;
    /// tests use a unique prefix each so they can run in parallel).
    pub fn load_from(
        overrides: &Overrides,
        default_file: &Path,
        env_prefix: &str,
    ) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match &overrides.config_file {
            Some(file) => {
                if !file.is_file() {
                    return Err(ConfigError::new(
                        "--config",
                        format!("configuration file {} does not exist", file.display()),
                    ));
                }
                figment = figment.merge(Toml::file_exact(file));
            }
            None if default_file.is_file() => {
                figment = figment.merge(Toml::file_exact(default_file))
            }
            None => {}
        }
        figment = figment.merge(Env::prefixed(env_prefix).split("__"));
        if let Some(listen) = &overrides.listen {
            figment = figment.merge(Serialized::default("server.listen", listen));
        }
        if let Some(dir) = &overrides.data_dir {
            figment = figment.merge(Serialized::default("server.data_dir", dir));
        }
        let mut config: Config = figment
            .extract()
            .map_err(|err| ConfigError::from_figment(err, env_prefix))?;
        config.resolve()?;
        Ok(config)
    }

    /// Fills derived defaults and checks what serde cannot.
    fn resolve(&mut self) -> Result<(), ConfigError> {
        if self.server.data_dir.as_os_str().is_empty() {
            return Err(ConfigError::new("server.data_dir", "must not be empty"));
        }
        if self.storage.rocksdb.path.as_os_str().is_empty() {
            self.storage.rocksdb.path = self.server.data_dir.join("rocksdb");
        }
        match self.storage.backend {
            BackendKind::Postgres if self.storage.postgres.url.is_empty() => {
                return Err(ConfigError::new(
                    "storage.postgres.url",
                    "must be set when storage.backend = \"postgres\"",
                ));
            }
            BackendKind::Etcd if self.storage.etcd.endpoints.is_empty() => {
                return Err(ConfigError::new(
                    "storage.etcd.endpoints",
                    "must list at least one endpoint when storage.backend = \"etcd\"",
                ));
            }
            BackendKind::Etcd if !self.storage.etcd.prefix.starts_with('/') => {
                return Err(ConfigError::new(
                    "storage.etcd.prefix",
                    format!("\"{}\": must start with /", self.storage.etcd.prefix),
                ));
            }
            _ => {}
        }
        if self.storage.etcd.connections == 0 {
            return Err(ConfigError::new(
                "storage.etcd.connections",
                "must be at least 1",
            ));
        }
        if self.storage.etcd.cert_file.is_some() != self.storage.etcd.key_file.is_some() {
            return Err(ConfigError::new(
                "storage.etcd.cert_file",
                "cert_file and key_file must be given together",
            ));
        }
        // etcd's longest lease (`MaxLeaseTTL`); every backend stores a deadline this far out.
        if self.server.event_ttl_seconds > 9_000_000_000 {
            return Err(ConfigError::new(
                "server.event_ttl_seconds",
                "must be at most 9000000000 (etcd's longest lease)",
            ));
        }
        if self.server.request_timeout_seconds == 0 {
            return Err(ConfigError::new(
                "server.request_timeout_seconds",
                "must be greater than 0",
            ));
        }
        if self.server.listen.port() == 0 {
            return Err(ConfigError::new(
                "server.listen",
                format!("\"{}\": a fixed port is required", self.server.listen),
            ));
        }
        for (i, origin) in self.server.cors_allowed_origins.iter().enumerate() {
            regex::Regex::new(origin).map_err(|err| {
                ConfigError::new(
                    format!("server.cors_allowed_origins[{i}]"),
                    format!("\"{origin}\": {err}"),
                )
            })?;
        }
        tls::protocol_versions(&self.server.tls_min_version)
            .map_err(|why| ConfigError::new("server.tls_min_version", why))?;
        tls::cipher_suites(&self.server.tls_cipher_suites)
            .map_err(|why| ConfigError::new("server.tls_cipher_suites", why))?;
        if self.auth.authorization_modes.is_empty() {
            return Err(ConfigError::new(
                "auth.authorization_modes",
                "must name at least one mode (RBAC, AlwaysAllow, AlwaysDeny)",
            ));
        }
        if self.auth.service_account_issuer.is_empty() {
            return Err(ConfigError::new(
                "auth.service_account_issuer",
                "must not be empty",
            ));
        }
        if self.audit.policy_file.is_some() != self.audit.log_path.is_some() {
            return Err(ConfigError::new(
                "audit.log_path",
                "audit.policy_file and audit.log_path must be given together",
            ));
        }
        parse_service_cidr(&self.server.service_cidr).map_err(|why| {
            ConfigError::new(
                "server.service_cidr",
                format!("\"{}\": {why}", self.server.service_cidr),
            )
        })?;
        parse_port_range(&self.server.service_node_port_range).map_err(|why| {
            ConfigError::new(
                "server.service_node_port_range",
                format!("\"{}\": {why}", self.server.service_node_port_range),
            )
        })?;
        self.advertise_ip().map_err(|why| {
            ConfigError::new(
                "server.advertise_address",
                format!("\"{}\": {why}", self.server.advertise_address),
            )
        })?;
        Ok(())
    }

    /// The IP this replica advertises: `server.advertise_address`, else the listen IP, else
    /// (listening on every interface) the loopback address of the listen family.
    pub fn advertise_ip(&self) -> Result<std::net::IpAddr, String> {
        if !self.server.advertise_address.is_empty() {
            let ip: std::net::IpAddr = self
                .server
                .advertise_address
                .parse()
                .map_err(|_| "expected an IP address such as 192.168.1.10".to_string())?;
            if ip.is_unspecified() {
                return Err("must be a specific address, not 0.0.0.0 or ::".to_string());
            }
            return Ok(ip);
        }
        let ip = self.server.listen.ip();
        Ok(match ip {
            std::net::IpAddr::V4(v4) if v4.is_unspecified() => {
                std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
            }
            std::net::IpAddr::V6(v6) if v6.is_unspecified() => {
                std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)
            }
            other => other,
        })
    }

    /// The request deadline of non-long-running requests.
    pub fn request_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.server.request_timeout_seconds)
    }

    /// How long Events live after their last write; `None` when they never expire.
    pub fn event_ttl(&self) -> Option<std::time::Duration> {
        (self.server.event_ttl_seconds > 0)
            .then(|| std::time::Duration::from_secs(self.server.event_ttl_seconds))
    }
}

/// Parses `a.b.c.d/n` or an IPv6 CIDR into its network address and prefix length.
pub fn parse_cidr(cidr: &str) -> Result<(std::net::IpAddr, u8), String> {
    let (addr, bits) = cidr
        .split_once('/')
        .ok_or_else(|| "expected an address range such as 10.0.0.0/24".to_string())?;
    let addr: std::net::IpAddr = addr
        .parse()
        .map_err(|_| format!("invalid address {addr:?}"))?;
    let bits: u8 = bits
        .parse()
        .map_err(|_| format!("invalid prefix length {bits:?}"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if bits > max {
        return Err(format!("prefix length {bits} is larger than {max}"));
    }
    Ok((addr, bits))
}

/// Parses a service CIDR (`server.service_cidr`): a CIDR whose host part has between 2 and 64
/// bits, so that it has allocatable addresses and fits the allocator's arithmetic.
pub fn parse_service_cidr(cidr: &str) -> Result<(std::net::IpAddr, u8), String> {
    let (addr, bits) = parse_cidr(cidr)?;
    let width: u32 = if addr.is_ipv4() { 32 } else { 128 };
    let host_bits = width - u32::from(bits);
    if !(2..=64).contains(&host_bits) {
        return Err(format!(
            "a service range needs between 2 and 64 host bits, {cidr} has {host_bits}"
        ));
    }
    Ok((addr, bits))
}

/// Parses a port range `first-last` (upstream's `--service-node-port-range`; a single port `N`
/// is the range `N-N`) into its first port and its size. MUST reject port 0, ports above 65535
/// and a last port below the first.
pub fn parse_port_range(range: &str) -> Result<(u16, u32), String> {
    let (first, last) = range.split_once('-').unwrap_or((range, range));
    let parse = |text: &str| -> Result<u16, String> {
        let port: u32 = text
            .trim()
            .parse()
            .map_err(|_| "expected a port range such as 30000-32767".to_string())?;
        if port == 0 || port > 65535 {
            return Err(format!("port {port} is not between 1 and 65535"));
        }
        Ok(port as u16)
    };
    let (first, last) = (parse(first)?, parse(last)?);
    if last < first {
        return Err(format!(
            "the last port {last} is below the first port {first}"
        ));
    }
    Ok((first, u32::from(last - first) + 1))
}

#[cfg(test)]
mod tests;
