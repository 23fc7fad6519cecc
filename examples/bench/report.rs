//! `bench report`: the results of each backend as one Markdown table (written between the
//! `<!-- bench:begin -->` and `<!-- bench:end -->` markers of docs/benchmarks.md) and a bar chart
//! in SVG written by hand.

use std::fmt::Write as _;

use crate::stats::{Kind, Phase, RunResults};

pub const BEGIN: &str = "<!-- bench:begin -->";
pub const END: &str = "<!-- bench:end -->";

/// Backends in report order; others follow in the order given.
const ORDER: [&str; 3] = ["rocksdb", "postgres", "etcd"];
const COLORS: [&str; 5] = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2"];

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Milliseconds with precision that fits their size.
pub fn fmt_ms(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.2}")
    } else if ms < 100.0 {
        format!("{ms:.1}")
    } else {
        thousands(ms.round() as u64)
    }
}

fn fmt_cpu(us: f64) -> String {
    if us >= 10_000.0 {
        format!("{} ms CPU", fmt_ms(us / 1000.0))
    } else {
        format!("{} µs CPU", thousands(us.round() as u64))
    }
}

/// Sorts results into report order.
pub fn ordered(mut results: Vec<RunResults>) -> Vec<RunResults> {
    let rank = |backend: &str| {
        ORDER
            .iter()
            .position(|b| *b == backend)
            .unwrap_or(ORDER.len())
    };
    results.sort_by_key(|r| rank(&r.backend));
    results
}

/// The row keys in first-seen order, each with the label of its first phase.
fn rows(results: &[RunResults]) -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = Vec::new();
    for result in results {
        for phase in &result.phases {
            if !rows.iter().any(|(key, _)| *key == phase.key) {
                rows.push((phase.key.clone(), phase.label.clone()));
            }
        }
    }
    rows
}

/// One table cell.
pub fn cell(phase: &Phase) -> String {
    let mut out = String::new();
    let latency = match (phase.p50_ms, phase.p99_ms) {
        (Some(p50), Some(p99)) => Some(format!("p50 {} / p99 {} ms", fmt_ms(p50), fmt_ms(p99))),
        _ => None,
    };
    match phase.kind {
        Kind::Rate => {
            let _ = write!(out, "{}/s", thousands(phase.rate.round() as u64));
            if let Some(latency) = latency {
                let _ = write!(out, " · {latency}");
            }
        }
        Kind::Time => {
            let _ = write!(out, "{} ms", phase.p50_ms.map_or("-".into(), fmt_ms));
            if let Some(max) = phase.max_ms {
                let _ = write!(out, " (max {})", fmt_ms(max));
            }
        }
        Kind::Delay => {
            let _ = write!(out, "{}", latency.unwrap_or_else(|| "-".into()));
            if let Some(max) = phase.max_ms {
                let _ = write!(out, " · max {} ms", fmt_ms(max));
            }
        }
    }
    if let Some(cpu) = phase.server_cpu_us {
        let _ = write!(out, " · {}", fmt_cpu(cpu));
    }
    if phase.errors > 0 {
        let what = if phase.kind == Kind::Delay {
            "missing"
        } else {
            "errors"
        };
        let _ = write!(out, " · {} {what}", thousands(phase.errors));
    }
    out
}

/// The Markdown the markers enclose: a header line, the table and its notes.
pub fn markdown(results: &[RunResults]) -> String {
    let mut out = String::new();
    let runs: Vec<String> = results
        .iter()
        .map(|r| {
            let quick = if r.quick { ", quick" } else { "" };
            format!("{} {} ({} profile{quick})", r.backend, r.date, r.profile)
        })
        .collect();
    let _ = writeln!(out, "Runs: {}.\n", runs.join("; "));
    let _ = write!(out, "| |");
    for r in results {
        let _ = write!(out, " {} |", r.backend);
    }
    let _ = write!(out, "\n|---|");
    for _ in results {
        let _ = write!(out, "---|");
    }
    out.push('\n');
    for (key, label) in rows(results) {
        let _ = write!(out, "| {} |", escape_cell(&label));
        for r in results {
            let text = r
                .phases
                .iter()
                .find(|p| p.key == key)
                .map_or("-".to_string(), cell);
            let _ = write!(out, " {} |", escape_cell(&text));
        }
        out.push('\n');
    }
    let mut rss_labels: Vec<&str> = Vec::new();
    for r in results {
        for rss in &r.rss {
            if !rss_labels.contains(&rss.label.as_str()) {
                rss_labels.push(&rss.label);
            }
        }
    }
    for label in rss_labels {
        let _ = write!(out, "| server RSS: {} |", escape_cell(label));
        for r in results {
            let text = r.rss.iter().find(|x| x.label == label).map_or_else(
                || "-".to_string(),
                |x| {
                    format!(
                        "{:.0} MiB ({} objects)",
                        x.kib as f64 / 1024.0,
                        thousands(x.objects)
                    )
                },
            );
            let _ = write!(out, " {text} |");
        }
        out.push('\n');
    }
    let mut notes = String::new();
    for r in results {
        for phase in r.phases.iter().filter(|p| !p.note.is_empty()) {
            let _ = writeln!(notes, "- {}, {}: {}", r.backend, phase.label, phase.note);
        }
    }
    if !notes.is_empty() {
        let _ = write!(out, "\nNotes:\n\n{notes}");
    }
    out
}

fn escape_cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// `doc` with the text between the markers replaced by `body`.
pub fn replace_between_markers(doc: &str, body: &str) -> anyhow::Result<String> {
    let begin = doc
        .find(BEGIN)
        .ok_or_else(|| anyhow::anyhow!("the document has no {BEGIN} marker"))?;
    let end = doc
        .find(END)
        .ok_or_else(|| anyhow::anyhow!("the document has no {END} marker"))?;
    anyhow::ensure!(begin < end, "{END} comes before {BEGIN}");
    let head = &doc[..begin + BEGIN.len()];
    let tail = &doc[end..];
    Ok(format!("{head}\n{}\n{tail}", body.trim_end()))
}

fn escape_xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One bar chart row: a label and one value per backend (`None`: not measured).
struct ChartRow {
    label: String,
    values: Vec<Option<f64>>,
    unit: &'static str,
}

/// The rows of the two panels: rates, and times or delays (p50 of lists, p99 of deliveries).
fn chart_rows(results: &[RunResults]) -> (Vec<ChartRow>, Vec<ChartRow>) {
    let (mut rates, mut times) = (Vec::new(), Vec::new());
    for (key, label) in rows(results) {
        if key.starts_with("fill-") {
            continue;
        }
        let phases: Vec<Option<&Phase>> = results
            .iter()
            .map(|r| r.phases.iter().find(|p| p.key == key))
            .collect();
        let Some(kind) = phases.iter().flatten().map(|p| p.kind).next() else {
            continue;
        };
        match kind {
            Kind::Rate => rates.push(ChartRow {
                label,
                values: phases.iter().map(|p| p.map(|p| p.rate)).collect(),
                unit: "/s",
            }),
            Kind::Time => times.push(ChartRow {
                label: format!("{label}, p50"),
                values: phases.iter().map(|p| p.and_then(|p| p.p50_ms)).collect(),
                unit: " ms",
            }),
            Kind::Delay => times.push(ChartRow {
                label: format!("{label}, p99"),
                values: phases.iter().map(|p| p.and_then(|p| p.p99_ms)).collect(),
                unit: " ms",
            }),
        }
    }
    (rates, times)
}

const WIDTH: f64 = 960.0;
const LABEL_WIDTH: f64 = 380.0;
const BAR_AREA: f64 = 440.0;
const BAR_HEIGHT: f64 = 11.0;
const BAR_GAP: f64 = 2.0;
const ROW_GAP: f64 = 10.0;

fn fmt_value(value: f64, unit: &str) -> String {
    if unit == "/s" {
        format!("{}/s", thousands(value.round() as u64))
    } else {
        format!("{} ms", fmt_ms(value))
    }
}

/// Draws one panel at `y`; returns the y below it. Each row is scaled to its own largest value.
fn panel(out: &mut String, title: &str, rows: &[ChartRow], backends: usize, mut y: f64) -> f64 {
    let _ = writeln!(
        out,
        r#"<text x="10" y="{:.0}" font-weight="bold">{}</text>"#,
        y + 14.0,
        escape_xml(title)
    );
    y += 26.0;
    for row in rows {
        let height = backends as f64 * (BAR_HEIGHT + BAR_GAP);
        let _ = writeln!(
            out,
            r#"<text x="{:.0}" y="{:.1}" text-anchor="end">{}</text>"#,
            LABEL_WIDTH - 8.0,
            y + height / 2.0 + 4.0,
            escape_xml(&row.label)
        );
        let max = row.values.iter().flatten().cloned().fold(0.0_f64, f64::max);
        for (i, value) in row.values.iter().enumerate() {
            let bar_y = y + i as f64 * (BAR_HEIGHT + BAR_GAP);
            let Some(value) = value else { continue };
            let width = if max > 0.0 {
                (value / max * BAR_AREA).max(1.0)
            } else {
                1.0
            };
            let _ = writeln!(
                out,
                r#"<rect x="{LABEL_WIDTH:.0}" y="{bar_y:.1}" width="{width:.1}" height="{BAR_HEIGHT:.0}" fill="{}"/>"#,
                COLORS[i % COLORS.len()]
            );
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{:.1}" font-size="10">{}</text>"#,
                LABEL_WIDTH + width + 4.0,
                bar_y + BAR_HEIGHT - 1.5,
                escape_xml(&fmt_value(*value, row.unit))
            );
        }
        y += height + ROW_GAP;
    }
    y
}

/// The SVG chart: a legend, then the rate panel and the time panel.
pub fn svg(results: &[RunResults]) -> String {
    let (rates, times) = chart_rows(results);
    let backends = results.len().max(1);
    let mut body = String::new();
    let mut y = 10.0;
    for (i, r) in results.iter().enumerate() {
        let x = 10.0 + i as f64 * 140.0;
        let _ = writeln!(
            body,
            r#"<rect x="{x:.0}" y="{y:.0}" width="12" height="12" fill="{}"/><text x="{:.0}" y="{:.0}">{}</text>"#,
            COLORS[i % COLORS.len()],
            x + 18.0,
            y + 11.0,
            escape_xml(&r.backend)
        );
    }
    y += 24.0;
    y = panel(
        &mut body,
        "Throughput (per second; each row scaled to its largest value)",
        &rates,
        backends,
        y,
    );
    y = panel(
        &mut body,
        "Time (ms: lists p50, watch delivery p99; each row scaled to its largest value)",
        &times,
        backends,
        y + 10.0,
    );
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH:.0}\" height=\"{:.0}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n{body}</svg>\n",
        y + 10.0
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Rss;
    use std::time::Duration;

    fn run(backend: &str, create_rate_ms: &[u64]) -> RunResults {
        let latencies = create_rate_ms
            .iter()
            .map(|ms| Duration::from_millis(*ms))
            .collect();
        let create = Phase::from_latencies(
            "create",
            "create ConfigMap",
            Kind::Rate,
            latencies,
            0,
            Duration::from_secs(1),
        );
        let mut list = Phase::from_latencies(
            "list-10000-full",
            "list 10,000 <full>",
            Kind::Time,
            vec![Duration::from_millis(200)],
            0,
            Duration::from_secs(1),
        );
        list.server_cpu_us = Some(150_000.0);
        RunResults {
            backend: backend.into(),
            date: "2026-12-07".into(),
            profile: "dev".into(),
            quick: false,
            phases: vec![create, list],
            rss: vec![Rss {
                label: "idle".into(),
                objects: 0,
                kib: 78_848,
            }],
        }
    }

    #[test]
    fn numbers_are_formatted() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(fmt_ms(1.23456), "1.23");
        assert_eq!(fmt_ms(42.25), "42.2");
        assert_eq!(fmt_ms(1234.4), "1,234");
        assert_eq!(fmt_cpu(210.4), "210 µs CPU");
        assert_eq!(fmt_cpu(150_000.0), "150 ms CPU");
    }

    #[test]
    fn the_table_has_a_column_per_backend_in_order() {
        let results = ordered(vec![run("etcd", &[4, 5]), run("rocksdb", &[1, 2, 3])]);
        let table = markdown(&results);
        assert!(
            table.contains("| | rocksdb | etcd |\n|---|---|---|\n"),
            "{table}"
        );
        assert!(
            table.contains("| create ConfigMap | 3/s · p50 2.00 / p99 3.00 ms | 2/s · p50 4.00 / p99 5.00 ms |"),
            "{table}"
        );
        assert!(
            table.contains("| list 10,000 <full> | 200 ms (max 200) · 150 ms CPU |"),
            "{table}"
        );
        assert!(table.contains("| server RSS: idle | 77 MiB (0 objects) | 77 MiB (0 objects) |"));
    }

    #[test]
    fn a_missing_phase_is_a_dash_and_errors_are_shown() {
        let mut etcd = run("etcd", &[4]);
        etcd.phases.remove(1);
        etcd.phases[0].errors = 2;
        let table = markdown(&[run("rocksdb", &[1]), etcd]);
        assert!(
            table.contains("| 200 ms (max 200) · 150 ms CPU | - |"),
            "{table}"
        );
        assert!(table.contains("· 2 errors |"), "{table}");
    }

    #[test]
    fn markers_enclose_the_replacement() {
        let doc = format!("# B\n\nintro\n{BEGIN}\nold table\n{END}\nrest\n");
        let new = replace_between_markers(&doc, "new table\n").expect("markers");
        assert_eq!(
            new,
            format!("# B\n\nintro\n{BEGIN}\nnew table\n{END}\nrest\n")
        );
        assert!(replace_between_markers("no markers", "x").is_err());
        assert!(replace_between_markers(&format!("{END} {BEGIN}"), "x").is_err());
    }

    #[test]
    fn the_svg_draws_a_bar_per_backend_and_escapes_labels() {
        let results = vec![run("rocksdb", &[1, 2]), run("postgres", &[3])];
        let svg = svg(&results);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.trim_end().ends_with("</svg>"));
        // The background, two legend squares, then two bars in each of the two rows.
        assert_eq!(svg.matches("<rect ").count(), 1 + 2 + 4);
        // The fastest bar of a row spans the whole bar area.
        assert!(svg.contains(&format!("width=\"{BAR_AREA:.1}\"")));
        assert!(svg.contains("list 10,000 &lt;full&gt;, p50"));
        assert!(!svg.contains("<full>"));
    }
}
