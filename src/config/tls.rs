//! `server.tls_min_version` and `server.tls_cipher_suites`, as upstream's `--tls-min-version` and
//! `--tls-cipher-suites`: Go's names, mapped onto the rustls *ring* provider.
//!
//! * Versions: `VersionTLS12` (the default) and `VersionTLS13`. rustls speaks neither TLS 1.0
//!   nor 1.1, so `VersionTLS10`/`VersionTLS11` are refused rather than silently raised.
//! * Suites: the IANA names Go uses. As in Go, the list restricts TLS 1.2 only: TLS 1.3 suites
//!   are accepted in it but all three stay enabled. A name rustls does not implement (CBC, RC4,
//!   3DES, RSA key exchange) or that does not exist is refused.

use rustls::crypto::ring::cipher_suite as ring;
use rustls::{SupportedCipherSuite, SupportedProtocolVersion};

/// The accepted names of `server.tls_min_version`.
pub const MIN_VERSIONS: &[&str] = &["VersionTLS12", "VersionTLS13"];

/// Go's (and upstream's) names of the suites the ring provider implements. The two names without
/// `_SHA256` are Go's legacy aliases of the ChaCha20 suites, which upstream accepts too.
fn suites() -> [(&'static str, SupportedCipherSuite); 11] {
    [
        ("TLS_AES_128_GCM_SHA256", ring::TLS13_AES_128_GCM_SHA256),
        ("TLS_AES_256_GCM_SHA384", ring::TLS13_AES_256_GCM_SHA384),
        (
            "TLS_CHACHA20_POLY1305_SHA256",
            ring::TLS13_CHACHA20_POLY1305_SHA256,
        ),
        (
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            ring::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        ),
        (
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            ring::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        ),
        (
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            ring::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        ),
        (
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
            ring::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        ),
        (
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            ring::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        ),
        (
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            ring::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        ),
        (
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            ring::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        ),
        (
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
            ring::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        ),
    ]
}

/// The protocol versions served for a `server.tls_min_version` value ("" is the default,
/// TLS 1.2); `Err` says why the value is refused.
pub fn protocol_versions(
    min_version: &str,
) -> Result<&'static [&'static SupportedProtocolVersion], String> {
    static FROM_TLS12: &[&SupportedProtocolVersion] =
        &[&rustls::version::TLS13, &rustls::version::TLS12];
    static TLS13_ONLY: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13];
    match min_version {
        "" | "VersionTLS12" => Ok(FROM_TLS12),
        "VersionTLS13" => Ok(TLS13_ONLY),
        "VersionTLS10" | "VersionTLS11" => Err(format!(
            "\"{min_version}\": TLS 1.0 and 1.1 are not served; use one of {}",
            MIN_VERSIONS.join(", ")
        )),
        other => Err(format!(
            "\"{other}\": unknown TLS version; use one of {}",
            MIN_VERSIONS.join(", ")
        )),
    }
}

/// The cipher suites served for a `server.tls_cipher_suites` list: every TLS 1.3 suite, and the
/// listed TLS 1.2 suites; `None` for an empty list (the provider's defaults). `Err` names the
/// first name refused.
pub fn cipher_suites(names: &[String]) -> Result<Option<Vec<SupportedCipherSuite>>, String> {
    if names.is_empty() {
        return Ok(None);
    }
    let known = suites();
    let mut chosen: Vec<SupportedCipherSuite> = known
        .iter()
        .map(|(_, suite)| *suite)
        .filter(|suite| suite.tls13().is_some())
        .collect();
    chosen.dedup();
    for name in names {
        let Some((_, suite)) = known
            .iter()
            .find(|(known_name, _)| *known_name == name.as_str())
        else {
            let supported: Vec<&str> = known.iter().map(|(known_name, _)| *known_name).collect();
            return Err(format!(
                "\"{name}\": cipher suite not supported or doesn't exist; supported: {}",
                supported.join(", ")
            ));
        };
        if !chosen.contains(suite) {
            chosen.push(*suite);
        }
    }
    Ok(Some(chosen))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_follow_upstreams_names() {
        assert_eq!(protocol_versions("").unwrap().len(), 2);
        assert_eq!(protocol_versions("VersionTLS12").unwrap().len(), 2);
        let only13 = protocol_versions("VersionTLS13").unwrap();
        assert_eq!(only13.len(), 1);
        assert_eq!(only13[0].version, rustls::ProtocolVersion::TLSv1_3);
        assert!(protocol_versions("VersionTLS11")
            .unwrap_err()
            .contains("not served"));
        assert!(protocol_versions("TLS1.3")
            .unwrap_err()
            .contains("unknown TLS version"));
    }

    #[test]
    fn suites_restrict_tls12_and_keep_tls13() {
        assert!(cipher_suites(&[]).unwrap().is_none());
        let chosen = cipher_suites(&["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".to_string()])
            .unwrap()
            .unwrap();
        let tls12: Vec<_> = chosen.iter().filter(|s| s.tls13().is_none()).collect();
        assert_eq!(tls12.len(), 1);
        assert_eq!(
            tls12[0].suite(),
            rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
        );
        assert_eq!(chosen.iter().filter(|s| s.tls13().is_some()).count(), 3);
        // Go's legacy alias is the same suite.
        let alias = cipher_suites(&["TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305".to_string()])
            .unwrap()
            .unwrap();
        assert!(alias.contains(&ring::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256));
        let err = cipher_suites(&["TLS_RSA_WITH_AES_128_CBC_SHA".to_string()]).unwrap_err();
        assert!(err.starts_with("\"TLS_RSA_WITH_AES_128_CBC_SHA\": cipher suite not supported"));
    }
}
