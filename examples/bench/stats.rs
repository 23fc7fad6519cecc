//! The results of a run: phases with a rate and latency percentiles, stored as JSON.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How a phase is shown in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Requests per second, with request latency.
    Rate,
    /// Time per operation (a whole list, all pages).
    Time,
    /// Delivery delay of watch events.
    Delay,
}

/// One measured phase.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Phase {
    /// A stable key: rows of the report are matched across backends by it.
    pub key: String,
    /// What the report calls the row.
    pub label: String,
    pub kind: Kind,
    /// Requests, operations or deliveries that succeeded.
    pub count: u64,
    /// Failed requests, or deliveries that never arrived.
    pub errors: u64,
    pub seconds: f64,
    /// `count / seconds`.
    pub rate: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
    /// Server CPU (user + system) per counted operation, in microseconds.
    #[serde(default)]
    pub server_cpu_us: Option<f64>,
    /// The benchmark process's own CPU per counted operation, in microseconds.
    #[serde(default)]
    pub client_cpu_us: Option<f64>,
    #[serde(default)]
    pub note: String,
}

/// The server's resident memory at one point of the run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rss {
    /// When: `idle`, `10,000 ConfigMaps listed`...
    pub label: String,
    /// Objects the run had created by then.
    #[serde(default)]
    pub objects: u64,
    pub kib: u64,
}

/// Everything one `bench run` measured against one backend.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunResults {
    pub backend: String,
    /// When the run started (RFC 3339).
    pub date: String,
    /// The cargo profile the server was built with.
    pub profile: String,
    pub quick: bool,
    pub phases: Vec<Phase>,
    pub rss: Vec<Rss>,
}

/// The nearest-rank percentile `p` (0 < p <= 1) of sorted values; zero for none.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl Phase {
    /// A phase from its latencies (or delays), sorted here; `elapsed` is its wall time.
    pub fn from_latencies(
        key: &str,
        label: &str,
        kind: Kind,
        mut latencies: Vec<Duration>,
        errors: u64,
        elapsed: Duration,
    ) -> Phase {
        latencies.sort_unstable();
        let seconds = elapsed.as_secs_f64();
        let count = latencies.len() as u64;
        let some = |d: Duration| (count > 0).then(|| ms(d));
        Phase {
            key: key.to_string(),
            label: label.to_string(),
            kind,
            count,
            errors,
            seconds,
            rate: if seconds > 0.0 {
                count as f64 / seconds
            } else {
                0.0
            },
            p50_ms: some(percentile(&latencies, 0.50)),
            p99_ms: some(percentile(&latencies, 0.99)),
            max_ms: some(latencies.last().copied().unwrap_or_default()),
            server_cpu_us: None,
            client_cpu_us: None,
            note: String::new(),
        }
    }

    /// A phase known only by its rate (pgbench).
    pub fn from_rate(key: &str, label: &str, rate: f64, seconds: f64, note: String) -> Phase {
        Phase {
            key: key.to_string(),
            label: label.to_string(),
            kind: Kind::Rate,
            count: (rate * seconds) as u64,
            errors: 0,
            seconds,
            rate,
            p50_ms: None,
            p99_ms: None,
            max_ms: None,
            server_cpu_us: None,
            client_cpu_us: None,
            note,
        }
    }

    /// One line for the console.
    pub fn summary(&self) -> String {
        let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2}"));
        let cpu = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.0}"));
        format!(
            "{:<40} {:>8} ok {:>6} err {:>10.1}/s  p50 {} p99 {} max {} ms  cpu server {} client {} us  {}",
            self.label,
            self.count,
            self.errors,
            self.rate,
            opt(self.p50_ms),
            opt(self.p99_ms),
            opt(self.max_ms),
            cpu(self.server_cpu_us),
            cpu(self.client_cpu_us),
            self.note
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|v| Duration::from_millis(*v)).collect()
    }

    #[test]
    fn percentile_is_nearest_rank() {
        let sorted = millis(&(1..=100).collect::<Vec<_>>());
        assert_eq!(percentile(&sorted, 0.50), Duration::from_millis(50));
        assert_eq!(percentile(&sorted, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&sorted, 1.0), Duration::from_millis(100));
        let four = millis(&[10, 20, 30, 40]);
        assert_eq!(percentile(&four, 0.50), Duration::from_millis(20));
        assert_eq!(percentile(&four, 0.99), Duration::from_millis(40));
        assert_eq!(percentile(&millis(&[7]), 0.01), Duration::from_millis(7));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
    }

    #[test]
    fn phase_sorts_and_counts() {
        let phase = Phase::from_latencies(
            "get",
            "GET",
            Kind::Rate,
            millis(&[30, 10, 20, 40]),
            1,
            Duration::from_secs(2),
        );
        assert_eq!(phase.count, 4);
        assert_eq!(phase.errors, 1);
        assert_eq!(phase.rate, 2.0);
        assert_eq!(phase.p50_ms, Some(20.0));
        assert_eq!(phase.max_ms, Some(40.0));
        let empty = Phase::from_latencies("x", "x", Kind::Delay, vec![], 3, Duration::ZERO);
        assert_eq!(empty.rate, 0.0);
        assert_eq!(empty.p99_ms, None);
    }

    #[test]
    fn results_round_trip_through_json() {
        let results = RunResults {
            backend: "rocksdb".into(),
            date: "2026-12-07T00:00:00Z".into(),
            profile: "dev".into(),
            quick: true,
            phases: vec![Phase::from_rate("raw", "raw", 10.0, 2.0, "n".into())],
            rss: vec![Rss {
                label: "idle".into(),
                objects: 0,
                kib: 1024,
            }],
        };
        let text = serde_json::to_string(&results).expect("encode");
        let back: RunResults = serde_json::from_str(&text).expect("decode");
        assert_eq!(back.phases[0].count, 20);
        assert_eq!(back.phases[0].kind, Kind::Rate);
        assert_eq!(back.rss[0].kib, 1024);
    }
}
