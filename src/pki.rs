//! Certificates: CA, serving and admin client certificates, and the admin kubeconfig.
//!
//! At first start [`ensure`] creates under `data_dir`:
//!
//! | file | what |
//! |------|------|
//! | `ca.crt`, `ca.key` | the cluster CA (10 years); it signs the two certificates below and verifies client certificates |
//! | `apiserver.crt`, `apiserver.key` | the serving certificate (1 year; SANs `localhost`, `127.0.0.1`, `::1`, the `kubernetes*` service names, the first Service IP and the listen host) |
//! | `admin.crt`, `admin.key` | the admin client certificate (1 year; CN `kubernetes-admin`, O `system:masters`) |
//! | `admin.kubeconfig` | cluster `apiary`, user `admin`, context `apiary`, everything embedded |
//! | `sa.key` | the ECDSA P-256 key ServiceAccount tokens are signed with ([`ensure_service_account_key`]) |
//! | `front-proxy-ca.crt`, `front-proxy-ca.key` | the front-proxy CA (10 years; [`ensure_front_proxy`]): extension API servers trust it for the aggregator's client certificate |
//! | `front-proxy-client.crt`, `front-proxy-client.key` | the aggregator's proxy client certificate (1 year; CN `front-proxy-client`) |
//!
//! Private keys (and the kubeconfig, which embeds one) are written with mode 0600. Later starts
//! reuse the files. A leaf certificate is re-issued when it is missing or unreadable, expires
//! within 30 days, the CA was just created, or (serving) it does not name the listen host. The
//! kubeconfig is rewritten at every start, so it always points at the current listen address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SerialNumber,
};

/// File names under `data_dir`.
pub const CA_CERT_FILE: &str = "ca.crt";
pub const CA_KEY_FILE: &str = "ca.key";
pub const SERVING_CERT_FILE: &str = "apiserver.crt";
pub const SERVING_KEY_FILE: &str = "apiserver.key";
pub const ADMIN_CERT_FILE: &str = "admin.crt";
pub const ADMIN_KEY_FILE: &str = "admin.key";
pub const ADMIN_KUBECONFIG_FILE: &str = "admin.kubeconfig";
/// The ServiceAccount token signing key (PKCS#8 PEM, mode 0600).
pub const SA_KEY_FILE: &str = "sa.key";

/// The admin client identity.
pub const ADMIN_USER: &str = "kubernetes-admin";
pub const ADMIN_GROUP: &str = "system:masters";

/// The names of the kubeconfig entries.
pub const KUBECONFIG_CLUSTER: &str = "apiary";
pub const KUBECONFIG_USER: &str = "admin";
pub const KUBECONFIG_CONTEXT: &str = "apiary";

const CA_COMMON_NAME: &str = "apiary-ca";
const FRONT_PROXY_CA_COMMON_NAME: &str = "apiary-front-proxy-ca";
/// The front-proxy CA and the aggregator's client certificate under `data_dir`.
pub const FRONT_PROXY_CA_CERT_FILE: &str = "front-proxy-ca.crt";
pub const FRONT_PROXY_CA_KEY_FILE: &str = "front-proxy-ca.key";
pub const FRONT_PROXY_CLIENT_CERT_FILE: &str = "front-proxy-client.crt";
pub const FRONT_PROXY_CLIENT_KEY_FILE: &str = "front-proxy-client.key";
/// The common name of the aggregator's proxy client certificate, as kubeadm names it; extension
/// servers list it in `requestheader-allowed-names`.
pub const FRONT_PROXY_CLIENT_NAME: &str = "front-proxy-client";
const SERVING_COMMON_NAME: &str = "kube-apiserver";
const CA_VALIDITY_YEARS: i16 = 10;
const LEAF_VALIDITY_YEARS: i16 = 1;
/// A leaf certificate expiring within this many seconds is re-issued at start.
const RENEW_BEFORE_SECONDS: i64 = 30 * 24 * 3600;

/// DNS names and addresses every serving certificate covers.
const SERVING_DNS_NAMES: &[&str] = &[
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
];
const SERVING_IPS: &[IpAddr] = &[
    IpAddr::V4(Ipv4Addr::LOCALHOST),
    IpAddr::V6(Ipv6Addr::LOCALHOST),
    // The `kubernetes` Service's ClusterIP: the first address of the default service CIDR.
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
];

/// Why the certificates could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {why}", path.display())]
    Invalid { path: PathBuf, why: String },
    #[error("generating a certificate: {0}")]
    Generate(#[from] rcgen::Error),
}

/// The certificates the server needs, in PEM.
#[derive(Debug, Clone)]
pub struct Pki {
    pub data_dir: PathBuf,
    /// The CA certificate: the trust anchor for client certificates and for clients.
    pub ca_cert_pem: String,
    pub serving_cert_pem: String,
    pub serving_key_pem: String,
    /// Where the admin kubeconfig was written.
    pub admin_kubeconfig: PathBuf,
}

/// Creates (or reuses) the CA, the serving and admin certificates and the admin kubeconfig under
/// `data_dir`, for a server listening on `listen`.
pub fn ensure(data_dir: &Path, listen: SocketAddr) -> Result<Pki, PkiError> {
    std::fs::create_dir_all(data_dir).map_err(|source| io_error(data_dir, source))?;
    let now = jiff::Timestamp::now();

    let (ca_key, ca_cert_pem, ca_created) = ensure_ca(data_dir, now)?;
    let ca = ca_issuer(&ca_cert_pem, &ca_key, &data_dir.join(CA_CERT_FILE))?;

    let (serving_cert_pem, serving_key_pem) = ensure_leaf(
        data_dir,
        SERVING_CERT_FILE,
        SERVING_KEY_FILE,
        ca_created,
        now,
        &ca,
        |cert| serving_cert_covers(cert, listen.ip()),
        || serving_params(listen.ip(), now),
    )?;
    let (admin_cert_pem, admin_key_pem) = ensure_leaf(
        data_dir,
        ADMIN_CERT_FILE,
        ADMIN_KEY_FILE,
        ca_created,
        now,
        &ca,
        |_| true,
        || admin_params(now),
    )?;

    let admin_kubeconfig = data_dir.join(ADMIN_KUBECONFIG_FILE);
    let kubeconfig = admin_kubeconfig_yaml(
        &server_url(listen),
        &ca_cert_pem,
        &admin_cert_pem,
        &admin_key_pem,
    );
    write_file(&admin_kubeconfig, kubeconfig.as_bytes(), true)?;

    Ok(Pki {
        data_dir: data_dir.to_path_buf(),
        ca_cert_pem,
        serving_cert_pem,
        serving_key_pem,
        admin_kubeconfig,
    })
}

/// Loads `<data_dir>/sa.key`, the ServiceAccount token signing key, or creates it (ECDSA P-256,
/// PKCS#8 PEM, mode 0600) when it is missing. Returns the PEM.
///
/// Creation is atomic and never replaces an existing file: replicas starting together on a
/// shared `data_dir` all end up with the key of whichever wrote first, so they accept each
/// other's tokens.
pub fn ensure_service_account_key(data_dir: &Path) -> Result<String, PkiError> {
    std::fs::create_dir_all(data_dir).map_err(|source| io_error(data_dir, source))?;
    let path = data_dir.join(SA_KEY_FILE);
    if !path.is_file() {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let tmp = data_dir.join(format!("{SA_KEY_FILE}.{}.tmp", uuid::Uuid::new_v4()));
        write_file(&tmp, key.serialize_pem().as_bytes(), true)?;
        // A hard link fails when the file exists: the first writer wins, nobody replaces it.
        let linked = std::fs::hard_link(&tmp, &path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                tracing::info!(path = %path.display(), "created the ServiceAccount signing key")
            }
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(source) => return Err(io_error(&path, source)),
        }
    }
    let pem = read_file(&path)?;
    let key = KeyPair::from_pem(&pem).map_err(|e| PkiError::Invalid {
        path: path.clone(),
        why: e.to_string(),
    })?;
    if !key.is_compatible(&rcgen::PKCS_ECDSA_P256_SHA256) {
        return Err(PkiError::Invalid {
            path,
            why: "not an ECDSA P-256 private key".into(),
        });
    }
    Ok(pem)
}

/// The URL clients use for a server listening on `listen`: an unspecified address (`0.0.0.0`,
/// `::`) becomes the loopback address of its family.
pub fn server_url(listen: SocketAddr) -> String {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("https://{}", SocketAddr::new(ip, listen.port()))
}

/// Loads the CA, or creates it when either file is missing. Returns its key, its certificate and
/// whether it was created now.
/// The front-proxy CA and the client certificate the aggregator presents to extension API
/// servers, in PEM.
#[derive(Debug, Clone)]
pub struct FrontProxyPki {
    /// The CA extension servers verify the proxy's client certificate with
    /// (`requestheader-client-ca-file`).
    pub ca_cert_pem: String,
    pub client_cert_pem: String,
    pub client_key_pem: String,
}

/// Creates (or reuses) the front-proxy CA and the aggregator's proxy client certificate (CN
/// [`FRONT_PROXY_CLIENT_NAME`], client auth) under `data_dir`, with the same reuse and renewal
/// rules as [`ensure`]'s certificates. The front-proxy CA is separate from the cluster CA, as
/// kube-apiserver's `--requestheader-client-ca-file`: a certificate of the cluster CA must not
/// be able to assert request headers.
pub fn ensure_front_proxy(data_dir: &Path) -> Result<FrontProxyPki, PkiError> {
    std::fs::create_dir_all(data_dir).map_err(|source| io_error(data_dir, source))?;
    let now = jiff::Timestamp::now();
    let (ca_key, ca_cert_pem, ca_created) = ensure_named_ca(
        data_dir,
        FRONT_PROXY_CA_CERT_FILE,
        FRONT_PROXY_CA_KEY_FILE,
        FRONT_PROXY_CA_COMMON_NAME,
        now,
    )?;
    let ca = ca_issuer(
        &ca_cert_pem,
        &ca_key,
        &data_dir.join(FRONT_PROXY_CA_CERT_FILE),
    )?;
    let (client_cert_pem, client_key_pem) = ensure_leaf(
        data_dir,
        FRONT_PROXY_CLIENT_CERT_FILE,
        FRONT_PROXY_CLIENT_KEY_FILE,
        ca_created,
        now,
        &ca,
        |_| true,
        || Ok(front_proxy_client_params(now)),
    )?;
    Ok(FrontProxyPki {
        ca_cert_pem,
        client_cert_pem,
        client_key_pem,
    })
}

fn front_proxy_client_params(now: jiff::Timestamp) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, FRONT_PROXY_CLIENT_NAME);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    set_validity(&mut params, now, LEAF_VALIDITY_YEARS);
    params
}

fn ensure_ca(data_dir: &Path, now: jiff::Timestamp) -> Result<(KeyPair, String, bool), PkiError> {
    ensure_named_ca(data_dir, CA_CERT_FILE, CA_KEY_FILE, CA_COMMON_NAME, now)
}

/// Loads the CA `cert_file`/`key_file` under `data_dir`, or creates it with `common_name`;
/// the boolean says whether it was just created.
fn ensure_named_ca(
    data_dir: &Path,
    cert_file: &str,
    key_file: &str,
    common_name: &str,
    now: jiff::Timestamp,
) -> Result<(KeyPair, String, bool), PkiError> {
    let cert_path = data_dir.join(cert_file);
    let key_path = data_dir.join(key_file);
    if cert_path.is_file() && key_path.is_file() {
        let cert_pem = read_file(&cert_path)?;
        let key = load_key(&key_path)?;
        return Ok((key, cert_pem, false));
    }
    let key = KeyPair::generate()?;
    let cert = ca_params(common_name, now).self_signed(&key)?;
    write_file(&key_path, key.serialize_pem().as_bytes(), true)?;
    write_file(&cert_path, cert.pem().as_bytes(), false)?;
    tracing::info!(path = %cert_path.display(), "created a CA");
    Ok((key, cert.pem(), true))
}

/// An issuer for the CA on disk: its subject (read from the certificate) and its key.
fn ca_issuer<'a>(
    ca_cert_pem: &str,
    ca_key: &'a KeyPair,
    path: &Path,
) -> Result<Issuer<'a, &'a KeyPair>, PkiError> {
    let invalid = |why: String| PkiError::Invalid {
        path: path.to_path_buf(),
        why,
    };
    let (_, pem) = x509_parser::pem::parse_x509_pem(ca_cert_pem.as_bytes())
        .map_err(|e| invalid(e.to_string()))?;
    let cert = pem.parse_x509().map_err(|e| invalid(e.to_string()))?;
    if !cert.is_ca() {
        return Err(invalid("not a CA certificate".into()));
    }
    let mut params = CertificateParams::default();
    params.distinguished_name = distinguished_name_of(cert.subject());
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(Issuer::new(params, ca_key))
}

/// Converts the attributes rcgen can write back (CN, O, OU, C, ST, L) of an X.509 name.
fn distinguished_name_of(name: &x509_parser::x509::X509Name<'_>) -> DistinguishedName {
    use x509_parser::oid_registry as oids;
    let mut dn = DistinguishedName::new();
    for attr in name.iter_attributes() {
        let Ok(value) = attr.as_str() else { continue };
        let oid = attr.attr_type();
        let ty = if *oid == oids::OID_X509_COMMON_NAME {
            DnType::CommonName
        } else if *oid == oids::OID_X509_ORGANIZATION_NAME {
            DnType::OrganizationName
        } else if *oid == oids::OID_X509_ORGANIZATIONAL_UNIT {
            DnType::OrganizationalUnitName
        } else if *oid == oids::OID_X509_COUNTRY_NAME {
            DnType::CountryName
        } else if *oid == oids::OID_X509_STATE_OR_PROVINCE_NAME {
            DnType::StateOrProvinceName
        } else if *oid == oids::OID_X509_LOCALITY_NAME {
            DnType::LocalityName
        } else {
            continue;
        };
        dn.push(ty, value);
    }
    dn
}

/// Reuses a leaf certificate and key when both exist, the CA is not new, the certificate is not
/// about to expire and `acceptable` holds; otherwise issues a new one from `params`.
#[allow(clippy::too_many_arguments)]
fn ensure_leaf(
    data_dir: &Path,
    cert_file: &str,
    key_file: &str,
    ca_created: bool,
    now: jiff::Timestamp,
    ca: &Issuer<'_, &KeyPair>,
    acceptable: impl Fn(&x509_parser::certificate::X509Certificate<'_>) -> bool,
    params: impl FnOnce() -> Result<CertificateParams, PkiError>,
) -> Result<(String, String), PkiError> {
    let cert_path = data_dir.join(cert_file);
    let key_path = data_dir.join(key_file);
    if !ca_created && cert_path.is_file() && key_path.is_file() {
        let cert_pem = read_file(&cert_path)?;
        let key_pem = read_file(&key_path)?;
        let reusable = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes())
            .ok()
            .and_then(|(_, pem)| {
                let cert = pem.parse_x509().ok()?;
                let fresh =
                    cert.validity().not_after.timestamp() - now.as_second() > RENEW_BEFORE_SECONDS;
                Some(fresh && acceptable(&cert))
            })
            .unwrap_or(false);
        if reusable {
            return Ok((cert_pem, key_pem));
        }
        tracing::info!(path = %cert_path.display(), "re-issuing certificate");
    }
    let key = KeyPair::generate()?;
    let cert = params()?.signed_by(&key, ca)?;
    write_file(&key_path, key.serialize_pem().as_bytes(), true)?;
    write_file(&cert_path, cert.pem().as_bytes(), false)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Whether a serving certificate names `host` (an unspecified address needs nothing extra).
fn serving_cert_covers(cert: &x509_parser::certificate::X509Certificate<'_>, host: IpAddr) -> bool {
    if host.is_unspecified() || SERVING_IPS.contains(&host) {
        return true;
    }
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return false;
    };
    san.value.general_names.iter().any(|name| match name {
        x509_parser::extensions::GeneralName::IPAddress(bytes) => match *bytes {
            [a, b, c, d] => IpAddr::from([*a, *b, *c, *d]) == host,
            bytes => <[u8; 16]>::try_from(bytes)
                .map(IpAddr::from)
                .is_ok_and(|ip| ip == host),
        },
        _ => false,
    })
}

fn ca_params(common_name: &str, now: jiff::Timestamp) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    set_validity(&mut params, now, CA_VALIDITY_YEARS);
    params
}

fn serving_params(
    listen_host: IpAddr,
    now: jiff::Timestamp,
) -> Result<CertificateParams, PkiError> {
    let mut names: Vec<String> = SERVING_DNS_NAMES
        .iter()
        .map(|name| name.to_string())
        .collect();
    names.extend(SERVING_IPS.iter().map(IpAddr::to_string));
    if !listen_host.is_unspecified() && !SERVING_IPS.contains(&listen_host) {
        names.push(listen_host.to_string());
    }
    // `new` turns address strings into IP SANs and the rest into DNS SANs.
    let mut params = CertificateParams::new(names)?;
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, SERVING_COMMON_NAME);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    set_validity(&mut params, now, LEAF_VALIDITY_YEARS);
    Ok(params)
}

fn admin_params(now: jiff::Timestamp) -> Result<CertificateParams, PkiError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::OrganizationName, ADMIN_GROUP);
    params
        .distinguished_name
        .push(DnType::CommonName, ADMIN_USER);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    set_validity(&mut params, now, LEAF_VALIDITY_YEARS);
    Ok(params)
}

/// Valid from yesterday (tolerating clock skew) for `years`, with a random serial number.
fn set_validity(params: &mut CertificateParams, now: jiff::Timestamp, years: i16) {
    let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    let start = today.yesterday().unwrap_or(today);
    let end = start
        .checked_add(jiff::Span::new().years(years))
        .unwrap_or(start);
    params.not_before = rcgen::date_time_ymd(
        start.year().into(),
        start.month().unsigned_abs(),
        start.day().unsigned_abs(),
    );
    params.not_after = rcgen::date_time_ymd(
        end.year().into(),
        end.month().unsigned_abs(),
        end.day().unsigned_abs(),
    );
    let mut serial = *uuid::Uuid::new_v4().as_bytes();
    serial[0] &= 0x7f; // a positive INTEGER
    params.serial_number = Some(SerialNumber::from_slice(&serial));
}

/// The admin kubeconfig, with everything embedded.
fn admin_kubeconfig_yaml(server: &str, ca_pem: &str, cert_pem: &str, key_pem: &str) -> String {
    let b64 = |pem: &str| base64::engine::general_purpose::STANDARD.encode(pem.as_bytes());
    let doc = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{
            "name": KUBECONFIG_CLUSTER,
            "cluster": { "server": server, "certificate-authority-data": b64(ca_pem) },
        }],
        "users": [{
            "name": KUBECONFIG_USER,
            "user": { "client-certificate-data": b64(cert_pem), "client-key-data": b64(key_pem) },
        }],
        "contexts": [{
            "name": KUBECONFIG_CONTEXT,
            "context": { "cluster": KUBECONFIG_CLUSTER, "user": KUBECONFIG_USER },
        }],
        "current-context": KUBECONFIG_CONTEXT,
        "preferences": {},
    });
    serde_yaml::to_string(&doc).unwrap_or_default()
}

fn load_key(path: &Path) -> Result<KeyPair, PkiError> {
    let pem = read_file(path)?;
    KeyPair::from_pem(&pem).map_err(|e| PkiError::Invalid {
        path: path.to_path_buf(),
        why: e.to_string(),
    })
}

fn read_file(path: &Path) -> Result<String, PkiError> {
    std::fs::read_to_string(path).map_err(|source| io_error(path, source))
}

/// Writes `contents` to `path` (through a temporary file and a rename); `private` files get mode
/// 0600.
fn write_file(path: &Path, contents: &[u8], private: bool) -> Result<(), PkiError> {
    use std::io::Write as _;
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    let mut file = options
        .open(&tmp)
        .map_err(|source| io_error(&tmp, source))?;
    file.write_all(contents)
        .map_err(|source| io_error(&tmp, source))?;
    file.sync_all().map_err(|source| io_error(&tmp, source))?;
    #[cfg(unix)]
    if private {
        // `mode` applies only when the file is created; make sure a leftover file is private too.
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
            .map_err(|source| io_error(&tmp, source))?;
    }
    std::fs::rename(&tmp, path).map_err(|source| io_error(path, source))
}

fn io_error(path: &Path, source: std::io::Error) -> PkiError {
    PkiError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pem: &str) -> (Vec<u8>,) {
        let (_, pem) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).expect("pem");
        (pem.contents,)
    }

    #[test]
    fn first_start_creates_everything_and_later_starts_reuse_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let listen: SocketAddr = "0.0.0.0:6443".parse().expect("addr");
        let first = ensure(dir.path(), listen).expect("first start");
        for file in [
            CA_CERT_FILE,
            CA_KEY_FILE,
            SERVING_CERT_FILE,
            SERVING_KEY_FILE,
            ADMIN_CERT_FILE,
            ADMIN_KEY_FILE,
            ADMIN_KUBECONFIG_FILE,
        ] {
            assert!(dir.path().join(file).is_file(), "{file} written");
        }
        #[cfg(unix)]
        for file in [
            CA_KEY_FILE,
            SERVING_KEY_FILE,
            ADMIN_KEY_FILE,
            ADMIN_KUBECONFIG_FILE,
        ] {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join(file))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{file} is private");
        }
        let second = ensure(dir.path(), listen).expect("second start");
        assert_eq!(first.ca_cert_pem, second.ca_cert_pem);
        assert_eq!(first.serving_cert_pem, second.serving_cert_pem);

        // A listen host the serving certificate does not name gets a new serving certificate,
        // from the same CA.
        let third =
            ensure(dir.path(), "192.0.2.7:6443".parse().expect("addr")).expect("third start");
        assert_eq!(first.ca_cert_pem, third.ca_cert_pem);
        assert_ne!(first.serving_cert_pem, third.serving_cert_pem);
        let (der,) = parse(&third.serving_cert_pem);
        let (_, cert) = x509_parser::parse_x509_certificate(&der).expect("x509");
        assert!(serving_cert_covers(&cert, "192.0.2.7".parse().expect("ip")));
        let (ca_der,) = parse(&third.ca_cert_pem);
        let (_, ca) = x509_parser::parse_x509_certificate(&ca_der).expect("ca");
        cert.verify_signature(Some(ca.public_key()))
            .expect("signed by the CA");
    }

    #[test]
    fn certificates_carry_the_expected_names() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pki = ensure(dir.path(), "127.0.0.1:6443".parse().expect("addr")).expect("ensure");

        let (der,) = parse(&pki.serving_cert_pem);
        let (_, serving) = x509_parser::parse_x509_certificate(&der).expect("x509");
        let san = serving
            .subject_alternative_name()
            .expect("san")
            .expect("present");
        let names: Vec<String> = san
            .value
            .general_names
            .iter()
            .map(|n| match n {
                x509_parser::extensions::GeneralName::IPAddress(octets) => match octets.len() {
                    4 => std::net::IpAddr::from(<[u8; 4]>::try_from(*octets).expect("4 octets"))
                        .to_string(),
                    _ => std::net::IpAddr::from(<[u8; 16]>::try_from(*octets).expect("16 octets"))
                        .to_string(),
                },
                other => other.to_string(),
            })
            .collect();
        for want in [
            "localhost",
            "kubernetes.default.svc.cluster.local",
            "127.0.0.1",
            "10.0.0.1",
        ] {
            assert!(
                names.iter().any(|n| n.contains(want)),
                "{want} in {names:?}"
            );
        }
        assert!(
            serving
                .extended_key_usage()
                .expect("eku")
                .expect("present")
                .value
                .server_auth
        );

        let admin_pem = read_file(&dir.path().join(ADMIN_CERT_FILE)).expect("admin");
        let (der,) = parse(&admin_pem);
        let (_, admin) = x509_parser::parse_x509_certificate(&der).expect("x509");
        let cn: Vec<&str> = admin
            .subject()
            .iter_common_name()
            .filter_map(|a| a.as_str().ok())
            .collect();
        let org: Vec<&str> = admin
            .subject()
            .iter_organization()
            .filter_map(|a| a.as_str().ok())
            .collect();
        assert_eq!(cn, vec![ADMIN_USER]);
        assert_eq!(org, vec![ADMIN_GROUP]);
        assert!(
            admin
                .extended_key_usage()
                .expect("eku")
                .expect("present")
                .value
                .client_auth
        );
    }

    #[test]
    fn service_account_key_is_created_once_and_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = ensure_service_account_key(dir.path()).expect("created");
        let second = ensure_service_account_key(dir.path()).expect("loaded");
        assert_eq!(first, second);
        assert!(first.contains("BEGIN PRIVATE KEY"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join(SA_KEY_FILE))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // No temporary files are left behind.
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .expect("dir")
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect();
        assert_eq!(names, vec![SA_KEY_FILE.to_string()]);

        std::fs::write(dir.path().join(SA_KEY_FILE), "garbage").expect("write");
        assert!(matches!(
            ensure_service_account_key(dir.path()),
            Err(PkiError::Invalid { .. })
        ));
    }

    #[test]
    fn kubeconfig_points_at_a_reachable_address() {
        assert_eq!(
            server_url("0.0.0.0:6443".parse().expect("addr")),
            "https://127.0.0.1:6443"
        );
        assert_eq!(
            server_url("[::]:6443".parse().expect("addr")),
            "https://[::1]:6443"
        );
        assert_eq!(
            server_url("10.1.2.3:443".parse().expect("addr")),
            "https://10.1.2.3:443"
        );

        let dir = tempfile::tempdir().expect("tempdir");
        let pki = ensure(dir.path(), "0.0.0.0:7443".parse().expect("addr")).expect("ensure");
        let text = read_file(&pki.admin_kubeconfig).expect("kubeconfig");
        let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("yaml");
        assert_eq!(doc["current-context"].as_str(), Some(KUBECONFIG_CONTEXT));
        assert_eq!(
            doc["clusters"][0]["cluster"]["server"].as_str(),
            Some("https://127.0.0.1:7443")
        );
        assert_eq!(doc["users"][0]["name"].as_str(), Some(KUBECONFIG_USER));
        let ca = doc["clusters"][0]["cluster"]["certificate-authority-data"]
            .as_str()
            .expect("ca data");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(ca)
            .expect("base64");
        assert_eq!(decoded, pki.ca_cert_pem.as_bytes());
    }

    #[test]
    fn front_proxy_pki_is_created_once_and_signed_by_its_own_ca() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cluster = ensure(dir.path(), "127.0.0.1:6443".parse().expect("addr")).expect("pki");
        let first = ensure_front_proxy(dir.path()).expect("front proxy");
        assert_ne!(first.ca_cert_pem, cluster.ca_cert_pem);
        let (_, client) =
            x509_parser::pem::parse_x509_pem(first.client_cert_pem.as_bytes()).expect("pem");
        let client = client.parse_x509().expect("x509");
        let cn: Vec<&str> = client
            .subject()
            .iter_common_name()
            .filter_map(|cn| cn.as_str().ok())
            .collect();
        assert_eq!(cn, vec![FRONT_PROXY_CLIENT_NAME]);
        let (_, ca) = x509_parser::pem::parse_x509_pem(first.ca_cert_pem.as_bytes()).expect("pem");
        let ca = ca.parse_x509().expect("x509");
        client
            .verify_signature(Some(ca.public_key()))
            .expect("signed by the front-proxy CA");
        let again = ensure_front_proxy(dir.path()).expect("second start");
        assert_eq!(again.ca_cert_pem, first.ca_cert_pem);
        assert_eq!(again.client_cert_pem, first.client_cert_pem);
    }
}
