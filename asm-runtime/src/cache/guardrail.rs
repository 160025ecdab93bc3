//! The rotation guardrail: a TTL at or above a secret's rotation interval is reported at load.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use futures_util::future::join_all;
use tokio::time::Instant;

use super::{Core, Entry};
use crate::Error;
use crate::error::Operation;

/// What a load does when a secret's cache TTL is not below its rotation interval (read from
/// `DescribeSecret`'s `RotationRules`).
///
/// With such a TTL a rotated value can go unnoticed for a whole rotation period, long enough for
/// the previous version to be retired while the process still uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RotationGuardrail {
    /// No check (and no `DescribeSecret` call at load).
    Off,
    /// Log a warning and load anyway (the default). Where `DescribeSecret` is denied, the check
    /// is skipped with a warning.
    #[default]
    Warn,
    /// Fail the load with [`Error::TtlNotBelowRotation`]; where `DescribeSecret` is denied, fail
    /// it with [`Error::AccessDenied`], as the interval cannot be checked.
    Strict,
}

impl RotationGuardrail {
    /// Whether a load asks `DescribeSecret` for the rotation interval.
    pub(crate) fn is_on(self) -> bool {
        self != Self::Off
    }

    /// The guardrail for a check made after the load: it can no longer fail it, so `Strict`
    /// warns.
    pub(crate) fn or_warn(self) -> Self {
        match self {
            Self::Strict => Self::Warn,
            other => other,
        }
    }

    /// Applies the guardrail to one secret whose rotation interval is `rotation` (`None`: it
    /// does not rotate on a fixed period). `warned(ttl, rotation)` says whether this very
    /// finding was logged already: `Warn` logs a finding once, not at every load.
    pub(crate) fn check(
        self,
        secret_id: &str,
        ttl: Duration,
        rotation: Option<Duration>,
        warned: impl FnOnce(Duration, Duration) -> bool,
    ) -> Result<(), Error> {
        let Some(rotation) = rotation.filter(|r| ttl >= *r) else {
            return Ok(());
        };
        let err = || Error::TtlNotBelowRotation {
            secret_id: secret_id.to_owned(),
            ttl,
            rotation,
        };
        match self {
            Self::Off => Ok(()),
            Self::Warn => {
                if !warned(ttl, rotation) {
                    tracing::warn!(secret_id, error = %err(), "rotation guardrail");
                }
                Ok(())
            }
            Self::Strict => Err(err()),
        }
    }
}

/// Which interval a guardrail check compares the TTL with: each kind remembers its own last
/// logged finding, so a load that checks both logs neither twice.
#[derive(Clone, Copy)]
pub(crate) enum Interval {
    /// The interval `DescribeSecret` reported.
    Learnt = 0,
    /// The interval a struct declared (`#[aws_secrets(rotation = "…")]`).
    Declared = 1,
}

impl Entry {
    /// Applies `guardrail` to this entry's TTL in force against `rotation`; a `Warn` finding
    /// is logged once per (TTL, interval) pair and kind of interval, however many loads meet it.
    pub(crate) fn guard(
        &self,
        guardrail: RotationGuardrail,
        rotation: Option<Duration>,
        kind: Interval,
    ) -> Result<(), Error> {
        let slot = &self.guard_warned[kind as usize];
        guardrail.check(&self.id, self.ttl(), rotation, |ttl, rotation| {
            let secs = |d: Duration| d.as_secs().min(u64::from(u32::MAX));
            let finding = (secs(ttl) << 32) | secs(rotation);
            // A plain load first: a warm load meets the same finding every time, and must not
            // write a shared cache line for it.
            slot.load(Relaxed) == finding || slot.swap(finding, Relaxed) == finding
        })
    }
}

impl Core {
    /// Applies the guardrail to `entries`, first asking `DescribeSecret` (concurrently, once
    /// per entry however many loads ask) for the rotation intervals not yet known.
    pub(crate) async fn guard_rotation(&self, entries: &[Arc<Entry>]) -> Result<(), Error> {
        let guardrail = self.settings.guardrail;
        if !guardrail.is_on() {
            return Ok(());
        }
        let intervals = join_all(entries.iter().map(|e| self.rotation_of(e, guardrail))).await;
        entries
            .iter()
            .zip(intervals)
            .try_for_each(|(entry, rotation)| entry.guard(guardrail, rotation?, Interval::Learnt))
    }

    /// Applies the guardrail to the rotation interval each request declares
    /// (`#[aws_secrets(rotation = "…")]`), against the TTL actually in force for its entry:
    /// the cache's when the struct declares no `ttl`, or a shorter one another struct declared.
    pub(crate) fn guard_declared_rotation(
        &self,
        entries: &[Arc<Entry>],
        requests: &[crate::plan::Request],
    ) -> Result<(), Error> {
        let guardrail = self.settings.guardrail;
        entries
            .iter()
            .zip(requests)
            .filter(|(_, request)| request.rotation.is_some())
            .try_for_each(|(entry, request)| {
                entry.guard(guardrail, request.rotation, Interval::Declared)
            })
    }

    /// `entry`'s rotation interval, asked of `DescribeSecret` once per entry however many
    /// loads ask at once. A failed check is remembered with the first-load backoff (1 s doubling
    /// to `max_failure_memory`), so it costs at most one call per secret per period; meanwhile
    /// the check is skipped with a warning, except that `Strict` fails loads on a persistent
    /// failure (a denial: the interval cannot be checked). A transient failure never fails a
    /// load: the check is made again later.
    async fn rotation_of(
        &self,
        entry: &Entry,
        guardrail: RotationGuardrail,
    ) -> Result<Option<Duration>, Error> {
        if let Some(rotation) = entry.rotation.get() {
            return Ok(*rotation);
        }
        let denied = || Error::AccessDenied {
            secret_id: entry.id.to_string(),
            action: Operation::DescribeSecret.iam_action(),
        };
        if guardrail != RotationGuardrail::Strict && !entry.describe_allowed(Instant::now()) {
            // Denied for version checks too: warned about then, and no call until retried.
            return Ok(None);
        }
        let learnt = entry
            .rotation
            .get_or_try_init(|| async {
                if let Some(err) = entry.guard_failure.active(Instant::now()) {
                    return Err((err, false));
                }
                let err = match self.describe(&entry.id, super::call::Patience::None).await {
                    // A source without `DescribeSecret` has no rotation rules to check.
                    None => return Ok(None),
                    Some(Ok(description)) => return Ok(description.rotation),
                    Some(Err(err)) => err,
                };
                if matches!(err, Error::AccessDenied { .. }) {
                    self.note_describe_denied(entry);
                }
                // Timed from the answer: a check that took the whole call deadline is still
                // remembered for its full window.
                let cap = self.settings.max_failure_memory;
                entry
                    .guard_failure
                    .remember(err.clone(), Instant::now(), |count| {
                        super::backoff::failure_memory(count, cap)
                    });
                Err((err, true))
            })
            .await;
        let (err, fresh) = match learnt {
            Ok(rotation) => return Ok(*rotation),
            Err(failure) => failure,
        };
        if guardrail == RotationGuardrail::Strict && !err.is_transient() {
            return Err(if matches!(err, Error::AccessDenied { .. }) {
                denied()
            } else {
                err
            });
        }
        if fresh && !matches!(err, Error::AccessDenied { .. }) {
            tracing::warn!(
                secret_id = &*entry.id,
                error = %err,
                "rotation guardrail not checked now; checked again at a later load or refresh"
            );
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3_600);

    fn never(_: Duration, _: Duration) -> bool {
        false
    }

    #[test]
    fn only_a_ttl_at_or_above_the_rotation_interval_is_reported() {
        let strict = RotationGuardrail::Strict;
        assert!(strict.check("db", HOUR, Some(HOUR * 2), never).is_ok());
        assert!(
            strict.check("db", HOUR, None, never).is_ok(),
            "no fixed period"
        );
        let err = strict
            .check("db", HOUR * 2, Some(HOUR * 2), never)
            .expect_err("equal is too long");
        assert!(matches!(err, Error::TtlNotBelowRotation { .. }));
        assert!(err.to_string().contains("7200s"), "{err}");
        assert!(
            RotationGuardrail::Warn
                .check("db", HOUR * 3, Some(HOUR), never)
                .is_ok()
        );
        assert!(
            RotationGuardrail::Off
                .check("db", HOUR * 3, Some(HOUR), never)
                .is_ok()
        );
    }
}
