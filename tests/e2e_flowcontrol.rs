//! API Priority and Fairness against the real binary, with tiny limits (3 seats in all): a
//! FlowSchema sends one token user ("flooder") to a priority level of 1 seat and 1 queue of 1.
//! A burst of that user's requests is answered partly with 429 (`Retry-After`, the PF headers
//! naming the stored objects' uids), while another user ("calm", another schema and level) is
//! served promptly throughout, and the rejections are counted in
//! `apiserver_flowcontrol_rejected_requests_total`.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{stdout, Apiary};

const CONFIG: &str = "[server]\nmax_requests_inflight = 2\nmax_mutating_requests_inflight = 1\n\n\
    [auth]\ntoken_file = \"tokens.csv\"\nauthorization_modes = [\"AlwaysAllow\"]\n";

const TOKENS: &str = "flood-token,flooder,uid-flooder\ncalm-token,calm,uid-calm\n";

const OBJECTS: &str = r#"
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: PriorityLevelConfiguration
metadata:
  name: flood-level
spec:
  type: Limited
  limited:
    nominalConcurrencyShares: 1
    lendablePercent: 0
    borrowingLimitPercent: 0
    limitResponse:
      type: Queue
      queuing:
        queues: 1
        handSize: 1
        queueLengthLimit: 1
---
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: FlowSchema
metadata:
  name: flood
spec:
  matchingPrecedence: 100
  priorityLevelConfiguration:
    name: flood-level
  distinguisherMethod:
    type: ByUser
  rules:
  - subjects:
    - kind: User
      user:
        name: flooder
    resourceRules:
    - verbs: ["*"]
      apiGroups: ["*"]
      resources: ["*"]
      namespaces: ["*"]
      clusterScope: true
"#;

const PATH: &str = "/api/v1/namespaces/default/configmaps";

/// One answer of a parallel curl: code, FlowSchema uid, priority level uid, Retry-After.
#[derive(Debug)]
struct Answer {
    code: u16,
    flow_schema_uid: String,
    priority_level_uid: String,
    retry_after: String,
}

/// `count` GETs of [`PATH`] with `token`, sent at once over one HTTP/2 connection.
fn burst(apiary: &Apiary, token: &str, count: usize) -> Vec<Answer> {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--parallel", "--parallel-immediate", "--parallel-max", "100"])
        .arg("--cacert")
        .arg(apiary.data_dir().join("ca.crt"))
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .args([
            "-w",
            "%{http_code}|%header{x-kubernetes-pf-flowschema-uid}|%header{x-kubernetes-pf-prioritylevel-uid}|%header{retry-after}\\n",
        ]);
    for _ in 0..count {
        cmd.arg(format!("{}{PATH}", apiary.url()))
            .args(["-o", "/dev/null"]);
    }
    let out = cmd.output().expect("curl");
    stdout(&out)
        .lines()
        .filter(|l| !l.is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split('|').collect();
            assert_eq!(fields.len(), 4, "{line}");
            Answer {
                code: fields[0].parse().expect("code"),
                flow_schema_uid: fields[1].to_string(),
                priority_level_uid: fields[2].to_string(),
                retry_after: fields[3].to_string(),
            }
        })
        .collect()
}

fn with_config(dir: &Path) {
    std::fs::write(dir.join("tokens.csv"), TOKENS).expect("tokens");
    std::fs::write(dir.join("config.toml"), CONFIG).expect("config");
}

#[test]
fn a_flooding_user_gets_429_while_another_is_served() {
    let apiary = Apiary::start_prepared(Vec::new(), with_config);
    apiary.ok_stdin(&["apply", "-f", "-"], OBJECTS);
    let uid = |kind: &str, name: &str| {
        apiary
            .ok(&["get", kind, name, "-o", "jsonpath={.metadata.uid}"])
            .trim()
            .to_string()
    };
    let schema_uid = uid("flowschema", "flood");
    let level_uid = uid("prioritylevelconfiguration", "flood-level");
    assert!(!schema_uid.is_empty() && !level_uid.is_empty());

    // The filter follows the stores: wait until the flooder is classified by the new schema.
    let started = Instant::now();
    loop {
        let answers = burst(&apiary, "flood-token", 1);
        if let Some(first) = answers.first().filter(|a| a.flow_schema_uid == schema_uid) {
            assert_eq!(first.code, 200);
            assert_eq!(first.priority_level_uid, level_uid);
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the FlowSchema never took effect: {answers:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let flooding = AtomicBool::new(true);
    let (flood, calm) = std::thread::scope(|scope| {
        let flood = scope.spawn(|| {
            let mut answers = Vec::new();
            // Bursts until some are refused (at most 20 rounds).
            for _ in 0..20 {
                answers.extend(burst(&apiary, "flood-token", 60));
                if answers.iter().filter(|a| a.code == 429).count() >= 5 {
                    break;
                }
            }
            flooding.store(false, Ordering::Release);
            answers
        });
        let calm = scope.spawn(|| {
            let mut answers = Vec::new();
            // At least 5 requests, and on while the flood lasts.
            while answers.len() < 5 || flooding.load(Ordering::Acquire) {
                let sent = Instant::now();
                let answer = burst(&apiary, "calm-token", 1).pop().expect("an answer");
                answers.push((answer, sent.elapsed()));
            }
            answers
        });
        (flood.join().expect("flood"), calm.join().expect("calm"))
    });

    let refused: Vec<&Answer> = flood.iter().filter(|a| a.code == 429).collect();
    assert!(refused.len() >= 5, "{flood:?}");
    for answer in &flood {
        assert!(answer.code == 200 || answer.code == 429, "{answer:?}");
        assert_eq!(answer.flow_schema_uid, schema_uid, "{answer:?}");
        assert_eq!(answer.priority_level_uid, level_uid, "{answer:?}");
    }
    for answer in &refused {
        let retry: u64 = answer.retry_after.parse().expect("Retry-After seconds");
        assert!((1..=32).contains(&retry), "{answer:?}");
    }
    for (answer, took) in &calm {
        assert_eq!(answer.code, 200, "the calm user was refused: {answer:?}");
        assert!(
            *took < Duration::from_secs(3),
            "the calm user waited {took:?}"
        );
        // Classified elsewhere: another schema and level, with the headers set.
        assert_ne!(answer.flow_schema_uid, schema_uid);
        assert_ne!(answer.priority_level_uid, level_uid);
    }

    let metrics = apiary.ok(&["get", "--raw", "/metrics"]);
    let counted = metrics.lines().any(|line| {
        line.starts_with("apiserver_flowcontrol_rejected_requests_total{")
            && line.contains(r#"flow_schema="flood""#)
            && line.contains(r#"priority_level="flood-level""#)
    });
    assert!(counted, "no rejection counted:\n{metrics}");
    assert!(metrics
        .contains(r#"apiserver_flowcontrol_nominal_limit_seats{priority_level="flood-level"} 1"#));
}
