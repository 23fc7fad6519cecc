//! Creates, updates (PUT with the resourceVersion of the previous answer) and GETs of one object,
//! each from `ctx.connections` connections for `ctx.duration`.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use http::{Method, StatusCode};

use super::{closed_loop, configmap, ensure_namespace, payload, Ctx, Until, Work};
use crate::client::string_after;
use crate::stats::Phase;

/// The namespace of these scenarios.
const NAMESPACE: &str = "bench-writes";
/// Objects each update or GET connection cycles through.
const OBJECTS_PER_CONNECTION: usize = 16;

/// POSTs new ConfigMaps named `<prefix><ticket>`.
pub struct Create {
    pub namespace: String,
    pub prefix: String,
    pub payload: String,
}

impl Work for Create {
    fn next(&mut self, n: u64) -> (Method, String, Option<Bytes>) {
        let name = format!("{}{n}", self.prefix);
        let path = format!("/api/v1/namespaces/{}/configmaps", self.namespace);
        let body = configmap(&self.namespace, &name, None, &self.payload);
        (Method::POST, path, Some(body))
    }

    fn answer(&mut self, status: StatusCode, _body: &[u8]) -> bool {
        status == StatusCode::CREATED
    }
}

/// PUTs its objects in turn, each with the resourceVersion its last answer gave.
struct Update {
    /// (name, resourceVersion)
    objects: Vec<(String, String)>,
    cursor: usize,
    payload: String,
}

impl Work for Update {
    fn next(&mut self, n: u64) -> (Method, String, Option<Bytes>) {
        self.cursor = (self.cursor + 1) % self.objects.len();
        let (name, rv) = &self.objects[self.cursor];
        let path = format!("/api/v1/namespaces/{NAMESPACE}/configmaps/{name}");
        // A different payload each time: an update that changes nothing would be a no-op.
        let stamp = format!("{n:020}");
        let payload = format!("{stamp}{}", &self.payload[stamp.len()..]);
        let body = configmap(NAMESPACE, name, Some(rv), &payload);
        (Method::PUT, path, Some(body))
    }

    fn answer(&mut self, status: StatusCode, body: &[u8]) -> bool {
        if status != StatusCode::OK {
            return false;
        }
        match string_after(body, "resourceVersion") {
            Some(rv) => {
                self.objects[self.cursor].1 = rv.to_string();
                true
            }
            None => false,
        }
    }
}

/// GETs its objects in turn.
struct Get {
    paths: Vec<String>,
    cursor: usize,
}

impl Work for Get {
    fn next(&mut self, _n: u64) -> (Method, String, Option<Bytes>) {
        self.cursor = (self.cursor + 1) % self.paths.len();
        (Method::GET, self.paths[self.cursor].clone(), None)
    }
}

/// Creates, then updates, then GETs.
pub async fn run(ctx: &Ctx) -> anyhow::Result<Vec<Phase>> {
    let mut setup = ctx.target.connect().await?;
    ensure_namespace(&mut setup, NAMESPACE).await?;
    let mut phases = Vec::new();

    let creates: Vec<Create> = (0..ctx.connections)
        .map(|_| Create {
            namespace: NAMESPACE.to_string(),
            prefix: "w-".to_string(),
            payload: payload(),
        })
        .collect();
    let phase = closed_loop(
        ctx,
        &ctx.target,
        "create",
        "create ConfigMap (1 KiB)",
        creates,
        Until::Elapsed(ctx.duration),
    )
    .await?;
    ctx.objects.fetch_add(phase.count, Ordering::Relaxed);
    phases.push(phase);

    // Objects of their own for the updates and GETs, created untimed.
    let mut per_connection = Vec::with_capacity(ctx.connections);
    for c in 0..ctx.connections {
        let mut objects = Vec::with_capacity(OBJECTS_PER_CONNECTION);
        for i in 0..OBJECTS_PER_CONNECTION {
            let name = format!("u-{c}-{i}");
            let path = format!("/api/v1/namespaces/{NAMESPACE}/configmaps");
            let body = configmap(NAMESPACE, &name, None, &payload());
            let (status, answer) = setup.send(Method::POST, &path, Some(body)).await?;
            anyhow::ensure!(
                status == StatusCode::CREATED,
                "creating {name}: {status} {}",
                String::from_utf8_lossy(&answer)
            );
            let rv = string_after(&answer, "resourceVersion")
                .ok_or_else(|| anyhow::anyhow!("the create of {name} answered no resourceVersion"))?
                .to_string();
            objects.push((name, rv));
        }
        per_connection.push(objects);
    }
    ctx.objects.fetch_add(
        (ctx.connections * OBJECTS_PER_CONNECTION) as u64,
        Ordering::Relaxed,
    );

    let gets: Vec<Get> = per_connection
        .iter()
        .map(|objects| Get {
            paths: objects
                .iter()
                .map(|(name, _)| format!("/api/v1/namespaces/{NAMESPACE}/configmaps/{name}"))
                .collect(),
            cursor: 0,
        })
        .collect();
    let updates: Vec<Update> = per_connection
        .into_iter()
        .map(|objects| Update {
            objects,
            cursor: 0,
            payload: payload(),
        })
        .collect();
    phases.push(
        closed_loop(
            ctx,
            &ctx.target,
            "update",
            "update ConfigMap (PUT with RV)",
            updates,
            Until::Elapsed(ctx.duration),
        )
        .await?,
    );
    phases.push(
        closed_loop(
            ctx,
            &ctx.target,
            "get",
            "GET one ConfigMap",
            gets,
            Until::Elapsed(ctx.duration),
        )
        .await?,
    );
    Ok(phases)
}
