//! Lists of a namespace holding N ConfigMaps: the whole list, the list at resourceVersion=0, and
//! all pages of `limit=500` following continue tokens. The namespace is filled to each size in
//! turn (10k, then 100k) with the create load.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use http::{Method, StatusCode};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

use super::writes::Create;
use super::{closed_loop, ensure_namespace, payload, Ctx, Until};
use crate::client::{count, find, string_after, Conn};
use crate::report::thousands;
use crate::stats::{Kind, Phase};

const NAMESPACE: &str = "bench-list";
const PAGE: usize = 500;

/// The list modes: key suffix, label, query.
const MODES: [(&str, &str, &str); 3] = [
    ("full", "full", ""),
    ("rv0", "resourceVersion=0", "resourceVersion=0"),
    ("paged", "paged, limit=500", "limit=500"),
];

/// Fills the namespace to each of `sizes` and measures the three list modes at each.
pub async fn run(ctx: &Ctx, sizes: &[u64]) -> anyhow::Result<Vec<Phase>> {
    let mut conn = ctx.target.connect().await?;
    ensure_namespace(&mut conn, NAMESPACE).await?;
    let mut phases = Vec::new();
    let mut filled = 0u64;
    for &size in sizes {
        if size > filled {
            let creates: Vec<Create> = (0..ctx.connections)
                .map(|_| Create {
                    namespace: NAMESPACE.to_string(),
                    prefix: format!("l{size}-"),
                    payload: payload(),
                })
                .collect();
            let fill = closed_loop(
                ctx,
                &ctx.target,
                &format!("fill-{size}"),
                &format!("create while filling to {}", thousands(size)),
                creates,
                Until::Count(size - filled),
            )
            .await?;
            ctx.objects.fetch_add(fill.count, Ordering::Relaxed);
            filled += fill.count;
            phases.push(fill);
        }
        ctx.record_rss(&format!(
            "{} ConfigMaps in the list namespace",
            thousands(filled)
        ));
        let runs = if size >= 50_000 { 3 } else { 5 };
        for (suffix, what, query) in MODES {
            phases.push(measure(ctx, &mut conn, size, filled, suffix, what, query, runs).await?);
        }
    }
    Ok(phases)
}

/// `runs` lists in one mode of the namespace filled to `size` (`expected` objects created); the
/// first list is checked to hold every object.
#[allow(clippy::too_many_arguments)]
async fn measure(
    ctx: &Ctx,
    conn: &mut Conn,
    size: u64,
    expected: u64,
    suffix: &str,
    what: &str,
    query: &str,
    runs: usize,
) -> anyhow::Result<Phase> {
    let mut times = Vec::with_capacity(runs);
    let mut errors = 0;
    let mut note = String::new();
    let mark = ctx.cpu_mark();
    let start = Instant::now();
    for run in 0..runs {
        match list_all(conn, query).await {
            Ok((items, bytes, spent)) => {
                times.push(spent);
                if run == 0 {
                    note = format!("{:.1} MB", bytes as f64 / 1e6);
                    if items as u64 != expected {
                        note.push_str(&format!("; {items} items of {expected}"));
                    }
                }
            }
            Err(err) => {
                errors += 1;
                eprintln!("list ({what}): {err:#}");
                *conn = ctx.target.connect().await?;
            }
        }
    }
    let key = format!("list-{size}-{suffix}");
    let label = format!("list {} ConfigMaps ({what})", thousands(size));
    let mut phase = Phase::from_latencies(&key, &label, Kind::Time, times, errors, start.elapsed());
    ctx.charge_cpu(&mark, &mut phase);
    phase.note = note;
    println!("{}", phase.summary());
    Ok(phase)
}

/// Reads the whole list, following continue tokens; returns the items and bytes read and the time
/// spent in requests. Items are counted by their `"payload":"` entries, outside that time.
async fn list_all(conn: &mut Conn, query: &str) -> anyhow::Result<(usize, usize, Duration)> {
    let base = format!("/api/v1/namespaces/{NAMESPACE}/configmaps");
    let mut path = if query.is_empty() {
        base.clone()
    } else {
        format!("{base}?{query}")
    };
    let (mut items, mut bytes, mut spent) = (0, 0, Duration::ZERO);
    for _ in 0..100_000 {
        let began = Instant::now();
        let (status, body) = conn.send(Method::GET, &path, None).await?;
        spent += began.elapsed();
        anyhow::ensure!(
            status == StatusCode::OK,
            "{path}: {status} {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        );
        items += count(&body, b"\"payload\":\"");
        bytes += body.len();
        // ListMeta comes before the items: look for the token there only.
        let head = &body[..find(&body, b"\"items\":").unwrap_or(body.len())];
        match string_after(head, "continue") {
            Some(token) if !token.is_empty() && query.contains("limit=") => {
                let token = utf8_percent_encode(token, NON_ALPHANUMERIC);
                path = format!("{base}?limit={PAGE}&continue={token}");
            }
            _ => return Ok((items, bytes, spent)),
        }
    }
    anyhow::bail!("more than 100,000 pages")
}
