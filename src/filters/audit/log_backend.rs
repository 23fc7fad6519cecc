//! The audit log backend: upstream's `--audit-log-path` with lumberjack rotation.
//!
//! Events travel over a bounded channel to one dedicated writer thread, so no file I/O ever runs
//! on the async runtime. The thread writes one JSON object per line and flushes whenever the
//! channel runs empty, so a line is on disk moments after its request.
//!
//! **Mode: blocking** (upstream's default for the log backend). When the channel is full the
//! request that emits an event waits (asynchronously) for room: events are never dropped, and a
//! writer that cannot keep up slows requests down instead. Events emitted where waiting is not
//! possible (the end of a watch stream, seen while its body is polled or dropped) are handed to a
//! spawned task that waits in their place.
//!
//! **Rotation** as lumberjack: before a line would take the file beyond `max_bytes`, the file is
//! renamed to `<name>-<UTC timestamp>.<ext>` (timestamp `2006-01-02T15-04-05.000`), a new file is
//! started, and only the `max_backups` newest backups are kept (0: all). A line larger than
//! `max_bytes` by itself is still written, alone in a fresh file (lumberjack would refuse it and
//! lose the event). `max_bytes` 0 never rotates. Parent directories are created; new files get
//! mode 0600.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use tokio::sync::{mpsc, oneshot};

use super::event::Event;

/// Events (and flush requests) that may wait for the writer thread before emitters block.
pub const QUEUE_CAPACITY: usize = 1024;

/// Where the log goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogTarget {
    /// Standard output (`audit.log_path = "-"`); never rotated.
    Stdout,
    /// A file, rotated by size.
    File(PathBuf),
}

enum Command {
    Event(Box<Event>),
    Flush(oneshot::Sender<()>),
}

/// The sending side of the writer thread. Cloning shares the thread.
#[derive(Debug, Clone)]
pub struct LogBackend {
    sender: mpsc::Sender<Command>,
}

impl LogBackend {
    /// Opens (creating directories and the file) and starts the writer thread. The thread ends
    /// when every `LogBackend` clone is dropped, after writing what was queued.
    pub fn open(target: LogTarget, max_bytes: u64, max_backups: u32) -> io::Result<Self> {
        let mut sink = match target {
            LogTarget::Stdout => Sink::Stdout(io::stdout()),
            LogTarget::File(path) => Sink::File(RotatingFile::open(path, max_bytes, max_backups)?),
        };
        let (sender, mut receiver) = mpsc::channel::<Command>(QUEUE_CAPACITY);
        std::thread::Builder::new()
            .name("audit-log".into())
            .spawn(move || {
                while let Some(command) = receiver.blocking_recv() {
                    let mut acks = Vec::new();
                    let mut next = Some(command);
                    while let Some(command) = next {
                        match command {
                            Command::Event(event) => sink.write_event(&event),
                            Command::Flush(ack) => acks.push(ack),
                        }
                        next = receiver.try_recv().ok();
                    }
                    sink.flush();
                    for ack in acks {
                        let _ = ack.send(());
                    }
                }
                sink.flush();
            })?;
        Ok(Self { sender })
    }

    /// Queues an event, waiting for room when the queue is full.
    pub async fn process(&self, event: Event) {
        if self
            .sender
            .send(Command::Event(Box::new(event)))
            .await
            .is_err()
        {
            tracing::error!("the audit log writer has stopped; an audit event is lost");
        }
    }

    /// Queues an event without waiting: when the queue is full a task waits in the caller's
    /// place (or, outside a runtime, the event is lost and an error logged).
    pub fn process_detached(&self, event: Event) {
        match self.sender.try_send(Command::Event(Box::new(event))) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(command)) => {
                match tokio::runtime::Handle::try_current() {
                    Ok(runtime) => {
                        let sender = self.sender.clone();
                        runtime.spawn(async move {
                            if sender.send(command).await.is_err() {
                                tracing::error!(
                                    "the audit log writer has stopped; an audit event is lost"
                                );
                            }
                        });
                    }
                    Err(_) => tracing::error!("audit log queue full; an audit event is lost"),
                }
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                tracing::error!("the audit log writer has stopped; an audit event is lost");
            }
        }
    }

    /// Waits until every event queued before this call is written and flushed.
    pub async fn flush(&self) {
        let (ack, done) = oneshot::channel();
        if self.sender.send(Command::Flush(ack)).await.is_ok() {
            let _ = done.await;
        }
    }
}

enum Sink {
    Stdout(io::Stdout),
    File(RotatingFile),
}

impl Sink {
    fn write_event(&mut self, event: &Event) {
        let line = match event.to_json_line() {
            Ok(line) => line,
            Err(err) => {
                tracing::error!(audit_id = %event.audit_id, error = %err, "cannot encode an audit event");
                return;
            }
        };
        let result = match self {
            Self::Stdout(stdout) => stdout.lock().write_all(&line),
            Self::File(file) => file.write_line(&line),
        };
        if let Err(err) = result {
            tracing::error!(audit_id = %event.audit_id, error = %err, "cannot write the audit log");
        }
    }

    fn flush(&mut self) {
        let result = match self {
            Self::Stdout(stdout) => stdout.flush(),
            Self::File(file) => file.flush(),
        };
        if let Err(err) = result {
            tracing::error!(error = %err, "cannot flush the audit log");
        }
    }
}

/// A log file rotated by size, as lumberjack.
#[derive(Debug)]
pub struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    max_backups: u32,
    file: Option<BufWriter<File>>,
    size: u64,
    /// The time in the name of the last backup; later backups get later names.
    last_backup: Option<jiff::Timestamp>,
}

impl RotatingFile {
    /// Opens `path` for appending, creating it and its directories.
    pub fn open(path: PathBuf, max_bytes: u64, max_backups: u32) -> io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = open_file(&path, false)?;
        let size = file.metadata()?.len();
        Ok(Self {
            path,
            max_bytes,
            max_backups,
            file: Some(BufWriter::new(file)),
            size,
            last_backup: None,
        })
    }

    /// Appends one line, rotating first when it would not fit.
    pub fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        let len = line.len() as u64;
        if self.max_bytes > 0 && self.size > 0 && self.size + len > self.max_bytes {
            self.rotate()?;
        }
        if self.file.is_none() {
            let file = open_file(&self.path, false)?;
            self.size = file.metadata()?.len();
            self.file = Some(BufWriter::new(file));
        }
        if let Some(file) = &mut self.file {
            file.write_all(line)?;
        }
        self.size += len;
        Ok(())
    }

    /// Writes buffered lines to the file.
    pub fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(file) => file.flush(),
            None => Ok(()),
        }
    }

    fn rotate(&mut self) -> io::Result<()> {
        if let Some(mut file) = self.file.take() {
            file.flush()?;
        }
        let (dir, prefix, ext) = backup_parts(&self.path);
        let one_ms = jiff::SignedDuration::from_millis(1);
        let mut stamp = jiff::Timestamp::now();
        if let Some(last) = self.last_backup {
            stamp = stamp.max(last + one_ms);
        }
        let backup = loop {
            let candidate = dir.join(format!("{prefix}{}{ext}", backup_time(stamp)));
            if !candidate.exists() {
                break candidate;
            }
            stamp += one_ms;
        };
        self.last_backup = Some(stamp);
        std::fs::rename(&self.path, &backup)?;
        self.file = Some(BufWriter::new(open_file(&self.path, true)?));
        self.size = 0;
        if self.max_backups > 0 {
            if let Err(err) = self.prune() {
                tracing::error!(error = %err, "cannot remove old audit log backups");
            }
        }
        Ok(())
    }

    /// Removes all but the `max_backups` newest backups.
    fn prune(&self) -> io::Result<()> {
        let (dir, prefix, ext) = backup_parts(&self.path);
        let mut backups: Vec<(String, PathBuf)> = Vec::new();
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let stamp = name
                .strip_prefix(prefix.as_str())
                .and_then(|rest| rest.strip_suffix(ext.as_str()));
            if let Some(stamp) = stamp.filter(|s| is_backup_time(s)) {
                backups.push((stamp.to_string(), entry.path()));
            }
        }
        // Newest first: the timestamps sort as text.
        backups.sort_by(|a, b| b.0.cmp(&a.0));
        for (_, path) in backups.into_iter().skip(self.max_backups as usize) {
            std::fs::remove_file(path)?;
        }
        Ok(())
    }
}

fn open_file(path: &Path, truncate: bool) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true);
    if truncate {
        options.write(true).truncate(true);
    } else {
        options.append(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// The directory, the backup name prefix (`audit-`) and the extension (`.log`) of a log path;
/// the extension is what follows the last dot of the file name, as Go's `filepath.Ext`.
fn backup_parts(path: &Path) -> (PathBuf, String, String) {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (stem, ext) = match name.rfind('.') {
        Some(dot) => (name[..dot].to_string(), name[dot..].to_string()),
        None => (name, String::new()),
    };
    (dir, format!("{stem}-"), ext)
}

/// lumberjack's backup time format, `2006-01-02T15-04-05.000`, in UTC.
fn backup_time(ts: jiff::Timestamp) -> String {
    format!(
        "{}.{:03}",
        ts.strftime("%Y-%m-%dT%H-%M-%S"),
        ts.subsec_millisecond().max(0)
    )
}

fn is_backup_time(text: &str) -> bool {
    const SHAPE: &[u8] = b"0000-00-00T00-00-00.000";
    text.len() == SHAPE.len()
        && text.bytes().zip(SHAPE).all(|(c, s)| {
            if *s == b'0' {
                c.is_ascii_digit()
            } else {
                c == *s
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filters::audit::policy::Level;

    fn backups(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n != "audit.log")
            .collect();
        names.sort();
        names
    }

    #[test]
    fn backup_names_follow_lumberjack() {
        let ts: jiff::Timestamp = "2024-03-05T07:08:09.123456Z".parse().expect("timestamp");
        assert_eq!(backup_time(ts), "2024-03-05T07-08-09.123");
        assert!(is_backup_time("2024-03-05T07-08-09.123"));
        assert!(!is_backup_time("2024-03-05T07:08:09.123"));
        let (dir, prefix, ext) = backup_parts(Path::new("/var/log/audit.log"));
        assert_eq!(
            (dir, prefix.as_str(), ext.as_str()),
            (PathBuf::from("/var/log"), "audit-", ".log")
        );
        let (_, prefix, ext) = backup_parts(Path::new("audit"));
        assert_eq!((prefix.as_str(), ext.as_str()), ("audit-", ""));
    }

    #[test]
    fn rotation_keeps_at_most_the_configured_backups() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nested/dir/audit.log");
        let mut file = RotatingFile::open(path.clone(), 100, 2).expect("open");
        let line = [b'x'; 39];
        let mut line = line.to_vec();
        line.push(b'\n');
        // Two 40-byte lines fit in 100 bytes, the third rotates.
        for _ in 0..10 {
            file.write_line(&line).expect("write");
        }
        file.flush().expect("flush");
        let current = std::fs::read(&path).expect("current log");
        assert_eq!(current.len(), 80, "the live file holds the last two lines");
        let names = backups(path.parent().expect("dir"));
        assert_eq!(names.len(), 2, "{names:?}");
        for name in &names {
            let stamp = name
                .strip_prefix("audit-")
                .and_then(|n| n.strip_suffix(".log"))
                .expect("backup name");
            assert!(is_backup_time(stamp), "{name}");
            let backup = std::fs::read(path.parent().expect("dir").join(name)).expect("backup");
            assert_eq!(backup.len(), 80);
        }
    }

    #[test]
    fn zero_backups_keeps_all_and_zero_size_never_rotates() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("audit.log");
        let mut file = RotatingFile::open(path.clone(), 10, 0).expect("open");
        for _ in 0..4 {
            file.write_line(b"0123456789ab\n").expect("write");
        }
        file.flush().expect("flush");
        assert_eq!(
            backups(dir.path()).len(),
            3,
            "oversized lines each get a file"
        );

        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("audit.log");
        let mut file = RotatingFile::open(path.clone(), 0, 1).expect("open");
        for _ in 0..50 {
            file.write_line(b"0123456789ab\n").expect("write");
        }
        file.flush().expect("flush");
        assert!(backups(dir.path()).is_empty());
        assert_eq!(std::fs::read(&path).expect("log").len(), 50 * 13);
    }

    #[tokio::test]
    async fn the_backend_writes_one_json_line_per_event() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("audit.log");
        let backend = LogBackend::open(LogTarget::File(path.clone()), 0, 0).expect("open");
        backend
            .process(Event::new(Level::Metadata, "id-1".into()))
            .await;
        backend.process_detached(Event::new(Level::Request, "id-2".into()));
        backend.flush().await;
        let text = std::fs::read_to_string(&path).expect("log");
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["auditID"], "id-1");
        assert_eq!(lines[1]["level"], "Request");
    }
}
