//! What the server presents to admission webhooks, from the kubeconfig a
//! `WebhookAdmissionConfiguration` names (upstream's `kubeConfigFile`): each `users` entry is
//! named after the webhooks it is for (`host:port`, `host`, `*.domain`, or `*`), and holds a
//! client certificate and key, or a bearer token.

use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use serde_json::Value;

use super::tls::ProxyIdentity;

/// The credentials of one webhook host.
#[derive(Debug, Clone, Default)]
pub struct Credential {
    /// A client certificate to present instead of the front-proxy one.
    pub identity: Option<Arc<ProxyIdentity>>,
    /// An `Authorization: Bearer` token.
    pub token: Option<String>,
}

/// The kubeconfig's users by name.
#[derive(Debug, Clone, Default)]
pub struct WebhookCredentials {
    users: Vec<(String, Credential)>,
}

impl WebhookCredentials {
    /// Reads a kubeconfig (YAML or JSON). Files it names (`client-certificate`, `client-key`,
    /// `tokenFile`) are read relative to it.
    pub fn from_kubeconfig(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|err| err.to_string())?;
        let config: Value = serde_yaml::from_str(&text).map_err(|err| err.to_string())?;
        let base = path.parent().unwrap_or(Path::new("."));
        let read = |file: &str| {
            std::fs::read_to_string(base.join(file)).map_err(|err| format!("{file}: {err}"))
        };
        let decode = |data: &str| {
            base64::engine::general_purpose::STANDARD
                .decode(data.trim())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| "invalid base64 data".to_string())
        };
        let mut users = Vec::new();
        let entries = config.get("users").and_then(Value::as_array);
        for entry in entries.into_iter().flatten() {
            let name = entry.get("name").and_then(Value::as_str).unwrap_or("");
            let user = entry.get("user").cloned().unwrap_or(Value::Null);
            let field = |key: &str| user.get(key).and_then(Value::as_str);
            let pem = |data: &str, file: &str| -> Result<Option<String>, String> {
                match (field(data), field(file)) {
                    (Some(data), _) => decode(data).map(Some),
                    (None, Some(file)) => read(file).map(Some),
                    (None, None) => Ok(None),
                }
            };
            let certificate = pem("client-certificate-data", "client-certificate")?;
            let key = pem("client-key-data", "client-key")?;
            let identity = match (certificate, key) {
                (Some(certificate), Some(key)) => Some(Arc::new(
                    ProxyIdentity::from_pem(&certificate, &key)
                        .map_err(|err| format!("user {name:?}: {err}"))?,
                )),
                (None, None) => None,
                _ => {
                    return Err(format!(
                    "user {name:?}: a client certificate needs its key and the key its certificate"
                ))
                }
            };
            let token = match (field("token"), field("tokenFile")) {
                (Some(token), _) => Some(token.to_string()),
                (None, Some(file)) => Some(read(file)?.trim().to_string()),
                (None, None) => None,
            };
            users.push((name.to_string(), Credential { identity, token }));
        }
        Ok(Self { users })
    }

    fn named(&self, name: &str) -> Option<&Credential> {
        self.users.iter().find(|(n, _)| n == name).map(|(_, c)| c)
    }

    /// The credential for a webhook at `target` (`host:port`, as the URL or the Service gives
    /// it), as upstream's resolver picks: the exact name, then `*.` suffixes from the longest;
    /// for port 443 the same again without the port; then `*`.
    pub fn for_target(&self, target: &str) -> Option<&Credential> {
        let by_name = |name: &str| {
            self.named(name).or_else(|| {
                let steps: Vec<&str> = name.split('.').collect();
                (1..steps.len()).find_map(|i| self.named(&format!("*.{}", steps[i..].join("."))))
            })
        };
        by_name(target)
            .or_else(|| {
                let host = target.strip_suffix(":443")?;
                by_name(host)
            })
            .or_else(|| self.named("*"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_picked_as_upstream_picks_them() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token"), "from-file\n").unwrap();
        let path = dir.path().join("kubeconfig");
        std::fs::write(
            &path,
            "apiVersion: v1
kind: Config
users:
- name: hook.ns.svc:8443
  user: {token: exact}
- name: '*.ns.svc'
  user: {tokenFile: token}
- name: plain.example.com
  user: {token: without-port}
- name: '*'
  user: {token: star}
",
        )
        .unwrap();
        let credentials = WebhookCredentials::from_kubeconfig(&path).unwrap();
        let token = |target: &str| credentials.for_target(target).and_then(|c| c.token.clone());
        assert_eq!(token("hook.ns.svc:8443").as_deref(), Some("exact"));
        assert_eq!(token("other.ns.svc:443").as_deref(), Some("from-file"));
        assert_eq!(
            token("plain.example.com:443").as_deref(),
            Some("without-port")
        );
        assert_eq!(token("plain.example.com:9443").as_deref(), Some("star"));

        std::fs::write(
            &path,
            "users:\n- name: x\n  user: {client-certificate-data: Zm9v}\n",
        )
        .unwrap();
        let err = WebhookCredentials::from_kubeconfig(&path).unwrap_err();
        assert!(err.contains("needs its key"), "{err}");
        assert!(WebhookCredentials::default().for_target("a:443").is_none());
    }
}
