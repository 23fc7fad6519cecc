//! Ages and durations as upstream prints them: `k8s.io/apimachinery/pkg/util/duration.HumanDuration`
//! and the printers' `translateTimestampSince`.

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

const NANOS_PER_SECOND: i128 = 1_000_000_000;
const NANOS_PER_MINUTE: i128 = 60 * NANOS_PER_SECOND;
const NANOS_PER_HOUR: i128 = 60 * NANOS_PER_MINUTE;

/// A succinct, human-readable form of `duration` with about two significant figures, exactly as
/// upstream's `duration.HumanDuration`:
///
/// - below -1s (a clock skew too large to ignore): `<invalid>`; between -2s and 0 (exclusive): `0s`;
/// - under 2 minutes: seconds (`90s`); under 10 minutes: minutes and seconds (`2m3s`, `5m`);
/// - under 3 hours: minutes (`150m`); under 8 hours: hours and minutes (`3h4m`, `5h`);
/// - under 2 days: hours (`47h`); under 8 days: days and hours (`3d5h`, `2d`);
/// - under 2 years: days (`400d`); under 8 years: years and days (`2y3d`, `3y`); then years (`10y`).
///
/// Like Go's `time.Duration`, the duration saturates at about ±292 years.
pub fn human_duration(duration: SignedDuration) -> String {
    // Go works on an int64 count of nanoseconds and truncates every division toward zero.
    let nanos = duration
        .as_nanos()
        .clamp(i64::MIN as i128, i64::MAX as i128);
    let seconds = nanos / NANOS_PER_SECOND;
    if seconds < -1 {
        return "<invalid>".to_string();
    }
    if seconds < 0 {
        return "0s".to_string();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = nanos / NANOS_PER_MINUTE;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = nanos / NANOS_PER_HOUR;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let days_into_year = (hours / 24) % 365;
        return if days_into_year == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{days_into_year}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// Parses a `metav1.Time`/`metav1.MicroTime` JSON value. `None` for a missing, null, malformed or
/// zero (`0001-01-01T00:00:00Z`, Go's zero time) timestamp: upstream treats all of them as unset.
pub(super) fn parse_time(value: Option<&Value>) -> Option<Timestamp> {
    let timestamp: Timestamp = value?.as_str()?.parse().ok()?;
    (timestamp != go_zero_time()).then_some(timestamp)
}

/// Go's zero `time.Time`, `0001-01-01T00:00:00Z`.
fn go_zero_time() -> Timestamp {
    // -62135596800 is 0001-01-01T00:00:00Z in Unix seconds; always within jiff's range.
    Timestamp::from_second(-62_135_596_800).unwrap_or(Timestamp::MIN)
}

/// `translateTimestampSince`: the human duration from `value` to `now`, `<unknown>` when unset.
pub(super) fn since(value: Option<&Value>, now: Timestamp) -> String {
    match parse_time(value) {
        Some(timestamp) => human_duration(now.duration_since(timestamp)),
        None => "<unknown>".to_string(),
    }
}

/// The default table's `Created At` cell: the creation time in UTC as RFC 3339 with whole seconds
/// (Go's `time.RFC3339` layout), `0001-01-01T00:00:00Z` when unset.
pub(super) fn rfc3339_utc(value: Option<&Value>) -> String {
    parse_time(value)
        .unwrap_or_else(go_zero_time)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secs(s: i64) -> SignedDuration {
        SignedDuration::from_secs(s)
    }

    #[test]
    fn human_duration_matches_upstream_table() {
        const MIN: i64 = 60;
        const HOUR: i64 = 60 * MIN;
        const DAY: i64 = 24 * HOUR;
        const YEAR: i64 = 365 * DAY;
        let cases: &[(SignedDuration, &str)] = &[
            (secs(-3), "<invalid>"),
            (secs(-2), "<invalid>"),
            (SignedDuration::from_millis(-1999), "0s"),
            (secs(-1), "0s"),
            (SignedDuration::from_millis(-500), "0s"),
            (secs(0), "0s"),
            (SignedDuration::from_millis(999), "0s"),
            (secs(1), "1s"),
            (secs(5), "5s"),
            (secs(59), "59s"),
            (secs(60), "60s"),
            (secs(119), "119s"),
            (secs(2 * MIN), "2m"),
            (secs(2 * MIN + 3), "2m3s"),
            (secs(9 * MIN + 59), "9m59s"),
            (secs(10 * MIN), "10m"),
            (secs(10 * MIN + 59), "10m"),
            (secs(179 * MIN + 59), "179m"),
            (secs(3 * HOUR), "3h"),
            (secs(3 * HOUR + 4 * MIN), "3h4m"),
            (secs(3 * HOUR + 4 * MIN + 59), "3h4m"),
            (secs(7 * HOUR + 59 * MIN), "7h59m"),
            (secs(8 * HOUR), "8h"),
            (secs(8 * HOUR + 30 * MIN), "8h"),
            (secs(47 * HOUR + 59 * MIN), "47h"),
            (secs(2 * DAY), "2d"),
            (secs(2 * DAY + HOUR), "2d1h"),
            (secs(5 * DAY), "5d"),
            (secs(7 * DAY + 23 * HOUR), "7d23h"),
            (secs(8 * DAY), "8d"),
            (secs(8 * DAY + 23 * HOUR), "8d"),
            (secs(400 * DAY), "400d"),
            (secs(2 * YEAR - 1), "729d"),
            (secs(2 * YEAR), "2y"),
            (secs(2 * YEAR + 3 * DAY), "2y3d"),
            (secs(7 * YEAR + 364 * DAY), "7y364d"),
            (secs(8 * YEAR), "8y"),
            (secs(8 * YEAR + 100 * DAY), "8y"),
            (secs(100 * YEAR), "100y"),
            // Go's time.Duration saturates at ~292 years.
            (secs(1000 * YEAR), "292y"),
        ];
        for (duration, want) in cases {
            assert_eq!(human_duration(*duration), *want, "{duration:?}");
        }
    }

    #[test]
    fn since_reads_rfc3339_and_treats_unset_as_unknown() {
        let now: Timestamp = "2024-05-01T12:00:00Z".parse().unwrap();
        assert_eq!(since(Some(&json!("2024-05-01T11:55:00Z")), now), "5m");
        assert_eq!(since(Some(&json!("2024-05-01T13:55:00+02:00")), now), "5m");
        assert_eq!(
            since(Some(&json!("2024-05-01T11:59:59.500000Z")), now),
            "0s"
        );
        assert_eq!(
            since(Some(&json!("2024-05-01T12:00:30Z")), now),
            "<invalid>"
        );
        assert_eq!(since(None, now), "<unknown>");
        assert_eq!(since(Some(&json!(null)), now), "<unknown>");
        assert_eq!(since(Some(&json!("garbage")), now), "<unknown>");
        assert_eq!(
            since(Some(&json!("0001-01-01T00:00:00Z")), now),
            "<unknown>"
        );
    }

    #[test]
    fn created_at_is_whole_second_utc() {
        assert_eq!(
            rfc3339_utc(Some(&json!("2024-05-01T13:00:00.123456+01:00"))),
            "2024-05-01T12:00:00Z"
        );
        assert_eq!(rfc3339_utc(None), "0001-01-01T00:00:00Z");
    }
}
