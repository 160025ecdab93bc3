//! `DescribeSecret`: which version a stage points at now, learnt without decrypting the value
//! (no KMS call, no secret on the wire), and the secret's rotation interval for the guardrail.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_secretsmanager::types::RotationRulesType;
use futures_util::future::join_all;
use tokio::time::Instant;

use super::fetch::{Job, Round};
use super::{Entry, Shared};
use crate::error::{Operation, from_sdk};
use crate::{Error, Version};

/// What `DescribeSecret` says about one secret.
#[derive(Debug)]
pub(crate) struct Description {
    versions: HashMap<String, Vec<String>>,
    /// How often the secret rotates, when rotation is on and its schedule has a fixed period.
    pub(crate) rotation: Option<Duration>,
    /// Whether the secret is scheduled for deletion.
    pub(crate) deleted: bool,
}

impl Description {
    /// The id of the version `version` names now, if the secret has one.
    pub(crate) fn version_id(&self, version: &Version) -> Option<&str> {
        match version {
            Version::Stage(stage) => self
                .versions
                .iter()
                .find(|(_, stages)| stages.iter().any(|s| s == &**stage))
                .map(|(id, _)| id.as_str()),
            Version::Id(id) => self.versions.get_key_value(&**id).map(|(k, _)| k.as_str()),
        }
    }
}

/// Checks the jobs whose entry holds a value with `DescribeSecret`, concurrently: an unchanged
/// version is confirmed without fetching it, an error is recorded. Returns the jobs that need a
/// fetch: first loads, new versions, and secrets for which `DescribeSecret` is denied.
pub(crate) async fn check_versions(shared: &Shared, jobs: Vec<Job>, round: &Round) -> Vec<Job> {
    let now = Instant::now();
    let (held, mut to_fetch): (Vec<Job>, Vec<Job>) = jobs
        .into_iter()
        .partition(|job| job.entry.state.load().is_some() && job.entry.describe_allowed(now));
    let checked = join_all(held.into_iter().map(|job| async {
        let described = describe(shared, &job.entry.id).await;
        (job, described)
    }))
    .await;
    for (job, described) in checked {
        let description = match described {
            Ok(description) => description,
            Err(Error::AccessDenied { .. }) => {
                shared.note_describe_denied(&job.entry);
                to_fetch.push(job);
                continue;
            }
            Err(err) => {
                shared.complete(job, Err(err), round);
                continue;
            }
        };
        if job.entry.set_rotation(description.rotation) {
            // Learnt after the load (its check failed then): the guardrail applies now.
            let guardrail = shared.settings.guardrail.or_warn();
            let _ = guardrail.check(&job.entry.id, job.entry.ttl(), description.rotation);
        }
        if description.deleted {
            let err = Error::InvalidRequest {
                secret_id: job.entry.id.to_string(),
                code: "ScheduledForDeletion".to_owned(),
            };
            shared.complete(job, Err(err), round);
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
                shared.complete(job, Ok(secret), round);
            }
            _ => to_fetch.push(job),
        }
    }
    to_fetch
}

impl Shared {
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

/// Calls `DescribeSecret` for `id`.
pub(crate) async fn describe(shared: &Shared, id: &str) -> Result<Description, Error> {
    let send = async {
        shared
            .client
            .describe_secret()
            .secret_id(id)
            .customize()
            .config_override(shared.call_config())
            .send()
            .await
            .map_err(|e| from_sdk(&e, id, Operation::DescribeSecret))
    };
    let out = shared.call(Operation::DescribeSecret, id, send).await?;
    Ok(Description {
        rotation: rotation_interval(out.rotation_enabled, out.rotation_rules.as_ref()),
        deleted: out.deleted_date.is_some(),
        versions: out.version_ids_to_stages.unwrap_or_default(),
    })
}

/// The rotation period: `AutomaticallyAfterDays`, or a `rate(N unit)` schedule. A `cron(…)`
/// schedule has no fixed period and gives `None`, as does rotation switched off.
pub(crate) fn rotation_interval(
    enabled: Option<bool>,
    rules: Option<&RotationRulesType>,
) -> Option<Duration> {
    let rules = rules.filter(|_| enabled == Some(true))?;
    let days = |n: u64| Duration::from_secs(n.saturating_mul(86_400));
    match rules.schedule_expression() {
        Some(expression) => rate(expression),
        None => rules
            .automatically_after_days()
            .and_then(|n| u64::try_from(n).ok())
            .filter(|n| *n > 0)
            .map(days),
    }
}

/// Parses `rate(4 hours)`, `rate(1 day)`, `rate(10 days)` (the units Secrets Manager accepts).
fn rate(expression: &str) -> Option<Duration> {
    let inner = expression.trim().strip_prefix("rate(")?.strip_suffix(')')?;
    let (count, unit) = inner.trim().split_once(' ')?;
    let count: u64 = count.parse().ok().filter(|n| *n > 0)?;
    let unit_secs = match unit.trim() {
        "hour" | "hours" => 3_600,
        "day" | "days" => 86_400,
        _ => return None,
    };
    Some(Duration::from_secs(count.saturating_mul(unit_secs)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(days: Option<i64>, schedule: Option<&str>) -> RotationRulesType {
        RotationRulesType::builder()
            .set_automatically_after_days(days)
            .set_schedule_expression(schedule.map(str::to_owned))
            .build()
    }

    #[test]
    fn rotation_periods_come_from_days_or_rate_expressions() {
        let hour = Duration::from_secs(3_600);
        let on = Some(true);
        assert_eq!(
            rotation_interval(on, Some(&rules(Some(30), None))),
            Some(hour * 24 * 30)
        );
        assert_eq!(
            rotation_interval(on, Some(&rules(None, Some("rate(4 hours)")))),
            Some(hour * 4)
        );
        assert_eq!(
            rotation_interval(on, Some(&rules(Some(30), Some("rate(1 day)")))),
            Some(hour * 24),
            "the schedule expression wins over the day count"
        );
        assert_eq!(
            rotation_interval(on, Some(&rules(None, Some("cron(0 16 1,15 * ? *)")))),
            None
        );
        assert_eq!(
            rotation_interval(Some(false), Some(&rules(Some(30), None))),
            None
        );
        assert_eq!(rotation_interval(on, None), None);
    }

    #[test]
    fn malformed_rates_are_not_periods() {
        for bad in [
            "rate()",
            "rate(0 days)",
            "rate(-1 days)",
            "rate(3 weeks)",
            "rate(3days)",
            "rate(3 days",
        ] {
            assert_eq!(rate(bad), None, "{bad}");
        }
    }

    #[test]
    fn stages_and_ids_resolve_to_the_version_that_has_them() {
        let description = Description {
            versions: HashMap::from([
                ("v1".to_owned(), vec!["AWSPREVIOUS".to_owned()]),
                ("v2".to_owned(), vec!["AWSCURRENT".to_owned()]),
            ]),
            rotation: None,
            deleted: false,
        };
        assert_eq!(description.version_id(&Version::current()), Some("v2"));
        assert_eq!(
            description.version_id(&Version::stage("AWSPREVIOUS")),
            Some("v1")
        );
        assert_eq!(description.version_id(&Version::stage("AWSPENDING")), None);
        assert_eq!(description.version_id(&Version::id("v1")), Some("v1"));
        assert_eq!(description.version_id(&Version::id("v9")), None);
    }
}
