//! curl against a running Apiary, for tests of what the HTTP layer answers (status codes,
//! headers, bodies curl reads as they come).

use std::process::Command;

use super::{stderr, stdout, Apiary};

/// A curl answer: whether curl succeeded, the HTTP status code (0 when none), the headers
/// (lower-case names) and the body, with curl's own error appended when it failed.
pub struct Answer {
    pub success: bool,
    pub code: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    /// The first value of a header (`name` in lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Runs curl against the URL of `path` with `args` (method, headers, credentials), trusting the
/// server's CA and giving up after 60 s.
pub fn curl(apiary: &Apiary, args: &[&str], path: &str) -> Answer {
    let mut command = Command::new("curl");
    command.args(args);
    run(apiary, command, path)
}

/// [`curl`] as the admin, with its client certificate.
pub fn curl_as_admin(apiary: &Apiary, args: &[&str], path: &str) -> Answer {
    let dir = apiary.data_dir();
    let mut command = Command::new("curl");
    command
        .arg("--cert")
        .arg(dir.join("admin.crt"))
        .arg("--key")
        .arg(dir.join("admin.key"))
        .args(args);
    run(apiary, command, path)
}

fn run(apiary: &Apiary, mut command: Command, path: &str) -> Answer {
    let headers = tempfile::NamedTempFile::new().expect("temp file");
    let out = command
        .args(["-sS", "--max-time", "60", "--cacert"])
        .arg(apiary.data_dir().join("ca.crt"))
        .arg("-D")
        .arg(headers.path())
        .args(["-w", "\n%{http_code}"])
        .arg(format!("{}{path}", apiary.url()))
        .output()
        .expect("curl");
    let text = stdout(&out);
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", text.as_str()));
    let headers = std::fs::read_to_string(headers.path())
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = body.to_string();
    if !out.status.success() {
        body.push_str(&stderr(&out));
    }
    Answer {
        success: out.status.success(),
        code: code.trim().parse().unwrap_or(0),
        headers,
        body,
    }
}
