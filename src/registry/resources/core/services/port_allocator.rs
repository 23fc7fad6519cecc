//! The NodePort allocator, as upstream's `pkg/registry/core/service/portallocator` over
//! `allocator/storage`: one `RangeAllocation` object (bitmap of the range, bit `i` = port
//! `first + i`, stored as the big-endian bytes of that integer, base64 in `data`) under
//! `/registry/ranges/servicenodeports`, changed only by compare-and-swap on its mod revision.
//! Replicas sharing a database therefore never hand out a port twice; inside one replica a mutex
//! serialises the read-modify-write so concurrent requests do not spin on conflicts.

use std::sync::Arc;

use apiary_storage::{Error as StorageError, Storage};
use base64::Engine;
use bytes::Bytes;
use serde_json::{json, Value};

use super::ip_allocator::random_in;
use crate::api::status::ApiError;
use crate::registry::keys::REGISTRY_ROOT;

/// How many times one operation re-reads the bitmap after losing a compare-and-swap.
const MAX_CAS_ATTEMPTS: usize = 64;

/// The storage key of the NodePort bitmap (upstream: `/ranges/servicenodeports`).
pub fn node_ports_key() -> String {
    format!("{REGISTRY_ROOT}/ranges/servicenodeports")
}

/// Why a port allocation failed; `Display` is upstream's error text.
#[derive(Debug)]
pub enum PortError {
    /// Upstream's `ErrFull`.
    Full,
    /// Upstream's `ErrAllocated`.
    Allocated,
    /// Upstream's `ErrNotInRange`, with the range as `first-last`.
    NotInRange(String),
    /// Storage failed.
    Api(ApiError),
}

impl std::fmt::Display for PortError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Full => f.write_str("range is full"),
            Self::Allocated => f.write_str("provided port is already allocated"),
            Self::NotInRange(range) => write!(
                f,
                "provided port is not in the valid range. The range of valid ports is {range}"
            ),
            Self::Api(err) => f.write_str(&err.status.message),
        }
    }
}

/// The ports of the range that are taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortBitmap {
    first: u16,
    size: u32,
    words: Vec<u64>,
}

impl PortBitmap {
    /// An empty bitmap of `size` ports from `first`.
    pub fn new(first: u16, size: u32) -> Self {
        Self {
            first,
            size,
            words: vec![0; (size as usize).div_ceil(64)],
        }
    }

    /// The range as upstream prints it: `first-last`.
    pub fn range(&self) -> String {
        format!("{}-{}", self.first, u32::from(self.first) + self.size - 1)
    }

    fn offset(&self, port: u16) -> Option<usize> {
        let offset = u32::from(port).checked_sub(u32::from(self.first))?;
        (offset < self.size).then_some(offset as usize)
    }

    pub fn contains(&self, port: u16) -> bool {
        self.offset(port).is_some()
    }

    pub fn has(&self, port: u16) -> bool {
        self.offset(port)
            .is_some_and(|i| self.words[i / 64] & (1 << (i % 64)) != 0)
    }

    /// Marks `port`; false when it is outside the range.
    pub fn set(&mut self, port: u16) -> bool {
        let Some(i) = self.offset(port) else {
            return false;
        };
        self.words[i / 64] |= 1 << (i % 64);
        true
    }

    pub fn clear(&mut self, port: u16) {
        if let Some(i) = self.offset(port) {
            self.words[i / 64] &= !(1 << (i % 64));
        }
    }

    /// The taken ports, ascending.
    pub fn ports(&self) -> Vec<u16> {
        (0..self.size)
            .filter(|i| self.words[*i as usize / 64] & (1 << (i % 64)) != 0)
            .map(|i| (u32::from(self.first) + i) as u16)
            .collect()
    }

    /// A free port: a random one of the dynamic band (above upstream's range offset) first,
    /// then the low band. `None` when the range is full.
    pub fn free_port(&self) -> Option<u16> {
        let size = u128::from(self.size);
        let offset = if size < 16 {
            0
        } else {
            (size / 16).clamp(16, 128)
        };
        let start = random_in(offset.min(size - 1), size - 1);
        (start..size)
            .chain(offset.min(size)..start)
            .chain(0..offset.min(size))
            .map(|i| (u32::from(self.first) + i as u32) as u16)
            .find(|port| !self.has(*port))
    }

    /// The stored `RangeAllocation` object.
    pub fn to_range_allocation(&self) -> Value {
        let mut bytes: Vec<u8> = self
            .words
            .iter()
            .rev()
            .flat_map(|w| w.to_be_bytes())
            .collect();
        let leading = bytes.iter().take_while(|b| **b == 0).count();
        bytes.drain(..leading);
        json!({
            "kind": "RangeAllocation",
            "apiVersion": "v1",
            "metadata": {"creationTimestamp": null},
            "range": self.range(),
            "data": base64::engine::general_purpose::STANDARD.encode(bytes),
        })
    }

    /// Reads a stored `RangeAllocation` into a bitmap of this range; ports of another stored
    /// range that fall outside this one are dropped (the repair loop re-checks every Service).
    pub fn from_range_allocation(first: u16, size: u32, stored: &Value) -> Self {
        let mut bitmap = Self::new(first, size);
        let data = stored.get("data").and_then(Value::as_str).unwrap_or("");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .unwrap_or_default();
        let (stored_first, _) = stored
            .get("range")
            .and_then(Value::as_str)
            .and_then(|r| crate::config::parse_port_range(r).ok())
            .unwrap_or((first, size));
        for (k, byte) in bytes.iter().rev().enumerate() {
            for bit in 0..8 {
                if byte & (1 << bit) != 0 {
                    let port = u32::from(stored_first) + (k * 8 + bit) as u32;
                    if let Ok(port) = u16::try_from(port) {
                        bitmap.set(port);
                    }
                }
            }
        }
        bitmap
    }
}

/// One port wanted by an allocation: a given port, or any free one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortRequest {
    Specific(u16),
    Any,
}

/// The NodePort allocator over storage.
pub struct PortAllocator {
    storage: Arc<dyn Storage>,
    key: String,
    first: u16,
    size: u32,
    lock: tokio::sync::Mutex<()>,
}

impl PortAllocator {
    pub fn new(storage: Arc<dyn Storage>, first: u16, size: u32) -> Self {
        Self {
            storage,
            key: node_ports_key(),
            first,
            size,
            lock: tokio::sync::Mutex::new(()),
        }
    }

    /// An empty bitmap of the configured range.
    pub fn empty(&self) -> PortBitmap {
        PortBitmap::new(self.first, self.size)
    }

    /// Reads the bitmap and its mod revision (`None` when never written).
    pub async fn read(&self) -> Result<(PortBitmap, Option<i64>), ApiError> {
        let resp = self
            .storage
            .get(self.key.as_bytes())
            .await
            .map_err(storage_error)?;
        Ok(match resp.kv {
            Some(kv) => {
                let stored: Value = serde_json::from_slice(&kv.value).unwrap_or(Value::Null);
                (
                    PortBitmap::from_range_allocation(self.first, self.size, &stored),
                    Some(kv.mod_revision),
                )
            }
            None => (self.empty(), None),
        })
    }

    /// Writes `bitmap` if the stored one is still at `revision`; `Ok(false)` when another writer
    /// won.
    pub async fn write(
        &self,
        bitmap: &PortBitmap,
        revision: Option<i64>,
    ) -> Result<bool, ApiError> {
        let bytes = Bytes::from(
            serde_json::to_vec(&bitmap.to_range_allocation()).map_err(ApiError::internal)?,
        );
        let result = match revision {
            Some(revision) => {
                self.storage
                    .update(self.key.as_bytes(), bytes, revision)
                    .await
            }
            None => self.storage.create(self.key.as_bytes(), bytes).await,
        };
        match result {
            Ok(_) => Ok(true),
            Err(StorageError::Conflict { .. } | StorageError::AlreadyExists { .. }) => Ok(false),
            Err(StorageError::NotFound { .. }) => Ok(false),
            Err(err) => Err(storage_error(err)),
        }
    }

    /// Runs `change` on the current bitmap and stores the result by compare-and-swap, retrying
    /// on conflicts. `change` answers whether anything changed (nothing is written otherwise).
    pub async fn modify<T, F>(&self, mut change: F) -> Result<T, PortError>
    where
        F: FnMut(&mut PortBitmap) -> Result<(T, bool), PortError>,
    {
        let _serial = self.lock.lock().await;
        for _ in 0..MAX_CAS_ATTEMPTS {
            let (mut bitmap, revision) = self.read().await.map_err(PortError::Api)?;
            let (out, changed) = change(&mut bitmap)?;
            if !changed
                || self
                    .write(&bitmap, revision)
                    .await
                    .map_err(PortError::Api)?
            {
                return Ok(out);
            }
        }
        Err(PortError::Api(ApiError::internal(
            "the NodePort allocation kept changing; try again",
        )))
    }

    /// Allocates every request at once (all or nothing). A dry run checks and picks without
    /// writing. On failure answers the index of the failing request.
    pub async fn allocate(
        &self,
        requests: &[PortRequest],
        dry_run: bool,
    ) -> Result<Vec<u16>, (usize, PortError)> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let mut failed_at = 0;
        let result = self
            .modify(|bitmap| {
                let mut out = Vec::with_capacity(requests.len());
                for (i, request) in requests.iter().enumerate() {
                    failed_at = i;
                    let port = match request {
                        PortRequest::Specific(port) => {
                            if !bitmap.contains(*port) {
                                return Err(PortError::NotInRange(bitmap.range()));
                            }
                            if bitmap.has(*port) {
                                return Err(PortError::Allocated);
                            }
                            *port
                        }
                        PortRequest::Any => bitmap.free_port().ok_or(PortError::Full)?,
                    };
                    bitmap.set(port);
                    out.push(port);
                }
                Ok((out, !dry_run))
            })
            .await;
        result.map_err(|err| (failed_at, err))
    }

    /// Frees `ports` (those outside the range are ignored).
    pub async fn release(&self, ports: &[u16]) {
        if ports.is_empty() {
            return;
        }
        let result = self
            .modify(|bitmap| {
                let mut changed = false;
                for port in ports {
                    changed |= bitmap.has(*port);
                    bitmap.clear(*port);
                }
                Ok(((), changed))
            })
            .await;
        if let Err(err) = result {
            tracing::warn!(?ports, error = %err, "could not release NodePorts");
        }
    }
}

fn storage_error(err: StorageError) -> ApiError {
    ApiError::internal(format!(
        "the NodePort allocation could not be read or written: {err}"
    ))
}
