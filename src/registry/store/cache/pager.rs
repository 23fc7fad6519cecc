//! The paged storage read of every object under a prefix at one revision: the cache's initial
//! list, and the initial events of a watch while the cache is not serving.

use std::sync::Arc;

use apiary_storage::{ListRequest, Storage};

use super::WatchObject;
use crate::api::status::{ApiError, ApiResult};
use crate::catalog::ResourceInfo;
use crate::registry::conversion::ConverterHandle;
use crate::registry::store::decode_converted;

/// The objects read per page.
const PAGE: usize = 500;

/// Reads every object under `prefix` in pages, all at the first page's revision, decoded (and
/// converted) as the store serves them; hands each to `each` with its storage key, in key
/// order, and returns the revision read at.
pub(super) async fn read_all(
    info: &ResourceInfo,
    storage: &dyn Storage,
    converter: Option<&ConverterHandle>,
    prefix: &[u8],
    mut each: impl FnMut(&[u8], Arc<WatchObject>),
) -> ApiResult<i64> {
    let mut start = prefix.to_vec();
    // 0 for the first page (the current revision); then the first page's revision.
    let mut revision = 0;
    loop {
        let request = ListRequest {
            prefix: prefix.to_vec(),
            start_key: Some(start.clone()),
            revision,
            limit: PAGE,
            count_remaining: false,
        };
        let resp = storage
            .list(request)
            .await
            .map_err(|e| ApiError::from_storage(e, &info.group_resource(), ""))?;
        revision = resp.revision;
        for kv in &resp.kvs {
            let obj = decode_converted(info, converter, &kv.value, kv.mod_revision).await?;
            each(kv.key.as_slice(), Arc::new(WatchObject::new(obj)));
        }
        match resp.kvs.last() {
            Some(last) if resp.more => {
                start = last.key.clone();
                start.push(0);
            }
            _ => return Ok(revision),
        }
        // Let other tasks run between pages of a large resource.
        tokio::task::yield_now().await;
    }
}
