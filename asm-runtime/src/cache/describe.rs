//! Version checks: which version a stage points at now, learnt by `DescribeSecret` without
//! decrypting the value (no KMS call, no secret on the wire), and the secret's rotation interval
//! for the guardrail.

use std::sync::Arc;

use futures_util::future::join_all;
use tokio::time::Instant;

use super::call::Patience;
use super::entry::Learnt;
use super::guardrail::Interval;
use super::job::{Job, Round};
use super::{Core, Entry};
use crate::Error;

/// Checks the jobs whose entry holds a value with `DescribeSecret`, concurrently: an unchanged
/// version is confirmed without fetching it, an error is recorded. Returns the jobs that need a
/// fetch: first loads, new versions, and secrets for which `DescribeSecret` is denied.
pub(crate) async fn check_versions(core: &Core, jobs: Vec<Job>, round: &Round) -> Vec<Job> {
    let now = Instant::now();
    let (held, mut to_fetch): (Vec<Job>, Vec<Job>) = jobs
        .into_iter()
        .partition(|job| job.entry.state.load().is_some() && job.entry.describe_allowed(now));
    let checked = join_all(held.into_iter().map(|job| async {
        let described = core.describe(&job.entry.id, Patience::None).await;
        (job, described)
    }))
    .await;
    for (job, described) in checked {
        let Some(described) = described else {
            // The source cannot tell versions apart without the value: fetch to compare.
            to_fetch.push(job);
            continue;
        };
        let description = match described {
            Ok(description) => description,
            Err(Error::AccessDenied { .. }) => {
                core.note_describe_denied(&job.entry);
                to_fetch.push(job);
                continue;
            }
            Err(err) => {
                core.complete(job, Err(err), round);
                continue;
            }
        };
        if job.entry.learn_rotation(description.rotation) == Learnt::First {
            // Learnt after the load (its check failed then): the guardrail applies now.
            let guardrail = core.settings.guardrail.or_warn();
            let _ = job
                .entry
                .guard(guardrail, description.rotation, Interval::Learnt);
        }
        if description.deleted {
            let err = Error::InvalidRequest {
                secret_id: job.entry.id.to_string(),
                code: "ScheduledForDeletion".to_owned(),
            };
            core.complete(job, Err(err), round);
            continue;
        }
        let held = job
            .entry
            .state
            .load_full()
            .map(|loaded| Arc::clone(&loaded.secret));
        match held {
            Some(secret)
                if description.version_id(&job.entry.version) == Some(secret.version_id()) =>
            {
                core.complete(job, Ok(secret), round);
            }
            _ => to_fetch.push(job),
        }
    }
    to_fetch
}

impl Core {
    /// Turns `DescribeSecret` off for `entry`'s secret for `denial_retry`, warning once per
    /// period: its refreshes fetch the value to compare versions meanwhile.
    pub(crate) fn note_describe_denied(&self, entry: &Entry) {
        let now = Instant::now();
        let retry = self.settings.denial_retry;
        if entry.deny_describe(now, now + retry) {
            tracing::warn!(
                secret_id = &*entry.id,
                retry_in_s = retry.as_secs(),
                "DescribeSecret denied; this secret's refreshes fetch the value to compare \
                 versions and its rotation guardrail is skipped until DescribeSecret is tried \
                 again (grant secretsmanager:DescribeSecret on the secret to restore both)"
            );
        }
    }
}
