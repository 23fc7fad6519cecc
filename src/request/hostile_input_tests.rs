//! Property tests of RequestInfo parsing (upstream's `RequestInfoFactory`) on hostile paths and
//! queries: it never panics, what it reports is consistent, and a well-formed resource path
//! parses back into the parts it was built from.

use proptest::prelude::*;

use crate::request::info::RequestInfoFactory;

const CASES: u32 = 256;

const METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT",
];

/// Path segments that steer the parser, and hostile ones.
const SEGMENTS: &[&str] = &[
    "api",
    "apis",
    "v1",
    "apps",
    "namespaces",
    "default",
    "watch",
    "proxy",
    "pods",
    "status",
    "finalize",
    "scale",
    "log",
    "",
    ".",
    "..",
    "%2F",
    "%2e%2e",
    "%",
    "%zz",
    "%C3%A9",
    "é",
    "*",
];

fn path() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(SEGMENTS).prop_map(str::to_string),
            1 => "[a-zA-Z0-9._~%-]{0,6}",
        ],
        0..9,
    )
    .prop_map(|segments| format!("/{}", segments.join("/")))
}

fn query() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "(watch|fieldSelector|labelSelector|timeoutSeconds)=[a-zA-Z0-9.=,%\\\\!-]{0,12}(&watch=(true|false|0|1))?",
        "[a-zA-Z0-9=&%+.,-]{0,24}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn request_info_never_panics_and_is_consistent(
        method in prop::sample::select(METHODS),
        path in path(),
        query in query(),
    ) {
        let uri = if query.is_empty() { path.clone() } else { format!("{path}?{query}") };
        // Only what an HTTP server could hand over: a URI the http crate accepts.
        let Ok(uri) = uri.parse::<http::Uri>() else {
            return Ok(());
        };
        let method = http::Method::from_bytes(method.as_bytes()).expect("a method");
        let Ok(info) = RequestInfoFactory::default().new_request_info(&method, &uri) else {
            return Ok(());
        };
        if info.is_resource_request {
            prop_assert!(info.api_prefix == "api" || info.api_prefix == "apis", "{:?}", info);
            prop_assert_eq!(info.parts.first().cloned().unwrap_or_default(), info.resource.clone());
            if !info.name.is_empty() {
                prop_assert!(info.parts.len() >= 2 || info.verb == "list" || info.verb == "watch", "{:?}", info);
            }
        } else {
            prop_assert!(info.resource.is_empty() && info.namespace.is_empty(), "{:?}", info);
        }
    }

    #[test]
    fn well_formed_resource_paths_round_trip(
        group in prop_oneof![Just(String::new()), "[a-z]{1,6}(\\.[a-z]{1,4})?"],
        namespace in prop::option::of("[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?"),
        resource in "[a-z]{1,10}",
        name in prop::option::of("[a-z0-9]([a-z0-9.-]{0,8}[a-z0-9])?"),
        subresource in prop::option::of("[a-z]{1,8}"),
    ) {
        prop_assume!(!["watch", "proxy", "namespaces"].contains(&resource.as_str()));
        prop_assume!(!["status", "finalize"].contains(&resource.as_str()));
        prop_assume!(name.is_some() || subresource.is_none());
        let mut path = if group.is_empty() {
            "/api/v1".to_string()
        } else {
            format!("/apis/{group}/v1")
        };
        if let Some(namespace) = &namespace {
            path.push_str(&format!("/namespaces/{namespace}"));
        }
        path.push_str(&format!("/{resource}"));
        if let Some(name) = &name {
            path.push_str(&format!("/{name}"));
        }
        if let Some(subresource) = &subresource {
            path.push_str(&format!("/{subresource}"));
        }
        let uri: http::Uri = path.parse().expect("a valid URI");
        let info = RequestInfoFactory::default()
            .new_request_info(&http::Method::PUT, &uri)
            .map_err(|err| TestCaseError::fail(err.to_string()))?;
        prop_assert!(info.is_resource_request);
        prop_assert_eq!(&info.api_group, &group);
        prop_assert_eq!(info.api_version.as_str(), "v1");
        prop_assert_eq!(info.namespace, namespace.unwrap_or_default());
        prop_assert_eq!(info.resource, resource);
        prop_assert_eq!(info.name, name.unwrap_or_default());
        prop_assert_eq!(info.subresource, subresource.unwrap_or_default());
        prop_assert_eq!(info.verb.as_str(), "update");
    }
}
