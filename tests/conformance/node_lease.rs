//! `test/e2e/common/node/lease.go`: the Lease API conformance test.

use std::collections::BTreeMap;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use serde_json::{Map, Value};

use crate::common::Apiary;
use crate::shared_apiary::{conformance_tests, namespace};

/// Go's `time.Time{}.Add(seconds)`: the zero time is 0001-01-01T00:00:00Z.
fn zero_time_plus(seconds: i64) -> MicroTime {
    const GO_ZERO_TIME_UNIX: i64 = -62_135_596_800;
    MicroTime(Timestamp::from_second(GO_ZERO_TIME_UNIX + seconds).expect("a valid timestamp"))
}

fn spec(holder: &str, duration: i32, acquire: i64, renew: i64, transitions: i32) -> LeaseSpec {
    LeaseSpec {
        holder_identity: Some(holder.into()),
        lease_duration_seconds: Some(duration),
        acquire_time: Some(zero_time_plus(acquire)),
        renew_time: Some(zero_time_plus(renew)),
        lease_transitions: Some(transitions),
        ..Default::default()
    }
}

/// Upstream's `getPatchBytes`, a two-way strategic merge patch from `old` to `new`; the leases
/// differ only in the spec's scalar fields, so it holds the spec fields that changed (null for
/// those removed).
fn patch_bytes(old: &Lease, new: &Lease) -> Value {
    let old_spec = serde_json::to_value(&old.spec).expect("old spec");
    let new_spec = serde_json::to_value(&new.spec).expect("new spec");
    let empty = Map::new();
    let old_fields = old_spec.as_object().unwrap_or(&empty);
    let new_fields = new_spec.as_object().unwrap_or(&empty);
    let mut changed = Map::new();
    for (key, value) in new_fields {
        if old_fields.get(key) != Some(value) {
            changed.insert(key.clone(), value.clone());
        }
    }
    for key in old_fields.keys() {
        if !new_fields.contains_key(key) {
            changed.insert(key.clone(), Value::Null);
        }
    }
    let mut patch = Map::new();
    if !changed.is_empty() {
        patch.insert("spec".into(), Value::Object(changed));
    }
    Value::Object(patch)
}

fn assert_specs_match(expected: &Option<LeaseSpec>, actual: &Option<LeaseSpec>) {
    assert_eq!(
        expected, actual,
        "Leases don't match. (left: expected, right: actual)"
    );
}

/// `[sig-node] Lease lease API should be available [Conformance]`
/// (test/e2e/common/node/lease.go).
async fn lease_api_should_be_available(apiary: &Apiary) {
    let client = apiary.client().await;
    let ns = namespace(&client, "lease-test").await;
    let leases: Api<Lease> = Api::namespaced(client.clone(), &ns);
    let pp = PostParams::default();

    let name = "lease";
    let lease = Lease {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        spec: Some(spec("holder", 30, 2, 5, 0)),
    };

    let mut created = leases
        .create(&pp, &lease)
        .await
        .expect("creating Lease failed");

    let read = leases.get(name).await.expect("couldn't read Lease");
    assert_specs_match(&lease.spec, &read.spec);

    created.spec = Some(spec("holder2", 30, 20, 50, 1));
    leases
        .replace(name, &pp, &created)
        .await
        .expect("updating Lease failed");

    let read = leases.get(name).await.expect("couldn't read Lease");
    assert_specs_match(&created.spec, &read.spec);

    let mut patched = read.clone();
    patched.spec = Some(spec("holder3", 60, 50, 70, 2));
    let patch = patch_bytes(&read, &patched);
    leases
        .patch(name, &PatchParams::default(), &Patch::Strategic(&patch))
        .await
        .expect("patching Lease failed");

    let read = leases.get(name).await.expect("couldn't read Lease");
    assert_specs_match(&patched.spec, &read.spec);

    let name2 = "lease2";
    let lease2 = Lease {
        metadata: ObjectMeta {
            name: Some(name2.into()),
            labels: Some(BTreeMap::from([("deletecollection".into(), "true".into())])),
            ..Default::default()
        },
        spec: Some(spec("holder", 30, 2, 5, 0)),
    };
    leases
        .create(&pp, &lease2)
        .await
        .expect("creating Lease failed");

    let list = leases
        .list(&ListParams::default())
        .await
        .expect("couldn't list Leases");
    assert_eq!(list.items.len(), 2);

    leases
        .delete_collection(
            &DeleteParams::default(),
            &ListParams::default().labels("deletecollection=true"),
        )
        .await
        .expect("couldn't delete collection");

    let list = leases
        .list(&ListParams::default())
        .await
        .expect("couldn't list Leases");
    assert_eq!(list.items.len(), 1);

    leases
        .delete(name, &DeleteParams::default())
        .await
        .expect("deleting Lease failed");

    match leases.get(name).await {
        Err(kube::Error::Api(s)) if s.code == 404 => {}
        other => panic!("expected IsNotFound error, got {other:?}"),
    }

    // Leases of all namespaces (one per node in a real cluster) list.
    let all: Api<Lease> = Api::all(client);
    all.list(&ListParams::default())
        .await
        .expect("couldn't list Leases from all namespace");
}

conformance_tests!(rocksdb_only {
    lease_api_should_be_available,
});
