//! The API priority and fairness configuration kept by the server (issue 19): the bootstrap
//! PriorityLevelConfigurations and FlowSchemas as kube-apiserver 1.33 lists them on a fresh
//! cluster (FlowSchemas by matching precedence, then name, as its table printer sorts them),
//! and the FlowSchemas' `Dangling` condition (kubectl's MISSINGPL column).

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::Apiary;

/// The table's header and its rows, without the columns at `skip` (AGE and the like).
fn table(apiary: &Apiary, resource: &str, skip: &[usize]) -> (Vec<String>, Vec<Vec<String>>) {
    let out = apiary.ok(&["get", resource]);
    let mut lines = out.lines().map(|line| {
        line.split_whitespace()
            .enumerate()
            .filter(|(index, _)| !skip.contains(index))
            .map(|(_, cell)| cell.to_string())
            .collect::<Vec<String>>()
    });
    let header = lines.next().unwrap_or_default();
    (header, lines.collect())
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}

/// The MISSINGPL cell of every FlowSchema, by name.
fn missing_pl(apiary: &Apiary) -> Vec<(String, String)> {
    let (_, rows) = table(apiary, "flowschemas", &[]);
    rows.into_iter()
        .map(|r| (r[0].clone(), r.last().cloned().unwrap_or_default()))
        .collect()
}

/// Polls until `check` holds for the MISSINGPL cells, for up to 20 seconds.
fn wait_for_missing_pl(apiary: &Apiary, check: impl Fn(&[(String, String)]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let cells = missing_pl(apiary);
        if check(&cells) {
            return;
        }
        assert!(Instant::now() < deadline, "MISSINGPL stayed {cells:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn bootstrap_configuration_exists_and_dangling_is_reported() {
    let apiary = Apiary::start();
    let (header, rows) = table(&apiary, "prioritylevelconfigurations", &[6]);
    assert_eq!(
        header,
        row(&[
            "NAME",
            "TYPE",
            "NOMINALCONCURRENCYSHARES",
            "QUEUES",
            "HANDSIZE",
            "QUEUELENGTHLIMIT"
        ])
    );
    assert_eq!(
        rows,
        [
            row(&["catch-all", "Limited", "5", "<none>", "<none>", "<none>"]),
            row(&["exempt", "Exempt", "<none>", "<none>", "<none>", "<none>"]),
            row(&["global-default", "Limited", "20", "128", "6", "50"]),
            row(&["leader-election", "Limited", "10", "16", "4", "50"]),
            row(&["node-high", "Limited", "40", "64", "6", "50"]),
            row(&["system", "Limited", "30", "64", "6", "50"]),
            row(&["workload-high", "Limited", "40", "128", "6", "50"]),
            row(&["workload-low", "Limited", "100", "128", "6", "50"]),
        ]
    );
    let (header, rows) = table(&apiary, "flowschemas", &[4, 5]);
    assert_eq!(
        header,
        row(&[
            "NAME",
            "PRIORITYLEVEL",
            "MATCHINGPRECEDENCE",
            "DISTINGUISHERMETHOD"
        ])
    );
    assert_eq!(
        rows,
        [
            row(&["exempt", "exempt", "1", "<none>"]),
            row(&["probes", "exempt", "2", "<none>"]),
            row(&["system-leader-election", "leader-election", "100", "ByUser"]),
            row(&["endpoint-controller", "workload-high", "150", "ByUser"]),
            row(&[
                "workload-leader-election",
                "leader-election",
                "200",
                "ByUser"
            ]),
            row(&["system-node-high", "node-high", "400", "ByUser"]),
            row(&["system-nodes", "system", "500", "ByUser"]),
            row(&[
                "kube-controller-manager",
                "workload-high",
                "800",
                "ByNamespace"
            ]),
            row(&["kube-scheduler", "workload-high", "800", "ByNamespace"]),
            row(&[
                "kube-system-service-accounts",
                "workload-high",
                "900",
                "ByNamespace"
            ]),
            row(&["service-accounts", "workload-low", "9000", "ByUser"]),
            row(&["global-default", "global-default", "9900", "ByUser"]),
            row(&["catch-all", "catch-all", "10000", "ByUser"]),
        ]
    );
    let exempt: Value =
        serde_json::from_str(&apiary.ok(&["get", "flowschema", "exempt", "-o", "json"]))
            .expect("kubectl -o json");
    assert_eq!(
        exempt["metadata"]["annotations"]["apf.kubernetes.io/autoupdate-spec"],
        "true"
    );

    // Every schema names an existing level: MISSINGPL False everywhere.
    wait_for_missing_pl(&apiary, |cells| {
        cells.len() == 13 && cells.iter().all(|(_, cell)| cell == "False")
    });
    // Without its level, global-default is dangling.
    apiary.ok(&["delete", "prioritylevelconfiguration", "global-default"]);
    wait_for_missing_pl(&apiary, |cells| {
        cells.iter().all(|(name, cell)| {
            cell == if name == "global-default" {
                "True"
            } else {
                "False"
            }
        })
    });
}
