//! Property tests of the body decoders on hostile documents: YAML and JSON bodies of any bytes
//! decode to an object or a 400, never a panic; the repeated-key scan ends on anything; and a
//! JSON value written as YAML reads back as itself.

use proptest::prelude::*;

use super::body::{decode_object, parse_document, ExpectedType, InputFormat};
use super::yaml_keys::{parse_last_wins, repeated_keys};
use crate::api::test_strategies::{json_object, json_value};
use crate::catalog::Codec;

const CASES: u32 = 256;

/// YAML-ish text: indentation, flow and block collections, anchors, tags, repeated keys.
fn yaml_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "(a: |  - |- |\n|  |\\{|\\}|\\[|\\]|, |&x |\\*x |!!str |<<: |'|\"|#|---\n|k: v\n|1|~|null){0,24}",
        any::<String>(),
    ]
}

fn configmap() -> ExpectedType<'static> {
    ExpectedType {
        group: "",
        version: "v1",
        kind: "ConfigMap",
        codec: Codec::of::<k8s_openapi::api::core::v1::ConfigMap>(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn yaml_and_json_bodies_never_panic(text in yaml_text()) {
        let bytes = text.as_bytes();
        let _ = parse_document(bytes, InputFormat::Yaml);
        let _ = parse_document(bytes, InputFormat::Json);
        let _ = repeated_keys(bytes);
        let _ = decode_object(bytes, InputFormat::Yaml, &configmap());
        let _ = decode_object(bytes, InputFormat::Json, &configmap());
    }

    #[test]
    fn any_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..128)) {
        let _ = parse_document(&bytes, InputFormat::Yaml);
        let _ = repeated_keys(&bytes);
    }

    #[test]
    fn objects_decode_to_a_value_or_a_400(object in json_object()) {
        let body = serde_json::to_vec(&object).expect("JSON");
        if let Err(err) = decode_object(&body, InputFormat::Json, &configmap()) {
            prop_assert_eq!(err.status.code, 400, "{}", err.status.message);
        }
        let yaml = serde_yaml::to_string(&object).expect("YAML");
        if let Err(err) = decode_object(yaml.as_bytes(), InputFormat::Yaml, &configmap()) {
            prop_assert_eq!(err.status.code, 400, "{}", err.status.message);
        }
    }

    #[test]
    fn json_written_as_yaml_reads_back(value in json_value()) {
        let yaml = serde_yaml::to_string(&value).expect("YAML");
        let parsed = parse_last_wins(yaml.as_bytes())
            .map_err(|err| TestCaseError::fail(format!("{yaml:?}: {err}")))?;
        let back = serde_json::to_value(parsed).expect("JSON");
        prop_assert_eq!(back, value, "{:?}", yaml);
        prop_assert!(repeated_keys(yaml.as_bytes()).is_empty(), "{:?}", yaml);
    }
}
