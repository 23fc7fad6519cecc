//! The URL library (`apiserver/pkg/cel/library/urls.go`): `url(string)`, `isURL(string)`,
//! and the members `getScheme`, `getHost`, `getHostname`, `getPort`, `getEscapedPath`,
//! `getQuery`. A URL must be an absolute URI or an absolute path, as Go's
//! `url.ParseRequestURI` takes them; its parts are those of Go's `url.Parse`.

use std::collections::HashMap;

use cel::common::types::{CelBool, CelMap, CelMapKey, CelString};
use cel::common::value::Val;
use cel::{DeclarationError, Env, ExecutionError};

use super::gourl::{self, Url};

/// A `kubernetes.URL` value; two are equal when Go prints them the same.
#[derive(Clone, Debug)]
pub(super) struct UrlValue(Url);

impl PartialEq for UrlValue {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_go_string() == other.0.to_go_string()
    }
}

opaque_value!(UrlValue, "kubernetes.URL");

pub(super) fn register(env: &mut Env) -> Result<(), DeclarationError> {
    env.add_type(<UrlValue as Val>::cel_type().to_owned())?;
    cel::add_overload!(env, fn string_to_url: (CelString) -> Result<UrlValue>,
        name = "url", id = "string_to_url")?;
    cel::add_overload!(env, fn is_url: (CelString) -> CelBool, name = "isURL", id = "is_url_string")?;
    cel::add_member_overload!(env, fn get_scheme: (UrlValue) -> CelString, id = "url_get_scheme")?;
    cel::add_member_overload!(env, fn get_host: (UrlValue) -> CelString, id = "url_get_host")?;
    cel::add_member_overload!(env, fn get_hostname: (UrlValue) -> CelString,
        id = "url_get_hostname")?;
    cel::add_member_overload!(env, fn get_port: (UrlValue) -> CelString, id = "url_get_port")?;
    cel::add_member_overload!(env, fn get_escaped_path: (UrlValue) -> CelString,
        id = "url_get_escaped_path")?;
    cel::add_member_overload!(env, fn get_query: (UrlValue) -> CelMap, id = "url_get_query")?;
    Ok(())
}

/// `url(string)`: checked with `ParseRequestURI`, then parsed with `Parse`, which keeps a
/// fragment apart from the path and query.
fn string_to_url(s: &CelString<'_>) -> Result<UrlValue, ExecutionError> {
    let error = |err: String| {
        super::error(
            "url",
            format!("URL parse error during conversion from string: {err}"),
        )
    };
    gourl::parse_request_uri(s.inner()).map_err(error)?;
    gourl::parse(s.inner()).map(UrlValue).map_err(error)
}

fn is_url(s: &CelString<'_>) -> CelBool {
    CelBool::from(gourl::parse_request_uri(s.inner()).is_ok())
}

/// A string of bytes Go keeps as they are: bytes that are no UTF-8 become U+FFFD here.
fn text(bytes: &[u8]) -> CelString<'static> {
    CelString::from(String::from_utf8_lossy(bytes).into_owned())
}

fn get_scheme(url: &UrlValue) -> CelString<'static> {
    CelString::from(url.0.scheme.clone())
}

fn get_host(url: &UrlValue) -> CelString<'static> {
    text(url.0.host())
}

fn get_hostname(url: &UrlValue) -> CelString<'static> {
    text(url.0.hostname())
}

fn get_port(url: &UrlValue) -> CelString<'static> {
    text(url.0.port())
}

fn get_escaped_path(url: &UrlValue) -> CelString<'static> {
    CelString::from(url.0.escaped_path())
}

/// The query in "matrix" form: each key with all its values, unescaped.
fn get_query(url: &UrlValue) -> CelMap<'static> {
    let entries: HashMap<CelMapKey<'static>, Box<dyn Val>> = url
        .0
        .query()
        .into_iter()
        .map(|(key, values)| {
            let values = super::string_list(
                values
                    .iter()
                    .map(|v| String::from_utf8_lossy(v).into_owned()),
            );
            (
                CelMapKey::from(String::from_utf8_lossy(&key).into_owned()),
                Box::new(values) as Box<dyn Val>,
            )
        })
        .collect();
    CelMap::from(entries)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_errors, assert_true};

    /// Upstream's "URL parsing" cases (`apiextensions-apiserver` `validation_test.go`) and the
    /// library's documented examples.
    #[test]
    fn upstream_examples() {
        assert_true(&[
            "url('/path').getScheme() == ''",
            "url('https://example.com/').getScheme() == 'https'",
            "url('https://example.com:80/').getHost() == 'example.com:80'",
            "url('https://example.com/').getHost() == 'example.com'",
            "url('https://[::1]:80/').getHost() == '[::1]:80'",
            "url('https://[::1]/').getHost() == '[::1]'",
            "url('/path').getHost() == ''",
            "url('https://example.com:80/').getHostname() == 'example.com'",
            "url('https://127.0.0.1/').getHostname() == '127.0.0.1'",
            "url('https://[::1]/').getHostname() == '::1'",
            "url('/path').getHostname() == ''",
            "url('https://example.com:80/').getPort() == '80'",
            "url('https://example.com/').getPort() == ''",
            "url('/path').getPort() == ''",
            "url('https://example.com/path').getEscapedPath() == '/path'",
            "url('https://example.com/with space/').getEscapedPath() == '/with%20space/'",
            "url('https://example.com/path with spaces/').getEscapedPath() == '/path%20with%20spaces/'",
            "url('https://example.com').getEscapedPath() == ''",
            "url('https://example.com/path?k1=a&k2=b&k2=c').getQuery() == { 'k1': ['a'], 'k2': ['b', 'c']}",
            "url('https://example.com/path?key with spaces=value with spaces').getQuery() == { 'key with spaces': ['value with spaces']}",
            "url('https://example.com/path?').getQuery() == {}",
            "url('https://example.com/path').getQuery() == {}",
            "url('https://user:pass@kubernetes.io:80/docs/home?k1=a&k2=b&k2=c#anchor').getEscapedPath() == '/docs/home'",
            "url('https://user:pass@kubernetes.io:80/docs/home?k1=a&k2=b&k2=c#anchor').getQuery() == {'k1': ['a'], 'k2': ['b', 'c']}",
            "isURL('https://user:pass@example.com:80/path?query=val#fragment')",
            "isURL('/path') == true",
            "isURL('https://a:b:c/') == false",
            "isURL('../relative-path') == false",
            "url('https:://kubernetes.io/').getHostname() != 'test'",
            "url('https://example.com/a') == url('https://example.com/a')",
            "url('https://example.com/a') != url('https://example.com/b')",
            "url('HTTPS://example.com/a') == url('https://example.com/a')",
            "type(url('/a')) == kubernetes.URL",
        ]);
    }

    #[test]
    fn errors_are_upstream_texts() {
        assert_errors(&[
            (
                "url('https://a:b:c/')",
                r#"URL parse error during conversion from string: parse "https://a:b:c/": invalid port ":c" after host"#,
            ),
            (
                "url('../relative-path')",
                r#"URL parse error during conversion from string: parse "../relative-path": invalid URI for request"#,
            ),
            (
                "url('/ok#%zz')",
                r#"URL parse error during conversion from string: parse "/ok#%zz": invalid URL escape "%zz""#,
            ),
        ]);
    }
}
