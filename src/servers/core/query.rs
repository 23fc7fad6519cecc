//! Query parameters of each verb, decoded and validated as upstream's parameter codec and
//! `k8s.io/apimachinery/pkg/apis/meta/v1/validation` do.
//!
//! Decoding follows Go's conversions from `url.Values`: the first value of a key counts (all values
//! for lists such as `dryRun`), a boolean is true unless it is `0` or `false` (so a bare `?watch`
//! is true), and a bad integer answers 400 with `strconv.ParseInt: parsing "x": invalid syntax`.
//! Unknown keys are ignored. Option validation failures answer upstream's 422, e.g.
//! `CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"x"}: supported values: "All"`.

use crate::api::go_fmt::go_quote;
use crate::api::status::{ApiError, ApiResult, StatusCause};
use crate::registry::options::{
    DeleteOptions, GetOptions, ListOptions, PropagationPolicy, WriteOptions,
};

/// The decoded query string: every `key=value` pair in order, percent-decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryParams {
    pairs: Vec<(String, String)>,
}

impl QueryParams {
    /// Decodes a raw query string (`a=1&b=x%20y`); `None` or malformed pairs give what can be read.
    pub fn parse(raw: Option<&str>) -> Self {
        let pairs = raw
            .map(|raw| serde_urlencoded::from_str::<Vec<(String, String)>>(raw).unwrap_or_default())
            .unwrap_or_default();
        Self { pairs }
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, in order.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Whether `key` appears at all.
    pub fn has(&self, key: &str) -> bool {
        self.pairs.iter().any(|(k, _)| k == key)
    }

    /// A boolean as Go's parameter codec reads it: absent -> `None`; `0`/`false` (any case) ->
    /// false; anything else, including an empty value, -> true.
    pub fn boolean(&self, key: &str) -> Option<bool> {
        self.get(key)
            .map(|v| !(v == "0" || v.eq_ignore_ascii_case("false")))
    }

    /// An integer; a value that is not one answers 400 as Go's `strconv.ParseInt` error.
    pub fn integer(&self, key: &str) -> ApiResult<Option<i64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
                ApiError::bad_request(format!(
                    "strconv.ParseInt: parsing {}: invalid syntax",
                    go_quote(v)
                ))
            }),
        }
    }

    /// A string that is empty when absent.
    pub fn string(&self, key: &str) -> String {
        self.get(key).unwrap_or_default().to_string()
    }
}

/// One field error of an options object, rendered as upstream's `field.Error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// `FieldValueNotSupported`, `FieldValueForbidden`, `FieldValueInvalid`, `FieldValueTooLong`.
    pub reason: &'static str,
    /// The field path: `dryRun`, `resourceVersionMatch`.
    pub field: String,
    /// The error body without the field: `Unsupported value: "x": supported values: "All"`.
    pub message: String,
}

impl FieldError {
    /// `Unsupported value: <value>: supported values: "a", "b"`; `value` is already rendered.
    pub fn not_supported(field: &str, value: &str, supported: &[&str]) -> Self {
        let list: Vec<String> = supported.iter().map(|s| go_quote(s)).collect();
        Self {
            reason: "FieldValueNotSupported",
            field: field.into(),
            message: format!(
                "Unsupported value: {value}: supported values: {}",
                list.join(", ")
            ),
        }
    }

    /// `Forbidden: <detail>`.
    pub fn forbidden(field: &str, detail: &str) -> Self {
        Self {
            reason: "FieldValueForbidden",
            field: field.into(),
            message: format!("Forbidden: {detail}"),
        }
    }

    /// `Invalid value: <value>: <detail>`; `value` is already rendered.
    pub fn invalid(field: &str, value: &str, detail: &str) -> Self {
        Self {
            reason: "FieldValueInvalid",
            field: field.into(),
            message: format!("Invalid value: {value}: {detail}"),
        }
    }

    fn too_long(field: &str, max: usize) -> Self {
        Self {
            reason: "FieldValueTooLong",
            field: field.into(),
            message: format!("Too long: may not be more than {max} bytes"),
        }
    }

    fn into_cause(self) -> StatusCause {
        StatusCause {
            reason: self.reason.into(),
            message: self.message,
            field: self.field,
        }
    }
}

/// The 422 of invalid options: `<Kind>.meta.k8s.io "" is invalid: ...`.
pub fn invalid_options(kind: &str, errors: Vec<FieldError>) -> ApiError {
    ApiError::invalid(
        "meta.k8s.io",
        kind,
        "",
        errors.into_iter().map(FieldError::into_cause).collect(),
    )
}

fn check(kind: &str, errors: Vec<FieldError>) -> ApiResult<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(invalid_options(kind, errors))
    }
}

/// `fieldValidation` of a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldValidation {
    /// Unknown and duplicate fields are dropped silently.
    Ignore,
    /// They are dropped and reported in `Warning` headers (upstream's default).
    #[default]
    Warn,
    /// They fail the request.
    Strict,
}

/// The query options of create, update and patch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteParams {
    /// What the store needs (`dryRun`, `fieldManager`; the handler sets the subresource).
    pub write: WriteOptions,
    pub field_validation: FieldValidation,
}

/// The longest `fieldManager` upstream accepts.
const FIELD_MANAGER_MAX_LENGTH: usize = 128;

fn validate_dry_run(values: &[&str], errors: &mut Vec<FieldError>) -> bool {
    if values.iter().any(|v| *v != "All") {
        let rendered: Vec<String> = values.iter().map(|v| go_quote(v)).collect();
        errors.push(FieldError::not_supported(
            "dryRun",
            &format!("[]string{{{}}}", rendered.join(", ")),
            &["All"],
        ));
    }
    !values.is_empty()
}

fn validate_field_manager(manager: &str, errors: &mut Vec<FieldError>) {
    if manager.len() > FIELD_MANAGER_MAX_LENGTH {
        errors.push(FieldError::too_long(
            "fieldManager",
            FIELD_MANAGER_MAX_LENGTH,
        ));
    }
    for (position, c) in manager.chars().enumerate() {
        if c.is_control() {
            errors.push(FieldError::invalid(
                "fieldManager",
                &go_quote(manager),
                &format!(
                    "invalid character U+{:04X} (at position {position})",
                    c as u32
                ),
            ));
        }
    }
}

fn parse_field_validation(value: &str, errors: &mut Vec<FieldError>) -> FieldValidation {
    match value {
        "" | "Warn" => FieldValidation::Warn,
        "Ignore" => FieldValidation::Ignore,
        "Strict" => FieldValidation::Strict,
        other => {
            errors.push(FieldError::not_supported(
                "fieldValidation",
                &go_quote(other),
                &["", "Ignore", "Strict", "Warn"],
            ));
            FieldValidation::Warn
        }
    }
}

/// The kind of write whose options are parsed, naming the options object in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    Create,
    Update,
    Patch,
}

impl WriteKind {
    fn options_kind(self) -> &'static str {
        match self {
            Self::Create => "CreateOptions",
            Self::Update => "UpdateOptions",
            Self::Patch => "PatchOptions",
        }
    }
}

/// Decodes and validates `dryRun`, `fieldManager` and `fieldValidation` (and, for patches, the
/// apply-only `force`).
pub fn write_params(query: &QueryParams, kind: WriteKind) -> ApiResult<WriteParams> {
    let mut errors = Vec::new();
    if kind == WriteKind::Patch && query.has("force") {
        errors.push(FieldError::forbidden(
            "force",
            "may not be specified for non-apply patch",
        ));
    }
    let field_manager = query.string("fieldManager");
    validate_field_manager(&field_manager, &mut errors);
    let dry_run = validate_dry_run(&query.all("dryRun"), &mut errors);
    let field_validation =
        parse_field_validation(query.get("fieldValidation").unwrap_or(""), &mut errors);
    check(kind.options_kind(), errors)?;
    Ok(WriteParams {
        write: WriteOptions {
            dry_run,
            field_manager,
            subresource: None,
            admission: None,
        },
        field_validation,
    })
}

/// Decodes the options of a get (`metav1.GetOptions`): its `resourceVersion`, which the store
/// validates.
pub fn get_options(query: &QueryParams) -> GetOptions {
    GetOptions {
        resource_version: query.string("resourceVersion"),
    }
}

/// Decodes the list/watch options and validates them as upstream's `ValidateListOptions`
/// (422 `ListOptions.meta.k8s.io "" is invalid`). `force_watch` is set for the legacy
/// `/watch/` paths.
pub fn list_options(query: &QueryParams, force_watch: bool) -> ApiResult<ListOptions> {
    let watch = force_watch || query.boolean("watch").unwrap_or(false);
    let opts = ListOptions {
        label_selector: query.string("labelSelector"),
        field_selector: query.string("fieldSelector"),
        limit: query.integer("limit")?,
        continue_token: query.string("continue"),
        resource_version: query.string("resourceVersion"),
        resource_version_match: query.string("resourceVersionMatch"),
        watch: Some(watch),
        allow_watch_bookmarks: query.boolean("allowWatchBookmarks"),
        send_initial_events: query.boolean("sendInitialEvents"),
        timeout_seconds: query.integer("timeoutSeconds")?,
    };
    check("ListOptions", validate_list_options(&opts, watch))?;
    Ok(opts)
}

fn validate_list_options(opts: &ListOptions, watch: bool) -> Vec<FieldError> {
    const FIELD: &str = "resourceVersionMatch";
    let mut errors = Vec::new();
    let matching = opts.resource_version_match.as_str();
    if watch {
        if opts.send_initial_events.is_some() && matching != "NotOlderThan" {
            errors.push(FieldError::forbidden(
                FIELD,
                "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            ));
        }
        if !matching.is_empty() {
            if opts.send_initial_events.is_none() {
                errors.push(FieldError::forbidden(
                    FIELD,
                    "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
                ));
            }
            if matching != "NotOlderThan" {
                errors.push(FieldError::not_supported(
                    FIELD,
                    &go_quote(matching),
                    &["NotOlderThan"],
                ));
            }
            if !opts.continue_token.is_empty() {
                errors.push(FieldError::forbidden(
                    FIELD,
                    "resourceVersionMatch is forbidden when continue is provided",
                ));
            }
        }
        return errors;
    }
    if !matching.is_empty() {
        if opts.resource_version.is_empty() {
            errors.push(FieldError::forbidden(
                FIELD,
                "resourceVersionMatch is forbidden unless resourceVersion is provided",
            ));
        }
        if !opts.continue_token.is_empty() {
            errors.push(FieldError::forbidden(
                FIELD,
                "resourceVersionMatch is forbidden when continue is provided",
            ));
        }
        if matching != "Exact" && matching != "NotOlderThan" {
            errors.push(FieldError::not_supported(
                FIELD,
                &go_quote(matching),
                &["Exact", "NotOlderThan", ""],
            ));
        }
        if matching == "Exact" && opts.resource_version == "0" {
            errors.push(FieldError::forbidden(
                FIELD,
                "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
            ));
        }
    }
    if opts.send_initial_events.is_some() {
        errors.push(FieldError::forbidden(
            "sendInitialEvents",
            "sendInitialEvents is forbidden for list",
        ));
    }
    errors
}

/// The raw fields of DeleteOptions before validation, from a query string or a request body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawDeleteOptions {
    pub grace_period_seconds: Option<i64>,
    pub orphan_dependents: Option<bool>,
    pub propagation_policy: Option<String>,
    pub dry_run: Vec<String>,
    pub preconditions: Option<crate::registry::options::Preconditions>,
}

/// DeleteOptions from the query string (used when a DELETE has no body).
pub fn raw_delete_options(query: &QueryParams) -> ApiResult<RawDeleteOptions> {
    Ok(RawDeleteOptions {
        grace_period_seconds: query.integer("gracePeriodSeconds")?,
        orphan_dependents: query.boolean("orphanDependents"),
        propagation_policy: query.get("propagationPolicy").map(str::to_string),
        dry_run: query
            .all("dryRun")
            .into_iter()
            .map(str::to_string)
            .collect(),
        preconditions: None,
    })
}

/// Validates DeleteOptions as upstream's `ValidateDeleteOptions` (422
/// `DeleteOptions.meta.k8s.io "" is invalid`) and splits them into the store's delete and write
/// options.
pub fn delete_options(raw: RawDeleteOptions) -> ApiResult<(DeleteOptions, WriteOptions)> {
    let mut errors = Vec::new();
    if let (Some(_), Some(policy)) = (raw.orphan_dependents, &raw.propagation_policy) {
        errors.push(FieldError::invalid(
            "propagationPolicy",
            &go_quote(policy),
            "orphanDependents and deletionPropagation cannot be both set",
        ));
    }
    let propagation_policy = match raw.propagation_policy.as_deref() {
        None => None,
        Some("Foreground") => Some(PropagationPolicy::Foreground),
        Some("Background") => Some(PropagationPolicy::Background),
        Some("Orphan") => Some(PropagationPolicy::Orphan),
        Some(other) => {
            errors.push(FieldError::not_supported(
                "propagationPolicy",
                &go_quote(other),
                &["Foreground", "Background", "Orphan", "nil"],
            ));
            None
        }
    };
    let dry_run_values: Vec<&str> = raw.dry_run.iter().map(String::as_str).collect();
    let dry_run = validate_dry_run(&dry_run_values, &mut errors);
    check("DeleteOptions", errors)?;
    let delete = DeleteOptions {
        grace_period_seconds: raw.grace_period_seconds,
        preconditions: raw.preconditions,
        orphan_dependents: raw.orphan_dependents,
        propagation_policy,
        dry_run: raw.dry_run,
    };
    let write = WriteOptions {
        dry_run,
        field_manager: String::new(),
        subresource: None,
        admission: None,
    };
    Ok((delete, write))
}

/// Whether the response should be indented: `?pretty=<bool>` when given, else true for the user
/// agents of browsers, curl and wget (as upstream).
pub fn wants_pretty(query: &QueryParams, user_agent: Option<&str>) -> bool {
    if let Some(value) = query.get("pretty") {
        if !value.is_empty() {
            return matches!(value, "1" | "t" | "T" | "true" | "TRUE" | "True");
        }
    }
    user_agent.is_some_and(|ua| {
        ua.starts_with("curl") || ua.starts_with("Wget") || ua.starts_with("Mozilla/5.0")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(raw: &str) -> QueryParams {
        QueryParams::parse(Some(raw))
    }

    #[test]
    fn get_options_carry_the_resource_version() {
        assert_eq!(get_options(&q("resourceVersion=42")).resource_version, "42");
        assert_eq!(get_options(&q("pretty=true")).resource_version, "");
    }

    #[test]
    fn booleans_follow_go_parameter_conversion() {
        let cases = [
            ("watch=true", Some(true)),
            ("watch=1", Some(true)),
            ("watch", Some(true)),
            ("watch=0", Some(false)),
            ("watch=FALSE", Some(false)),
            ("other=1", None),
        ];
        for (raw, want) in cases {
            assert_eq!(q(raw).boolean("watch"), want, "{raw}");
        }
    }

    #[test]
    fn bad_integers_answer_go_parse_errors() {
        let err = q("limit=abc").integer("limit").unwrap_err();
        assert_eq!(err.status.code, 400);
        assert_eq!(
            err.status.message,
            "strconv.ParseInt: parsing \"abc\": invalid syntax"
        );
        assert_eq!(q("limit=5").integer("limit").unwrap(), Some(5));
    }

    #[test]
    fn dry_run_other_than_all_is_invalid_create_options() {
        let err = write_params(&q("dryRun=foo"), WriteKind::Create).unwrap_err();
        assert_eq!(err.status.code, 422);
        assert_eq!(err.status.reason, "Invalid");
        assert_eq!(
            err.status.message,
            "CreateOptions.meta.k8s.io \"\" is invalid: dryRun: Unsupported value: []string{\"foo\"}: supported values: \"All\""
        );
        let details = err.status.details.expect("details");
        assert_eq!(details.group, "meta.k8s.io");
        assert_eq!(details.kind, "CreateOptions");
        assert_eq!(details.causes[0].reason, "FieldValueNotSupported");
        assert_eq!(details.causes[0].field, "dryRun");
    }

    #[test]
    fn write_params_defaults_and_values() {
        let params = write_params(
            &q("dryRun=All&fieldManager=kubectl&fieldValidation=Strict"),
            WriteKind::Update,
        )
        .expect("valid");
        assert!(params.write.dry_run);
        assert_eq!(params.write.field_manager, "kubectl");
        assert_eq!(params.field_validation, FieldValidation::Strict);
        let defaults = write_params(&q(""), WriteKind::Update).expect("valid");
        assert!(!defaults.write.dry_run);
        assert_eq!(defaults.field_validation, FieldValidation::Warn);
    }

    #[test]
    fn unknown_field_validation_is_rejected() {
        let err = write_params(&q("fieldValidation=Loud"), WriteKind::Patch).unwrap_err();
        assert_eq!(
            err.status.message,
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldValidation: Unsupported value: \"Loud\": supported values: \"\", \"Ignore\", \"Strict\", \"Warn\""
        );
    }

    #[test]
    fn force_is_forbidden_for_non_apply_patches() {
        let err = write_params(&q("force=true"), WriteKind::Patch).unwrap_err();
        assert_eq!(
            err.status.message,
            "PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: may not be specified for non-apply patch"
        );
    }

    #[test]
    fn list_option_rules() {
        let cases: &[(&str, bool, Option<&str>)] = &[
            ("labelSelector=a%3Db&limit=2", false, None),
            (
                "resourceVersionMatch=Exact",
                false,
                Some("resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"),
            ),
            ("sendInitialEvents=true", false, Some("sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list")),
            (
                "resourceVersionMatch=NotOlderThan&resourceVersion=1",
                true,
                Some("resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"),
            ),
            ("sendInitialEvents=true&resourceVersionMatch=NotOlderThan", true, None),
        ];
        for (raw, force_watch, want) in cases {
            match (list_options(&q(raw), *force_watch), want) {
                (Ok(_), None) => {}
                (Err(err), Some(want)) => {
                    assert_eq!(err.status.code, 422, "{raw}");
                    assert_eq!(
                        err.status.message,
                        format!("ListOptions.meta.k8s.io \"\" is invalid: {want}"),
                        "{raw}"
                    );
                }
                (got, want) => panic!("{raw}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn delete_options_validation() {
        let raw = raw_delete_options(&q("propagationPolicy=Sideways")).expect("decodes");
        let err = delete_options(raw).unwrap_err();
        assert_eq!(
            err.status.message,
            "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"Sideways\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""
        );
        let raw = raw_delete_options(&q("orphanDependents=false&propagationPolicy=Foreground"))
            .expect("decodes");
        assert!(delete_options(raw)
            .unwrap_err()
            .status
            .message
            .contains("cannot be both set"));
        let raw = raw_delete_options(&q("gracePeriodSeconds=0&dryRun=All")).expect("decodes");
        let (delete, write) = delete_options(raw).expect("valid");
        assert_eq!(delete.grace_period_seconds, Some(0));
        assert!(write.dry_run);
    }

    #[test]
    fn pretty_printing_choice() {
        assert!(wants_pretty(&q("pretty=true"), None));
        assert!(!wants_pretty(&q("pretty=false"), Some("curl/8.0")));
        assert!(wants_pretty(&q(""), Some("curl/8.0")));
        assert!(!wants_pretty(&q(""), Some("kubectl/v1.33.0")));
    }
}
