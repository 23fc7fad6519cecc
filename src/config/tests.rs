use super::*;

/// Loads with `file` (if any) as the default config file and `vars` as the environment under
/// the test's own prefix `prefix`.
fn load(
    prefix: &str,
    file: Option<&str>,
    vars: &[(&str, &str)],
    overrides: Overrides,
) -> Result<Config, ConfigError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.toml");
    if let Some(text) = file {
        std::fs::write(&path, text).expect("write config");
    }
    for (key, value) in vars {
        // Each test uses its own prefix, so parallel tests never see each other's variables.
        std::env::set_var(format!("{prefix}{key}"), value);
    }
    let result = Config::load_from(&overrides, &path, prefix);
    for (key, _) in vars {
        std::env::remove_var(format!("{prefix}{key}"));
    }
    result
}

#[test]
fn defaults_match_the_contract() {
    let cfg = load("APIARY_T_DEFAULTS_", None, &[], Overrides::default()).expect("defaults load");
    assert_eq!(cfg.server.listen.to_string(), "127.0.0.1:6443");
    assert_eq!(cfg.server.data_dir, PathBuf::from("./data"));
    assert_eq!(cfg.server.request_timeout_seconds, 60);
    assert_eq!(cfg.server.max_requests_inflight, 400);
    assert_eq!(cfg.server.max_mutating_requests_inflight, 200);
    assert_eq!(cfg.server.service_cidr, "10.0.0.0/24");
    assert_eq!(cfg.server.service_node_port_range, "30000-32767");
    assert_eq!(
        cfg.advertise_ip().expect("default advertise address"),
        std::net::IpAddr::from([127, 0, 0, 1])
    );
    assert_eq!(cfg.storage.backend, BackendKind::Rocksdb);
    assert_eq!(
        cfg.storage.rocksdb.path,
        PathBuf::from("./data").join("rocksdb")
    );
    assert_eq!(cfg.storage.rocksdb.compaction_interval_seconds, 300);
    assert_eq!(cfg.storage.rocksdb.keep_revisions, 10_000);
    assert!(cfg.storage.etcd.endpoints.is_empty());
    assert_eq!(cfg.storage.etcd.prefix, "/registry");
    assert_eq!(cfg.storage.etcd.dial_timeout_seconds, 5);
    assert_eq!(cfg.storage.etcd.request_timeout_seconds, 10);
    assert_eq!(cfg.storage.etcd.compaction_interval_seconds, 300);
    assert_eq!(cfg.storage.etcd.connections, 4);
    assert_eq!(cfg.storage.postgres.max_connections, 32);
    assert_eq!(cfg.storage.postgres.connect_timeout_seconds, 5);
    assert_eq!(cfg.storage.postgres.compaction_interval_seconds, 300);
    assert_eq!(cfg.storage.postgres.keep_revisions, 10_000);
    assert!(cfg.storage.watch_cache.enabled);
    assert_eq!(cfg.storage.watch_cache.consistent_read_timeout_seconds, 3);
    assert_eq!(
        cfg.storage.watch_cache.beyond_window,
        BeyondWindowKind::Expire
    );
    assert!(!cfg.auth.anonymous);
    assert_eq!(cfg.server.tls_min_version, "");
    assert!(cfg.server.tls_cipher_suites.is_empty());
    assert_eq!(cfg.server.http2_max_streams_per_connection, 0);
}

#[test]
fn watch_cache_settings_from_file_and_environment() {
    let file = "[storage.watch_cache]\nenabled = false\nbeyond_window = \"storage\"\n";
    let vars = [("STORAGE__WATCH_CACHE__CONSISTENT_READ_TIMEOUT_SECONDS", "7")];
    let cfg = load(
        "APIARY_T_WATCH_CACHE_",
        Some(file),
        &vars,
        Overrides::default(),
    )
    .expect("watch cache settings load");
    assert!(!cfg.storage.watch_cache.enabled);
    assert_eq!(
        cfg.storage.watch_cache.beyond_window,
        BeyondWindowKind::Storage
    );
    assert_eq!(cfg.storage.watch_cache.consistent_read_timeout_seconds, 7);
}

#[test]
fn event_ttl_defaults_to_an_hour_and_zero_turns_it_off() {
    let cfg = load(
        "APIARY_T_EVENT_TTL_DEFAULT_",
        None,
        &[],
        Overrides::default(),
    )
    .expect("defaults load");
    assert_eq!(cfg.server.event_ttl_seconds, 3600);
    assert_eq!(cfg.event_ttl(), Some(std::time::Duration::from_secs(3600)));
    let vars = [("SERVER__EVENT_TTL_SECONDS", "2")];
    let cfg = load("APIARY_T_EVENT_TTL_ENV_", None, &vars, Overrides::default())
        .expect("event ttl from the environment");
    assert_eq!(cfg.event_ttl(), Some(std::time::Duration::from_secs(2)));
    let cfg = load(
        "APIARY_T_EVENT_TTL_OFF_",
        Some("[server]\nevent_ttl_seconds = 0\n"),
        &[],
        Overrides::default(),
    )
    .expect("event ttl 0 loads");
    assert_eq!(cfg.event_ttl(), None);
    let err = load(
        "APIARY_T_EVENT_TTL_HUGE_",
        Some("[server]\nevent_ttl_seconds = 9000000001\n"),
        &[],
        Overrides::default(),
    )
    .expect_err("a TTL beyond etcd's longest lease is refused");
    assert!(
        err.to_string().contains("server.event_ttl_seconds"),
        "{err}"
    );
}

#[test]
fn file_overrides_defaults() {
    let file = r#"
        [server]
        listen = "0.0.0.0:7443"
        data_dir = "/var/lib/apiary"
        [storage]
        backend = "etcd"
        [storage.etcd]
        endpoints = ["http://a:2379", "http://b:2379"]
        [auth]
        anonymous = true
    "#;
    let cfg = load("APIARY_T_FILE_", Some(file), &[], Overrides::default()).expect("file loads");
    assert_eq!(cfg.server.listen.to_string(), "0.0.0.0:7443");
    assert_eq!(cfg.storage.backend, BackendKind::Etcd);
    assert_eq!(
        cfg.storage.etcd.endpoints,
        vec!["http://a:2379", "http://b:2379"]
    );
    assert_eq!(
        cfg.storage.rocksdb.path,
        PathBuf::from("/var/lib/apiary/rocksdb")
    );
    assert!(cfg.auth.anonymous);
}

#[test]
fn environment_overrides_file_and_flags_override_environment() {
    let file = "[server]\nlisten = \"127.0.0.1:7000\"\nrequest_timeout_seconds = 5\n";
    let vars = [
        ("SERVER__LISTEN", "127.0.0.1:7001"),
        ("SERVER__REQUEST_TIMEOUT_SECONDS", "9"),
        ("STORAGE__ROCKSDB__PATH", "/tmp/elsewhere"),
        ("STORAGE__ETCD__ENDPOINTS", "[\"http://e:2379\"]"),
    ];
    let cfg = load("APIARY_T_ENV_", Some(file), &vars, Overrides::default()).expect("env loads");
    assert_eq!(cfg.server.listen.to_string(), "127.0.0.1:7001");
    assert_eq!(cfg.server.request_timeout_seconds, 9);
    assert_eq!(cfg.storage.rocksdb.path, PathBuf::from("/tmp/elsewhere"));
    assert_eq!(cfg.storage.etcd.endpoints, vec!["http://e:2379"]);

    let flags = Overrides {
        listen: Some("127.0.0.1:7002".into()),
        data_dir: Some("/tmp/flag-dir".into()),
        ..Default::default()
    };
    let cfg = load(
        "APIARY_T_FLAGS_",
        Some(file),
        &[("SERVER__LISTEN", "127.0.0.1:7001")],
        flags,
    )
    .expect("flags load");
    assert_eq!(cfg.server.listen.to_string(), "127.0.0.1:7002");
    assert_eq!(cfg.server.data_dir, PathBuf::from("/tmp/flag-dir"));
    assert_eq!(
        cfg.storage.rocksdb.path,
        PathBuf::from("/tmp/flag-dir/rocksdb")
    );
}

#[test]
fn explicit_config_file_is_read_and_must_exist() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("custom.toml");
    std::fs::write(&file, "[server]\nlisten = \"127.0.0.1:9443\"\n").expect("write");
    let overrides = Overrides {
        config_file: Some(file),
        ..Default::default()
    };
    let cfg = load("APIARY_T_EXPLICIT_", None, &[], overrides).expect("explicit file loads");
    assert_eq!(cfg.server.listen.port(), 9443);

    let missing = Overrides {
        config_file: Some(dir.path().join("nope.toml")),
        ..Default::default()
    };
    let err = load("APIARY_T_EXPLICIT_", None, &[], missing).expect_err("missing file fails");
    assert_eq!(err.setting, "--config");
}

#[test]
fn wrong_settings_name_the_setting_on_one_line() {
    struct Case {
        name: &'static str,
        file: Option<&'static str>,
        vars: &'static [(&'static str, &'static str)],
        setting: &'static str,
        mentions: &'static str,
    }
    let cases = [
        Case {
            name: "unknown backend in env",
            file: None,
            vars: &[("STORAGE__BACKEND", "mysql")],
            setting: "storage.backend",
            mentions: "APIARY_T_BAD_0_STORAGE__BACKEND",
        },
        Case {
            name: "unknown backend in file",
            file: Some("[storage]\nbackend = \"mysql\"\n"),
            vars: &[],
            setting: "storage.backend",
            mentions: "mysql",
        },
        Case {
            name: "bad address",
            file: None,
            vars: &[("SERVER__LISTEN", "localhost")],
            setting: "server.listen",
            mentions: "socket address",
        },
        Case {
            name: "port zero",
            file: Some("[server]\nlisten = \"127.0.0.1:0\"\n"),
            vars: &[],
            setting: "server.listen",
            mentions: "port",
        },
        Case {
            name: "typo key",
            file: Some("[server]\nlisten_addr = \"127.0.0.1:1\"\n"),
            vars: &[],
            setting: "server.listen_addr",
            mentions: "unknown field",
        },
        Case {
            name: "typo section",
            file: Some("[storge]\nbackend = \"rocksdb\"\n"),
            vars: &[],
            setting: "storge",
            mentions: "unknown field",
        },
        Case {
            name: "unparsable file",
            file: Some("[server\nlisten = 1\n"),
            vars: &[],
            setting: "config.toml",
            mentions: "TOML",
        },
        Case {
            name: "unknown cipher suite",
            file: Some("[server]\ntls_cipher_suites = [\"TLS_NOPE\"]\n"),
            vars: &[],
            setting: "server.tls_cipher_suites",
            mentions: "TLS_NOPE",
        },
        Case {
            name: "TLS 1.1 minimum",
            file: Some("[server]\ntls_min_version = \"VersionTLS11\"\n"),
            vars: &[],
            setting: "server.tls_min_version",
            mentions: "VersionTLS11",
        },
        Case {
            name: "bad cidr",
            file: Some("[server]\nservice_cidr = \"10.0.0.0\"\n"),
            vars: &[],
            setting: "server.service_cidr",
            mentions: "10.0.0.0",
        },
        Case {
            name: "bad node port range",
            file: Some("[server]\nservice_node_port_range = \"32767-30000\"\n"),
            vars: &[],
            setting: "server.service_node_port_range",
            mentions: "below the first port",
        },
        Case {
            name: "node port range not numeric",
            file: None,
            vars: &[("SERVER__SERVICE_NODE_PORT_RANGE", "lots")],
            setting: "server.service_node_port_range",
            mentions: "lots",
        },
        Case {
            name: "advertise address not an IP",
            file: Some("[server]\nadvertise_address = \"apiserver.local\"\n"),
            vars: &[],
            setting: "server.advertise_address",
            mentions: "IP address",
        },
        Case {
            name: "postgres without a url",
            file: Some("[storage]\nbackend = \"postgres\"\n"),
            vars: &[],
            setting: "storage.postgres.url",
            mentions: "must be set",
        },
        Case {
            name: "etcd without endpoints",
            file: None,
            vars: &[("STORAGE__BACKEND", "etcd")],
            setting: "storage.etcd.endpoints",
            mentions: "at least one endpoint",
        },
        Case {
            name: "etcd prefix not absolute",
            file: Some(
                "[storage]\nbackend = \"etcd\"\n[storage.etcd]\nendpoints = [\"http://e:2379\"]\nprefix = \"registry\"\n",
            ),
            vars: &[],
            setting: "storage.etcd.prefix",
            mentions: "must start with /",
        },
        Case {
            name: "etcd client cert without key",
            file: Some("[storage.etcd]\ncert_file = \"/c.pem\"\n"),
            vars: &[],
            setting: "storage.etcd.cert_file",
            mentions: "together",
        },
        Case {
            name: "etcd without connections",
            file: Some("[storage.etcd]\nconnections = 0\n"),
            vars: &[],
            setting: "storage.etcd.connections",
            mentions: "at least 1",
        },
        Case {
            name: "wrong type",
            file: Some("[server]\nrequest_timeout_seconds = \"soon\"\n"),
            vars: &[],
            setting: "server.request_timeout_seconds",
            mentions: "soon",
        },
    ];
    for (i, case) in cases.iter().enumerate() {
        let prefix = format!("APIARY_T_BAD_{i}_");
        let err = load(&prefix, case.file, case.vars, Overrides::default()).expect_err(case.name);
        let line = err.to_string();
        assert!(
            err.setting.ends_with(case.setting),
            "{}: setting {:?} in {line}",
            case.name,
            err.setting
        );
        assert!(
            line.contains(case.mentions),
            "{}: {line:?} should mention {:?}",
            case.name,
            case.mentions
        );
        assert!(
            !line.contains('\n'),
            "{}: one line, got {line:?}",
            case.name
        );
    }
}

#[test]
fn cidr_parsing() {
    assert!(parse_cidr("10.0.0.0/24").is_ok());
    assert!(parse_cidr("fd00::/108").is_ok());
    assert!(parse_cidr("10.0.0.0/33").is_err());
    assert!(parse_cidr("nonsense/8").is_err());
}

#[test]
fn port_range_parsing() {
    assert_eq!(parse_port_range("30000-32767"), Ok((30000, 2768)));
    assert_eq!(parse_port_range("31000"), Ok((31000, 1)));
    assert!(parse_port_range("0-10").is_err());
    assert!(parse_port_range("30000-70000").is_err());
    assert!(parse_port_range("30010-30000").is_err());
}

#[test]
fn encryption_config_is_unset_by_default_and_read_from_file_or_environment() {
    let cfg = load("APIARY_T_ENC_DEFAULT_", None, &[], Overrides::default()).expect("loads");
    assert_eq!(cfg.storage.encryption_config, None);
    let file = "[storage]\nencryption_config = \"/etc/apiary/encryption.yaml\"\n";
    let cfg = load("APIARY_T_ENC_FILE_", Some(file), &[], Overrides::default()).expect("loads");
    assert_eq!(
        cfg.storage.encryption_config,
        Some(PathBuf::from("/etc/apiary/encryption.yaml"))
    );
    let vars = [("STORAGE__ENCRYPTION_CONFIG", "enc.json")];
    let cfg = load("APIARY_T_ENC_ENV_", None, &vars, Overrides::default()).expect("loads");
    assert_eq!(
        cfg.storage.encryption_config,
        Some(PathBuf::from("enc.json"))
    );
}
