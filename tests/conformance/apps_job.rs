//! `test/e2e/apps/job.go`: the Job lifecycle conformance test (the others need the job
//! controller and a kubelet).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Container, EmptyDirVolumeSource, PodSpec, PodTemplateSpec, SecurityContext, Volume, VolumeMount,
};
use kube::api::{
    Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams, WatchEvent,
    WatchParams,
};

use crate::common::Apiary;
use crate::shared_apiary::{conformance_tests, namespace};

/// `imageutils.GetE2EImage(imageutils.BusyBox)` in 1.33.
const BUSYBOX_IMAGE: &str = "registry.k8s.io/e2e-test-images/busybox:1.37.0-1";
/// `e2ejob.JobTimeout`.
const JOB_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// `f.Timeouts.PodStartShort`, how long `waitForJobEvent` watches.
const POD_START_SHORT: Duration = Duration::from_secs(2 * 60);

/// `e2ejob.NewTestJob("succeed", name, RestartPolicyNever, parallelism, completions, nil, backoffLimit)`.
fn new_succeeding_test_job(name: &str, parallelism: i32, completions: i32, backoff: i32) -> Job {
    Job {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        spec: Some(JobSpec {
            parallelism: Some(parallelism),
            completions: Some(completions),
            backoff_limit: Some(backoff),
            manual_selector: Some(false),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(BTreeMap::from([("job".into(), name.into())])),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    restart_policy: Some("Never".into()),
                    volumes: Some(vec![Volume {
                        name: "data".into(),
                        empty_dir: Some(EmptyDirVolumeSource::default()),
                        ..Default::default()
                    }]),
                    containers: vec![Container {
                        name: "c".into(),
                        image: Some(BUSYBOX_IMAGE.into()),
                        command: Some(vec!["/bin/sh".into(), "-c".into(), "exit 0".into()]),
                        volume_mounts: Some(vec![VolumeMount {
                            mount_path: "/data".into(),
                            name: "data".into(),
                            ..Default::default()
                        }]),
                        security_context: Some(SecurityContext::default()),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Upstream's `waitForJobEvent`: watches the selected Jobs from `resource_version` for a
/// `kind` event of `job_name` whose `metadata_type` ("label" or "annotation") `key` is `value`.
/// Upstream only logs a missed event ("delivery of events is not actually guaranteed").
#[allow(clippy::too_many_arguments)]
async fn wait_for_job_event(
    api: &Api<Job>,
    ns: &str,
    selector: &str,
    resource_version: &str,
    job_name: &str,
    kind: &str,
    metadata_type: &str,
    key: &str,
    value: &str,
) {
    let params = WatchParams {
        label_selector: Some(selector.into()),
        bookmarks: false,
        ..Default::default()
    };
    let mut watch = api
        .watch(&params, resource_version)
        .await
        .expect("watch jobs")
        .boxed();
    let deadline = tokio::time::Instant::now() + POD_START_SHORT;
    while let Ok(Some(event)) = tokio::time::timeout_at(deadline, watch.next()).await {
        let (got_kind, job) = match event.expect("watch event") {
            WatchEvent::Added(j) => ("ADDED", j),
            WatchEvent::Modified(j) => ("MODIFIED", j),
            WatchEvent::Deleted(j) => ("DELETED", j),
            _ => continue,
        };
        let map = match metadata_type {
            "annotation" => job.metadata.annotations.as_ref(),
            _ => job.metadata.labels.as_ref(),
        };
        let found = job.metadata.name.as_deref() == Some(job_name)
            && job.metadata.namespace.as_deref() == Some(ns)
            && map.and_then(|m| m.get(key)).map(String::as_str) == Some(value)
            && got_kind == kind;
        if found {
            return;
        }
    }
    eprintln!("We missed the {kind} event of Job {ns}/{job_name}");
}

/// `[sig-apps] Job should manage the lifecycle of a job [Conformance]`
/// (test/e2e/apps/job.go).
async fn should_manage_the_lifecycle_of_a_job(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "job").await;
    let job_name = format!("e2e-{}", &uuid::Uuid::new_v4().simple().to_string()[..5]);
    let label = BTreeMap::from([("e2e-job-label".to_string(), job_name.clone())]);
    let selector = format!("e2e-job-label={job_name}");
    let job_client: Api<Job> = Api::namespaced(client.clone(), &ns);
    let by_label = ListParams::default().labels(&selector);

    let jobs_list = job_client
        .list(&by_label)
        .await
        .expect("failed to list Job");
    let list_rv = jobs_list.metadata.resource_version.clone().expect("RV");

    let parallelism = 2;
    let completions = 4;
    let backoff_limit = 6; // default value

    // Creating a suspended job
    let mut job = new_succeeding_test_job(&job_name, parallelism, completions, backoff_limit);
    job.metadata.labels = Some(label);
    job.spec.as_mut().expect("spec").suspend = Some(true);
    let job = job_client
        .create(&PostParams::default(), &job)
        .await
        .unwrap_or_else(|e| panic!("failed to create job in namespace: {ns}: {e}"));

    // Patching the Job
    let payload = serde_json::json!({"metadata": {"labels": {job_name.clone(): "patched"}}});
    let patched_job = job_client
        .patch(
            &job_name,
            &PatchParams::default(),
            &Patch::Strategic(payload),
        )
        .await
        .unwrap_or_else(|e| panic!("failed to patch Job {job_name} in namespace {ns}: {e}"));

    // Watching for Job to be patched
    wait_for_job_event(
        &job_client,
        &ns,
        &selector,
        &list_rv,
        &job_name,
        "MODIFIED",
        "label",
        &job_name,
        "patched",
    )
    .await;
    assert_eq!(
        patched_job
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(&job_name))
            .map(String::as_str),
        Some("patched"),
        "Did not find job label for this job. Current labels: {:?}",
        patched_job.metadata.labels
    );

    // Updating the job (retry.RetryOnConflict)
    let mut attempt = None;
    for _ in 0..5 {
        let mut patched = job_client
            .get(&job_name)
            .await
            .unwrap_or_else(|e| panic!("Unable to get job {job_name}: {e}"));
        patched.spec.as_mut().expect("spec").suspend = Some(false);
        patched
            .metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert("updated".into(), "true".into());
        match job_client
            .replace(&job_name, &PostParams::default(), &patched)
            .await
        {
            Ok(updated) => {
                attempt = Some((patched, updated));
                break;
            }
            Err(kube::Error::Api(s)) if s.code == 409 => continue,
            Err(e) => panic!("failed to update job in namespace: {ns}: {e}"),
        }
    }
    let (patched_job, updated_job) =
        attempt.expect("failed to update job: conflicts on every attempt");

    // Watching for Job to be updated
    wait_for_job_event(
        &job_client,
        &ns,
        &selector,
        patched_job
            .metadata
            .resource_version
            .as_deref()
            .expect("RV"),
        &job_name,
        "MODIFIED",
        "annotation",
        "updated",
        "true",
    )
    .await;
    assert_eq!(
        updated_job
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("updated"))
            .map(String::as_str),
        Some("true"),
        "updated Job should have the applied annotation"
    );

    // Listing all Jobs with LabelSelector
    let all: Api<Job> = Api::all(client.clone());
    let jobs = all.list(&by_label).await.expect("Failed to list job");
    assert_eq!(jobs.items.len(), 1, "Failed to find job {job_name}");

    // Waiting for job to complete
    let deadline = Instant::now() + JOB_TIMEOUT;
    loop {
        let current = job_client.get(&job_name).await.expect("get job");
        let status = current.status.unwrap_or_default();
        let reached = status.conditions.iter().flatten().any(|c| {
            c.type_ == "Complete"
                && c.status == "True"
                && c.reason.as_deref() == Some("CompletionsReached")
        });
        if status.succeeded == Some(completions) && reached {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "failed to ensure job completion in namespace: {ns}"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }

    // Delete a job collection with a labelselector
    let background = DeleteParams {
        propagation_policy: Some(kube::api::PropagationPolicy::Background),
        ..Default::default()
    };
    job_client
        .delete_collection(&background, &by_label)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "failed to delete job {:?} in namespace: {ns}: {e}",
                job.metadata.name
            )
        });

    // Watching for Job to be deleted
    wait_for_job_event(
        &job_client,
        &ns,
        &selector,
        updated_job
            .metadata
            .resource_version
            .as_deref()
            .expect("RV"),
        &job_name,
        "DELETED",
        "label",
        "e2e-job-label",
        &job_name,
    )
    .await;

    // Relist jobs to confirm deletion
    let jobs = all.list(&by_label).await.expect("Failed to list job");
    assert!(jobs.items.is_empty(), "Found job {job_name}");
}

conformance_tests!(rocksdb_only {
    #[ignore = "needs the job controller and a kubelet: upstream unsuspends the Job and waits up to 15 minutes for 4 succeeded pods and Complete/CompletionsReached"]
    should_manage_the_lifecycle_of_a_job,
});
