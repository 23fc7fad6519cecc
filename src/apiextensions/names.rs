//! Name acceptance of CRDs, as upstream's `NamingConditionController`
//! (`apiextensions-apiserver/pkg/controller/status/naming_controller.go`) followed by its
//! establishing controller: a CRD's requested names are accepted unless another CRD of the same
//! group already accepted them; `NamesAccepted` says which name conflicts, and `Established`
//! is `Installing` until the CRD is served, then True ([`established`]).

use serde_json::{json, Value};

use super::conditions::{condition, Condition};
use super::custom_resource::{str_at, strings_at};

/// Upstream's establishing controller: the condition a served CRD whose names are accepted gets.
pub fn established() -> Condition {
    Condition::new(
        "Established",
        "True",
        "InitialNamesAccepted",
        "the initial names have been accepted",
    )
}

/// What the naming pass decided for one CRD.
#[derive(Debug, Clone, PartialEq)]
pub struct NamingDecision {
    pub accepted_names: Value,
    pub names_accepted: Condition,
    pub established: Condition,
}

fn str_of<'a>(names: &'a Value, key: &str) -> &'a str {
    str_at(names, &format!("/{key}"))
}

fn list_of(names: &Value, key: &str) -> Vec<String> {
    strings_at(names, &format!("/{key}"))
}

/// Upstream's `equalToAcceptedOrFresh`.
fn equal_to_accepted_or_fresh(
    requested: &str,
    accepted: &str,
    used: &[String],
) -> Result<(), String> {
    if requested == accepted || !used.iter().any(|u| u == requested) {
        Ok(())
    } else {
        Err(format!("{requested:?} is already in use"))
    }
}

/// Decides `crd`'s accepted names and its `NamesAccepted`/`Established` conditions, given the
/// accepted names of every other CRD in its group (`others`).
pub fn decide(crd: &Value, others: &[&Value]) -> NamingDecision {
    let mut resources: Vec<String> = Vec::new();
    let mut kinds: Vec<String> = Vec::new();
    for names in others {
        resources.push(str_of(names, "plural").to_string());
        resources.push(str_of(names, "singular").to_string());
        resources.extend(list_of(names, "shortNames"));
        kinds.push(str_of(names, "kind").to_string());
        kinds.push(str_of(names, "listKind").to_string());
    }
    let requested = crd
        .pointer("/spec/names")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let accepted = crd
        .pointer("/status/acceptedNames")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let mut new_names = accepted.clone();
    if !new_names.is_object() {
        new_names = json!({});
    }
    let mut conflict: Option<(&'static str, String)> = None;
    for (key, reason, used) in [
        ("plural", "PluralConflict", &resources),
        ("singular", "SingularConflict", &resources),
    ] {
        match equal_to_accepted_or_fresh(str_of(&requested, key), str_of(&accepted, key), used) {
            Ok(()) => new_names[key] = Value::from(str_of(&requested, key)),
            Err(message) => conflict = Some((reason, message)),
        }
    }
    let requested_short = list_of(&requested, "shortNames");
    let accepted_short = list_of(&accepted, "shortNames");
    if requested_short != accepted_short {
        let errors: Vec<String> = requested_short
            .iter()
            .filter(|s| !accepted_short.contains(s))
            .filter(|s| {
                s.as_str() != str_of(&accepted, "plural")
                    && s.as_str() != str_of(&accepted, "singular")
            })
            .filter_map(|s| equal_to_accepted_or_fresh(s, "", &resources).err())
            .collect();
        if errors.is_empty() {
            new_names["shortNames"] = json!(requested_short);
        } else {
            // utilerrors.NewAggregate: one message alone, several as `[a, b]`.
            let message = if errors.len() == 1 {
                errors[0].clone()
            } else {
                format!("[{}]", errors.join(", "))
            };
            conflict = Some(("ShortNamesConflict", message));
        }
    }
    for (key, reason) in [("kind", "KindConflict"), ("listKind", "ListKindConflict")] {
        match equal_to_accepted_or_fresh(str_of(&requested, key), str_of(&accepted, key), &kinds) {
            Ok(()) => new_names[key] = Value::from(str_of(&requested, key)),
            Err(message) => conflict = Some((reason, message)),
        }
    }
    match requested.get("categories") {
        Some(categories) => new_names["categories"] = categories.clone(),
        None => {
            if let Some(map) = new_names.as_object_mut() {
                map.remove("categories");
            }
        }
    }
    if let Some(map) = new_names.as_object_mut() {
        if map
            .get("shortNames")
            .is_some_and(|v| v.as_array().is_some_and(Vec::is_empty))
        {
            map.remove("shortNames");
        }
    }
    let names_accepted = match conflict {
        Some((reason, message)) => Condition::new("NamesAccepted", "False", reason, message),
        None => Condition::new("NamesAccepted", "True", "NoConflicts", "no conflicts found"),
    };
    // Upstream leaves `Established` as it was, except that accepted names of a CRD not yet
    // established make it `Installing`: the establishing step ([`established`]) turns it True
    // once the CRD is served, so that a client seeing it True finds the resources served.
    let old = condition(crd, "Established").and_then(|old| {
        let field = |key: &str| {
            old.get(key)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let status = match old.get("status")?.as_str()? {
            "True" => "True",
            "False" => "False",
            _ => "Unknown",
        };
        Some(Condition::new(
            "Established",
            status,
            field("reason"),
            field("message"),
        ))
    });
    let established = match old {
        Some(old) if old.status == "True" || names_accepted.status != "True" => old,
        _ if names_accepted.status == "True" => Condition::new(
            "Established",
            "False",
            "Installing",
            "the initial names have been accepted",
        ),
        _ => Condition::new(
            "Established",
            "False",
            "NotAccepted",
            "not all names are accepted",
        ),
    };
    NamingDecision {
        accepted_names: new_names,
        names_accepted,
        established,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd(plural: &str, kind: &str, short: &[&str]) -> Value {
        json!({"spec": {"names": {"plural": plural, "singular": plural.trim_end_matches('s'),
            "kind": kind, "listKind": format!("{kind}List"), "shortNames": short}}})
    }

    #[test]
    fn fresh_names_are_accepted_and_installing_until_served() {
        let d = decide(&crd("crontabs", "CronTab", &["ct"]), &[]);
        assert_eq!(d.names_accepted.reason, "NoConflicts");
        assert_eq!(d.names_accepted.message, "no conflicts found");
        assert_eq!(d.established.status, "False");
        assert_eq!(d.established.reason, "Installing");
        // Once established, it stays so.
        let mut served = crd("crontabs", "CronTab", &["ct"]);
        super::super::conditions::set_condition(&mut served, established());
        assert_eq!(decide(&served, &[]).established, established());
        assert_eq!(d.accepted_names["plural"], "crontabs");
        assert_eq!(d.accepted_names["shortNames"], json!(["ct"]));
    }

    #[test]
    fn a_name_in_use_is_refused_with_upstreams_reason() {
        let other = json!({"plural": "crontabs", "singular": "crontab", "kind": "CronTab",
                           "listKind": "CronTabList", "shortNames": ["ct"]});
        let d = decide(&crd("crontabs", "Other", &[]), &[&other]);
        assert_eq!(d.names_accepted.status, "False");
        // Both plural and singular are taken; upstream checks singular after plural and reports
        // the last conflict.
        assert_eq!(d.names_accepted.reason, "SingularConflict");
        assert_eq!(d.names_accepted.message, "\"crontab\" is already in use");
        assert_eq!(d.established.status, "False");
        assert_eq!(d.established.reason, "NotAccepted");
        assert!(d.accepted_names.get("plural").is_none());
        // Kind and list kind are both taken: the list kind is checked last.
        let d = decide(&crd("others", "CronTab", &[]), &[&other]);
        assert_eq!(d.names_accepted.reason, "ListKindConflict");
        assert_eq!(
            d.names_accepted.message,
            "\"CronTabList\" is already in use"
        );
        let d = decide(&crd("others", "Other", &["ct"]), &[&other]);
        assert_eq!(d.names_accepted.reason, "ShortNamesConflict");
        assert_eq!(d.names_accepted.message, "\"ct\" is already in use");
    }
}
