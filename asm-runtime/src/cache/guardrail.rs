//! The rotation guardrail: a TTL at or above a secret's rotation interval is reported at load.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use futures_util::future::join_all;

use super::describe::describe;
use super::{Entry, Shared};
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

    /// Applies the guardrail to one secret whose rotation interval is `rotation` (`None`: it
    /// does not rotate on a fixed period).
    pub(crate) fn check(
        self,
        secret_id: &str,
        ttl: Duration,
        rotation: Option<Duration>,
    ) -> Result<(), Error> {
        let Some(rotation) = rotation.filter(|r| ttl >= *r) else {
            return Ok(());
        };
        let err = Error::TtlNotBelowRotation {
            secret_id: secret_id.to_owned(),
            ttl,
            rotation,
        };
        match self {
            Self::Off => Ok(()),
            Self::Warn => {
                tracing::warn!(secret_id, error = %err, "rotation guardrail");
                Ok(())
            }
            Self::Strict => Err(err),
        }
    }
}

impl Shared {
    /// Applies the guardrail to `entries`, first asking `DescribeSecret` (concurrently, once
    /// per entry) for the rotation intervals not yet known.
    pub(crate) async fn guard_rotation(&self, entries: &[Arc<Entry>]) -> Result<(), Error> {
        let guardrail = self.settings.guardrail;
        if !guardrail.is_on() {
            return Ok(());
        }
        let unknown = entries.iter().filter(|e| e.rotation().is_none());
        join_all(unknown.map(|e| self.learn_rotation(e, guardrail)))
            .await
            .into_iter()
            .collect::<Result<(), Error>>()?;
        entries.iter().try_for_each(|entry| {
            guardrail.check(&entry.id, entry.ttl(), entry.rotation().flatten())
        })
    }

    /// Asks `DescribeSecret` for `entry`'s rotation interval. A failure fails the load only in
    /// strict mode; otherwise the check is skipped with a warning.
    async fn learn_rotation(
        &self,
        entry: &Entry,
        guardrail: RotationGuardrail,
    ) -> Result<(), Error> {
        let described = if self.describe_denied.load(Relaxed) {
            Err(Error::AccessDenied {
                secret_id: entry.id.to_string(),
                action: Operation::DescribeSecret.iam_action(),
            })
        } else {
            describe(self, &entry.id).await
        };
        match described {
            Ok(description) => {
                entry.set_rotation(description.rotation);
                Ok(())
            }
            Err(err) if guardrail == RotationGuardrail::Strict => Err(err),
            Err(err) => {
                if matches!(err, Error::AccessDenied { .. }) {
                    self.note_describe_denied();
                } else {
                    tracing::warn!(secret_id = &*entry.id, error = %err, "rotation guardrail skipped");
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3_600);

    #[test]
    fn only_a_ttl_at_or_above_the_rotation_interval_is_reported() {
        let strict = RotationGuardrail::Strict;
        assert!(strict.check("db", HOUR, Some(HOUR * 2)).is_ok());
        assert!(strict.check("db", HOUR, None).is_ok(), "no fixed period");
        let err = strict
            .check("db", HOUR * 2, Some(HOUR * 2))
            .expect_err("equal is too long");
        assert!(matches!(err, Error::TtlNotBelowRotation { .. }));
        assert!(err.to_string().contains("7200s"), "{err}");
        assert!(
            RotationGuardrail::Warn
                .check("db", HOUR * 3, Some(HOUR))
                .is_ok()
        );
        assert!(
            RotationGuardrail::Off
                .check("db", HOUR * 3, Some(HOUR))
                .is_ok()
        );
    }
}
