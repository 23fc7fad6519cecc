//! Impersonation: upstream's `WithImpersonation`
//! (`k8s.io/apiserver/pkg/endpoints/filters/impersonation.go`).
//!
//! A request may ask to act as someone else with these headers:
//!
//! | header | asks for | authorized as `impersonate` on |
//! |--------|----------|--------------------------------|
//! | `Impersonate-User: bob` | the user `bob` | `users` `bob` (group `""`) |
//! | `Impersonate-User: system:serviceaccount:ns:sa` | that ServiceAccount | `serviceaccounts` `sa` in namespace `ns` (group `""`) |
//! | `Impersonate-Group: g` (repeatable) | group `g` | `groups` `g` (group `""`) |
//! | `Impersonate-Uid: u` | uid `u` | `uids` `u` (group `authentication.k8s.io`) |
//! | `Impersonate-Extra-<key>: v` (repeatable) | extra `<key>` = `v` | `userextras/<key>` `v` (group `authentication.k8s.io`) |
//!
//! `<key>` is the header name's rest, lower-cased and then percent-decoded (kept as sent when the
//! escapes are invalid). A user name that is not a valid ServiceAccount user name is a plain user.
//!
//! Each item is authorized, in the order above (user, groups, extras, uid), against the
//! [`Authorization`] union as the authenticated requester; the first one not allowed answers 403
//! with upstream's message, e.g. `users "bob" is forbidden: User "alice" cannot impersonate
//! resource "users" in API group "" at the cluster scope`, followed by `: <reason>` when the
//! authorizers gave one. Groups, extras or a uid without a user answer upstream's plain-text 500
//! (`Internal Server Error: "<uri>": requested [...] without impersonating a user`): upstream
//! treats it as an internal error, not a 400, and so does Apiary.
//!
//! When everything is allowed the request goes on as the impersonated user:
//!
//! * the [`UserInfo`] extension becomes that user: the name (or the ServiceAccount's name), the
//!   groups asked for (for a ServiceAccount with no `Impersonate-Group`, `system:serviceaccounts`
//!   and `system:serviceaccounts:<ns>`), then `system:authenticated` unless
//!   `system:authenticated` or `system:unauthenticated` is among them; for `system:anonymous`,
//!   `system:unauthenticated` unless present; the extras and the uid asked for;
//! * the requester is kept as [`ImpersonatedBy`] in the request extensions (for audit: the event's
//!   `user` is the requester and its `impersonatedUser` the new [`UserInfo`]);
//! * every `Impersonate-*` header is removed;
//! * the response carries an [`Impersonation`] extension, which the request log prints as upstream's
//!   `<requester> is acting as <user>`.
//!
//! Requests without impersonation headers pass untouched.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, HeaderValue, StatusCode};

use crate::api::go_fmt::go_quote;
use crate::api::names::{is_dns1123_label, is_dns1123_subdomain};
use crate::api::status::{ApiError, GroupResource};
use crate::filters::audit::AuditContext;
use crate::request::authorization::{Attributes, Authorization};
use crate::request::user::{UserInfo, ALL_AUTHENTICATED, ALL_UNAUTHENTICATED, ANONYMOUS_USER};

/// The header naming the user to act as.
pub const IMPERSONATE_USER: &str = "impersonate-user";
/// The header naming one group to act as (repeatable).
pub const IMPERSONATE_GROUP: &str = "impersonate-group";
/// The header naming the uid to act as.
pub const IMPERSONATE_UID: &str = "impersonate-uid";
/// The prefix of the headers setting one extra value each.
pub const IMPERSONATE_EXTRA_PREFIX: &str = "impersonate-extra-";

/// The user-name prefix of ServiceAccounts.
const SERVICE_ACCOUNT_PREFIX: &str = "system:serviceaccount:";
/// The group of every ServiceAccount.
const ALL_SERVICE_ACCOUNTS: &str = "system:serviceaccounts";
/// The API group of the `uids` and `userextras` impersonation resources.
const AUTHENTICATION_GROUP: &str = "authentication.k8s.io";
/// The API version of the `uids` and `userextras` impersonation resources.
const AUTHENTICATION_VERSION: &str = "v1";

/// The authenticated requester of an impersonated request, in the request extensions. The
/// [`UserInfo`] extension is the impersonated user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImpersonatedBy(pub UserInfo);

/// Who acted as whom, in the response extensions of an impersonated request (for the request log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Impersonation {
    pub requester: UserInfo,
    pub impersonated: UserInfo,
}

/// What one item of an impersonation asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    ServiceAccount,
    User,
    Group,
    UserExtra,
    Uid,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Self::ServiceAccount => "ServiceAccount",
            Self::User => "User",
            Self::Group => "Group",
            Self::UserExtra => "UserExtra",
            Self::Uid => "UID",
        }
    }

    /// The resource the `impersonate` verb is checked on.
    fn resource(self) -> &'static str {
        match self {
            Self::ServiceAccount => "serviceaccounts",
            Self::User => "users",
            Self::Group => "groups",
            Self::UserExtra => "userextras",
            Self::Uid => "uids",
        }
    }

    /// The API group and version of the resource.
    fn group_version(self) -> (&'static str, &'static str) {
        match self {
            Self::ServiceAccount | Self::User | Self::Group => ("", ""),
            Self::UserExtra | Self::Uid => (AUTHENTICATION_GROUP, AUTHENTICATION_VERSION),
        }
    }
}

/// One thing to impersonate (upstream uses an `ObjectReference` per item).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Item {
    kind: Kind,
    namespace: String,
    name: String,
    /// The extra key of a [`Kind::UserExtra`].
    extra_key: String,
}

impl Item {
    fn new(kind: Kind, name: &str) -> Self {
        Self {
            kind,
            namespace: String::new(),
            name: name.to_string(),
            extra_key: String::new(),
        }
    }

    /// Go's `%v` of upstream's `ObjectReference`: `{Kind Namespace Name UID APIVersion
    /// ResourceVersion FieldPath}`.
    fn go_format(&self) -> String {
        let api_version = match self.kind {
            Kind::UserExtra | Kind::Uid => "authentication.k8s.io/v1",
            _ => "",
        };
        format!(
            "{{{} {} {}  {}  {}}}",
            self.kind.name(),
            self.namespace,
            self.name,
            api_version,
            self.extra_key
        )
    }

    /// The attributes authorizing this item for `requester`.
    fn attributes(&self, requester: &UserInfo) -> Attributes {
        let (group, version) = self.kind.group_version();
        Attributes {
            user: requester.clone(),
            verb: "impersonate".to_string(),
            is_resource_request: true,
            path: String::new(),
            api_group: group.to_string(),
            api_version: version.to_string(),
            namespace: self.namespace.clone(),
            resource: self.kind.resource().to_string(),
            subresource: self.extra_key.clone(),
            name: self.name.clone(),
        }
    }
}

/// A header's value as text (bytes outside UTF-8 replaced).
fn text(value: &HeaderValue) -> String {
    String::from_utf8_lossy(value.as_bytes()).into_owned()
}

/// The namespace and name of a ServiceAccount user name, as upstream's `SplitUsername`: exactly
/// `system:serviceaccount:<ns>:<name>`, a DNS-1123 label and a DNS-1123 subdomain.
fn split_service_account(user: &str) -> Option<(&str, &str)> {
    let rest = user.strip_prefix(SERVICE_ACCOUNT_PREFIX)?;
    let mut parts = rest.split(':');
    let (namespace, name) = (parts.next()?, parts.next()?);
    if parts.next().is_some()
        || !is_dns1123_label(namespace).is_empty()
        || !is_dns1123_subdomain(name).is_empty()
    {
        return None;
    }
    Some((namespace, name))
}

/// An extra key from a header name's rest: percent-decoded, or as given when that fails.
fn unescape_extra_key(encoded: &str) -> String {
    let bytes = encoded.as_bytes();
    let valid_escapes = bytes.iter().enumerate().all(|(i, &b)| {
        b != b'%'
            || (bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    });
    if !valid_escapes {
        return encoded.to_string();
    }
    match percent_encoding::percent_decode_str(encoded).decode_utf8() {
        Ok(decoded) => decoded.into_owned(),
        Err(_) => encoded.to_string(),
    }
}

/// The items a request asks for, in upstream's order; `Err` with upstream's message when groups,
/// extras or a uid come without a user.
fn requested_items(headers: &HeaderMap) -> Result<Vec<Item>, String> {
    let mut items = Vec::new();
    let user = headers.get(IMPERSONATE_USER).map(text).unwrap_or_default();
    let has_user = !user.is_empty();
    if has_user {
        items.push(match split_service_account(&user) {
            Some((namespace, name)) => Item {
                namespace: namespace.to_string(),
                ..Item::new(Kind::ServiceAccount, name)
            },
            None => Item::new(Kind::User, &user),
        });
    }

    let groups: Vec<String> = headers
        .get_all(IMPERSONATE_GROUP)
        .iter()
        .map(text)
        .collect();
    let has_groups = !groups.is_empty();
    items.extend(groups.iter().map(|group| Item::new(Kind::Group, group)));

    // Header names are lower case already; sorted so the order does not depend on the map.
    let mut extras: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in headers {
        if let Some(rest) = name.as_str().strip_prefix(IMPERSONATE_EXTRA_PREFIX) {
            extras
                .entry(unescape_extra_key(rest))
                .or_default()
                .push(text(value));
        }
    }
    let has_extras = !extras.is_empty();
    for (key, values) in &extras {
        for value in values {
            items.push(Item {
                extra_key: key.clone(),
                ..Item::new(Kind::UserExtra, value)
            });
        }
    }

    let uid = headers.get(IMPERSONATE_UID).map(text).unwrap_or_default();
    let has_uid = !uid.is_empty();
    if has_uid {
        items.push(Item::new(Kind::Uid, &uid));
    }

    if (has_groups || has_extras || has_uid) && !has_user {
        let listed: Vec<String> = items.iter().map(Item::go_format).collect();
        return Err(format!(
            "requested [{}] without impersonating a user",
            listed.join(" ")
        ));
    }
    Ok(items)
}

/// The user the allowed `items` describe; `groups_specified` is whether any `Impersonate-Group`
/// header was sent.
fn impersonated_user(items: &[Item], groups_specified: bool) -> UserInfo {
    let mut user = UserInfo::default();
    for item in items {
        match item.kind {
            Kind::ServiceAccount => {
                user.name = format!("{SERVICE_ACCOUNT_PREFIX}{}:{}", item.namespace, item.name);
                if !groups_specified {
                    user.groups = vec![
                        ALL_SERVICE_ACCOUNTS.to_string(),
                        format!("{ALL_SERVICE_ACCOUNTS}:{}", item.namespace),
                    ];
                }
            }
            Kind::User => user.name.clone_from(&item.name),
            Kind::Group => user.groups.push(item.name.clone()),
            Kind::UserExtra => user
                .extra
                .entry(item.extra_key.clone())
                .or_default()
                .push(item.name.clone()),
            Kind::Uid => user.uid.clone_from(&item.name),
        }
    }
    if user.name == ANONYMOUS_USER {
        if !user.in_group(ALL_UNAUTHENTICATED) {
            user.groups.push(ALL_UNAUTHENTICATED.to_string());
        }
    } else if !user.in_group(ALL_AUTHENTICATED) && !user.in_group(ALL_UNAUTHENTICATED) {
        user.groups.push(ALL_AUTHENTICATED.to_string());
    }
    user
}

/// Upstream's forbidden message for `attrs` (`responsewriters.Forbidden`), as a 403 Status.
fn forbidden(attrs: &Attributes, reason: &str) -> ApiError {
    let resource = if attrs.subresource.is_empty() {
        attrs.resource.clone()
    } else {
        format!("{}/{}", attrs.resource, attrs.subresource)
    };
    let scope = if attrs.namespace.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace {}", go_quote(&attrs.namespace))
    };
    let message = sanitize(&format!(
        "User {} cannot {} resource {} in API group {} {scope}",
        go_quote(&attrs.user.name),
        attrs.verb,
        go_quote(&resource),
        go_quote(&attrs.api_group),
    ));
    let why = if reason.is_empty() {
        message
    } else {
        format!("{message}: {reason}")
    };
    ApiError::forbidden(
        &GroupResource::new(attrs.api_group.clone(), attrs.resource.clone()),
        &attrs.name,
        &why,
    )
}

/// Upstream escapes `&`, `<` and `>` in text error bodies so they never read as HTML.
fn sanitize(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Upstream's `responsewriters.InternalError`: a plain-text 500 naming the request URI.
fn internal_error(request_uri: &str, err: &str) -> Response {
    let body = sanitize(&format!(
        "Internal Server Error: {}: {err}",
        go_quote(request_uri)
    ));
    let mut response = (StatusCode::INTERNAL_SERVER_ERROR, format!("{body}\n")).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// Removes every `Impersonate-*` header upstream recognises.
fn remove_impersonation_headers(headers: &mut HeaderMap) {
    headers.remove(IMPERSONATE_USER);
    headers.remove(IMPERSONATE_GROUP);
    headers.remove(IMPERSONATE_UID);
    let extras: Vec<http::HeaderName> = headers
        .keys()
        .filter(|name| name.as_str().starts_with(IMPERSONATE_EXTRA_PREFIX))
        .cloned()
        .collect();
    for name in extras {
        headers.remove(name);
    }
}

/// The filter. It MUST run after authentication (it needs the requester's [`UserInfo`]) and
/// before max-in-flight and authorization, which then see the impersonated user.
pub async fn impersonate(
    State(authorization): State<Arc<Authorization>>,
    mut req: Request,
    next: Next,
) -> Response {
    let request_uri = || {
        req.uri()
            .path_and_query()
            .map(|pq| pq.as_str().to_string())
            .unwrap_or_else(|| req.uri().to_string())
    };
    let items = match requested_items(req.headers()) {
        Ok(items) => items,
        Err(err) => {
            tracing::debug!(error = %err, "impersonation request rejected");
            return internal_error(&request_uri(), &err);
        }
    };
    if items.is_empty() {
        return next.run(req).await;
    }
    let Some(requester) = req.extensions().get::<UserInfo>().cloned() else {
        return internal_error(&request_uri(), "no user found for request");
    };
    for item in &items {
        let attrs = item.attributes(&requester);
        let answer = authorization.authorize(&attrs);
        if !answer.is_allowed() {
            tracing::debug!(
                uri = %req.uri(),
                reason = %answer.reason,
                "impersonation forbidden"
            );
            return forbidden(&attrs, &answer.reason).into_response();
        }
    }
    let groups_specified = req.headers().contains_key(IMPERSONATE_GROUP);
    let impersonated = impersonated_user(&items, groups_specified);
    remove_impersonation_headers(req.headers_mut());
    if let Some(audit) = req.extensions().get::<Arc<AuditContext>>() {
        audit.set_impersonated_user(impersonated.clone());
    }
    req.extensions_mut().insert(impersonated.clone());
    req.extensions_mut()
        .insert(ImpersonatedBy(requester.clone()));
    let mut response = next.run(req).await;
    response.extensions_mut().insert(Impersonation {
        requester,
        impersonated,
    });
    response
}

#[cfg(test)]
mod tests;
