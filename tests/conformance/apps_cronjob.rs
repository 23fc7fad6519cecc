//! `test/e2e/apps/cronjob.go`: the CronJob API operations conformance test (the others need
//! the cronjob and job controllers and a kubelet).

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, CronJobStatus, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{
    Container, EmptyDirVolumeSource, PodSpec, PodTemplateSpec, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, ListParams, ObjectMeta, Patch, PatchParams,
    PostParams, WatchEvent, WatchParams,
};

use crate::common::Apiary;
use crate::shared_apiary::{conformance_tests, namespace};

/// `imageutils.GetE2EImage(imageutils.BusyBox)` in 1.33.
const BUSYBOX_IMAGE: &str = "registry.k8s.io/e2e-test-images/busybox:1.37.0-1";

/// Upstream's `newTestCronJob`.
fn new_test_cron_job(
    name: &str,
    schedule: &str,
    concurrency_policy: &str,
    command: Option<Vec<String>>,
    successful_jobs_history_limit: Option<i32>,
    failed_jobs_history_limit: Option<i32>,
) -> CronJob {
    CronJob {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        spec: Some(CronJobSpec {
            schedule: schedule.into(),
            concurrency_policy: Some(concurrency_policy.into()),
            job_template: JobTemplateSpec {
                spec: Some(JobSpec {
                    parallelism: Some(1),
                    completions: Some(1),
                    backoff_limit: Some(1),
                    template: PodTemplateSpec {
                        spec: Some(PodSpec {
                            restart_policy: Some("OnFailure".into()),
                            volumes: Some(vec![Volume {
                                name: "data".into(),
                                empty_dir: Some(EmptyDirVolumeSource::default()),
                                ..Default::default()
                            }]),
                            containers: vec![Container {
                                name: "c".into(),
                                image: Some(BUSYBOX_IMAGE.into()),
                                command,
                                volume_mounts: Some(vec![VolumeMount {
                                    mount_path: "/data".into(),
                                    name: "data".into(),
                                    ..Default::default()
                                }]),
                                ..Default::default()
                            }],
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                    ..Default::default()
                }),
                ..Default::default()
            },
            successful_jobs_history_limit,
            failed_jobs_history_limit,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// `metav1.Now().Rfc3339Copy()`: now, to the second.
fn now_rfc3339() -> Time {
    Time(Timestamp::from_second(Timestamp::now().as_second()).expect("timestamp"))
}

fn annotation<'a>(cj: &'a CronJob, key: &str) -> Option<&'a str> {
    cj.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .map(String::as_str)
}

/// The cronjob's `expectFinalizer`.
fn expect_finalizer(cj: &CronJob, msg: &str) {
    assert!(
        cj.metadata.deletion_timestamp.is_some(),
        "expected deletionTimestamp, got nil on step: {msg:?}, cronjob: {cj:?}"
    );
    assert!(
        cj.metadata
            .finalizers
            .as_ref()
            .is_some_and(|f| !f.is_empty()),
        "expected finalizers on cronjob, got none on step: {msg:?}, cronjob: {cj:?}"
    );
}

/// `[sig-apps] CronJob should support CronJob API operations [Conformance]`
/// (test/e2e/apps/cronjob.go).
async fn should_support_cronjob_api_operations(apiary: &Apiary) {
    let client = apiary.client().await;
    // The framework's namespace gives the test its unique name.
    let ns = namespace(&client, "cronjob").await;
    let unique_name = ns.clone();

    // Creating a cronjob
    let mut cj_template = new_test_cron_job(
        "test-api",
        "* */1 * * ?",
        "Allow",
        Some(vec!["/bin/true".into()]),
        Some(1),
        Some(0),
    );
    cj_template.metadata.labels = Some(BTreeMap::from([(
        "special-label".into(),
        unique_name.clone(),
    )]));
    let selector = format!("special-label={unique_name}");
    let cj_client: Api<CronJob> = Api::namespaced(client.clone(), &ns);
    let pp = PostParams::default();

    // creating
    let created = cj_client.create(&pp, &cj_template).await.expect("create");
    let created_name = created.metadata.name.clone().expect("name");

    // getting
    let gotten = cj_client.get(&created_name).await.expect("get");
    assert_eq!(gotten.metadata.uid, created.metadata.uid);

    // listing
    let cjs = cj_client
        .list(&ListParams::default().labels(&selector))
        .await
        .expect("list");
    assert_eq!(cjs.items.len(), 1, "filtered list should have 1 item");
    let list_rv = cjs.metadata.resource_version.clone().expect("list RV");

    // watching (client-go asks for no bookmarks)
    let watch_params = WatchParams {
        label_selector: Some(selector.clone()),
        bookmarks: false,
        ..Default::default()
    };
    let mut cj_watch = cj_client
        .watch(&watch_params, &list_rv)
        .await
        .expect("watch")
        .boxed();

    // Test cluster-wide list and watch
    let cluster_cj_client: Api<CronJob> = Api::all(client.clone());
    // cluster-wide listing
    let cluster_cjs = cluster_cj_client
        .list(&ListParams::default().labels(&selector))
        .await
        .expect("cluster-wide list");
    assert_eq!(
        cluster_cjs.items.len(),
        1,
        "filtered list should have 1 item"
    );
    // cluster-wide watching
    let _cluster_watch = cluster_cj_client
        .watch(&watch_params, &list_rv)
        .await
        .expect("cluster-wide watch");

    // patching
    let patched = cj_client
        .patch(
            &created_name,
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"metadata": {"annotations": {"patched": "true"}}})),
        )
        .await
        .expect("patch");
    assert_eq!(
        annotation(&patched, "patched"),
        Some("true"),
        "patched object should have the applied annotation"
    );

    // updating (retry.RetryOnConflict)
    let mut updated = None;
    for _ in 0..5 {
        let mut to_update = cj_client.get(&created_name).await.expect("get");
        to_update
            .metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert("updated".into(), "true".into());
        match cj_client.replace(&created_name, &pp, &to_update).await {
            Ok(cj) => {
                updated = Some(cj);
                break;
            }
            Err(kube::Error::Api(s)) if s.code == 409 => continue,
            Err(e) => panic!("update: {e}"),
        }
    }
    let updated = updated.expect("update: conflicts on every attempt");
    assert_eq!(
        annotation(&updated, "updated"),
        Some("true"),
        "updated object should have the applied annotation"
    );

    // waiting for watch events with expected annotations
    loop {
        let event = tokio::time::timeout(Duration::from_secs(30), cj_watch.next())
            .await
            .expect("timed out waiting for watch event")
            .expect("Watch channel is closed.")
            .expect("watch event");
        let WatchEvent::Modified(watched) = event else {
            panic!("expected MODIFIED, got {event:?}");
        };
        if annotation(&watched, "patched") == Some("true") {
            break;
        }
    }
    drop(cj_watch);

    // /status subresource operations

    // patching /status
    let now1 = now_rfc3339();
    let cj_status = CronJobStatus {
        last_schedule_time: Some(now1.clone()),
        ..Default::default()
    };
    let patched_status = cj_client
        .patch_status(
            &created_name,
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({
                "metadata": {"annotations": {"patchedstatus": "true"}},
                "status": cj_status,
            })),
        )
        .await
        .expect("patch /status");
    assert_eq!(
        patched_status
            .status
            .as_ref()
            .and_then(|s| s.last_schedule_time.clone()),
        Some(now1),
        "patched object should have the applied lastScheduleTime"
    );
    assert_eq!(
        annotation(&patched_status, "patchedstatus"),
        Some("true"),
        "patched object should have the applied annotation"
    );

    // updating /status (retry.RetryOnConflict)
    let now2 = now_rfc3339();
    let mut updated_status = None;
    for _ in 0..5 {
        let mut status_to_update = cj_client.get(&created_name).await.expect("get");
        status_to_update
            .status
            .get_or_insert_with(Default::default)
            .last_schedule_time = Some(now2.clone());
        match cj_client
            .replace_status(&created_name, &pp, &status_to_update)
            .await
        {
            Ok(cj) => {
                updated_status = Some(cj);
                break;
            }
            Err(kube::Error::Api(s)) if s.code == 409 => continue,
            Err(e) => panic!("update /status: {e}"),
        }
    }
    let updated_status = updated_status.expect("update /status: conflicts on every attempt");
    assert_eq!(
        updated_status
            .status
            .as_ref()
            .and_then(|s| s.last_schedule_time.clone()),
        Some(now2),
        "updated object status expected to have updated lastScheduleTime"
    );

    // get /status
    let dynamic: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &ns, &ApiResource::erase::<CronJob>(&()));
    let gotten_status = dynamic
        .get_subresource("status", &created_name)
        .await
        .expect("get /status");
    assert_eq!(
        gotten_status.metadata.uid, created.metadata.uid,
        "createdCronJob.UID expected to match statusUID"
    );

    // CronJob resource delete operations

    // deleting
    cj_template.metadata.name = Some("for-removal".into());
    let for_removal = cj_client.create(&pp, &cj_template).await.expect("create");
    let for_removal_name = for_removal.metadata.name.clone().expect("name");
    cj_client
        .delete(&for_removal_name, &DeleteParams::default())
        .await
        .expect("delete");
    // Without finalizers a 404; otherwise the finalizer behaviour is checked.
    match cj_client.get(&for_removal_name).await {
        Ok(cj) => expect_finalizer(&cj, "deleting cronjob"),
        Err(kube::Error::Api(s)) if s.code == 404 => {}
        Err(e) => panic!("expected 404, got {e}"),
    }

    // deleting a collection
    cj_client
        .delete_collection(
            &DeleteParams::default(),
            &ListParams::default().labels(&selector),
        )
        .await
        .expect("delete collection");
    let cjs = cj_client
        .list(&ListParams::default().labels(&selector))
        .await
        .expect("list");
    // Should have <= 2 items since some cronjobs might not have been deleted yet due to finalizers
    assert!(
        cjs.items.len() <= 2,
        "filtered list length should be <= 2, got:\n{:?}",
        cjs.items
    );
    for cj in &cjs.items {
        expect_finalizer(cj, "deleting cronjob collection");
    }
}

conformance_tests!(rocksdb_only {
    should_support_cronjob_api_operations,
});
