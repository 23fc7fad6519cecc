//! `batch`: Jobs and CronJobs (`pkg/registry/batch/<resource>`).

use serde_json::Value;

use super::rules::empty_status;
use super::Rules;
use crate::registry::defaults;
use crate::registry::strategy::GcPolicy;
use crate::registry::validation::batch;

/// Jobs: generation, defaults, an empty status, the generated `controller-uid` selector (and the
/// labels defaulted from the template again, as upstream's read back from storage does),
/// validation with the stored object defaulted first; they orphan their pods unless told
/// otherwise (kept for backwards compatibility).
pub const JOBS: Rules = Rules {
    tracks_generation: true,
    gc_policy: GcPolicy::OrphanDependents,
    defaults: defaults::job,
    initial_status: Some(empty_status),
    after_create_defaults: Some(generated_selector),
    validate_create: batch::validate_job,
    validate_update: Some(batch::validate_job_update),
    defaults_stored_before_update: true,
    ..Rules::GENERIC
};

/// CronJobs: generation, defaults, an empty status, validation.
pub const CRON_JOBS: Rules = Rules {
    tracks_generation: true,
    defaults: defaults::cron_job,
    initial_status: Some(empty_status),
    validate_create: batch::validate_cron_job,
    ..Rules::GENERIC
};

fn generated_selector(job: &mut Value) {
    defaults::job_generated_selector(job);
    defaults::job(job);
}
