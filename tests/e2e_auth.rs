//! The security filters end to end, as a new user would set them up: a token file, RBAC role
//! bindings and an audit policy in `config.toml`, then kubectl as several users.
//!
//! * bob (a token user with no bindings) is forbidden everything, with upstream's messages;
//! * alice (bound to `view` in `team-a`) reads there and nowhere else, and cannot write;
//! * carol (group `ops`, bound to `edit` cluster-wide) writes, but cannot grant what she lacks;
//! * `kubectl --as`, `auth can-i [--list]`, `auth whoami`, `create token`;
//! * the audit log records each request's stages with the right user and verb, and never a
//!   Secret's body at Metadata level;
//! * nothing without credentials gets past 401.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{stderr, stdout, Apiary};

const TOKENS: &str = "\
alice-token,alice,uid-alice,\"developers\"
bob-token,bob,uid-bob
carol-token,carol,uid-carol,\"ops,auditors\"
";

const AUDIT_POLICY: &str = "\
apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: None
  nonResourceURLs: [\"/readyz\", \"/livez*\", \"/healthz*\"]
- level: Metadata
  resources:
  - group: \"\"
    resources: [\"secrets\"]
- level: RequestResponse
  resources:
  - group: \"\"
    resources: [\"configmaps\"]
- level: Metadata
";

const CONFIG: &str = "\
[auth]
token_file = \"tokens.csv\"
authorization_modes = [\"RBAC\"]

[audit]
policy_file = \"audit-policy.yaml\"
log_path = \"audit/audit.log\"
";

fn start() -> Apiary {
    Apiary::start_prepared(Vec::new(), |dir: &Path| {
        std::fs::write(dir.join("tokens.csv"), TOKENS).expect("tokens");
        std::fs::write(dir.join("audit-policy.yaml"), AUDIT_POLICY).expect("policy");
        std::fs::write(dir.join("config.toml"), CONFIG).expect("config");
    })
}

/// A user of the test: their kubeconfig.
struct User {
    name: &'static str,
    kubeconfig: PathBuf,
}

impl User {
    fn new(apiary: &Apiary, name: &'static str, token: &str) -> Self {
        Self {
            name,
            kubeconfig: apiary.token_kubeconfig(name, token),
        }
    }

    fn run(&self, apiary: &Apiary, args: &[&str]) -> std::process::Output {
        apiary.kubectl_with(&self.kubeconfig, args)
    }

    fn ok(&self, apiary: &Apiary, args: &[&str]) -> String {
        let out = self.run(apiary, args);
        assert!(
            out.status.success(),
            "{} {args:?} failed: {}",
            self.name,
            stderr(&out)
        );
        stdout(&out)
    }

    fn fails(&self, apiary: &Apiary, args: &[&str]) -> String {
        let out = self.run(apiary, args);
        assert!(
            !out.status.success(),
            "{} {args:?} succeeded: {}",
            self.name,
            stdout(&out)
        );
        stderr(&out)
    }

    /// Runs `args` until it succeeds: RBAC changes reach the authorizer through a watch, within
    /// milliseconds but not synchronously with the write (as upstream's informers).
    fn eventually_ok(&self, apiary: &Apiary, args: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let out = self.run(apiary, args);
            if out.status.success() {
                return stdout(&out);
            }
            assert!(
                Instant::now() < deadline,
                "{} {args:?} still fails: {}",
                self.name,
                stderr(&out)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn rbac_impersonation_tokens_and_audit_as_three_users() {
    let apiary = start();
    let alice = User::new(&apiary, "alice", "alice-token");
    let bob = User::new(&apiary, "bob", "bob-token");
    let carol = User::new(&apiary, "carol", "carol-token");
    apiary.ok(&["create", "namespace", "team-a"]);

    // bob holds nothing: every listable resource is forbidden, with upstream's message.
    let resources = apiary.ok(&["api-resources", "--verbs=list", "-o", "name"]);
    let resources: Vec<&str> = resources.lines().collect();
    assert!(resources.len() > 40, "{resources:?}");
    for resource in &resources {
        let (plural, group) = resource.split_once('.').unwrap_or((resource, ""));
        let err = bob.fails(&apiary, &["get", resource, "-A"]);
        let expected = format!(
            "Error from server (Forbidden): {resource} is forbidden: User \"bob\" cannot list resource \"{plural}\" in API group \"{group}\" at the cluster scope"
        );
        assert!(err.contains(&expected), "{resource}: {err}");
    }
    let err = bob.fails(&apiary, &["get", "pods", "-n", "team-a"]);
    assert_eq!(
        err.trim(),
        "Error from server (Forbidden): pods is forbidden: User \"bob\" cannot list resource \"pods\" in API group \"\" in the namespace \"team-a\""
    );
    let err = bob.fails(&apiary, &["get", "namespace", "team-a"]);
    assert_eq!(
        err.trim(),
        "Error from server (Forbidden): namespaces \"team-a\" is forbidden: User \"bob\" cannot get resource \"namespaces\" in API group \"\" in the namespace \"team-a\""
    );
    let err = bob.fails(&apiary, &["get", "--raw", "/metrics"]);
    assert_eq!(
        err.trim(),
        "Error from server (Forbidden): forbidden: User \"bob\" cannot get path \"/metrics\""
    );

    // alice: view in team-a, and nothing else.
    apiary.ok(&[
        "create",
        "rolebinding",
        "alice-view",
        "--clusterrole=view",
        "--user=alice",
        "-n",
        "team-a",
    ]);
    apiary.ok(&[
        "create",
        "configmap",
        "settings",
        "-n",
        "team-a",
        "--from-literal=a=b",
    ]);
    apiary.ok(&[
        "create",
        "configmap",
        "settings",
        "-n",
        "default",
        "--from-literal=a=b",
    ]);
    let listed = alice.eventually_ok(&apiary, &["get", "configmaps", "-n", "team-a"]);
    assert!(listed.contains("settings"), "{listed}");
    let got = alice.ok(
        &apiary,
        &["get", "configmap", "settings", "-n", "team-a", "-o", "name"],
    );
    assert_eq!(got.trim(), "configmap/settings");
    let err = alice.fails(&apiary, &["get", "configmaps", "-n", "default"]);
    assert_eq!(
        err.trim(),
        "Error from server (Forbidden): configmaps is forbidden: User \"alice\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"default\""
    );
    let err = alice.fails(&apiary, &["get", "secrets", "-n", "team-a"]);
    assert!(
        err.contains("User \"alice\" cannot list resource \"secrets\""),
        "{err}"
    );
    let err = alice.fails(
        &apiary,
        &[
            "create",
            "configmap",
            "x",
            "-n",
            "team-a",
            "--from-literal=a=b",
        ],
    );
    assert_eq!(
        err.trim(),
        "error: failed to create configmap: configmaps is forbidden: User \"alice\" cannot create resource \"configmaps\" in API group \"\" in the namespace \"team-a\""
    );
    let err = alice.fails(
        &apiary,
        &["delete", "configmap", "settings", "-n", "team-a"],
    );
    assert!(
        err.contains("configmaps \"settings\" is forbidden: User \"alice\" cannot delete resource \"configmaps\" in API group \"\" in the namespace \"team-a\""),
        "{err}"
    );

    // auth can-i and whoami.
    assert_eq!(
        alice
            .ok(
                &apiary,
                &["auth", "can-i", "list", "configmaps", "-n", "team-a"]
            )
            .trim(),
        "yes"
    );
    let out = alice.run(
        &apiary,
        &["auth", "can-i", "create", "configmaps", "-n", "team-a"],
    );
    assert_eq!((out.status.code(), stdout(&out).trim()), (Some(1), "no"));
    let out = bob.run(&apiary, &["auth", "can-i", "get", "pods", "-n", "team-a"]);
    assert_eq!((out.status.code(), stdout(&out).trim()), (Some(1), "no"));
    let rules = alice.ok(&apiary, &["auth", "can-i", "--list", "-n", "team-a"]);
    let configmaps = rules
        .lines()
        .find(|l| l.starts_with("configmaps "))
        .unwrap_or_else(|| panic!("no configmaps rule in {rules}"));
    assert!(configmaps.ends_with("[get list watch]"), "{configmaps}");
    assert!(
        rules.lines().any(
            |l| l.starts_with("selfsubjectaccessreviews.authorization.k8s.io ")
                && l.ends_with("[create]")
        ),
        "{rules}"
    );
    let rules = alice.ok(&apiary, &["auth", "can-i", "--list", "-n", "default"]);
    assert!(
        !rules.lines().any(|l| l.starts_with("configmaps ")),
        "{rules}"
    );
    let whoami = carol.ok(&apiary, &["auth", "whoami"]);
    let whoami: Vec<String> = whoami
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        whoami,
        [
            "ATTRIBUTE VALUE",
            "Username carol",
            "UID uid-carol",
            "Groups [ops auditors system:authenticated]"
        ]
    );

    // carol: edit everywhere through her group (which includes reading secrets, as upstream),
    // and role management in team-a; she cannot grant what she does not hold.
    apiary.ok(&[
        "create",
        "clusterrolebinding",
        "ops-edit",
        "--clusterrole=edit",
        "--group=ops",
    ]);
    apiary.ok(&[
        "create",
        "clusterrole",
        "rbac-manager",
        "--verb=create,get,list",
        "--resource=roles,rolebindings",
    ]);
    apiary.ok(&[
        "create",
        "rolebinding",
        "carol-rbac",
        "--clusterrole=rbac-manager",
        "--user=carol",
        "-n",
        "team-a",
    ]);
    carol.eventually_ok(
        &apiary,
        &[
            "create",
            "configmap",
            "by-carol",
            "-n",
            "default",
            "--from-literal=a=b",
        ],
    );
    carol.eventually_ok(&apiary, &["get", "roles", "-n", "team-a"]);
    let err = carol.fails(
        &apiary,
        &[
            "create",
            "role",
            "role-deleter",
            "--verb=delete",
            "--resource=roles",
            "-n",
            "team-a",
        ],
    );
    assert!(
        err.contains("roles.rbac.authorization.k8s.io \"role-deleter\" is forbidden: user \"carol\" (groups=[\"ops\" \"auditors\" \"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:"),
        "{err}"
    );
    carol.ok(
        &apiary,
        &[
            "create",
            "role",
            "cm-reader",
            "--verb=get",
            "--resource=configmaps",
            "-n",
            "team-a",
        ],
    );
    let err = carol.fails(
        &apiary,
        &[
            "create",
            "rolebinding",
            "bob-admin",
            "--clusterrole=admin",
            "--user=bob",
            "-n",
            "team-a",
        ],
    );
    assert!(
        err.contains(
            "rolebindings.rbac.authorization.k8s.io \"bob-admin\" is forbidden: user \"carol\""
        ),
        "{err}"
    );
    carol.ok(
        &apiary,
        &[
            "create",
            "rolebinding",
            "bob-cm",
            "--role=cm-reader",
            "--user=bob",
            "-n",
            "team-a",
        ],
    );
    bob.eventually_ok(&apiary, &["get", "configmap", "settings", "-n", "team-a"]);

    // Impersonation: the admin may, bob may not.
    let listed = apiary.ok(&[
        "--as=alice",
        "get",
        "configmaps",
        "-n",
        "team-a",
        "-o",
        "name",
    ]);
    assert!(listed.contains("configmap/settings"), "{listed}");
    let out = apiary.kubectl(&["--as=alice", "get", "configmaps", "-n", "default"]);
    assert!(
        stderr(&out).contains("User \"alice\" cannot list resource \"configmaps\""),
        "{}",
        stderr(&out)
    );
    let err = bob.fails(
        &apiary,
        &["--as=alice", "get", "configmaps", "-n", "team-a"],
    );
    assert_eq!(
        err.trim(),
        "Error from server (Forbidden): users \"alice\" is forbidden: User \"bob\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope"
    );
    let whoami = apiary.ok(&["--as=alice", "--as-group=developers", "auth", "whoami"]);
    assert!(whoami.contains("alice"), "{whoami}");

    // ServiceAccount tokens: kubectl create token, use it, and it stops working with its account.
    apiary.ok(&["create", "serviceaccount", "robot", "-n", "team-a"]);
    let token = apiary.ok(&["create", "token", "robot", "-n", "team-a"]);
    let robot = User::new(&apiary, "robot", token.trim());
    let whoami = robot.ok(
        &apiary,
        &[
            "auth",
            "whoami",
            "-o",
            "jsonpath={.status.userInfo.username}",
        ],
    );
    assert_eq!(whoami, "system:serviceaccount:team-a:robot");
    let err = robot.fails(&apiary, &["get", "pods", "-n", "team-a"]);
    assert!(
        err.contains("User \"system:serviceaccount:team-a:robot\" cannot list resource \"pods\""),
        "{err}"
    );
    apiary.ok(&[
        "create",
        "rolebinding",
        "robot-view",
        "--clusterrole=view",
        "--serviceaccount=team-a:robot",
        "-n",
        "team-a",
    ]);
    robot.eventually_ok(&apiary, &["get", "configmaps", "-n", "team-a"]);
    apiary.ok(&["delete", "serviceaccount", "robot", "-n", "team-a"]);
    let err = robot.fails(&apiary, &["get", "configmaps", "-n", "team-a"]);
    assert!(
        err.contains("error: You must be logged in to the server (Unauthorized)"),
        "{err}"
    );
    // A recreated account of the same name does not revive the old token.
    apiary.ok(&["create", "serviceaccount", "robot", "-n", "team-a"]);
    let err = robot.fails(&apiary, &["get", "configmaps", "-n", "team-a"]);
    assert!(err.contains("Unauthorized"), "{err}");

    // A secret, created by the admin: audited at Metadata, so its value never reaches the log.
    apiary.ok(&[
        "create",
        "secret",
        "generic",
        "db",
        "-n",
        "team-a",
        "--from-literal=password=hunter2-very-secret",
    ]);

    // Nothing without credentials (or with a bad token) gets past 401.
    for path in [
        "/api/v1/namespaces",
        "/apis",
        "/api",
        "/version",
        "/metrics",
        "/openapi/v2",
        "/nowhere",
    ] {
        let (code, body) = curl(&apiary, path, None);
        assert_eq!(code, 401, "{path}: {body}");
        assert!(
            body.contains("\"reason\":\"Unauthorized\""),
            "{path}: {body}"
        );
        let (code, _) = curl(&apiary, path, Some("not-a-token"));
        assert_eq!(code, 401, "{path}");
    }
    let (code, body) = curl(
        &apiary,
        "/api/v1/namespaces/team-a/configmaps",
        Some("alice-token"),
    );
    assert_eq!(code, 200, "{body}");

    // /metrics is a non-resource URL RBAC lets the admin read, with upstream's metric names and
    // labels; alice's curl list above is counted.
    let metrics = apiary.ok(&["get", "--raw", "/metrics"]);
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("apiserver_request_total{")
                && [
                    "code=\"200\"",
                    "component=\"apiserver\"",
                    "resource=\"configmaps\"",
                    "scope=\"namespace\"",
                    "verb=\"LIST\"",
                    "version=\"v1\"",
                    "group=\"\""
                ]
                .iter()
                .all(|label| l.contains(label))),
        "{metrics}"
    );
    assert!(
        metrics.contains("apiserver_request_duration_seconds_bucket{"),
        "{metrics}"
    );
    assert!(
        metrics.contains("apiserver_current_inflight_requests{request_kind=\"readOnly\"}"),
        "{metrics}"
    );

    check_audit_log(&apiary);
}

/// GET `path` with curl, with `token` as bearer token or no credentials at all.
fn curl(apiary: &Apiary, path: &str, token: Option<&str>) -> (u16, String) {
    let mut cmd = std::process::Command::new("curl");
    cmd.args(["-sS", "--cacert"])
        .arg(apiary.data_dir().join("ca.crt"))
        .args(["-w", "\n%{http_code}"]);
    if let Some(token) = token {
        cmd.arg("-H").arg(format!("Authorization: Bearer {token}"));
    }
    let out = cmd
        .arg(format!("{}{path}", apiary.url()))
        .output()
        .expect("curl");
    let text = stdout(&out);
    let (body, code) = text.rsplit_once('\n').expect("status line");
    (code.trim().parse().expect("status code"), body.to_string())
}

fn check_audit_log(apiary: &Apiary) {
    let path = apiary.data_dir().join("audit/audit.log");
    // The log is written off the request path; give it a moment to reach the file.
    let deadline = Instant::now() + Duration::from_secs(5);
    let events: Vec<serde_json::Value> = loop {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let events: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON event per line"))
            .collect();
        let done = events.iter().any(|e| {
            e["user"]["username"] == "alice"
                && e["requestURI"] == "/api/v1/namespaces/team-a/configmaps"
                && e["stage"] == "ResponseComplete"
                && e["userAgent"]
                    .as_str()
                    .is_some_and(|ua| ua.starts_with("curl"))
        });
        if done || Instant::now() > deadline {
            break events;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(!events.is_empty(), "no audit events in {}", path.display());
    let text = std::fs::read_to_string(&path).expect("audit log");
    assert!(
        !text.contains("hunter2"),
        "a secret's value reached the audit log"
    );
    assert!(
        !text.contains("aHVudGVyMi"),
        "a secret's value reached the audit log"
    );

    for event in &events {
        assert_eq!(event["apiVersion"], "audit.k8s.io/v1");
        assert_eq!(event["kind"], "Event");
        assert!(event["auditID"].as_str().is_some_and(|id| !id.is_empty()));
        assert_ne!(event["requestURI"], "/readyz", "level None is not logged");
    }

    // Every request has a RequestReceived and a ResponseComplete event, with the same user.
    let of = |user: &str, verb: &str, uri: &str| -> Vec<&serde_json::Value> {
        events
            .iter()
            .filter(|e| {
                let path = e["requestURI"].as_str().unwrap_or("").split('?').next();
                e["user"]["username"] == user && e["verb"] == verb && path == Some(uri)
            })
            .collect()
    };
    let listed = of("alice", "list", "/api/v1/namespaces/team-a/configmaps");
    let stages: Vec<&str> = listed.iter().filter_map(|e| e["stage"].as_str()).collect();
    assert!(stages.contains(&"RequestReceived"), "{stages:?}");
    assert!(stages.contains(&"ResponseComplete"), "{stages:?}");
    let complete = listed
        .iter()
        .find(|e| {
            e["stage"] == "ResponseComplete"
                && e["userAgent"]
                    .as_str()
                    .is_some_and(|ua| ua.starts_with("curl"))
        })
        .expect("alice's list with curl completed");
    assert_eq!(complete["responseStatus"]["code"], 200);
    assert_eq!(complete["level"], "RequestResponse");
    assert_eq!(complete["objectRef"]["resource"], "configmaps");
    assert_eq!(complete["objectRef"]["namespace"], "team-a");
    assert_eq!(complete["responseObject"]["kind"], "ConfigMapList");
    // kubectl's own list of the same asked for a Table, and the log holds what it got.
    assert!(listed
        .iter()
        .any(|e| e["stage"] == "ResponseComplete" && e["responseObject"]["kind"] == "Table"));
    assert_eq!(
        complete["annotations"]["authorization.k8s.io/decision"],
        "allow"
    );
    let received = listed
        .iter()
        .find(|e| e["stage"] == "RequestReceived" && e["auditID"] == complete["auditID"])
        .expect("the same request's RequestReceived event");
    assert!(received.get("responseStatus").is_none());

    // bob's forbidden list: audited with its 403 and the decision.
    let denied = of("bob", "list", "/api/v1/namespaces/team-a/pods");
    let denied = denied
        .iter()
        .find(|e| e["stage"] == "ResponseComplete")
        .expect("bob's forbidden list is audited");
    assert_eq!(denied["responseStatus"]["code"], 403);
    assert_eq!(
        denied["annotations"]["authorization.k8s.io/decision"],
        "forbid"
    );

    // The admin's secret create: Metadata, no bodies.
    let secret = events
        .iter()
        .find(|e| {
            e["verb"] == "create"
                && e["objectRef"]["resource"] == "secrets"
                && e["stage"] == "ResponseComplete"
        })
        .expect("the secret create is audited");
    assert_eq!(secret["level"], "Metadata");
    assert_eq!(secret["user"]["username"], "kubernetes-admin");
    assert!(secret.get("requestObject").is_none());
    assert!(secret.get("responseObject").is_none());

    // The impersonated request names both users.
    let impersonated = events
        .iter()
        .find(|e| {
            e["impersonatedUser"]["username"] == "alice"
                && e["user"]["username"] == "kubernetes-admin"
        })
        .expect("the impersonated request is audited");
    assert_eq!(impersonated["objectRef"]["resource"], "configmaps");

    // Requests without credentials are audited too, as upstream.
    assert!(
        events
            .iter()
            .any(|e| e["responseStatus"]["code"] == 401 && e["requestURI"] == "/api/v1/namespaces"),
        "401s are audited"
    );
}

/// With `auth.anonymous` on, requests without credentials are `system:anonymous` and RBAC gives
/// them what upstream's default policy does: the public endpoints, nothing else.
#[test]
fn anonymous_requests_get_the_public_endpoints_only() {
    let apiary = Apiary::start_prepared(Vec::new(), |dir: &Path| {
        std::fs::write(dir.join("config.toml"), "[auth]\nanonymous = true\n").expect("config");
    });
    for path in ["/version", "/healthz", "/livez", "/readyz"] {
        let (code, body) = curl(&apiary, path, None);
        assert_eq!(code, 200, "{path}: {body}");
    }
    let (code, body) = curl(&apiary, "/api/v1/namespaces/default/pods", None);
    assert_eq!(code, 403, "{body}");
    let status: serde_json::Value = serde_json::from_str(&body).expect("a Status");
    assert_eq!(
        status["message"],
        "pods is forbidden: User \"system:anonymous\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\""
    );
    // Discovery needs an authenticated user, as upstream since 1.14.
    let (code, _) = curl(&apiary, "/apis", None);
    assert_eq!(code, 403);
    // A token nobody issued is still refused, anonymous access or not.
    let (code, _) = curl(&apiary, "/version", Some("made-up"));
    assert_eq!(code, 401);
}
