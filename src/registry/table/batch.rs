//! Printers of the `batch` group: jobs and cron jobs.

use serde_json::Value;

use super::age::{human_duration, parse_time};
use super::descriptions as d;
use super::fields::{
    array_at, condition_is_true, format_label_selector, get, i64_at, is_deleting,
    layout_containers, len_at, name, opt_bool, opt_i64, opt_str,
};
use super::{
    Column, PrintContext, Printer, Row, AGE_COLUMN, CONTAINERS_COLUMN, IMAGES_COLUMN, NAME_COLUMN,
};

/// The printer of `batch` resource `plural`.
pub(super) fn printer(group: &str, plural: &str) -> Option<Printer> {
    if group != "batch" {
        return None;
    }
    Some(match plural {
        "jobs" => JOBS,
        "cronjobs" => CRON_JOBS,
        _ => return None,
    })
}

const JOBS: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new("Status", "string", "Status of the job."),
        Column::new("Completions", "string", d::JOB_STATUS_SUCCEEDED),
        Column::new("Duration", "string", "Time required to complete the job."),
        AGE_COLUMN,
        CONTAINERS_COLUMN,
        IMAGES_COLUMN,
        Column::new("Selector", "string", d::JOB_SPEC_SELECTOR).wide(),
    ],
    print: print_job,
};

/// `Complete`, `Failed`, `Terminating`, `Suspended`, `FailureTarget` or `Running`, in that order
/// of precedence.
fn job_status(job: &Value) -> &'static str {
    let conditions = array_at(job, &["status", "conditions"]);
    if condition_is_true(conditions, "Complete") {
        "Complete"
    } else if condition_is_true(conditions, "Failed") {
        "Failed"
    } else if is_deleting(job) {
        "Terminating"
    } else if condition_is_true(conditions, "Suspended") {
        "Suspended"
    } else if condition_is_true(conditions, "FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    }
}

/// `succeeded/completions`; without `completions`, `succeeded/1`, or `succeeded/1 of P` when the
/// job runs `P` > 1 pods in parallel.
fn job_completions(job: &Value) -> String {
    let succeeded = i64_at(job, &["status", "succeeded"]);
    match opt_i64(job, &["spec", "completions"]) {
        Some(completions) => format!("{succeeded}/{completions}"),
        None => match opt_i64(job, &["spec", "parallelism"]).unwrap_or(0) {
            parallelism if parallelism > 1 => format!("{succeeded}/1 of {parallelism}"),
            _ => format!("{succeeded}/1"),
        },
    }
}

/// Empty before the job starts; time since start while it runs; start to completion after.
fn job_duration(job: &Value, context: &PrintContext) -> String {
    let Some(start) = parse_time(get(job, &["status", "startTime"])) else {
        return String::new();
    };
    let end = parse_time(get(job, &["status", "completionTime"])).unwrap_or(context.now);
    human_duration(end.duration_since(start))
}

fn print_job(job: &Value, context: &PrintContext) -> Row {
    let (names, images) =
        layout_containers(array_at(job, &["spec", "template", "spec", "containers"]));
    Row::from(vec![
        Value::from(name(job)),
        Value::from(job_status(job)),
        Value::from(job_completions(job)),
        Value::from(job_duration(job, context)),
        Value::from(context.age(job)),
        Value::from(names),
        Value::from(images),
        Value::from(format_label_selector(get(job, &["spec", "selector"]))),
    ])
}

const CRON_JOBS: Printer = Printer {
    columns: &[
        NAME_COLUMN,
        Column::new("Schedule", "string", d::CRONJOB_SPEC_SCHEDULE),
        Column::new("Timezone", "string", d::CRONJOB_SPEC_TIME_ZONE),
        Column::new("Suspend", "boolean", d::CRONJOB_SPEC_SUSPEND),
        Column::new("Active", "integer", d::CRONJOB_STATUS_ACTIVE),
        Column::new(
            "Last Schedule",
            "string",
            d::CRONJOB_STATUS_LAST_SCHEDULE_TIME,
        ),
        AGE_COLUMN,
        CONTAINERS_COLUMN,
        IMAGES_COLUMN,
        Column::new("Selector", "string", d::JOB_SPEC_SELECTOR).wide(),
    ],
    print: print_cron_job,
};

fn print_cron_job(cron_job: &Value, context: &PrintContext) -> Row {
    let last_schedule = match get(cron_job, &["status", "lastScheduleTime"]) {
        Some(time) if !time.is_null() => context.since(Some(time)),
        _ => "<none>".to_string(),
    };
    // The column is typed boolean, but upstream prints the words (`<unset>` when absent).
    let suspend = match opt_bool(cron_job, &["spec", "suspend"]) {
        Some(true) => "True",
        Some(false) => "False",
        None => "<unset>",
    };
    let job_spec = get(cron_job, &["spec", "jobTemplate", "spec"]).unwrap_or(&Value::Null);
    let (names, images) =
        layout_containers(array_at(job_spec, &["template", "spec", "containers"]));
    Row::from(vec![
        Value::from(name(cron_job)),
        Value::from(opt_str(cron_job, &["spec", "schedule"]).unwrap_or("")),
        Value::from(opt_str(cron_job, &["spec", "timeZone"]).unwrap_or("<none>")),
        Value::from(suspend),
        Value::from(len_at(cron_job, &["status", "active"]) as i64),
        Value::from(last_schedule),
        Value::from(context.age(cron_job)),
        Value::from(names),
        Value::from(images),
        Value::from(format_label_selector(get(job_spec, &["selector"]))),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::table::test_support::{column_names, object, table_cells};
    use serde_json::json;

    fn job(spec: Value, status: Value) -> Value {
        object(
            "pi",
            "2024-05-01T11:50:00Z",
            json!({"spec": spec, "status": status}),
        )
    }

    #[test]
    fn job_rows() {
        let done = job(
            json!({"completions": 1, "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}},
                   "template": {"spec": {"containers": [{"name": "pi", "image": "perl:5.34"}]}}}),
            json!({"succeeded": 1, "startTime": "2024-05-01T11:50:00Z", "completionTime": "2024-05-01T11:50:42Z",
                   "conditions": [{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}]}),
        );
        assert_eq!(
            table_cells("batch", "v1", "jobs", &done),
            vec![
                json!("pi"),
                json!("Complete"),
                json!("1/1"),
                json!("42s"),
                json!("10m"),
                json!("pi"),
                json!("perl:5.34"),
                json!("batch.kubernetes.io/controller-uid=u1")
            ]
        );
        let running = job(
            json!({"completions": 5, "parallelism": 2}),
            json!({"succeeded": 2, "startTime": "2024-05-01T11:57:00Z"}),
        );
        let cells = table_cells("batch", "v1", "jobs", &running);
        assert_eq!(&cells[1..4], &[json!("Running"), json!("2/5"), json!("3m")]);
        let not_started = job(json!({"parallelism": 3}), json!({}));
        let cells = table_cells("batch", "v1", "jobs", &not_started);
        assert_eq!(
            &cells[1..4],
            &[json!("Running"), json!("0/1 of 3"), json!("")]
        );
        assert_eq!(
            column_names("batch", "jobs"),
            [
                "Name",
                "Status",
                "Completions",
                "Duration",
                "Age",
                "Containers",
                "Images",
                "Selector"
            ]
        );
    }

    #[test]
    fn job_status_precedence() {
        let with = |conditions: Value| job(json!({}), json!({"conditions": conditions}));
        assert_eq!(
            job_status(&with(json!([{"type": "Failed", "status": "True"}]))),
            "Failed"
        );
        assert_eq!(
            job_status(&with(json!([{"type": "Suspended", "status": "True"}]))),
            "Suspended"
        );
        assert_eq!(
            job_status(&with(json!([{"type": "FailureTarget", "status": "True"}]))),
            "FailureTarget"
        );
        assert_eq!(
            job_status(&with(json!([{"type": "Complete", "status": "False"}]))),
            "Running"
        );
        let mut deleting = with(json!([{"type": "Suspended", "status": "True"}]));
        deleting["metadata"]["deletionTimestamp"] = json!("2024-05-01T12:00:00Z");
        assert_eq!(job_status(&deleting), "Terminating");
        assert_eq!(
            job_completions(&job(json!({}), json!({"succeeded": 1}))),
            "1/1"
        );
    }

    #[test]
    fn cron_job_row() {
        let cron_job = object(
            "hello",
            "2024-04-30T12:00:00Z",
            json!({"spec": {"schedule": "*/5 * * * *", "suspend": false,
                            "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "hello", "image": "busybox"}]}}}}},
                   "status": {"active": [{"name": "hello-1"}], "lastScheduleTime": "2024-05-01T11:55:00Z"}}),
        );
        assert_eq!(
            table_cells("batch", "v1", "cronjobs", &cron_job),
            vec![
                json!("hello"),
                json!("*/5 * * * *"),
                json!("<none>"),
                json!("False"),
                json!(1),
                json!("5m"),
                json!("24h"),
                json!("hello"),
                json!("busybox"),
                json!("<none>")
            ]
        );
        let fresh = object(
            "x",
            "2024-05-01T11:00:00Z",
            json!({"spec": {"schedule": "@daily", "timeZone": "Etc/UTC"}}),
        );
        let cells = table_cells("batch", "v1", "cronjobs", &fresh);
        assert_eq!(
            &cells[1..6],
            &[
                json!("@daily"),
                json!("Etc/UTC"),
                json!("<unset>"),
                json!(0),
                json!("<none>")
            ]
        );
    }
}
