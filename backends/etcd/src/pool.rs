//! The store's gRPC channels: [`connections`](crate::EtcdOptions::connections) etcd-client clients
//! that KV calls are spread over round-robin, and one more that carries every watch.
//!
//! One client is one tonic channel balanced over the endpoints: one HTTP/2 connection per member,
//! and every request passes through that channel's single dispatch task and that connection's
//! single I/O task (and, on the member, one reader goroutine per connection). Several clients let
//! concurrent calls use several of each, as etcd's own `benchmark` tool does with `--conns`.
//! Watches get their own client, so a burst of events never queues behind writes or the reverse.

use std::sync::atomic::{AtomicUsize, Ordering};

use etcd_client::{Client, ConnectOptions, KvClient, LeaseClient, WatchClient};

use crate::call::one_line;
use crate::{EtcdOptions, OpenError};

/// gRPC messages may be as large as etcd sends them (a list of many objects).
const MAX_MESSAGE: usize = i32::MAX as usize;

/// The KV clients, used round-robin.
pub(crate) struct KvPool {
    clients: Vec<KvClient>,
    next: AtomicUsize,
}

impl KvPool {
    /// The client for the next call (a cheap clone of one of the pool's).
    pub(crate) fn pick(&self) -> KvClient {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.clients.len();
        self.clients[i].clone()
    }

    /// Every client of the pool, once.
    pub(crate) fn all(&self) -> impl Iterator<Item = KvClient> + '_ {
        self.clients.iter().cloned()
    }
}

/// Builds the KV pool, the watch client and the lease client (on the first KV channel). Nothing is
/// dialled yet: each client connects on its first call.
pub(crate) async fn connect(
    opts: &EtcdOptions,
) -> Result<(KvPool, WatchClient, LeaseClient), OpenError> {
    let options = connect_options(opts)?;
    let mut clients = Vec::with_capacity(opts.connections.max(1));
    let mut lease = None;
    for _ in 0..opts.connections.max(1) {
        let client = Client::connect(&opts.endpoints, Some(options.clone()))
            .await
            .map_err(|e| OpenError::Invalid(one_line(&e.to_string())))?;
        if lease.is_none() {
            lease = Some(client.lease_client());
        }
        clients.push(
            client
                .kv_client()
                .max_decoding_message_size(MAX_MESSAGE)
                .max_encoding_message_size(MAX_MESSAGE),
        );
    }
    let watch = Client::connect(&opts.endpoints, Some(options))
        .await
        .map_err(|e| OpenError::Invalid(one_line(&e.to_string())))?
        .watch_client()
        .max_decoding_message_size(MAX_MESSAGE);
    let pool = KvPool {
        clients,
        next: AtomicUsize::new(0),
    };
    let lease = lease.ok_or_else(|| OpenError::Invalid("no etcd client".into()))?;
    Ok((pool, watch, lease))
}

fn connect_options(opts: &EtcdOptions) -> Result<ConnectOptions, OpenError> {
    let mut connect = ConnectOptions::new()
        .with_connect_timeout(opts.dial_timeout)
        .with_keep_alive(
            std::time::Duration::from_secs(10),
            opts.request_timeout.max(std::time::Duration::from_secs(1)),
        )
        // A member cut off from its cluster refuses requests and ends watches at once, so they
        // move to a member that has a leader (as kube-apiserver's watches do).
        .with_require_leader(true);
    if let Some(tls) = tls_options(opts)? {
        connect = connect.with_tls(tls);
    }
    Ok(connect)
}

fn tls_options(opts: &EtcdOptions) -> Result<Option<etcd_client::TlsOptions>, OpenError> {
    let read = |path: &std::path::Path| {
        std::fs::read(path).map_err(|e| OpenError::Tls {
            path: path.display().to_string(),
            why: e.to_string(),
        })
    };
    if opts.ca_file.is_none() && opts.cert_file.is_none() && opts.key_file.is_none() {
        return Ok(None);
    }
    let mut tls = etcd_client::TlsOptions::new();
    if let Some(ca) = &opts.ca_file {
        tls = tls.ca_certificate(etcd_client::Certificate::from_pem(read(ca)?));
    }
    match (&opts.cert_file, &opts.key_file) {
        (Some(cert), Some(key)) => {
            tls = tls.identity(etcd_client::Identity::from_pem(read(cert)?, read(key)?));
        }
        (None, None) => {}
        _ => {
            return Err(OpenError::Invalid(
                "cert_file and key_file must be given together".into(),
            ))
        }
    }
    Ok(Some(tls))
}
