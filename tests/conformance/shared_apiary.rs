//! One Apiary per test module and backend, shared by the module's tests (each works in its own
//! namespace, as upstream's tests do), and the macro declaring a module's tests once per backend.

use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ObjectMeta, PostParams};

use crate::common::{Apiary, Backend};

/// A shared server and its watchdog: a `sh` process that kills the server and removes its data
/// directory once the test binary has exited (statics are never dropped).
pub struct Shared {
    apiary: Apiary,
    _watchdog: Child,
}

/// The server in `cell`, started on `backend` on first use.
pub fn get(cell: &'static OnceLock<Shared>, backend: Backend) -> &'static Apiary {
    &cell
        .get_or_init(|| {
            let apiary = Apiary::start_on(backend);
            let watchdog = Command::new("sh")
                .arg("-c")
                .arg(r#"while kill -0 "$1" 2>/dev/null; do sleep 1; done; kill -9 "$2" 2>/dev/null; sleep 1; rm -rf "$3""#)
                .arg("watchdog")
                .arg(std::process::id().to_string())
                .arg(apiary.child.id().to_string())
                .arg(apiary.data_dir())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start the watchdog");
            Shared {
                apiary,
                _watchdog: watchdog,
            }
        })
        .apiary
}

/// Creates a namespace named `<base>-<random suffix>` for one test (upstream's framework does the
/// same per test) and returns its name.
pub async fn namespace(client: &kube::Client, base: &str) -> String {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns = Namespace {
        metadata: ObjectMeta {
            generate_name: Some(format!("{base}-")),
            ..Default::default()
        },
        ..Default::default()
    };
    let created = api
        .create(&PostParams::default(), &ns)
        .await
        .expect("create the test namespace");
    created.metadata.name.expect("generated name")
}

/// Declares `#[tokio::test]`s calling `async fn NAME(apiary: &'static Apiary)` of the invoking
/// module on a server shared per backend: `conformance_tests!(all_backends { a, #[ignore = ".."] b })`
/// declares `rocksdb::a`, `postgres::a`, `etcd::a`, ...; `rocksdb_only { .. }` only the first.
macro_rules! conformance_tests {
    (@on $module:ident $backend:ident { $($(#[$attr:meta])* $name:ident),+ $(,)? }) => {
        mod $module {
            static SERVER: ::std::sync::OnceLock<$crate::shared_apiary::Shared> =
                ::std::sync::OnceLock::new();
            fn server() -> &'static $crate::common::Apiary {
                $crate::shared_apiary::get(&SERVER, $crate::common::Backend::$backend)
            }
            $(
                $(#[$attr])*
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(server()).await
                }
            )+
        }
    };
    (all_backends $tests:tt) => {
        $crate::shared_apiary::conformance_tests!(@on rocksdb Rocksdb $tests);
        $crate::shared_apiary::conformance_tests!(@on postgres Postgres $tests);
        $crate::shared_apiary::conformance_tests!(@on etcd Etcd $tests);
    };
    (rocksdb_only $tests:tt) => {
        $crate::shared_apiary::conformance_tests!(@on rocksdb Rocksdb $tests);
    };
}
pub(crate) use conformance_tests;
