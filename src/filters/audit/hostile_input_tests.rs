//! Property tests of the audit policy loader on hostile policy files: any bytes, and any policy
//! shaped document with odd values in its fields, load or are refused with a message, never a
//! panic; and a loaded policy decides every request.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::policy::{Policy, PolicyAttributes};
use crate::api::test_strategies::json_value;
use crate::request::user::UserInfo;

const CASES: u32 = 256;

const LEVELS: &[&str] = &[
    "None",
    "Metadata",
    "Request",
    "RequestResponse",
    "Everything",
    "",
];
const STAGES: &[&str] = &[
    "RequestReceived",
    "ResponseStarted",
    "ResponseComplete",
    "Panic",
    "Later",
];
const PATTERNS: &[&str] = &[
    "*",
    "",
    "pods",
    "pods/*",
    "*/status",
    "/healthz*",
    "/api/*",
    "**",
    "/",
    "a*b",
];

fn names() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        prop_oneof![
            prop::sample::select(PATTERNS).prop_map(str::to_string),
            "[a-z:/*.-]{0,8}",
        ],
        0..3,
    )
}

fn rule() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(LEVELS),
        names(),
        names(),
        names(),
        names(),
        names(),
        prop::collection::vec(prop::sample::select(STAGES), 0..3),
        prop::option::of(any::<bool>()),
        prop::option::of(json_value()),
    )
        .prop_map(
            |(level, users, verbs, resources, namespaces, urls, stages, omit, junk)| {
                let mut rule = json!({
                    "level": level,
                    "users": users,
                    "verbs": verbs,
                    "resources": [{"group": "", "resources": resources}],
                    "namespaces": namespaces,
                    "nonResourceURLs": urls,
                    "omitStages": stages,
                });
                if let Some(omit) = omit {
                    rule["omitManagedFields"] = json!(omit);
                }
                if let Some(junk) = junk {
                    rule["resources"][0]["resourceNames"] = junk;
                }
                rule
            },
        )
}

fn policy_document() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(rule(), 0..4),
        prop::option::of(json_value()),
        any::<bool>(),
    )
        .prop_map(|(rules, junk, as_yaml)| {
            let mut policy =
                json!({"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": rules});
            if let Some(junk) = junk {
                policy["omitStages"] = junk;
            }
            if as_yaml {
                serde_yaml::to_string(&policy).expect("YAML")
            } else {
                policy.to_string()
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn any_bytes_load_or_are_refused(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Err(message) = Policy::from_bytes(&bytes) {
            prop_assert!(!message.is_empty());
        }
    }

    #[test]
    fn policies_load_or_are_refused_and_decide_every_request(
        document in policy_document(),
        verb in "[a-z]{0,6}",
        resource in "[a-z/]{0,6}",
        path in "/[a-z/*]{0,8}",
        user in "[a-z:]{0,8}",
    ) {
        let policy = match Policy::from_bytes(document.as_bytes()) {
            Ok(policy) => policy,
            Err(message) => {
                prop_assert!(!message.is_empty());
                return Ok(());
            }
        };
        let user = UserInfo {
            name: user,
            groups: vec!["system:authenticated".to_string()],
            ..Default::default()
        };
        for is_resource_request in [true, false] {
            let attrs = PolicyAttributes {
                user: Some(&user),
                verb: &verb,
                is_resource_request,
                path: &path,
                api_group: "",
                namespace: "default",
                resource: &resource,
                subresource: "",
                name: "n",
            };
            let _ = policy.evaluate(&attrs);
            let _ = policy.evaluate(&PolicyAttributes { user: None, ..attrs });
        }
    }
}
