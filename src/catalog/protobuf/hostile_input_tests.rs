//! Property tests of the protobuf decoder on hostile bodies: any bytes, inside a well-formed
//! envelope or not, decode to a value or an error, never a panic; and an object the encoder
//! writes decodes back to itself.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::{decode_object, encode_object, envelope};

const CASES: u32 = 256;

/// Kinds with messages of every shape: nested messages, maps, repeated fields, int-or-string,
/// quantities, times, raw extensions.
const KINDS: &[(&str, &str)] = &[
    ("v1", "ConfigMap"),
    ("v1", "Pod"),
    ("v1", "Node"),
    ("v1", "Service"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "ControllerRevision"),
    ("batch/v1", "CronJob"),
    ("v1", "Status"),
    ("v1", "NoSuchKind"),
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn any_message_under_a_known_kind_never_panics(
        kind in prop::sample::select(KINDS),
        raw in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        let _ = decode_object(&envelope(kind.0, kind.1, &raw));
    }

    #[test]
    fn any_body_never_panics(body in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_object(&body);
        let mut prefixed = b"k8s\0".to_vec();
        prefixed.extend_from_slice(&body);
        let _ = decode_object(&prefixed);
    }

    #[test]
    fn config_maps_round_trip(
        name in "[a-z0-9]([a-z0-9.-]{0,10}[a-z0-9])?",
        data in prop::collection::btree_map("[-._a-zA-Z0-9]{1,8}", "\\PC{1,12}", 1..5),
        labels in prop::collection::btree_map("[a-z]{1,6}", "[a-z0-9]{1,6}", 1..3),
    ) {
        let object = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "default", "labels": labels},
            "data": data,
        });
        let body = encode_object(&object).map_err(TestCaseError::fail)?;
        let decoded: Value = decode_object(&body).map_err(TestCaseError::fail)?;
        prop_assert_eq!(decoded, object);
    }
}
