//! ServiceAccount token tests: issue/verify round trips, every rejection with upstream's wording,
//! and the ServiceAccount lookup over a real store.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use base64::Engine as _;
use serde_json::json;

use super::*;
use crate::filters::authn::test_support::{api_audiences, signing_key, ISSUER};
use crate::filters::authn::{TokenAuthenticator, TokenResponse};
use crate::registry::options::{DeleteOptions, WriteOptions};
use crate::request::user::UserInfo;

/// Objects in memory, keyed by `resource/namespace/name`.
#[derive(Default)]
struct Objects(Mutex<HashMap<String, Value>>);

impl Objects {
    fn put(&self, resource: &str, namespace: &str, name: &str, uid: &str) {
        self.0.lock().expect("lock").insert(
            format!("{resource}/{namespace}/{name}"),
            json!({"metadata": {"name": name, "namespace": namespace, "uid": uid}}),
        );
    }
}

#[async_trait]
impl ObjectGetter for Objects {
    async fn get_object(
        &self,
        resource: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>, String> {
        let key = format!("{resource}/{}/{name}", namespace.unwrap_or_default());
        Ok(self.0.lock().expect("lock").get(&key).cloned())
    }
}

struct Fixture {
    issuer: TokenIssuer,
    authenticator: ServiceAccountAuthenticator,
    objects: Arc<Objects>,
}

fn fixture() -> Fixture {
    let key = signing_key();
    let objects = Arc::new(Objects::default());
    objects.put("serviceaccounts", "ns", "robot", "sa-uid");
    let authenticator =
        ServiceAccountAuthenticator::new(key.clone(), ISSUER.to_string(), api_audiences());
    authenticator.set_lookup(objects.clone());
    Fixture {
        issuer: TokenIssuer::new(key, ISSUER.to_string(), api_audiences(), 0),
        authenticator,
        objects,
    }
}

impl Fixture {
    fn issue(&self, bound: &BoundObjects, audiences: &[String], now: i64) -> IssuedToken {
        self.issuer
            .issue("ns", "robot", "sa-uid", bound, 3600, audiences, now)
            .expect("issued")
    }

    async fn check(&self, token: &str) -> Result<Option<TokenResponse>, String> {
        self.authenticator
            .authenticate_at(token, &[], now_seconds())
            .await
    }
}

/// The decoded payload of a compact JWT.
fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64");
    serde_json::from_slice(&bytes).expect("json")
}

/// `token` with its payload replaced by `claims` (the signature kept).
fn with_payload(token: &str, claims: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{}.{body}.{}", parts[0], parts[2])
}

#[tokio::test]
async fn round_trip_carries_upstream_claims_and_user() {
    let f = fixture();
    let now = now_seconds();
    let issued = f.issue(&BoundObjects::default(), &api_audiences(), now);
    assert_eq!(issued.expires_at, now + 3600);

    let header = jsonwebtoken::decode_header(&issued.token).expect("header");
    assert_eq!(header.alg, Algorithm::ES256);
    assert_eq!(header.kid.as_deref(), Some(f.issuer.key.key_id()));
    assert_eq!(header.typ, None);
    // The key id is the unpadded base64url of a SHA-256 digest.
    assert_eq!(f.issuer.key.key_id().len(), 43);

    let claims = payload(&issued.token);
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["sub"], "system:serviceaccount:ns:robot");
    assert_eq!(claims["aud"], json!([ISSUER]));
    assert_eq!(claims["iat"], now);
    assert_eq!(claims["nbf"], now);
    assert_eq!(claims["exp"], now + 3600);
    assert_eq!(claims["jti"], issued.jti.as_str());
    assert_eq!(
        claims["kubernetes.io"],
        json!({"namespace": "ns", "serviceaccount": {"name": "robot", "uid": "sa-uid"}})
    );

    let response = f
        .check(&issued.token)
        .await
        .expect("valid")
        .expect("recognised");
    assert_eq!(response.audiences, api_audiences());
    assert_eq!(
        response.user,
        UserInfo {
            name: "system:serviceaccount:ns:robot".into(),
            uid: "sa-uid".into(),
            groups: vec![
                "system:serviceaccounts".into(),
                "system:serviceaccounts:ns".into()
            ],
            extra: BTreeMap::from([(
                CREDENTIAL_ID_KEY.to_string(),
                vec![format!("JTI={}", issued.jti)]
            )]),
        }
    );
}

#[tokio::test]
async fn time_window_is_checked_with_a_minute_of_leeway() {
    let f = fixture();
    let now = now_seconds();
    // Expired an hour ago.
    let old = f.issue(&BoundObjects::default(), &api_audiences(), now - 7200);
    assert_eq!(
        f.check(&old.token).await,
        Err("service account token has expired".to_string())
    );
    // Expired 30 seconds ago: still within the leeway.
    let recent = f.issue(&BoundObjects::default(), &api_audiences(), now - 3630);
    assert!(f.check(&recent.token).await.expect("valid").is_some());
    // Not valid for another hour.
    let future = f.issue(&BoundObjects::default(), &api_audiences(), now + 3600);
    assert_eq!(
        f.check(&future.token).await,
        Err("service account token is not valid yet".to_string())
    );
}

#[tokio::test]
async fn audiences_must_meet_the_target_audiences() {
    let f = fixture();
    let vault = vec!["vault".to_string()];
    let token = f
        .issue(&BoundObjects::default(), &vault, now_seconds())
        .token;
    assert_eq!(
        f.check(&token).await,
        Err(format!(
            "token audiences [\"vault\"] is invalid for the target audiences [\"{ISSUER}\"]"
        ))
    );
    // Reviewed for its own audience it is fine, and says so.
    let response = f
        .authenticator
        .authenticate_at(&token, &vault, now_seconds())
        .await
        .expect("valid")
        .expect("recognised");
    assert_eq!(response.audiences, vault);
}

#[tokio::test]
async fn foreign_and_malformed_tokens() {
    let f = fixture();
    let token = f
        .issue(&BoundObjects::default(), &api_audiences(), now_seconds())
        .token;

    // Not a JWT, or JSON: not ours.
    assert_eq!(f.check("abc").await, Ok(None));
    assert_eq!(f.check("{\"a\":1}.b.c").await, Ok(None));

    // Another issuer: not ours, whoever signed it.
    let other = TokenIssuer::new(signing_key(), "https://elsewhere".into(), vec![], 0)
        .issue(
            "ns",
            "robot",
            "sa-uid",
            &BoundObjects::default(),
            3600,
            &api_audiences(),
            now_seconds(),
        )
        .expect("issued");
    assert_eq!(f.check(&other.token).await, Ok(None));

    // Our issuer, another key: its kid is unknown.
    let forged = TokenIssuer::new(signing_key(), ISSUER.into(), vec![], 0)
        .issue(
            "ns",
            "robot",
            "sa-uid",
            &BoundObjects::default(),
            3600,
            &api_audiences(),
            now_seconds(),
        )
        .expect("issued");
    assert_eq!(
        f.check(&forged.token).await,
        Err("invalid signature, no keys found".to_string())
    );

    // A tampered payload fails the signature.
    let mut claims = payload(&token);
    claims["kubernetes.io"]["serviceaccount"]["name"] = json!("admin");
    assert_eq!(
        f.check(&with_payload(&token, &claims)).await,
        Err("go-jose/go-jose: error in cryptographic primitive".to_string())
    );
}

#[tokio::test]
async fn bound_objects_must_still_exist_with_their_uid() {
    let f = fixture();
    f.objects.put("pods", "ns", "web", "pod-uid");
    f.objects.put("secrets", "ns", "s", "secret-uid");
    let pod_bound = BoundObjects {
        pod: Some(ObjectRef {
            name: "web".into(),
            uid: "pod-uid".into(),
        }),
        node: Some(ObjectRef {
            name: "node-1".into(),
            uid: "node-uid".into(),
        }),
        ..Default::default()
    };
    let token = f.issue(&pod_bound, &api_audiences(), now_seconds()).token;
    let user = f.check(&token).await.expect("valid").expect("ours").user;
    assert_eq!(user.extra[POD_NAME_KEY], vec!["web"]);
    assert_eq!(user.extra[POD_UID_KEY], vec!["pod-uid"]);
    assert_eq!(user.extra[NODE_NAME_KEY], vec!["node-1"]);
    assert_eq!(user.extra[NODE_UID_KEY], vec!["node-uid"]);

    // The pod was recreated: another uid.
    f.objects.put("pods", "ns", "web", "pod-uid-2");
    assert_eq!(
        f.check(&token).await,
        Err(
            "pod UID (pod-uid-2) does not match service account pod ref claim (pod-uid)"
                .to_string()
        )
    );
    // The pod is gone.
    f.objects.0.lock().expect("lock").remove("pods/ns/web");
    assert_eq!(
        f.check(&token).await,
        Err("service account token has been invalidated".to_string())
    );

    let secret_bound = BoundObjects {
        secret: Some(ObjectRef {
            name: "s".into(),
            uid: "secret-uid".into(),
        }),
        ..Default::default()
    };
    let token = f
        .issue(&secret_bound, &api_audiences(), now_seconds())
        .token;
    assert!(f.check(&token).await.expect("valid").is_some());
    f.objects.0.lock().expect("lock").remove("secrets/ns/s");
    assert_eq!(
        f.check(&token).await,
        Err("service account token has been invalidated".to_string())
    );

    // A token bound to a Secret and a Pod at once is never issued.
    let both = BoundObjects {
        secret: secret_bound.secret.clone(),
        pod: pod_bound.pod.clone(),
        node: None,
    };
    assert!(f
        .issuer
        .issue(
            "ns",
            "robot",
            "sa-uid",
            &both,
            3600,
            &api_audiences(),
            now_seconds()
        )
        .is_err());
}

#[tokio::test]
async fn deleted_or_recreated_service_account_over_a_real_store() {
    let stores = Arc::new(crate::registry::test_support::builtin_stores(
        &crate::registry::test_support::memory_storage(),
        &[("", "v1", "serviceaccounts")],
    ));
    let store = stores
        .get("", "v1", "serviceaccounts")
        .expect("served")
        .clone();
    let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "robot"}});
    let created = store
        .create(Some("ns"), sa.clone(), &WriteOptions::default())
        .await
        .expect("created");
    let uid = uid_of(&created);

    let key = signing_key();
    let issuer = TokenIssuer::new(key.clone(), ISSUER.into(), api_audiences(), 0);
    let authenticator = ServiceAccountAuthenticator::new(key, ISSUER.into(), api_audiences());
    let token = issuer
        .issue(
            "ns",
            "robot",
            &uid,
            &BoundObjects::default(),
            3600,
            &api_audiences(),
            now_seconds(),
        )
        .expect("issued")
        .token;

    // Before the lookup is wired, nothing of ours is accepted.
    assert!(authenticator.authenticate_token(&token, &[]).await.is_err());
    authenticator.set_lookup(stores.clone());
    let user = authenticator
        .authenticate_token(&token, &[])
        .await
        .expect("valid")
        .expect("ours")
        .user;
    assert_eq!(user.uid, uid);

    store
        .delete(
            Some("ns"),
            "robot",
            &DeleteOptions::default(),
            &WriteOptions::default(),
        )
        .await
        .expect("deleted");
    assert_eq!(
        authenticator.authenticate_token(&token, &[]).await,
        Err("serviceaccounts \"robot\" not found".to_string())
    );

    let recreated = store
        .create(Some("ns"), sa, &WriteOptions::default())
        .await
        .expect("recreated");
    let new_uid = uid_of(&recreated);
    assert_ne!(new_uid, uid);
    assert_eq!(
        authenticator.authenticate_token(&token, &[]).await,
        Err(format!(
            "service account UID ({new_uid}) does not match claim ({uid})"
        ))
    );
}
