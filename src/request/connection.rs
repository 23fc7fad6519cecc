//! What the TLS layer knows of a request's connection, put into its extensions for the filters.

use std::net::SocketAddr;

/// The identity a verified client certificate asserts: CN is the user, each O a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertIdentity {
    pub user: String,
    pub groups: Vec<String>,
}

impl ClientCertIdentity {
    /// Reads the subject of a DER certificate (already verified by the TLS layer).
    pub fn from_der(der: &[u8]) -> Option<Self> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        let subject = cert.subject();
        let user = subject
            .iter_common_name()
            .next()?
            .as_str()
            .ok()?
            .to_string();
        let groups = subject
            .iter_organization()
            .filter_map(|attr| attr.as_str().ok().map(str::to_string))
            .collect();
        Some(Self { user, groups })
    }
}

/// The address of the peer of a request's connection, in its extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);
