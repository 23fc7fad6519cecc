//! Overload and faults against the real binary:
//!
//! * a storm of creates, lists and about 1,000 watches from one non-admin user, beyond small
//!   limits: some requests are refused with 429 and `Retry-After`, `/livez` answers throughout,
//!   every acknowledged create is kept, and a normal request succeeds promptly afterwards;
//! * a watcher that never reads is ended by the server (upstream's cacher closes an unresponsive
//!   watcher) while another watcher of the same resource receives every event promptly;
//! * RocksDB on a small tmpfs that fills up: writes fail with 5xx Status bodies, reads and
//!   `/livez` keep working, and writes succeed again without a restart once space returns.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{stdout, Apiary};

/// `curl -sS --cacert <ca>` for `apiary`.
fn curl(apiary: &Apiary) -> Command {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--cacert"])
        .arg(apiary.data_dir().join("ca.crt"));
    cmd
}

/// `curl` with the admin's client certificate (`system:masters`, exempt from the limits).
fn admin_curl(apiary: &Apiary) -> Command {
    let mut cmd = curl(apiary);
    cmd.arg("--cert")
        .arg(apiary.data_dir().join("admin.crt"))
        .arg("--key")
        .arg(apiary.data_dir().join("admin.key"));
    cmd
}

/// One transfer of a parallel curl: status code, `Retry-After` and the file its body went to.
#[derive(Debug)]
struct Transfer {
    code: u16,
    retry_after: String,
    file: String,
}

/// Adds `urls` to `cmd` as parallel transfers (at most `max` at once; curl allows 300), each body
/// written to `out(i)`, and starts it.
fn spawn_parallel(
    mut cmd: Command,
    max: usize,
    urls: &[String],
    out: impl Fn(usize) -> String,
) -> Child {
    cmd.args(["--parallel", "--parallel-immediate", "--parallel-max"])
        .arg(max.to_string())
        .args([
            "-w",
            "%{http_code}|%header{retry-after}|%{filename_effective}\\n",
        ]);
    for (i, url) in urls.iter().enumerate() {
        cmd.arg(url).arg("-o").arg(out(i));
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("curl")
}

fn transfers(child: Child) -> Vec<Transfer> {
    let out = child.wait_with_output().expect("curl output");
    stdout(&out)
        .lines()
        .filter(|l| !l.is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.splitn(3, '|').collect();
            assert_eq!(fields.len(), 3, "{line}");
            Transfer {
                code: fields[0].parse().expect("code"),
                retry_after: fields[1].to_string(),
                file: fields[2].to_string(),
            }
        })
        .collect()
}

const STORM_CONFIG: &str = "[server]\nmax_requests_inflight = 4\nmax_mutating_requests_inflight = 2\n\n\
    [auth]\nanonymous = true\ntoken_file = \"tokens.csv\"\nauthorization_modes = [\"AlwaysAllow\"]\n";

#[test]
fn a_storm_is_shed_with_429_livez_answers_and_no_acknowledged_write_is_lost() {
    let apiary = Apiary::start_prepared(Vec::new(), |dir: &Path| {
        std::fs::write(dir.join("tokens.csv"), "storm-token,stormer,uid-stormer\n")
            .expect("tokens");
        std::fs::write(dir.join("config.toml"), STORM_CONFIG).expect("config");
    });
    apiary.ok(&["create", "namespace", "storm"]);
    let out_dir = apiary.data_dir().join("storm-out");
    std::fs::create_dir(&out_dir).expect("out dir");
    let body = apiary.data_dir().join("storm-cm.json");
    std::fs::write(
        &body,
        format!(
            r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"generateName":"storm-"}},"data":{{"k":"{}"}}}}"#,
            "s".repeat(1024)
        ),
    )
    .expect("body");
    let token = "Authorization: Bearer storm-token";
    let base = apiary.url();
    let configmaps = format!("{base}/api/v1/namespaces/storm/configmaps");

    // /livez without credentials (the `probes` FlowSchema is exempt), every 100 ms.
    let storming = AtomicBool::new(true);
    let (probes, answers) = std::thread::scope(|scope| {
        let probes = scope.spawn(|| {
            let mut probes = Vec::new();
            while storming.load(Ordering::Acquire) {
                let sent = Instant::now();
                let out = curl(&apiary)
                    .args(["--max-time", "10", "-w", "\n%{http_code}"])
                    .arg(format!("{base}/livez"))
                    .output()
                    .expect("curl livez");
                probes.push((stdout(&out), sent.elapsed()));
                std::thread::sleep(Duration::from_millis(100));
            }
            probes
        });

        let mut children = Vec::new();
        // About 1,000 watches over HTTP/2 (curl runs at most 300 transfers at once), ended by
        // the server after a few seconds.
        for _ in 0..4 {
            let mut cmd = curl(&apiary);
            cmd.args(["--http2", "-H", token]);
            let urls =
                vec![
                    format!("{base}/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=5");
                    250
                ];
            children.push(spawn_parallel(cmd, 250, &urls, |_| "/dev/null".into()));
        }
        // Creates over HTTP/1.1 (a refusal is answered before the body is read), each answer
        // kept to learn the generated names of the acknowledged ones.
        for round in 0..2 {
            let mut cmd = curl(&apiary);
            cmd.args(["--http1.1", "-H", token])
                .args(["-H", "Content-Type: application/json", "--data-binary"])
                .arg(format!("@{}", body.display()));
            let urls = vec![configmaps.clone(); 200];
            let dir = out_dir.clone();
            children.push(spawn_parallel(cmd, 200, &urls, move |i| {
                dir.join(format!("create-{round}-{i}.json"))
                    .display()
                    .to_string()
            }));
        }
        // Lists over HTTP/2.
        let mut cmd = curl(&apiary);
        cmd.args(["--http2", "-H", token]);
        children.push(spawn_parallel(
            cmd,
            300,
            &vec![configmaps.clone(); 300],
            |_| "/dev/null".into(),
        ));

        let answers: Vec<Transfer> = children.into_iter().flat_map(transfers).collect();
        storming.store(false, Ordering::Release);
        (probes.join().expect("probes"), answers)
    });

    assert!(answers.len() >= 1_700, "{} answers", answers.len());
    let unexpected: Vec<&Transfer> = answers
        .iter()
        .filter(|t| ![200, 201, 409, 429].contains(&t.code))
        .collect();
    assert!(unexpected.is_empty(), "unexpected answers: {unexpected:?}");
    let refused: Vec<&Transfer> = answers.iter().filter(|t| t.code == 429).collect();
    assert!(!refused.is_empty(), "nothing was refused under the storm");
    for transfer in &refused {
        let retry: u64 = transfer
            .retry_after
            .parse()
            .unwrap_or_else(|_| panic!("Retry-After seconds: {transfer:?}"));
        assert!(retry >= 1, "{transfer:?}");
    }

    // Every create answered 201 is stored.
    let mut acknowledged = Vec::new();
    for transfer in answers.iter().filter(|t| t.code == 201) {
        let text = std::fs::read_to_string(&transfer.file).expect("create answer");
        let object: serde_json::Value = serde_json::from_str(&text).expect("created object");
        acknowledged.push(
            object["metadata"]["name"]
                .as_str()
                .expect("name")
                .to_string(),
        );
    }
    assert!(!acknowledged.is_empty(), "no create was acknowledged");
    let stored = apiary.ok(&[
        "get",
        "configmaps",
        "-n",
        "storm",
        "-o",
        "jsonpath={.items[*].metadata.name}",
    ]);
    let stored: std::collections::HashSet<&str> = stored.split_whitespace().collect();
    for name in &acknowledged {
        assert!(
            stored.contains(name.as_str()),
            "acknowledged {name} is lost"
        );
    }

    assert!(probes.len() >= 5, "{} probes", probes.len());
    for (answer, took) in &probes {
        let (body, code) = answer.rsplit_once('\n').unwrap_or(("", answer.as_str()));
        assert_eq!(
            (body.trim(), code),
            ("ok", "200"),
            "/livez during the storm"
        );
        assert!(*took < Duration::from_secs(3), "/livez took {took:?}");
    }

    // Recovery: the same user is served promptly once the storm is over.
    let started = Instant::now();
    loop {
        let out = curl(&apiary)
            .args(["-H", token, "-o", "/dev/null", "-w", "%{http_code}"])
            .arg(&configmaps)
            .output()
            .expect("curl");
        if stdout(&out) == "200" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "not served after the storm: {}",
            stdout(&out)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Reads watch events (one JSON line each) from `reader`, sending each line's type, object name
/// and arrival time.
fn follow(reader: impl Read + Send + 'static) -> mpsc::Receiver<(String, String, Instant)> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { break };
            let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            let kind = event["type"].as_str().unwrap_or_default().to_string();
            let name = event["object"]["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if tx.send((kind, name, Instant::now())).is_err() {
                break;
            }
        }
    });
    rx
}

fn spawn_watch(apiary: &Apiary) -> Child {
    admin_curl(apiary)
        .args(["--http1.1", "-N"])
        .arg(format!(
            "{}/api/v1/namespaces/default/configmaps?watch=1",
            apiary.url()
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("curl watch")
}

#[test]
fn a_watcher_that_never_reads_is_ended_without_slowing_others() {
    let apiary = Apiary::start();
    let mut fast = spawn_watch(&apiary);
    let fast_events = follow(fast.stdout.take().expect("stdout"));
    // Its output is a pipe nobody reads: once the pipe is full, curl stops reading the socket.
    let mut slow = spawn_watch(&apiary);
    // Both watches are open once the fast one sees a ConfigMap created after them.
    std::thread::sleep(Duration::from_millis(500));
    apiary.ok(&["create", "configmap", "first-event"]);
    loop {
        let (_, name, _) = fast_events
            .recv_timeout(Duration::from_secs(20))
            .expect("the fast watcher's first events");
        if name == "first-event" {
            break;
        }
    }

    // 5,000 ConfigMaps of 10 KiB: about 50 MB of events, far beyond the socket buffers.
    let body = apiary.data_dir().join("big-cm.json");
    std::fs::write(
        &body,
        format!(
            r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"generateName":"big-"}},"data":{{"v":"{}"}}}}"#,
            "w".repeat(10 * 1024)
        ),
    )
    .expect("body");
    let configmaps = format!("{}/api/v1/namespaces/default/configmaps", apiary.url());
    let mut cmd = admin_curl(&apiary);
    cmd.args([
        "--http2",
        "-H",
        "Content-Type: application/json",
        "--data-binary",
    ])
    .arg(format!("@{}", body.display()));
    let created = transfers(spawn_parallel(
        cmd,
        16,
        &vec![configmaps.clone(); 5_000],
        |_| "/dev/null".into(),
    ))
    .iter()
    .filter(|t| t.code == 201)
    .count();
    assert!(created >= 4_900, "only {created} creates succeeded");

    let out = admin_curl(&apiary)
        .args([
            "-H",
            "Content-Type: application/json",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
        ])
        .args([
            "-d",
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"last-event"}}"#,
        ])
        .arg(&configmaps)
        .output()
        .expect("curl");
    let written = Instant::now();
    assert_eq!(stdout(&out), "201");

    // The fast watcher sees every create, the last one within seconds of its write.
    let mut added = 0;
    loop {
        let (kind, name, at) = fast_events
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("the fast watcher stalled after {added} events"));
        assert_ne!(kind, "ERROR", "the fast watcher was ended");
        if kind == "ADDED" && name.starts_with("big-") {
            added += 1;
        }
        if name == "last-event" {
            assert!(
                at.saturating_duration_since(written) < Duration::from_secs(5),
                "the last event came {:?} after its write",
                at.saturating_duration_since(written)
            );
            break;
        }
    }
    assert_eq!(added, created, "the fast watcher missed events");

    // Read now, the slow watcher's stream ends: the server closed it before the last event.
    let mut slow_out = slow.stdout.take().expect("stdout");
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = slow_out.read_to_end(&mut text);
        let _ = done_tx.send(text);
    });
    let text = match done_rx.recv_timeout(Duration::from_secs(30)) {
        Ok(text) => text,
        Err(_) => {
            let _ = slow.kill();
            panic!("the server never ended the watcher that did not read");
        }
    };
    let status = slow.wait().expect("curl exit");
    assert!(
        status.success(),
        "the slow watch did not end cleanly: {status}"
    );
    let text = String::from_utf8_lossy(&text);
    let received = text.lines().filter(|l| l.contains("\"big-")).count();
    assert!(
        received < created && !text.contains("last-event"),
        "the slow watcher was not ended: it got {received} of {created} events"
    );
    let _ = fast.kill();
    let _ = fast.wait();
}

/// A tmpfs mounted on a temporary directory, unmounted on drop (also when the test fails).
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size_mib: u64) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_mib}m"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("mount");
        assert!(status.success(), "mount tmpfs (the test runs as root)");
        Tmpfs { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Free bytes, as `df` reports them.
    fn available(&self) -> u64 {
        let out = Command::new("df")
            .args(["--output=avail", "-B1"])
            .arg(self.path())
            .output()
            .expect("df");
        stdout(&out)
            .lines()
            .nth(1)
            .and_then(|l| l.trim().parse().ok())
            .expect("df avail")
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(self.dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount")
                .arg("-l")
                .arg(self.dir.path())
                .status();
        }
    }
}

/// POSTs the ConfigMap in `body` as the admin; the status code and the answer.
fn create(apiary: &Apiary, body: &Path) -> (u16, String) {
    let out = admin_curl(apiary)
        .args([
            "--http1.1",
            "-H",
            "Content-Type: application/json",
            "-w",
            "\n%{http_code}",
        ])
        .arg("--data-binary")
        .arg(format!("@{}", body.display()))
        .arg(format!(
            "{}/api/v1/namespaces/default/configmaps",
            apiary.url()
        ))
        .output()
        .expect("curl");
    let text = stdout(&out);
    let (answer, code) = text.rsplit_once('\n').expect("status line");
    (code.trim().parse().expect("code"), answer.to_string())
}

fn livez(apiary: &Apiary) -> String {
    let out = admin_curl(apiary)
        .args(["--max-time", "10"])
        .arg(format!("{}/livez", apiary.url()))
        .output()
        .expect("curl");
    stdout(&out).trim().to_string()
}

#[test]
fn a_full_disk_gives_5xx_status_and_writes_resume_when_space_returns() {
    // RocksDB resumes writes after running out of space once its write buffer's size (64 MiB by
    // default) is free again, and the flush of what the full WAL holds must fit too: a 320 MiB
    // tmpfs, filled by a file until 24 MiB are left.
    let tmpfs = Tmpfs::mount(320);
    let db = tmpfs.path().join("rocksdb");
    let apiary = Apiary::start_with_env(vec![(
        "APIARY_STORAGE__ROCKSDB__PATH".into(),
        db.display().to_string(),
    )]);
    apiary.ok(&["create", "configmap", "kept", "--from-literal=k=v"]);

    let filler: PathBuf = tmpfs.path().join("filler");
    let fill_bytes = tmpfs.available().saturating_sub(24 << 20);
    assert!(fill_bytes > 128 << 20, "{fill_bytes} bytes to fill");
    {
        let mut file = std::fs::File::create(&filler).expect("filler");
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..fill_bytes >> 20 {
            file.write_all(&chunk).expect("write filler");
        }
        file.sync_all().expect("sync filler");
    }

    // 512 KiB values that do not compress, each create named by the server.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let value: String = (0..512 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b"0123456789abcdefghijklmnopqrstuv"[(state % 32) as usize])
        })
        .collect();
    let body = apiary.data_dir().join("fill-cm.json");
    std::fs::write(
        &body,
        format!(
            r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"generateName":"fill-"}},"data":{{"v":"{value}"}}}}"#
        ),
    )
    .expect("body");

    let mut acknowledged = Vec::new();
    let refusal = loop {
        assert!(acknowledged.len() < 400, "the tmpfs never filled up");
        let (code, answer) = create(&apiary, &body);
        if code == 201 {
            let object: serde_json::Value = serde_json::from_str(&answer).expect("object");
            acknowledged.push(
                object["metadata"]["name"]
                    .as_str()
                    .expect("name")
                    .to_string(),
            );
            continue;
        }
        break (code, answer);
    };
    let (code, answer) = refusal;
    assert!((500..600).contains(&code), "{code}: {answer}");
    let status: serde_json::Value =
        serde_json::from_str(&answer).unwrap_or_else(|_| panic!("not a Status: {code} {answer}"));
    assert_eq!(status["kind"], "Status", "{answer}");
    assert_eq!(status["status"], "Failure", "{answer}");
    assert_eq!(status["code"], code, "{answer}");
    assert!(
        !status["message"].as_str().unwrap_or_default().is_empty(),
        "{answer}"
    );
    // Still full: the next write fails the same way.
    let (again, answer) = create(&apiary, &body);
    assert!((500..600).contains(&again), "{again}: {answer}");

    // Reads and /livez keep working.
    assert_eq!(
        apiary
            .ok(&["get", "configmap", "kept", "-o", "jsonpath={.data.k}"])
            .trim(),
        "v"
    );
    let listed = apiary.ok(&[
        "get",
        "configmaps",
        "-o",
        "jsonpath={.items[*].metadata.name}",
    ]);
    for name in &acknowledged {
        assert!(
            listed.split_whitespace().any(|n| n == name.as_str()),
            "{name} is lost"
        );
    }
    assert_eq!(livez(&apiary), "ok");

    // Space returns: writes succeed again, without a restart.
    std::fs::remove_file(&filler).expect("remove filler");
    let started = Instant::now();
    loop {
        let out = apiary.kubectl(&["create", "configmap", "after-space", "--from-literal=k=v"]);
        if out.status.success() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(40),
            "writes did not resume: {}",
            common::stderr(&out)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(
        apiary
            .ok(&[
                "get",
                "configmap",
                "after-space",
                "-o",
                "jsonpath={.data.k}"
            ])
            .trim(),
        "v"
    );
    assert_eq!(livez(&apiary), "ok");
    drop(apiary);
    drop(tmpfs);
}
