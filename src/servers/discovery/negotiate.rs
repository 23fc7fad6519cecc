//! `Accept` negotiation for discovery endpoints, after upstream's `NegotiateMediaTypeOptions` with
//! the discovery restrictions: clauses are tried by quality (then specificity), the first one this
//! server can honour wins; only JSON and YAML are served; `g`/`v`/`as` may only ask for
//! `apidiscovery.k8s.io` `v2`/`v2beta1` `APIGroupDiscoveryList`, and only on `/api` and `/apis`.

use http::HeaderValue;

use crate::api::accept::{parse_accept, AcceptClause};

/// The aggregated discovery version a client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregatedVersion {
    V2,
    V2Beta1,
}

impl AggregatedVersion {
    /// `v2` or `v2beta1`.
    pub fn as_str(self) -> &'static str {
        match self {
            AggregatedVersion::V2 => "v2",
            AggregatedVersion::V2Beta1 => "v2beta1",
        }
    }
}

/// The negotiated response form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    Json,
    Yaml,
    /// The aggregated document (JSON unless `yaml`).
    Aggregated {
        version: AggregatedVersion,
        yaml: bool,
    },
}

/// Chooses the response form for an `Accept` header. A missing or empty header gives JSON;
/// `None` means nothing acceptable (406). `allow_aggregated` is true on `/api` and `/apis` only.
pub fn negotiate(accept: Option<&HeaderValue>, allow_aggregated: bool) -> Option<MediaType> {
    let accept = match accept.and_then(|v| v.to_str().ok()).map(str::trim) {
        None | Some("") => return Some(MediaType::Json),
        Some(text) => text,
    };
    parse_accept(accept)
        .into_iter()
        .find_map(|clause| accept_clause(&clause, allow_aggregated))
}

fn accept_clause(clause: &AcceptClause<'_>, allow_aggregated: bool) -> Option<MediaType> {
    let yaml = match clause.type_and_subtype()? {
        ("application", "json") | ("application", "*") | ("*", "*") => false,
        ("application", "yaml") => true,
        _ => return None,
    };
    let (mut group, mut version, mut kind) = (None, None, None);
    for &(key, value) in &clause.params {
        match key {
            "g" => group = Some(value),
            "v" => version = Some(value),
            "as" => kind = Some(value),
            // Discovery endpoints do not stream.
            "stream" if !value.is_empty() => return None,
            _ => {}
        }
    }
    if group.is_none() && version.is_none() && kind.is_none() {
        return Some(if yaml {
            MediaType::Yaml
        } else {
            MediaType::Json
        });
    }
    if !allow_aggregated
        || group != Some(crate::api::discovery::APIDISCOVERY_GROUP)
        || kind != Some(crate::api::discovery::APIGROUP_DISCOVERY_LIST_KIND)
    {
        return None;
    }
    let version = match version {
        Some("v2") => AggregatedVersion::V2,
        Some("v2beta1") => AggregatedVersion::V2Beta1,
        _ => return None,
    };
    Some(MediaType::Aggregated { version, yaml })
}
