use super::*;
use crate::request::authorization::{Authorized, Authorizer, RulesInfo};
use axum::body::Body;
use axum::middleware::from_fn_with_state;
use tower::ServiceExt as _;

/// Allows `impersonate` on exactly the listed `(resource/subresource, namespace, name)`
/// triples, and says nothing about anything else.
struct Grants(Vec<(&'static str, &'static str, &'static str)>);

impl Authorizer for Grants {
    fn name(&self) -> &'static str {
        "test"
    }
    fn authorize(&self, attrs: &Attributes) -> Authorized {
        let resource = if attrs.subresource.is_empty() {
            attrs.resource.clone()
        } else {
            format!("{}/{}", attrs.resource, attrs.subresource)
        };
        let expected_group = match attrs.resource.as_str() {
            "uids" | "userextras" => "authentication.k8s.io",
            _ => "",
        };
        let granted = attrs.verb == "impersonate"
            && attrs.is_resource_request
            && attrs.api_group == expected_group
            && self.0.iter().any(|(r, ns, name)| {
                *r == resource && *ns == attrs.namespace && *name == attrs.name
            });
        if granted {
            Authorized::allow("")
        } else {
            Authorized::no_opinion("")
        }
    }
    fn rules_for(&self, _user: &UserInfo, _namespace: &str) -> RulesInfo {
        RulesInfo::default()
    }
}

/// Denies with a reason.
struct DenyWithReason;

impl Authorizer for DenyWithReason {
    fn name(&self) -> &'static str {
        "deny"
    }
    fn authorize(&self, _attrs: &Attributes) -> Authorized {
        Authorized::deny("no way")
    }
    fn rules_for(&self, _user: &UserInfo, _namespace: &str) -> RulesInfo {
        RulesInfo::default()
    }
}

/// The filter in front of a handler that answers the user it sees, the impersonation headers
/// left and the requester kept.
fn app(authorizer: Arc<dyn Authorizer>) -> axum::Router {
    axum::Router::new()
        .fallback(|req: Request| async move {
            let user = req
                .extensions()
                .get::<UserInfo>()
                .cloned()
                .unwrap_or_default();
            let by = req
                .extensions()
                .get::<ImpersonatedBy>()
                .map(|by| by.0.name.clone())
                .unwrap_or_default();
            let left: Vec<&str> = req
                .headers()
                .keys()
                .map(|k| k.as_str())
                .filter(|k| k.starts_with("impersonate-"))
                .collect();
            serde_json::json!({
                "user": user,
                "by": by,
                "left": left,
            })
            .to_string()
        })
        .layer(from_fn_with_state(
            Arc::new(Authorization::new(vec![authorizer])),
            impersonate,
        ))
}

fn alice() -> UserInfo {
    UserInfo {
        name: "alice".into(),
        groups: vec!["devs".into(), ALL_AUTHENTICATED.into()],
        ..Default::default()
    }
}

async fn call(app: axum::Router, headers: &[(&str, &str)]) -> (u16, String, Option<Impersonation>) {
    let mut builder = Request::get("/api/v1/namespaces/a/pods?limit=1");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let mut request = builder.body(Body::empty()).expect("request");
    request.extensions_mut().insert(alice());
    let response = app.oneshot(request).await.expect("response");
    let status = response.status().as_u16();
    let impersonation = response.extensions().get::<Impersonation>().cloned();
    let body = axum::body::to_bytes(response.into_body(), 65536)
        .await
        .expect("body");
    (
        status,
        String::from_utf8_lossy(&body).into_owned(),
        impersonation,
    )
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).expect("json body")
}

#[tokio::test]
async fn without_headers_the_request_is_untouched() {
    let (status, body, impersonation) = call(app(Arc::new(Grants(vec![]))), &[]).await;
    assert_eq!(status, 200);
    let body = json(&body);
    assert_eq!(body["user"]["username"], "alice");
    assert_eq!(body["by"], "");
    assert!(impersonation.is_none());
    // An empty user header asks for nothing either, and stays.
    let (status, body, _) = call(app(Arc::new(Grants(vec![]))), &[("Impersonate-User", "")]).await;
    assert_eq!(status, 200);
    assert_eq!(json(&body)["left"], serde_json::json!(["impersonate-user"]));
}

#[tokio::test]
async fn an_allowed_user_with_groups_extras_and_uid() {
    let grants = Grants(vec![
        ("users", "", "bob"),
        ("groups", "", "g1"),
        ("groups", "", "g2"),
        ("userextras/scopes", "", "view"),
        ("userextras/scopes", "", "edit"),
        ("userextras/example.com/key", "", "v"),
        ("uids", "", "1234"),
    ]);
    let (status, body, impersonation) = call(
        app(Arc::new(grants)),
        &[
            ("Impersonate-User", "bob"),
            ("Impersonate-Group", "g1"),
            ("Impersonate-Group", "g2"),
            ("Impersonate-Extra-Scopes", "view"),
            ("Impersonate-Extra-Scopes", "edit"),
            ("Impersonate-Extra-Example.com%2Fkey", "v"),
            ("Impersonate-Uid", "1234"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let body = json(&body);
    assert_eq!(
        body["user"],
        serde_json::json!({
            "username": "bob",
            "uid": "1234",
            "groups": ["g1", "g2", "system:authenticated"],
            "extra": {"example.com/key": ["v"], "scopes": ["view", "edit"]},
        })
    );
    assert_eq!(body["by"], "alice");
    assert_eq!(body["left"], serde_json::json!([]), "headers removed");
    let impersonation = impersonation.expect("impersonation in the response");
    assert_eq!(impersonation.requester, alice());
    assert_eq!(impersonation.impersonated.name, "bob");
}

#[tokio::test]
async fn service_accounts_get_their_groups_unless_groups_are_given() {
    let grants = || {
        Grants(vec![
            ("serviceaccounts", "kube-system", "builder"),
            ("groups", "", "g"),
        ])
    };
    let (status, body, _) = call(
        app(Arc::new(grants())),
        &[(
            "Impersonate-User",
            "system:serviceaccount:kube-system:builder",
        )],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        json(&body)["user"],
        serde_json::json!({
            "username": "system:serviceaccount:kube-system:builder",
            "groups": ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"],
        })
    );

    let (status, body, _) = call(
        app(Arc::new(grants())),
        &[
            (
                "Impersonate-User",
                "system:serviceaccount:kube-system:builder",
            ),
            ("Impersonate-Group", "g"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        json(&body)["user"]["groups"],
        serde_json::json!(["g", "system:authenticated"])
    );

    // Not a valid ServiceAccount name: a plain user, authorized on `users`.
    let (status, body, _) = call(
        app(Arc::new(Grants(vec![(
            "users",
            "",
            "system:serviceaccount:Bad:x",
        )]))),
        &[("Impersonate-User", "system:serviceaccount:Bad:x")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn authenticated_and_unauthenticated_groups() {
    // Asking for system:unauthenticated: system:authenticated is not added.
    let (_, body, _) = call(
        app(Arc::new(Grants(vec![
            ("users", "", "bob"),
            ("groups", "", "system:unauthenticated"),
        ]))),
        &[
            ("Impersonate-User", "bob"),
            ("Impersonate-Group", "system:unauthenticated"),
        ],
    )
    .await;
    assert_eq!(
        json(&body)["user"]["groups"],
        serde_json::json!(["system:unauthenticated"])
    );
    // The anonymous user gets system:unauthenticated.
    let (_, body, _) = call(
        app(Arc::new(Grants(vec![("users", "", "system:anonymous")]))),
        &[("Impersonate-User", "system:anonymous")],
    )
    .await;
    assert_eq!(
        json(&body)["user"]["groups"],
        serde_json::json!(["system:unauthenticated"])
    );
}

#[tokio::test]
async fn denials_are_403_with_upstreams_message() {
    let (status, body, _) = call(
        app(Arc::new(Grants(vec![]))),
        &[("Impersonate-User", "bob")],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        body,
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"users \"bob\" is forbidden: User \"alice\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope","reason":"Forbidden","details":{"name":"bob","kind":"users"},"code":403}"#
    );

    // The user is allowed, a group is not: the first denied item answers.
    let (status, body, _) = call(
        app(Arc::new(Grants(vec![("users", "", "bob")]))),
        &[("Impersonate-User", "bob"), ("Impersonate-Group", "admins")],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        json(&body)["message"],
        "groups \"admins\" is forbidden: User \"alice\" cannot impersonate resource \"groups\" in API group \"\" at the cluster scope"
    );

    // A ServiceAccount: namespaced message.
    let (_, body, _) = call(
        app(Arc::new(Grants(vec![]))),
        &[("Impersonate-User", "system:serviceaccount:ns1:sa1")],
    )
    .await;
    assert_eq!(
        json(&body)["message"],
        "serviceaccounts \"sa1\" is forbidden: User \"alice\" cannot impersonate resource \"serviceaccounts\" in API group \"\" in the namespace \"ns1\""
    );

    // Extras and uids are in authentication.k8s.io; the extra key is the subresource.
    let (_, body, _) = call(
        app(Arc::new(Grants(vec![("users", "", "bob")]))),
        &[
            ("Impersonate-User", "bob"),
            ("Impersonate-Extra-Scopes", "s1"),
        ],
    )
    .await;
    let body = json(&body);
    assert_eq!(
        body["message"],
        "userextras.authentication.k8s.io \"s1\" is forbidden: User \"alice\" cannot impersonate resource \"userextras/scopes\" in API group \"authentication.k8s.io\" at the cluster scope"
    );
    assert_eq!(body["details"]["group"], "authentication.k8s.io");
    let (_, body, _) = call(
        app(Arc::new(Grants(vec![("users", "", "bob")]))),
        &[("Impersonate-User", "bob"), ("Impersonate-Uid", "u1")],
    )
    .await;
    assert_eq!(
        json(&body)["message"],
        "uids.authentication.k8s.io \"u1\" is forbidden: User \"alice\" cannot impersonate resource \"uids\" in API group \"authentication.k8s.io\" at the cluster scope"
    );

    // An authorizer's reason follows the message.
    let (status, body, _) = call(
        app(Arc::new(DenyWithReason)),
        &[("Impersonate-User", "bob")],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        json(&body)["message"],
        "users \"bob\" is forbidden: User \"alice\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope: no way"
    );
}

#[tokio::test]
async fn groups_extras_or_uid_without_a_user_are_upstreams_internal_error() {
    let cases: [(&[(&str, &str)], &str); 3] = [
        (
            &[("Impersonate-Group", "some-group")],
            "requested [{Group  some-group    }] without impersonating a user",
        ),
        (
            &[("Impersonate-Extra-Scopes", "scope-a")],
            "requested [{UserExtra  scope-a  authentication.k8s.io/v1  scopes}] without impersonating a user",
        ),
        (
            &[("Impersonate-Uid", "some-uid")],
            "requested [{UID  some-uid  authentication.k8s.io/v1  }] without impersonating a user",
        ),
    ];
    for (headers, err) in cases {
        let (status, body, _) = call(app(Arc::new(Grants(vec![]))), headers).await;
        assert_eq!(status, 500);
        assert_eq!(
            body,
            format!("Internal Server Error: \"/api/v1/namespaces/a/pods?limit=1\": {err}\n")
        );
    }
}

#[test]
fn extra_keys_and_service_account_names() {
    assert_eq!(unescape_extra_key("example.com%2fkey"), "example.com/key");
    assert_eq!(unescape_extra_key("bad%zzescape"), "bad%zzescape");
    assert_eq!(unescape_extra_key("plain"), "plain");
    assert_eq!(
        split_service_account("system:serviceaccount:ns:sa.name"),
        Some(("ns", "sa.name"))
    );
    assert_eq!(split_service_account("system:serviceaccount:ns"), None);
    assert_eq!(split_service_account("system:serviceaccount:ns:a:b"), None);
    assert_eq!(split_service_account("system:serviceaccount:NS:sa"), None);
    assert_eq!(split_service_account("bob"), None);
}
