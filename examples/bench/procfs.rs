//! A process's CPU time and resident memory, from `/proc`.

use std::time::Duration;

/// `utime + stime` in clock ticks, from the text of `/proc/<pid>/stat`. The command name (field
/// 2) is in parentheses and may hold spaces, so fields are counted after its last `)`: there the
/// state is field 3, `utime` field 14 and `stime` field 15.
pub fn parse_stat_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// `VmRSS` in KiB, from the text of `/proc/<pid>/status`.
pub fn parse_vmrss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut words = line["VmRSS:".len()..].split_whitespace();
    let value: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") | None => Some(value),
        Some(_) => None,
    }
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 when that fails, as on every Linux build).
pub fn clock_ticks() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|t: &u64| *t > 0)
        .unwrap_or(100)
}

/// Reads one process's CPU time (all its threads, exited ones included).
#[derive(Debug, Clone, Copy)]
pub struct CpuClock {
    pub pid: u32,
    pub ticks_per_second: u64,
}

impl CpuClock {
    pub fn of(pid: u32, ticks_per_second: u64) -> CpuClock {
        CpuClock {
            pid,
            ticks_per_second,
        }
    }

    /// User plus system time so far, or `None` when the process is gone.
    pub fn read(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).ok()?;
        let ticks = parse_stat_ticks(&stat)?;
        Some(Duration::from_secs_f64(
            ticks as f64 / self.ticks_per_second as f64,
        ))
    }
}

/// The resident memory of `pid` in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_vmrss_kib(&status)
}

/// Microseconds of CPU per operation between two readings.
pub fn micros_per_op(before: Option<Duration>, after: Option<Duration>, ops: u64) -> Option<f64> {
    let (before, after) = (before?, after?);
    if ops == 0 {
        return None;
    }
    Some(after.saturating_sub(before).as_secs_f64() * 1e6 / ops as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_ticks_skip_a_command_with_spaces_and_parentheses() {
        let stat = "4242 (tokio (rt) worker) S 1 4242 4242 0 -1 4194560 5000 0 0 0 \
                    1234 567 0 0 20 0 6 0 100 200000000 3000 18446744073709551615";
        assert_eq!(parse_stat_ticks(stat), Some(1234 + 567));
        assert_eq!(parse_stat_ticks("1 (x) S 1 2"), None);
        assert_eq!(parse_stat_ticks("no parenthesis"), None);
    }

    #[test]
    fn vmrss_is_read_in_kib() {
        let status = "Name:\tapiary\nVmPeak:\t  900000 kB\nVmRSS:\t   78912 kB\nThreads:\t6\n";
        assert_eq!(parse_vmrss_kib(status), Some(78912));
        assert_eq!(parse_vmrss_kib("Name:\tx\n"), None);
        assert_eq!(parse_vmrss_kib("VmRSS:\t 12 MB\n"), None);
    }

    #[test]
    fn micros_per_op_divides_the_difference() {
        let before = Some(Duration::from_millis(100));
        let after = Some(Duration::from_millis(300));
        assert_eq!(micros_per_op(before, after, 1000), Some(200.0));
        assert_eq!(micros_per_op(before, after, 0), None);
        assert_eq!(micros_per_op(None, after, 10), None);
    }

    #[test]
    fn our_own_process_is_readable() {
        let clock = CpuClock::of(std::process::id(), clock_ticks());
        assert!(clock.read().is_some());
        assert!(rss_kib(std::process::id()).is_some_and(|kib| kib > 0));
    }
}
