//! `test/e2e/kubectl/kubectl.go`: the Kubectl client conformance tests that need only an API
//! server, driving the real kubectl.

use std::io::Read;
use std::process::{Child, Command, Stdio};

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

use crate::common::{kubectl_path, stderr, stdout, Apiary};
use crate::shared_apiary::{conformance_tests, namespace};

/// `imageutils.GetE2EImage(imageutils.Httpd)` and `(imageutils.BusyBox)` in 1.33.
const HTTPD_IMAGE: &str = "registry.k8s.io/e2e-test-images/httpd:2.4.38-4";
const BUSYBOX_IMAGE: &str = "registry.k8s.io/e2e-test-images/busybox:1.37.0-1";

/// `test/e2e/testing-manifests/kubectl/httpd-deployment3.yaml.in` with its image substituted.
fn httpd_deployment3() -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: httpd-deployment\nspec:\n  selector:\n    matchLabels:\n      app: httpd\n  template:\n    metadata:\n      labels:\n        app: httpd\n    spec:\n      containers:\n      - name: httpd\n        image: {HTTPD_IMAGE}\n        ports:\n        - containerPort: 80\n"
    )
}

/// Upstream's `e2ekubectl.RunKubectlOrDie(ns, args...)`: kubectl with `--namespace=ns`, which
/// must succeed; its standard output.
fn run_kubectl_or_die(apiary: &Apiary, ns: &str, args: &[&str]) -> String {
    let ns_flag = format!("--namespace={ns}");
    let mut all = args.to_vec();
    all.push(&ns_flag);
    apiary.ok(&all)
}

/// `RunKubectlOrDieInput(ns, input, args...)`.
fn run_kubectl_or_die_input(apiary: &Apiary, ns: &str, input: &str, args: &[&str]) -> String {
    let ns_flag = format!("--namespace={ns}");
    let mut all = args.to_vec();
    all.push(&ns_flag);
    apiary.ok_stdin(&all, input)
}

/// `[sig-cli] Kubectl client Kubectl api-versions should check if v1 is in available api versions [Conformance]`
/// (test/e2e/kubectl/kubectl.go).
async fn api_versions_should_check_if_v1_is_in_available_api_versions(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "kubectl").await;
    // validating api versions
    let output = run_kubectl_or_die(apiary, &ns, &["api-versions"]);
    assert!(output.contains("v1"), "No v1 in kubectl api-versions");
}

/// `[sig-cli] Kubectl client Kubectl cluster-info should check if Kubernetes control plane services is included in cluster-info [Conformance]`
/// (test/e2e/kubectl/kubectl.go).
async fn cluster_info_should_check_if_kubernetes_control_plane_services_is_included(
    apiary: &Apiary,
) {
    let client = apiary.client().await;
    let ns = namespace(&client, "kubectl").await;
    // validating cluster-info
    let output = run_kubectl_or_die(apiary, &ns, &["cluster-info"]);
    for item in ["Kubernetes control plane", "is running at"] {
        assert!(
            output.contains(item),
            "Missing {item} in kubectl cluster-info: {output}"
        );
    }
}

/// `[sig-cli] Kubectl client Kubectl diff should check if kubectl diff finds a difference for Deployments [Conformance]`
/// (test/e2e/kubectl/kubectl.go).
async fn diff_should_check_if_kubectl_diff_finds_a_difference_for_deployments(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "kubectl").await;

    // create deployment with httpd image
    let deployment = httpd_deployment3();
    run_kubectl_or_die_input(apiary, &ns, &deployment, &["create", "-f", "-"]);

    // verify diff finds difference between live and declared image
    let deployment = deployment.replacen(HTTPD_IMAGE, BUSYBOX_IMAGE, 1);
    assert!(
        deployment.contains(BUSYBOX_IMAGE),
        "Failed replacing image from {HTTPD_IMAGE} to {BUSYBOX_IMAGE} in:\n{deployment}"
    );
    // Upstream ignores the exit code (its check for 1 never matches the error type kubectl's
    // runner returns), so only the output is checked.
    let ns_flag = format!("--namespace={ns}");
    let out = apiary.kubectl_with_stdin(&["diff", "-f", "-", &ns_flag], Some(&deployment));
    let output = stdout(&out);
    for item in [HTTPD_IMAGE, BUSYBOX_IMAGE] {
        assert!(
            output.contains(item),
            "Missing {item} in kubectl diff output:\n{output}\n{}",
            stderr(&out)
        );
    }

    run_kubectl_or_die_input(apiary, &ns, &deployment, &["delete", "-f", "-"]);
}

/// `[sig-cli] Kubectl client Kubectl version should check is all data is printed [Conformance]`
/// (test/e2e/kubectl/kubectl.go).
async fn version_should_check_is_all_data_is_printed(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "kubectl").await;
    let version = run_kubectl_or_die(apiary, &ns, &["version"]);
    for item in ["Client Version: ", "Server Version: "] {
        // Upstream accepts the long form printed before 1.28 or the short one.
        let old = regex::Regex::new(&format!(
            r#"{item}version.Info\{{Major:"\d", Minor:"\d+\+?", GitVersion:"v\d\.\d+\.[\d\w\-\.\+]+", GitCommit:"[0-9a-f]+""#
        ))
        .expect("regex");
        let new = regex::Regex::new(&format!(r"{item}v\d\.\d+\.[\d\w\-\.\+]+")).expect("regex");
        assert!(
            old.is_match(&version) || new.is_match(&version),
            "Item {item} value is not valid in {version}"
        );
    }
}

/// A `kubectl proxy` process, killed when dropped (upstream's `framework.TryKill`).
struct Proxy(Child);

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `kubectl proxy args...` and returns it with the first read of its standard output
/// (upstream's `StartCmdAndStreamOutput` and a 128-byte read).
fn start_proxy(apiary: &Apiary, ns: &str, args: &[&str]) -> (Proxy, String) {
    let mut child = Command::new(kubectl_path())
        .arg("--kubeconfig")
        .arg(apiary.kubeconfig())
        .arg(format!("--namespace={ns}"))
        .arg("proxy")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("Failed to start kubectl command");
    let mut out = child.stdout.take().expect("stdout");
    let proxy = Proxy(child);
    let mut buf = [0u8; 128];
    let n = out
        .read(&mut buf)
        .expect("Expected output from kubectl proxy");
    assert!(n > 0, "Expected output from kubectl proxy");
    // Keep draining the pipe so the proxy never blocks on a full one.
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut out, &mut std::io::sink());
    });
    (proxy, String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// An HTTP/1.1 GET of `path` over `io` (upstream's `curl`): the response body.
async fn http_get<IO>(io: IO, host: &str, path: &str) -> Result<String, String>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let request = http::Request::get(path)
        .header(http::header::HOST, host)
        .body(Empty::<Bytes>::new())
        .expect("request");
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// `[sig-cli] Kubectl client Proxy server should support proxy with --port 0 [Conformance]`
/// (test/e2e/kubectl/kubectl.go).
async fn proxy_server_should_support_proxy_with_port_0(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "kubectl").await;
    // starting the proxy server
    let (_proxy, output) = start_proxy(apiary, &ns, &["-p", "0", "--disable-filter"]);
    let re = regex::Regex::new("Starting to serve on 127.0.0.1:([0-9]+)").expect("regex");
    let port: u16 = re
        .captures(&output)
        .and_then(|c| c[1].parse().ok())
        .unwrap_or_else(|| panic!("Failed to parse port from proxy stdout: {output}"));

    // curling proxy /api/ output
    let stream = tokio::net::TcpStream::connect(("localhost", port))
        .await
        .expect("connect to the proxy");
    let body = http_get(stream, &format!("localhost:{port}"), "/api/")
        .await
        .unwrap_or_else(|e| panic!("Failed http.Get of /api/: {e}"));
    // Go's lenient decoding into metav1.APIVersions: only `versions` matters.
    let versions: serde_json::Value = serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("Failed to parse /api output {body}: {e}"));
    let count = versions["versions"].as_array().map_or(0, Vec::len);
    assert!(
        count >= 1,
        "Expected at least one supported apiversion, got {versions}"
    );
}

/// `[sig-cli] Kubectl client Proxy server should support --unix-socket=/path [Conformance]`
/// (test/e2e/kubectl/kubectl.go).
async fn proxy_server_should_support_unix_socket(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "kubectl").await;
    // Starting the proxy
    let tmpdir = tempfile::Builder::new()
        .prefix("kubectl-proxy-unix")
        .tempdir()
        .expect("Failed to create temporary directory");
    let path = tmpdir.path().join("test");
    let socket_flag = format!("--unix-socket={}", path.display());
    let (_proxy, _output) = start_proxy(apiary, &ns, &[&socket_flag]);

    // retrieving proxy /api/ output
    let stream = tokio::net::UnixStream::connect(&path)
        .await
        .unwrap_or_else(|e| panic!("Failed get of /api at {}: {e}", path.display()));
    if let Err(e) = http_get(stream, "unused", "/api").await {
        panic!("Failed get of /api at {}: {e}", path.display());
    }
}

conformance_tests!(rocksdb_only {
    api_versions_should_check_if_v1_is_in_available_api_versions,
    cluster_info_should_check_if_kubernetes_control_plane_services_is_included,
    diff_should_check_if_kubectl_diff_finds_a_difference_for_deployments,
    version_should_check_is_all_data_is_printed,
    proxy_server_should_support_proxy_with_port_0,
    proxy_server_should_support_unix_socket,
});
