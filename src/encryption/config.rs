//! The `EncryptionConfiguration` file (`apiserver.config.k8s.io/v1`), read and validated as
//! upstream's `encryptionconfig.LoadEncryptionConfig`, and resolved into key prefixes: which
//! transformer serves which keys.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use serde::Deserialize;

use super::providers::{Provider, Transformer};
use crate::catalog::{builtin, is_built_in_group};
use crate::registry::keys::{KeyLayout, REGISTRY_ROOT};

const API_VERSION: &str = "apiserver.config.k8s.io/v1";
const KIND: &str = "EncryptionConfiguration";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EncryptionConfiguration {
    #[serde(default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    resources: Vec<ResourceConfiguration>,
}

#[derive(Debug, Deserialize)]
struct ResourceConfiguration {
    #[serde(default)]
    resources: Vec<String>,
    #[serde(default)]
    providers: Vec<ProviderConfiguration>,
}

#[derive(Debug, Deserialize)]
struct ProviderConfiguration {
    aesgcm: Option<KeysConfiguration>,
    aescbc: Option<KeysConfiguration>,
    secretbox: Option<KeysConfiguration>,
    identity: Option<serde::de::IgnoredAny>,
    kms: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, Deserialize)]
struct KeysConfiguration {
    #[serde(default)]
    keys: Vec<Key>,
}

#[derive(Debug, Deserialize)]
struct Key {
    #[serde(default)]
    name: String,
    #[serde(default)]
    secret: String,
}

/// How specific a rule is: upstream looks a resource up exactly, then by `*.<group>`, then `*.*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rank {
    Exact,
    Group,
    Any,
}

#[derive(Debug)]
struct Rule {
    /// A key prefix such as `/registry/secrets/`.
    prefix: Vec<u8>,
    rank: Rank,
    transformer: Arc<Transformer>,
}

/// The resolved configuration: the transformer of each configured resource's keys.
#[derive(Debug)]
pub struct EncryptionRules {
    rules: Vec<Rule>,
}

impl EncryptionRules {
    /// The transformer of the value at `key`, or `None` for a resource not configured (its values
    /// are stored as they are, as upstream's identity).
    pub fn lookup(&self, key: &[u8]) -> Option<&Transformer> {
        self.rules
            .iter()
            .filter(|rule| key.starts_with(&rule.prefix))
            .min_by(|a, b| {
                a.rank
                    .cmp(&b.rank)
                    .then(b.prefix.len().cmp(&a.prefix.len()))
            })
            .map(|rule| rule.transformer.as_ref())
    }

    /// Rules that give every key under `prefix` the transformer (tests of the decorator over
    /// keys outside `/registry`).
    #[cfg(test)]
    pub(crate) fn for_prefix(prefix: &[u8], transformer: Transformer) -> Self {
        Self {
            rules: vec![Rule {
                prefix: prefix.to_vec(),
                rank: Rank::Exact,
                transformer: Arc::new(transformer),
            }],
        }
    }

    /// Whether any resource is configured.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// Reads and validates the file at `path`. The error is one line, in upstream's field-path form
/// where it has one.
pub fn load(path: &Path) -> Result<EncryptionRules, String> {
    let text = std::fs::read_to_string(path).map_err(|err| format!("cannot read: {err}"))?;
    parse(&text)
}

/// Parses and validates a configuration given as YAML or JSON text.
pub fn parse(text: &str) -> Result<EncryptionRules, String> {
    let config: EncryptionConfiguration =
        serde_yaml::from_str(text).map_err(|err| format!("error while parsing file: {err}"))?;
    if config.api_version != API_VERSION || config.kind != KIND {
        return Err(format!(
            "got unexpected config type: apiVersion {:?}, kind {:?} (want {API_VERSION}, {KIND})",
            config.api_version, config.kind
        ));
    }
    if config.resources.is_empty() {
        return Err("resources: Required value: at least one resources is required".into());
    }
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut rules = Vec::new();
    for (i, entry) in config.resources.iter().enumerate() {
        let at = format!("resources[{i}]");
        if entry.resources.is_empty() {
            return Err(format!(
                "{at}.resources: Required value: at least one {at}.resources is required"
            ));
        }
        if entry.providers.is_empty() {
            return Err(format!(
                "{at}.providers: Required value: at least one {at}.providers is required"
            ));
        }
        let mut providers = Vec::new();
        for (j, provider) in entry.providers.iter().enumerate() {
            providers.extend(build_provider(provider, &format!("{at}.providers[{j}]"))?);
        }
        let transformer = Arc::new(Transformer::new(providers));
        for (j, name) in entry.resources.iter().enumerate() {
            let (group, resource) = parse_resource(name, &format!("{at}.resources[{j}]"))?;
            // The first entry naming a resource wins, as upstream.
            if !seen.insert((group.clone(), resource.clone())) {
                continue;
            }
            for (prefix, rank) in prefixes(&group, &resource) {
                rules.push(Rule {
                    prefix: prefix.into_bytes(),
                    rank,
                    transformer: transformer.clone(),
                });
            }
        }
    }
    Ok(EncryptionRules { rules })
}

/// `deployments.apps` -> (`apps`, `deployments`); `secrets` -> (``, `secrets`); `*.` -> every
/// core resource; `*.*` -> every resource (upstream's `schema.ParseGroupResource`).
fn parse_resource(name: &str, at: &str) -> Result<(String, String), String> {
    let invalid = |why: &str| format!("{at}: Invalid value: {name:?}: {why}");
    if name.is_empty() {
        return Err(invalid("resource name must not be empty"));
    }
    if name != name.to_ascii_lowercase() {
        return Err(invalid("resource name must be lowercase"));
    }
    let (resource, group) = name.split_once('.').unwrap_or((name, ""));
    if resource.is_empty() {
        return Err(invalid("resource name must not be empty"));
    }
    if resource == "*" && group.is_empty() && !name.ends_with('.') {
        return Err(invalid(
            "use '*.' to encrypt all the resources from core API group or *.* to encrypt all resources",
        ));
    }
    if group == "*" && resource != "*" {
        return Err(invalid(
            "use '*.*' to encrypt all the resources from all API groups",
        ));
    }
    if (resource.contains('*') && resource != "*") || (group.contains('*') && group != "*") {
        return Err(invalid("wildcards must be '*.<group>', '*.' or '*.*'"));
    }
    Ok((group.to_string(), resource.to_string()))
}

/// The key prefixes of a configured (group, resource).
fn prefixes(group: &str, resource: &str) -> Vec<(String, Rank)> {
    if group == "*" {
        return vec![(format!("{REGISTRY_ROOT}/"), Rank::Any)];
    }
    if resource != "*" {
        let layout = KeyLayout::new(group, resource, true);
        return vec![(layout.resource_prefix().to_string(), Rank::Exact)];
    }
    if !is_built_in_group(group) {
        return vec![(format!("{REGISTRY_ROOT}/{group}/"), Rank::Group)];
    }
    // A built-in group's keys carry no group segment: every resource of the group.
    let mut out: Vec<(String, Rank)> = Vec::new();
    for info in builtin().iter().filter(|info| info.group.as_str() == group) {
        let layout = KeyLayout::new(group, &info.plural, info.namespaced);
        let prefix = layout.resource_prefix().to_string();
        if !out.iter().any(|(p, _)| *p == prefix) {
            out.push((prefix, Rank::Group));
        }
    }
    out
}

/// The providers of one `providers[j]` element: one per key, in order (upstream reads with every
/// key and writes with the first).
fn build_provider(provider: &ProviderConfiguration, at: &str) -> Result<Vec<Provider>, String> {
    let found = [
        provider.kms.is_some(),
        provider.aesgcm.is_some(),
        provider.aescbc.is_some(),
        provider.secretbox.is_some(),
        provider.identity.is_some(),
    ]
    .iter()
    .filter(|set| **set)
    .count();
    if found == 0 {
        return Err(format!("{at}: Invalid value: provider does not contain any of the expected providers: KMS, AESGCM, AESCBC, Secretbox, Identity"));
    }
    if found > 1 {
        return Err(format!("{at}: Invalid value: more than one provider specified in a single element, should split into different list elements"));
    }
    if provider.kms.is_some() {
        return Err(format!(
            "{at}.kms: Unsupported value: KMS providers are not supported by Apiary; use aescbc, aesgcm or secretbox"
        ));
    }
    if provider.identity.is_some() {
        return Ok(vec![Provider::identity()]);
    }
    let (kind, keys) = if let Some(keys) = &provider.aesgcm {
        ("aesgcm", keys)
    } else if let Some(keys) = &provider.aescbc {
        ("aescbc", keys)
    } else if let Some(keys) = &provider.secretbox {
        ("secretbox", keys)
    } else {
        unreachable!("exactly one provider is set")
    };
    let at = format!("{at}.{kind}.keys");
    if keys.keys.is_empty() {
        return Err(format!(
            "{at}: Required value: at least one keys is required"
        ));
    }
    let mut out = Vec::new();
    for (k, key) in keys.keys.iter().enumerate() {
        let at = format!("{at}[{k}]");
        if key.name.is_empty() {
            return Err(format!(
                "{at}.name: Required value: name is a mandatory field for a key"
            ));
        }
        if key.secret.is_empty() {
            return Err(format!(
                "{at}.secret: Required value: secret is a mandatory field for a key"
            ));
        }
        let secret = base64::engine::general_purpose::STANDARD
            .decode(key.secret.as_bytes())
            .map_err(|_| {
                format!("{at}.secret: Invalid value: \"REDACTED\": secrets must be base64 encoded")
            })?;
        let made = match kind {
            "aesgcm" => Provider::aesgcm(&key.name, &secret),
            "aescbc" => Provider::aescbc(&key.name, &secret),
            _ => Provider::secretbox(&key.name, &secret),
        };
        let provider =
            made.map_err(|why| format!("{at}.secret: Invalid value: \"REDACTED\": {why}"))?;
        out.push(provider);
    }
    Ok(out)
}
