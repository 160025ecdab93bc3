//! Completion: a fetch's (or version check's) outcome recorded on its entry, its next refresh
//! scheduled, a failed first load retried or remembered, aliases filed, live handles told, and
//! its waiters answered.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use tokio::time::Instant;

use super::job::{Job, Retry, Round};
use super::{Core, Entry, Loaded, backoff, telemetry};
use crate::{Error, Secret};

impl Core {
    /// Records a fetch's (or a version check's) outcome on its entry (with the next refresh's
    /// instant), files the aliases of a value fetched, tells live handles of a rotation, and
    /// answers the job's waiters; a first load that failed transiently goes back to `round` to
    /// be tried again while its deadline allows.
    pub(super) fn complete(&self, job: Job, result: Result<Arc<Secret>, Error>, round: &Round) {
        let entry = &job.entry;
        let now = Instant::now();
        let previous = entry.state.load_full();
        let loaded = match (&result, previous) {
            (Ok(secret), previous) => {
                let rotated = is_rotation(previous.as_deref(), secret);
                self.adopt(entry, previous.is_some(), rotated, secret);
                let loaded = Arc::new(self.fetched(entry, secret, round, previous.is_none(), now));
                entry.state.store(Some(Arc::clone(&loaded)));
                let rotated_elsewhere = self.identify(entry, secret, &loaded);
                if rotated || rotated_elsewhere {
                    self.changes.send_modify(|n| *n += 1);
                }
                round.succeeded.fetch_add(1, Relaxed);
                return job.answer(result);
            }
            (Err(err), None) => {
                self.counters.failure(err.is_transient());
                telemetry::failure(&entry.id, err);
                if let Retry::AnswerNow(job) = self.first_load_failed(job, err, round, now) {
                    job.entry.set_load_failure(Some(err));
                    job.answer(result);
                }
                return;
            }
            (Err(err), Some(previous)) => {
                self.counters.failure(err.is_transient());
                telemetry::failure(&entry.id, err);
                self.refresh_failed(entry, &previous, err, now)
            }
        };
        entry.state.store(Some(Arc::new(loaded)));
        job.answer(result);
    }

    /// The state of an entry whose value was just fetched or confirmed: fresh for its soft TTL
    /// (jittered by the round's draw).
    fn fetched(
        &self,
        entry: &Entry,
        secret: &Arc<Secret>,
        round: &Round,
        first: bool,
        now: Instant,
    ) -> Loaded {
        entry.failure.forget();
        entry.set_load_failure(None);
        // A declared TTL is at most `max_staleness` (plans refuse others); `min` keeps that
        // true of any entry.
        let ttl = entry.ttl().min(self.settings.max_staleness);
        let soft_ttl = backoff::soft_ttl(ttl, round.fraction, first);
        Loaded::new(
            Arc::clone(secret),
            now,
            now + soft_ttl,
            self.settings.max_staleness,
            0,
            None,
        )
    }

    /// The state of an entry whose refresh failed: the value held, still confirmed when it was,
    /// its next refresh after a backoff, and the failure kept for readers past `max_staleness`.
    fn refresh_failed(
        &self,
        entry: &Entry,
        previous: &Loaded,
        err: &Error,
        now: Instant,
    ) -> Loaded {
        let failures = previous.failures.saturating_add(1);
        let wait = backoff::backoff(failures, self.settings.max_backoff);
        report_refresh_failure(entry, err, failures, wait, now - previous.confirmed);
        Loaded::new(
            Arc::clone(&previous.secret),
            previous.confirmed,
            now + wait,
            self.settings.max_staleness,
            failures,
            Some(err.clone()),
        )
    }

    /// A first load failed: a transient failure is tried again while the round allows, a
    /// persistent one is remembered (reads meanwhile get it without a call).
    pub(super) fn first_load_failed(
        &self,
        job: Job,
        err: &Error,
        round: &Round,
        now: Instant,
    ) -> Retry {
        let entry = Arc::clone(&job.entry);
        let secret_id = &*entry.id;
        if err.is_transient() {
            let retry_in_ms = u64::try_from(round.retry_wait().as_millis()).unwrap_or(u64::MAX);
            let retry = round.retry(job);
            match retry {
                Retry::Queued => {
                    tracing::debug!(secret_id, error = %err, retry_in_ms, "first load failed; retrying");
                }
                Retry::AnswerNow(_) => tracing::warn!(secret_id, error = %err, "first load failed"),
            }
            return retry;
        }
        let cap = self.settings.max_failure_memory;
        let wait = entry.failure.remember(err.clone(), now, |count| {
            backoff::failure_memory(count, cap)
        });
        tracing::error!(
            secret_id,
            error = %err,
            remembered_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            "first load failed; reads get this error without a call until it is tried again"
        );
        Retry::AnswerNow(job)
    }

    /// Counts and logs a value fetched or confirmed.
    pub(super) fn adopt(&self, entry: &Entry, had_value: bool, rotated: bool, secret: &Secret) {
        if rotated {
            self.counters.rotation();
            telemetry::rotation(&entry.id);
            tracing::info!(
                secret_id = &*entry.id,
                version_id = secret.version_id(),
                "new version adopted"
            );
        } else {
            tracing::debug!(
                secret_id = &*entry.id,
                version_id = secret.version_id(),
                outcome = if had_value { "confirmed" } else { "fetched" }
            );
        }
    }
}

/// Whether `secret` is a new version of a value already held (a rotation).
fn is_rotation(previous: Option<&Loaded>, secret: &Secret) -> bool {
    previous.is_some_and(|p| p.secret.version_id() != secret.version_id())
}

/// Logs a failed refresh: a warning when retrying may fix it, an error when someone must act
/// (access denied, not found, decryption, deletion).
fn report_refresh_failure(
    entry: &Entry,
    err: &Error,
    failures: u32,
    wait: Duration,
    age: Duration,
) {
    let retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
    let age_s = age.as_secs();
    if err.is_transient() {
        tracing::warn!(
            secret_id = &*entry.id,
            failures,
            retry_in_ms,
            age_s,
            error = %err,
            "refresh failed; serving the last good value"
        );
    } else {
        tracing::error!(
            secret_id = &*entry.id,
            failures,
            retry_in_ms,
            age_s,
            error = %err,
            "refresh failed and will not recover by itself; serving the last good value until max_staleness"
        );
    }
}
