//! Validation of MutatingWebhookConfigurations and ValidatingWebhookConfigurations, as
//! upstream's `validateMutatingWebhookConfiguration` / `validateValidatingWebhookConfiguration`
//! and their `...Update` variants.

use std::collections::HashSet;

use serde_json::Value;

use super::common::{
    check_supported, is_set, items, render_strings, strings, text, validate_match_conditions,
    validate_rule_with_operations, validate_selector, FAILURE_POLICIES, MATCH_POLICIES,
};
use crate::api::names::{is_dns1035_label, is_dns1123_subdomain, is_valid_port_num};
use crate::registry::validation::FieldError;

/// `noSideEffectClasses`, sorted.
const NO_SIDE_EFFECTS: &[&str] = &["None", "NoneOnDryRun"];
/// `supportedSideEffectClasses`, sorted.
const ALL_SIDE_EFFECTS: &[&str] = &["None", "NoneOnDryRun", "Some", "Unknown"];
/// `supportedReinvocationPolicies`, sorted.
const REINVOCATION_POLICIES: &[&str] = &["IfNeeded", "Never"];
/// `AcceptedAdmissionReviewVersions`.
const REVIEW_VERSIONS: &[&str] = &["v1", "v1beta1"];

/// Upstream's `validationOptions` of webhook configurations.
#[derive(Debug, Clone, Copy)]
struct Options {
    ignore_match_conditions: bool,
    require_no_side_effects: bool,
    require_recognized_review_version: bool,
    require_unique_names: bool,
}

const CREATE: Options = Options {
    ignore_match_conditions: false,
    require_no_side_effects: true,
    require_recognized_review_version: true,
    require_unique_names: true,
};

/// The problems of a new webhook configuration (`mutating` or validating).
pub fn validate_create(obj: &Value, mutating: bool) -> Vec<FieldError> {
    validate(obj, mutating, CREATE)
}

/// The problems of an update from `old` to `new`: what the old configuration already got away
/// with (side effects, unknown review versions, repeated names) stays allowed, and unchanged
/// match conditions are not compiled again.
pub fn validate_update(new: &Value, old: &Value, mutating: bool) -> Vec<FieldError> {
    let (new_hooks, old_hooks) = (items(new, "webhooks"), items(old, "webhooks"));
    let conditions = |hook: &Value| hook.get("matchConditions").cloned();
    let options = Options {
        ignore_match_conditions: new_hooks.len() == old_hooks.len()
            && new_hooks
                .iter()
                .zip(old_hooks)
                .all(|(n, o)| conditions(n) == conditions(o)),
        require_no_side_effects: old_hooks.iter().all(|hook| {
            text(hook, "sideEffects").is_some_and(|class| NO_SIDE_EFFECTS.contains(&class))
        }),
        require_recognized_review_version: old_hooks.iter().all(|hook| {
            let versions = strings(hook, "admissionReviewVersions");
            versions.is_empty() || versions.iter().any(|v| REVIEW_VERSIONS.contains(v))
        }),
        require_unique_names: {
            let mut names = HashSet::new();
            old_hooks
                .iter()
                .all(|hook| names.insert(text(hook, "name").unwrap_or("")))
        },
    };
    validate(new, mutating, options)
}

fn validate(obj: &Value, mutating: bool, options: Options) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut names = HashSet::new();
    for (i, hook) in items(obj, "webhooks").iter().enumerate() {
        let path = format!("webhooks[{i}]");
        errs.extend(validate_webhook(hook, mutating, options, &path));
        errs.extend(validate_review_versions(
            &strings(hook, "admissionReviewVersions"),
            options.require_recognized_review_version,
            &format!("{path}.admissionReviewVersions"),
        ));
        let name = text(hook, "name").unwrap_or("");
        if options.require_unique_names && !name.is_empty() && !names.insert(name) {
            errs.push(FieldError::duplicate(format!("{path}.name"), name));
        }
    }
    errs
}

/// Upstream's `IsFullyQualifiedName`: a DNS subdomain of at least three segments.
fn validate_fully_qualified_name(name: &str, path: &str) -> Option<FieldError> {
    if name.is_empty() {
        return Some(FieldError::required(path, ""));
    }
    let problems = is_dns1123_subdomain(name);
    if !problems.is_empty() {
        return Some(FieldError::invalid(path, name, problems.join(",")));
    }
    (name.split('.').count() < 3).then(|| {
        FieldError::invalid(
            path,
            name,
            "should be a domain with at least three segments separated by dots",
        )
    })
}

/// Upstream's `validateMutatingWebhook` / `validateValidatingWebhook`.
fn validate_webhook(hook: &Value, mutating: bool, options: Options, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    errs.extend(validate_fully_qualified_name(
        text(hook, "name").unwrap_or(""),
        &format!("{path}.name"),
    ));
    for (i, rule) in items(hook, "rules").iter().enumerate() {
        errs.extend(validate_rule_with_operations(
            rule,
            &format!("{path}.rules[{i}]"),
        ));
    }
    check_supported(hook, "failurePolicy", path, FAILURE_POLICIES, &mut errs);
    check_supported(hook, "matchPolicy", path, MATCH_POLICIES, &mut errs);
    let side_effects = if options.require_no_side_effects {
        NO_SIDE_EFFECTS
    } else {
        ALL_SIDE_EFFECTS
    };
    if !is_set(hook, "sideEffects") {
        errs.push(FieldError::required(
            format!("{path}.sideEffects"),
            format!("must specify one of {}", side_effects.join(", ")),
        ));
    }
    check_supported(hook, "sideEffects", path, side_effects, &mut errs);
    if let Some(timeout) = hook.get("timeoutSeconds").and_then(Value::as_i64) {
        if !(1..=30).contains(&timeout) {
            errs.push(FieldError::invalid_rendered(
                format!("{path}.timeoutSeconds"),
                timeout.to_string(),
                "the timeout value must be between 1 and 30 seconds",
            ));
        }
    }
    validate_selector(hook, "namespaceSelector", path, &mut errs);
    validate_selector(hook, "objectSelector", path, &mut errs);
    if mutating {
        check_supported(
            hook,
            "reinvocationPolicy",
            path,
            REINVOCATION_POLICIES,
            &mut errs,
        );
    }
    errs.extend(validate_client_config(
        hook.get("clientConfig").unwrap_or(&Value::Null),
        &format!("{path}.clientConfig"),
    ));
    if !options.ignore_match_conditions {
        errs.extend(validate_match_conditions(
            items(hook, "matchConditions"),
            false,
            &format!("{path}.matchConditions"),
        ));
    }
    errs
}

/// Upstream's `validateAdmissionReviewVersions`.
fn validate_review_versions(
    versions: &[&str],
    require_recognized: bool,
    path: &str,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if versions.is_empty() {
        errs.push(FieldError::required(
            path,
            format!("must specify one of {}", REVIEW_VERSIONS.join(", ")),
        ));
        return errs;
    }
    let mut seen = HashSet::new();
    let mut recognized = false;
    for (i, version) in versions.iter().enumerate() {
        let at = format!("{path}[{i}]");
        if !seen.insert(*version) {
            errs.push(FieldError::invalid(&at, version, "duplicate version"));
            continue;
        }
        for msg in is_dns1035_label(version) {
            errs.push(FieldError::invalid(&at, version, msg));
        }
        recognized |= REVIEW_VERSIONS.contains(version);
    }
    if require_recognized && !recognized {
        errs.push(FieldError::invalid_rendered(
            path,
            render_strings("string", versions),
            format!(
                "must include at least one of {}",
                REVIEW_VERSIONS.join(", ")
            ),
        ));
    }
    errs
}

/// Exactly one of `url` and `service`, each valid.
fn validate_client_config(config: &Value, path: &str) -> Vec<FieldError> {
    match (
        is_set(config, "url"),
        config.get("service").filter(|s| !s.is_null()),
    ) {
        (true, None) => validate_url(text(config, "url").unwrap_or(""), &format!("{path}.url")),
        (false, Some(service)) => validate_service(service, &format!("{path}.service")),
        _ => vec![FieldError::required(
            path,
            "exactly one of url or service is required",
        )],
    }
}

/// The parts of a URL as Go's `url.Parse` splits them.
struct GoUrl<'a> {
    /// Lower-cased, as Go's.
    scheme: String,
    user: Option<&'a str>,
    host: &'a str,
    query: &'a str,
    fragment: &'a str,
}

/// Go's `url.Parse`, as far as webhook URLs need it: `Err` with its error text.
fn parse_go_url(raw: &str) -> Result<GoUrl<'_>, String> {
    let fail = |why: &str| Err(format!("parse {}: {why}", go_quote_str(raw)));
    if raw.chars().any(|c| (c as u32) < 0x20 || c == '\u{7f}') {
        return fail("net/url: invalid control character in URL");
    }
    let (rest, fragment) = raw.split_once('#').unwrap_or((raw, ""));
    // getScheme: a letter, then letters, digits, '+', '-', '.', up to ':'.
    let mut scheme = String::new();
    let mut rest = rest;
    for (i, c) in rest.char_indices() {
        if c.is_ascii_alphabetic() {
            continue;
        }
        if c.is_ascii_digit() || c == '+' || c == '-' || c == '.' {
            if i == 0 {
                break;
            }
            continue;
        }
        if c == ':' {
            if i == 0 {
                return fail("missing protocol scheme");
            }
            scheme = rest[..i].to_ascii_lowercase();
            rest = &rest[i + 1..];
        }
        break;
    }
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut user = None;
    let mut host = "";
    if !rest.starts_with('/') && !scheme.is_empty() {
        // Opaque: no authority.
    } else if (!scheme.is_empty() || !rest.starts_with("///")) && rest.starts_with("//") {
        let authority = &rest[2..];
        let authority = authority.split('/').next().unwrap_or("");
        if let Some(at) = authority.rfind('@') {
            user = Some(&authority[..at]);
            host = &authority[at + 1..];
        } else {
            host = authority;
        }
        if let Some(colon) = host.rfind(':') {
            let port = &host[colon + 1..];
            let bracketed = host.starts_with('[');
            if (!bracketed || host[..colon].ends_with(']'))
                && !port.chars().all(|c| c.is_ascii_digit())
            {
                return fail(&format!(
                    "invalid port {} after host",
                    go_quote_str(&host[colon..])
                ));
            }
        }
    }
    Ok(GoUrl {
        scheme,
        user,
        host,
        query,
        fragment,
    })
}

fn go_quote_str(s: &str) -> String {
    crate::api::go_fmt::go_quote(s)
}

/// Upstream's `ValidateWebhookURL` with https forced.
fn validate_url(raw: &str, path: &str) -> Vec<FieldError> {
    const FORM: &str = "; desired format: https://host[/path]";
    let url = match parse_go_url(raw) {
        Ok(url) => url,
        Err(why) => {
            return vec![FieldError::required(
                path,
                format!("url must be a valid URL: {why}{FORM}"),
            )]
        }
    };
    let mut errs = Vec::new();
    if url.scheme != "https" {
        errs.push(FieldError::invalid(
            path,
            &url.scheme,
            format!("'https' is the only allowed URL scheme{FORM}"),
        ));
    }
    if url.host.is_empty() {
        errs.push(FieldError::invalid(
            path,
            url.host,
            format!("host must be provided{FORM}"),
        ));
    }
    if let Some(user) = url.user {
        errs.push(FieldError::invalid(
            path,
            user,
            "user information is not permitted in the URL",
        ));
    }
    if !url.fragment.is_empty() {
        errs.push(FieldError::invalid(
            path,
            url.fragment,
            "fragments are not permitted in the URL",
        ));
    }
    if !url.query.is_empty() {
        errs.push(FieldError::invalid(
            path,
            url.query,
            "query parameters are not permitted in the URL",
        ));
    }
    errs
}

/// Upstream's `ValidateWebhookService`. Upstream's caller passes the service's name where the
/// function takes its namespace and the namespace where it takes the name, so a missing
/// namespace is reported at `name` and a missing name at `namespace`; so here.
fn validate_service(service: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let (name_arg, namespace_arg) = (
        text(service, "namespace").unwrap_or(""),
        text(service, "name").unwrap_or(""),
    );
    if name_arg.is_empty() {
        errs.push(FieldError::required(
            format!("{path}.name"),
            "service name is required",
        ));
    }
    if namespace_arg.is_empty() {
        errs.push(FieldError::required(
            format!("{path}.namespace"),
            "service namespace is required",
        ));
    }
    let port = service.get("port").and_then(Value::as_i64).unwrap_or(0);
    let problems = is_valid_port_num(port);
    if !problems.is_empty() {
        errs.push(FieldError::invalid_rendered(
            format!("{path}.port"),
            port.to_string(),
            format!("port is not valid: {}", problems.join(", ")),
        ));
    }
    let Some(url_path) = text(service, "path") else {
        return errs;
    };
    if url_path.is_empty() || url_path == "/" {
        return errs;
    }
    let at = format!("{path}.path");
    if url_path == "//" {
        errs.push(FieldError::invalid(
            &at,
            url_path,
            "segment[0] may not be empty",
        ));
        return errs;
    }
    if !url_path.starts_with('/') {
        errs.push(FieldError::invalid(&at, url_path, "must start with a '/'"));
    }
    let mut segments = url_path.get(1..).unwrap_or("");
    segments = segments.strip_suffix('/').unwrap_or(segments);
    for (i, segment) in segments.split('/').enumerate() {
        if segment.is_empty() {
            errs.push(FieldError::invalid(
                &at,
                url_path,
                format!("segment[{i}] may not be empty"),
            ));
            continue;
        }
        for failure in is_dns1123_subdomain(segment) {
            errs.push(FieldError::invalid(
                &at,
                url_path,
                format!("segment[{i}]: {failure}"),
            ));
        }
    }
    errs
}
