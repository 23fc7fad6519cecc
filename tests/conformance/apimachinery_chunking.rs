//! `test/e2e/apimachinery/chunking.go`: API chunking (paginated lists), on every backend.

use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Container, PodSpec, PodTemplate, PodTemplateSpec};
use kube::api::{Api, ListParams, ObjectMeta, PostParams};

use crate::common::{Apiary, Backend};
use crate::shared_apiary::{conformance_tests, namespace};

/// Upstream's `numberOfTotalResources`.
const TOTAL: usize = 400;

/// Upstream's `BeforeEach`: 400 pod templates `template-0000` .. `template-0399`, created by 20
/// workers.
async fn create_templates(apiary: &Apiary) -> Api<PodTemplate> {
    let client = apiary.client().await;
    let ns = namespace(&client, "chunking").await;
    let api: Api<PodTemplate> = Api::namespaced(client, &ns);
    futures::stream::iter(0..TOTAL)
        .for_each_concurrent(20, |i| {
            let api = api.clone();
            async move {
                let template = PodTemplate {
                    metadata: ObjectMeta {
                        name: Some(format!("template-{i:04}")),
                        ..Default::default()
                    },
                    template: Some(PodTemplateSpec {
                        spec: Some(PodSpec {
                            containers: vec![Container {
                                name: "test".into(),
                                image: Some("test2".into()),
                                ..Default::default()
                            }],
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                };
                let mut last = None;
                for _ in 0..4 {
                    match api.create(&PostParams::default(), &template).await {
                        Ok(_) => return,
                        Err(e) => last = Some(e),
                    }
                }
                panic!("unable to create template {i}: {last:?}");
            }
        })
        .await;
    api
}

/// Upstream's remaining-item check: absent on the last page, else it plus what was read so far
/// is the total.
fn check_remaining(list: &kube::core::ObjectList<PodTemplate>, found: usize) {
    match list.metadata.continue_.as_deref().unwrap_or("") {
        "" => assert_eq!(list.metadata.remaining_item_count, None),
        _ => {
            let remaining = list
                .metadata
                .remaining_item_count
                .expect("remainingItemCount on a page with a continue token");
            assert_eq!(remaining as usize + list.items.len() + found, TOTAL);
        }
    }
}

fn check_names(list: &kube::core::ObjectList<PodTemplate>, found: &mut usize) {
    for item in &list.items {
        assert_eq!(
            item.metadata.name.as_deref(),
            Some(format!("template-{:04}", *found).as_str())
        );
        *found += 1;
    }
}

/// `[sig-api-machinery] Servers with support for API chunking should return chunks of results for list calls [Conformance]`
/// (test/e2e/apimachinery/chunking.go).
async fn should_return_chunks_of_results_for_list_calls(apiary: &Apiary) {
    let api = create_templates(apiary).await;
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos() as u64
        | 1;
    // Paged lists with random limits (1 ..= TOTAL / 10), three times.
    for _ in 0..3 {
        let mut params = ListParams::default();
        let mut found = 0;
        let mut last_rv: Option<String> = None;
        loop {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let limit = (seed % (TOTAL as u64 / 10)) as u32 + 1;
            params = params.limit(limit);
            let list = api.list(&params).await.expect("list pod templates");
            assert!(list.items.len() <= limit as usize);
            let rv = list.metadata.resource_version.clone();
            let expected_rv = last_rv.get_or_insert_with(|| rv.clone().unwrap_or_default());
            assert_eq!(rv.as_deref(), Some(expected_rv.as_str()));
            check_remaining(&list, found);
            check_names(&list, &mut found);
            match list.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(token) => params = params.continue_token(&token),
                None => break,
            }
        }
        assert_eq!(found, TOTAL);
    }
    // All at once.
    let list = api
        .list(&ListParams::default().limit(TOTAL as u32 + 1))
        .await
        .expect("list pod templates");
    assert_eq!(list.items.len(), TOTAL);
}

/// `[sig-api-machinery] Servers with support for API chunking should support continue listing from the last key if the original version has been compacted away, though the list is inconsistent [Slow] [Conformance]`
/// (test/e2e/apimachinery/chunking.go). Run on a server compacting every second and keeping one
/// revision of history; upstream's cluster writes all the time, here a configmap write per poll
/// moves the revision on.
async fn continue_listing_after_compaction(backend: Backend) {
    let store = match backend {
        Backend::Rocksdb => "ROCKSDB",
        Backend::Postgres => "POSTGRES",
        Backend::Etcd => "ETCD",
    };
    let mut env = backend.fresh_store_env();
    env.push((
        format!("APIARY_STORAGE__{store}__COMPACTION_INTERVAL_SECONDS"),
        "1".into(),
    ));
    if backend != Backend::Etcd {
        env.push((
            format!("APIARY_STORAGE__{store}__KEEP_REVISIONS"),
            "1".into(),
        ));
    }
    let apiary = Apiary::start_with_env(env);
    let api = create_templates(&apiary).await;
    let one_tenth = (TOTAL / 10) as u32;

    let mut params = ListParams::default().limit(one_tenth);
    let list = api.list(&params).await.expect("first page");
    check_remaining(&list, 0);
    let first_token = list.metadata.continue_.clone().expect("continue token");
    let first_rv = list.metadata.resource_version.clone();

    // The second page until the token expires: 410 with a token for an inconsistent continue.
    params = params.continue_token(&first_token);
    let writes: Api<ConfigMap> = Api::namespaced(apiary.client().await, "default");
    let mut inconsistent = None;
    for i in 0..120 {
        match api.list(&params).await {
            Ok(_) => {
                let cm = ConfigMap {
                    metadata: ObjectMeta {
                        name: Some(format!("advance-{i}")),
                        ..Default::default()
                    },
                    ..Default::default()
                };
                writes
                    .create(&PostParams::default(), &cm)
                    .await
                    .expect("write");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(kube::Error::Api(status)) if status.code == 410 => {
                assert_eq!(status.reason, "Expired", "{status:?}");
                inconsistent = status.metadata.and_then(|m| m.continue_);
                break;
            }
            Err(e) => panic!("list with an old continue token: {e}"),
        }
    }
    let inconsistent = inconsistent
        .filter(|t| !t.is_empty())
        .expect("a non-empty continue token in the 410 Status");

    // The second page again, with the token from the error.
    params = params.continue_token(&inconsistent);
    let list = api.list(&params).await.expect("inconsistent second page");
    assert_ne!(list.metadata.resource_version, first_rv);
    assert_eq!(list.items.len(), one_tenth as usize);
    let mut found = one_tenth as usize;
    check_remaining(&list, found);
    check_names(&list, &mut found);

    // All remaining pages, at the new resource version.
    let last_rv = list.metadata.resource_version.clone();
    params = params.continue_token(list.metadata.continue_.as_deref().expect("continue"));
    loop {
        let list = api.list(&params).await.expect("next page");
        check_remaining(&list, found);
        assert!(list.items.len() <= one_tenth as usize);
        assert_eq!(list.metadata.resource_version, last_rv);
        check_names(&list, &mut found);
        match list.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => break,
        }
    }
    assert_eq!(found, TOTAL);
}

conformance_tests!(all_backends {
    should_return_chunks_of_results_for_list_calls,
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continue_listing_after_compaction_rocksdb() {
    continue_listing_after_compaction(Backend::Rocksdb).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continue_listing_after_compaction_postgres() {
    continue_listing_after_compaction(Backend::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continue_listing_after_compaction_etcd() {
    continue_listing_after_compaction(Backend::Etcd).await
}
