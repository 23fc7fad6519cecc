//! What a request asks for: upstream's `RequestInfoFactory`
//! (`k8s.io/apiserver/pkg/endpoints/request/requestinfo.go`).
//!
//! Resource paths:
//!
//! ```text
//! /api/{version}/{resource}[/{name}[/{subresource}[/...]]]
//! /api/{version}/namespaces/{namespace}/{resource}[/{name}[/{subresource}[/...]]]
//! /apis/{group}/{version}/...                  (the same shapes)
//! /api/{version}/watch/...  /api/{version}/proxy/...   (legacy verb prefixes)
//! ```
//!
//! Everything else (`/api`, `/api/v1`, `/apis/apps/v1`, `/healthz`, `/`) is a non-resource
//! request whose verb is the lower-case HTTP method.

/// The parsed meaning of a request, inserted into the request extensions by
/// [`attach_request_info`]. Later filters (authorization, audit, max-in-flight) and the servers
/// read it from there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestInfo {
    /// Whether the path addresses an API resource (as opposed to `/healthz`, `/api`, ...).
    pub is_resource_request: bool,
    /// The URL path, percent-decoded.
    pub path: String,
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`, `proxy`;
    /// for non-resource requests the lower-case HTTP method.
    pub verb: String,
    /// `api` or `apis`.
    pub api_prefix: String,
    /// `""` for the core group.
    pub api_group: String,
    pub api_version: String,
    pub namespace: String,
    /// The plural resource name, e.g. `pods`.
    pub resource: String,
    pub subresource: String,
    pub name: String,
    /// The path segments from the resource on: `resource/name/subresource/...`.
    pub parts: Vec<String>,
}

/// The request could not be understood (`/api/v1/watch` with nothing after the verb).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unable to determine kind and namespace from url, {url}")]
pub struct RequestInfoError {
    pub url: String,
}

/// Path prefixes before a special verb: `/api/v1/watch/pods`, `/api/v1/proxy/nodes/n1`.
const SPECIAL_VERBS: &[&str] = &["proxy", "watch"];
/// Special verbs after which the third part is not a subresource.
const SPECIAL_VERBS_NO_SUBRESOURCES: &[&str] = &["proxy"];
/// Subresources of a namespace itself: `/api/v1/namespaces/ns/status`.
const NAMESPACE_SUBRESOURCES: &[&str] = &["status", "finalize"];

/// Parses request paths into [`RequestInfo`]; the prefixes are configurable as upstream's.
#[derive(Debug, Clone)]
pub struct RequestInfoFactory {
    /// Prefixes under which resources are served: `api`, `apis`.
    pub api_prefixes: Vec<String>,
    /// Prefixes without a group segment: `api`.
    pub groupless_api_prefixes: Vec<String>,
}

impl Default for RequestInfoFactory {
    fn default() -> Self {
        Self {
            api_prefixes: vec!["api".into(), "apis".into()],
            groupless_api_prefixes: vec!["api".into()],
        }
    }
}

impl RequestInfoFactory {
    /// Parses one request. `uri` supplies the path and the query (`watch`, `fieldSelector`).
    pub fn new_request_info(
        &self,
        method: &http::Method,
        uri: &http::Uri,
    ) -> Result<RequestInfo, RequestInfoError> {
        let path = percent_encoding::percent_decode_str(uri.path())
            .decode_utf8_lossy()
            .into_owned();
        let mut info = RequestInfo {
            is_resource_request: false,
            verb: method.as_str().to_ascii_lowercase(),
            path,
            ..Default::default()
        };

        let segments = split_path(&info.path);
        let mut parts: &[String] = &segments;
        if parts.len() < 3 || !self.api_prefixes.contains(&parts[0]) {
            return Ok(info);
        }
        let prefix = parts[0].clone();
        parts = &parts[1..];
        if !self.groupless_api_prefixes.contains(&prefix) {
            // The prefix is consumed already: this asks for group, version and a resource.
            if parts.len() < 3 {
                return Ok(info);
            }
            info.api_group = parts[0].clone();
            parts = &parts[1..];
        }
        info.api_prefix = prefix;
        info.is_resource_request = true;
        info.api_version = parts[0].clone();
        parts = &parts[1..];

        if SPECIAL_VERBS.contains(&parts[0].as_str()) {
            if parts.len() < 2 {
                return Err(RequestInfoError {
                    url: uri.to_string(),
                });
            }
            info.verb = parts[0].clone();
            parts = &parts[1..];
        } else {
            info.verb = match *method {
                http::Method::POST => "create",
                http::Method::GET | http::Method::HEAD => "get",
                http::Method::PUT => "update",
                http::Method::PATCH => "patch",
                http::Method::DELETE => "delete",
                _ => "",
            }
            .to_string();
        }

        if parts[0] == "namespaces" && parts.len() > 1 {
            info.namespace = parts[1].clone();
            // A step after the namespace name that is not a namespace subresource is a
            // resource in its own right.
            if parts.len() > 2 && !NAMESPACE_SUBRESOURCES.contains(&parts[2].as_str()) {
                parts = &parts[2..];
            }
        }
        info.parts = parts.to_vec();

        // parts: resource/name/subresource/anything/else/uninterpreted
        if info.parts.len() >= 3 && !SPECIAL_VERBS_NO_SUBRESOURCES.contains(&info.verb.as_str()) {
            info.subresource = info.parts[2].clone();
        }
        if info.parts.len() >= 2 {
            info.name = info.parts[1].clone();
        }
        if let Some(resource) = info.parts.first() {
            info.resource = resource.clone();
        }

        // Without a name, a get is a list or a watch.
        if info.name.is_empty() && info.verb == "get" {
            let query = ListQuery::parse(uri.query().unwrap_or(""));
            info.verb = if query.watch { "watch" } else { "list" }.to_string();
            // A field selector pinning metadata.name names the object, for authorization.
            if let Some(name) = query.field_selector.as_deref().and_then(exact_name_match) {
                if is_valid_path_segment_name(&name) {
                    info.name = name;
                }
            }
        }
        // Without a name, a delete is a deletecollection.
        if info.name.is_empty() && info.verb == "delete" {
            info.verb = "deletecollection".to_string();
        }
        Ok(info)
    }
}

/// The query parameters that change a request's verb or name.
#[derive(Debug, Default)]
struct ListQuery {
    watch: bool,
    field_selector: Option<String>,
}

impl ListQuery {
    fn parse(query: &str) -> Self {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
        let mut parsed = Self::default();
        // Only the first value counts, as with Go's url.Values conversions.
        if let Some((_, value)) = pairs.iter().find(|(key, _)| key == "watch") {
            // Any value but `0` or `false` (case-insensitive) is true, even an empty one.
            parsed.watch = !(value == "0" || value.eq_ignore_ascii_case("false"));
        }
        parsed.field_selector = pairs
            .into_iter()
            .find(|(key, _)| key == "fieldSelector")
            .map(|(_, value)| value);
        parsed
    }
}

/// The value a field selector requires `metadata.name` to equal (`metadata.name=x` or
/// `metadata.name==x`, possibly among other terms), if it parses and has such a term.
fn exact_name_match(selector: &str) -> Option<String> {
    for term in split_unescaped(selector, ',')? {
        if term.is_empty() {
            continue;
        }
        let (field, op, value) = split_term(&term)?;
        let value = unescape_field_value(value)?;
        if field == "metadata.name" && (op == "=" || op == "==") {
            return Some(value);
        }
    }
    None
}

/// Splits on `sep` outside backslash escapes; `None` on a trailing lone backslash.
fn split_unescaped(s: &str, sep: char) -> Option<Vec<String>> {
    let mut terms = Vec::new();
    let mut current = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            current.push(c);
            current.push(chars.next()?);
        } else if c == sep {
            terms.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    terms.push(current);
    Some(terms)
}

/// Splits `field<op>value` at its first unescaped operator (`!=`, `==`, `=`).
fn split_term(term: &str) -> Option<(&str, &str, &str)> {
    let bytes = term.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'!' if bytes.get(i + 1) == Some(&b'=') => {
                return Some((&term[..i], "!=", &term[i + 2..]))
            }
            b'=' if bytes.get(i + 1) == Some(&b'=') => {
                return Some((&term[..i], "==", &term[i + 2..]))
            }
            b'=' => return Some((&term[..i], "=", &term[i + 1..])),
            _ => i += 1,
        }
    }
    None
}

/// Removes the escapes of a field selector value (`\\`, `\,`, `\=`); other escapes are invalid.
fn unescape_field_value(value: &str) -> Option<String> {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next()? {
                escaped @ ('\\' | ',' | '=') => out.push(escaped),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// A name that can appear as one path segment: not `.` or `..`, without `/` or `%`.
fn is_valid_path_segment_name(name: &str) -> bool {
    name != "." && name != ".." && !name.contains('/') && !name.contains('%')
}

/// The segments of a path without leading and trailing slashes; none for `/`.
fn split_path(path: &str) -> Vec<String> {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        return Vec::new();
    }
    trimmed.split('/').map(str::to_string).collect()
}

#[cfg(test)]
mod tests;
