//! Encryption at rest, as kube-apiserver's `--encryption-provider-config`.
//!
//! `storage.encryption_config` names an `EncryptionConfiguration` file ([`config`]); its
//! providers ([`providers`]) write values in upstream's format, so a store is readable by
//! kube-apiserver with the same file and the other way round. [`EncryptedStorage`] wraps the
//! opened backend: a value written under a configured resource's keys is encrypted by the
//! resource's first provider; every read (get, list, delete, watch) decrypts with whichever of
//! its providers the value's prefix names, and marks a value not in the first provider's form as
//! stale ([`KeyValue::stale`]) so that an update rewrites it even when nothing changed (the key
//! rotation of upstream's documentation).

pub mod config;
pub mod providers;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use apiary_storage::{
    Error, Event, GetResponse, KeyValue, ListRequest, ListResponse, ProgressStream, Result,
    Revision, Storage, WatchItem, WatchStream,
};
use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;

pub use self::config::{load, parse, EncryptionRules};
use self::providers::ENCRYPTED_PREFIX;

use crate::config::{BackendKind, StorageConfig};
use crate::registry::keys::REGISTRY_ROOT;

/// Values decrypted in one poll of a list before yielding to other tasks.
const DECRYPT_BATCH: usize = 256;

/// A storage whose values under the configured resources are encrypted.
pub struct EncryptedStorage {
    inner: Arc<dyn Storage>,
    rules: Arc<EncryptionRules>,
    /// What replaces `/registry` at the start of a key to form the authenticated data of
    /// `aesgcm` (upstream seals with the full etcd key).
    context_root: Vec<u8>,
}

/// Wraps `inner` when the configuration names an encryption file (already loaded as `rules`).
pub fn wrap(
    inner: Arc<dyn Storage>,
    rules: EncryptionRules,
    storage: &StorageConfig,
) -> Arc<dyn Storage> {
    let context_root = match storage.backend {
        // etcd keys carry the configured prefix instead of `/registry`.
        BackendKind::Etcd => storage
            .etcd
            .prefix
            .trim_end_matches('/')
            .as_bytes()
            .to_vec(),
        _ => REGISTRY_ROOT.as_bytes().to_vec(),
    };
    Arc::new(EncryptedStorage::new(inner, rules, context_root))
}

impl EncryptedStorage {
    /// `context_root` replaces `/registry` in the authenticated data (see the field).
    pub fn new(inner: Arc<dyn Storage>, rules: EncryptionRules, context_root: Vec<u8>) -> Self {
        Self {
            inner,
            rules: Arc::new(rules),
            context_root,
        }
    }

    fn reader(&self) -> Reader {
        Reader {
            rules: self.rules.clone(),
            context_root: self.context_root.clone(),
        }
    }

    fn seal(&self, key: &[u8], value: Bytes) -> Result<Bytes> {
        match self.rules.lookup(key) {
            None => Ok(value),
            Some(transformer) => transformer
                .write(&value, &context(&self.context_root, key))
                .map_err(|why| {
                    Error::Internal(format!(
                        "failed to encrypt the value of key {}: {why}",
                        String::from_utf8_lossy(key)
                    ))
                }),
        }
    }
}

/// The authenticated data of `key`: the key as the backend stores it.
fn context<'a>(root: &[u8], key: &'a [u8]) -> Cow<'a, [u8]> {
    let registry = REGISTRY_ROOT.as_bytes();
    match key.strip_prefix(registry) {
        Some(rest) if root != registry => {
            let mut out = root.to_vec();
            out.extend_from_slice(rest);
            Cow::Owned(out)
        }
        _ => Cow::Borrowed(key),
    }
}

/// The read side, shared with watch streams.
#[derive(Clone)]
struct Reader {
    rules: Arc<EncryptionRules>,
    context_root: Vec<u8>,
}

impl Reader {
    /// The plaintext of the value at `key` and whether it is stale.
    fn open(&self, key: &[u8], value: &Bytes) -> Result<(Bytes, bool)> {
        let failed = |why: String| {
            Error::Internal(format!(
                "failed to decrypt the value of key {}: {why}",
                String::from_utf8_lossy(key)
            ))
        };
        match self.rules.lookup(key) {
            Some(transformer) => transformer
                .read(value, &context(&self.context_root, key))
                .map_err(failed),
            // Not configured: upstream's identity, which refuses encrypted data.
            None if value.starts_with(ENCRYPTED_PREFIX) => Err(failed(
                "identity transformer tried to read encrypted data".into(),
            )),
            None => Ok((value.clone(), false)),
        }
    }

    fn open_kv(&self, kv: &mut KeyValue) -> Result<()> {
        let (plain, stale) = self.open(&kv.key, &kv.value)?;
        kv.value = plain;
        kv.stale = stale;
        Ok(())
    }

    fn open_event(&self, mut event: Event) -> Result<Event> {
        event.value = self.open(&event.key, &event.value)?.0;
        if let Some(prev) = &event.prev_value {
            event.prev_value = Some(self.open(&event.key, prev)?.0);
        }
        Ok(event)
    }
}

#[async_trait]
impl Storage for EncryptedStorage {
    fn backend_name(&self) -> &'static str {
        self.inner.backend_name()
    }

    async fn get(&self, key: &[u8]) -> Result<GetResponse> {
        let mut response = self.inner.get(key).await?;
        if let Some(kv) = &mut response.kv {
            self.reader().open_kv(kv)?;
        }
        Ok(response)
    }

    async fn list(&self, req: ListRequest) -> Result<ListResponse> {
        let mut response = self.inner.list(req).await?;
        let reader = self.reader();
        for (i, kv) in response.kvs.iter_mut().enumerate() {
            if i > 0 && i % DECRYPT_BATCH == 0 {
                tokio::task::yield_now().await;
            }
            reader.open_kv(kv)?;
        }
        Ok(response)
    }

    async fn count(&self, prefix: &[u8]) -> Result<usize> {
        self.inner.count(prefix).await
    }

    async fn create_with_ttl(
        &self,
        key: &[u8],
        value: Bytes,
        ttl: Option<Duration>,
    ) -> Result<Revision> {
        let stored = self.seal(key, value)?;
        self.inner.create_with_ttl(key, stored, ttl).await
    }

    async fn update_with_ttl(
        &self,
        key: &[u8],
        value: Bytes,
        expected: Revision,
        ttl: Option<Duration>,
    ) -> Result<Revision> {
        let stored = self.seal(key, value)?;
        self.inner.update_with_ttl(key, stored, expected, ttl).await
    }

    async fn delete(&self, key: &[u8], expected: Option<Revision>) -> Result<(Revision, KeyValue)> {
        let (revision, mut kv) = self.inner.delete(key, expected).await?;
        self.reader().open_kv(&mut kv)?;
        Ok((revision, kv))
    }

    async fn watch(&self, prefix: &[u8], after: Revision) -> Result<WatchStream> {
        let stream = self.inner.watch(prefix, after).await?;
        let reader = self.reader();
        // The stream ends after its first error, as the watch contract requires.
        Ok(Box::pin(stream.scan(false, move |failed, item| {
            let out = if *failed {
                None
            } else {
                let opened = item.and_then(|event| reader.open_event(event));
                *failed = opened.is_err();
                Some(opened)
            };
            std::future::ready(out)
        })))
    }

    async fn watch_progress(&self, prefix: &[u8], after: Revision) -> Result<ProgressStream> {
        let stream = self.inner.watch_progress(prefix, after).await?;
        let reader = self.reader();
        Ok(Box::pin(stream.scan(false, move |failed, item| {
            let out = if *failed {
                None
            } else {
                let opened = item.and_then(|item| match item {
                    WatchItem::Event(event) => reader.open_event(event).map(WatchItem::Event),
                    progress => Ok(progress),
                });
                *failed = opened.is_err();
                Some(opened)
            };
            std::future::ready(out)
        })))
    }

    async fn request_progress(&self) -> Result<()> {
        self.inner.request_progress().await
    }

    async fn current_revision(&self) -> Result<Revision> {
        self.inner.current_revision().await
    }

    async fn compacted_revision(&self) -> Result<Revision> {
        self.inner.compacted_revision().await
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        self.inner.compact(revision).await
    }
}
