//! LimitRanger's arithmetic: resource lists of quantities, the `min`/`max`/
//! `maxLimitRequestRatio` constraints with upstream's messages, and a pod's effective requests
//! and limits (`podRequests`/`podLimits`, sidecars included).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::api::quantity::{canonical, milli_value, quantity_text};

/// One quantity: its value in thousandths (rounded up, as upstream compares them) and its text
/// as Go prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Amount {
    pub milli: i128,
    pub text: String,
    /// Written with a binary suffix (`Mi`): a sum starting with it prints in binary units.
    binary: bool,
}

impl Amount {
    /// The quantity written `text`; `None` when it is not one.
    pub fn parse(text: &str) -> Option<Self> {
        Some(Self {
            milli: milli_value(text)?,
            text: canonical(text, false)?,
            binary: text.trim().ends_with('i'),
        })
    }

    /// `self + other`, printed in `self`'s format (Go's `Quantity.Add`).
    fn plus(&self, other: &Amount) -> Amount {
        let milli = self.milli + other.milli;
        Amount {
            milli,
            text: print(milli, self.binary),
            binary: self.binary,
        }
    }
}

/// The text of `milli` thousandths: binary units when `binary` and the value is whole bytes.
fn print(milli: i128, binary: bool) -> String {
    if binary && milli % 1000 == 0 && (milli / 1000).abs() >= 1024 {
        let bytes = milli / 1000;
        if bytes % 1024 == 0 {
            return canonical(&format!("{}Ki", bytes / 1024), false).unwrap_or_default();
        }
        return bytes.to_string();
    }
    canonical(&format!("{milli}m"), false).unwrap_or_default()
}

/// A resource list (`requests`, `limits`, `min`...) by resource name.
pub type Resources = BTreeMap<String, Amount>;

/// The quantities of the resource list `value` (entries that are not quantities are left out).
pub fn resources(value: Option<&Value>) -> Resources {
    value
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(name, v)| Some((name.clone(), Amount::parse(&quantity_text(v)?)?)))
        .collect()
}

/// `minConstraint`.
pub fn min_constraint(
    kind: &str,
    name: &str,
    enforced: &Amount,
    requests: &Resources,
    limits: &Resources,
) -> Option<String> {
    let e = &enforced.text;
    let Some(request) = requests.get(name) else {
        return Some(format!(
            "minimum {name} usage per {kind} is {e}.  No request is specified"
        ));
    };
    if request.milli < enforced.milli {
        return Some(format!(
            "minimum {name} usage per {kind} is {e}, but request is {}",
            request.text
        ));
    }
    match limits.get(name) {
        Some(limit) if limit.milli < enforced.milli => Some(format!(
            "minimum {name} usage per {kind} is {e}, but limit is {}",
            limit.text
        )),
        _ => None,
    }
}

/// `maxRequestConstraint`: the maximum against requests only (PersistentVolumeClaims).
pub fn max_request_constraint(
    kind: &str,
    name: &str,
    enforced: &Amount,
    requests: &Resources,
) -> Option<String> {
    let e = &enforced.text;
    match requests.get(name) {
        None => Some(format!(
            "maximum {name} usage per {kind} is {e}.  No request is specified"
        )),
        Some(request) if request.milli > enforced.milli => Some(format!(
            "maximum {name} usage per {kind} is {e}, but request is {}",
            request.text
        )),
        Some(_) => None,
    }
}

/// `maxConstraint`.
pub fn max_constraint(
    kind: &str,
    name: &str,
    enforced: &Amount,
    requests: &Resources,
    limits: &Resources,
) -> Option<String> {
    let e = &enforced.text;
    let Some(limit) = limits.get(name) else {
        return Some(format!(
            "maximum {name} usage per {kind} is {e}.  No limit is specified"
        ));
    };
    if limit.milli > enforced.milli {
        return Some(format!(
            "maximum {name} usage per {kind} is {e}, but limit is {}",
            limit.text
        ));
    }
    match requests.get(name) {
        Some(request) if request.milli > enforced.milli => Some(format!(
            "maximum {name} usage per {kind} is {e}, but request is {}",
            request.text
        )),
        _ => None,
    }
}

/// `limitRequestRatioConstraint`.
pub fn ratio_constraint(
    kind: &str,
    name: &str,
    enforced: &Amount,
    requests: &Resources,
    limits: &Resources,
) -> Option<String> {
    let e = &enforced.text;
    let request = requests.get(name).map_or(0, |q| q.milli);
    if request == 0 {
        return Some(format!("{name} max limit to request ratio per {kind} is {e}, but no request is specified or request is 0"));
    }
    let limit = limits.get(name).map_or(0, |q| q.milli);
    if limit == 0 {
        return Some(format!("{name} max limit to request ratio per {kind} is {e}, but no limit is specified or limit is 0"));
    }
    let ratio = limit as f64 / request as f64;
    if ratio * 1000.0 > enforced.milli as f64 {
        return Some(format!(
            "{name} max limit to request ratio per {kind} is {e}, but provided ratio is {ratio:.6}"
        ));
    }
    None
}

/// Adds `other` into `into` (`addResourceList`).
fn add(into: &mut Resources, other: &Resources) {
    for (name, amount) in other {
        let sum = match into.get(name) {
            Some(existing) => existing.plus(amount),
            None => amount.clone(),
        };
        into.insert(name.clone(), sum);
    }
}

/// Keeps the larger of each resource (`maxResourceList`).
fn max(into: &mut Resources, other: &Resources) {
    for (name, amount) in other {
        if into
            .get(name)
            .is_none_or(|existing| amount.milli > existing.milli)
        {
            into.insert(name.clone(), amount.clone());
        }
    }
}

/// The pod's effective `requests` or `limits` (`field`): the containers' and restartable init
/// containers' sum, or the largest need of an init container while it runs, whichever is more.
pub fn pod_total(pod: &Value, field: &str) -> Resources {
    let of = |container: &Value| resources(container.pointer(&format!("/resources/{field}")));
    let list = |key: &str| {
        pod.pointer(&format!("/spec/{key}"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let mut total = Resources::new();
    for container in list("containers") {
        add(&mut total, &of(&container));
    }
    let mut sidecars = Resources::new();
    let mut init = Resources::new();
    for container in list("initContainers") {
        let own = of(&container);
        let running = if container.get("restartPolicy").and_then(Value::as_str) == Some("Always") {
            add(&mut total, &own);
            add(&mut sidecars, &own);
            sidecars.clone()
        } else {
            let mut with_sidecars = own;
            add(&mut with_sidecars, &sidecars);
            with_sidecars
        };
        max(&mut init, &running);
    }
    max(&mut total, &init);
    total
}
