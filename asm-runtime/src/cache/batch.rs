//! Batches: several values in one call, for the jobs of a round that may share one.
//!
//! - Secrets Manager's `BatchGetSecretValue` (20 secrets a call) has a quota of its own,
//!   100 calls/s against `GetSecretValue`'s 10,000: **off** by default (`batch`). A batch that
//!   fails falls back at once to one `GetSecretValue` per secret.
//! - Parameter Store's `GetParameters` (10 parameters a call) shares `GetParameter`'s quota,
//!   40 calls/s by default: a batch costs one call of it where single reads cost ten, so it is
//!   **on** by default (`batch_parameters`). A batch that fails transiently is not split (ten
//!   calls into a throttled quota): its first loads are tried again as a batch, its refreshes
//!   back off. References to secrets, versions and labels are read one by one.

use std::sync::{Arc, PoisonError};

use futures_util::future::{BoxFuture, join, join_all};
use tokio::time::Instant;

use super::Core;
use super::call::{Patience, by_deadline, resend};
use super::job::{Job, Round};
use crate::Error;
use crate::error::Operation;
use crate::parameter::is_parameter;
use crate::source::BatchResult;

/// Which batch call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// `BatchGetSecretValue`.
    Secrets,
    /// `GetParameters`.
    Parameters,
}

impl Kind {
    fn op(self) -> Operation {
        match self {
            Self::Secrets => Operation::BatchGetSecretValue,
            Self::Parameters => Operation::GetParameters,
        }
    }

    /// The most ids the service takes in one call.
    fn max_ids(self) -> usize {
        match self {
            Self::Secrets => 20,
            Self::Parameters => 10,
        }
    }

    /// What a failure of the whole call is about, in logs and spans.
    fn label(self) -> &'static str {
        match self {
            Self::Secrets => "(batch)",
            Self::Parameters => "(parameters)",
        }
    }

    /// The slot of [`Core`]'s batch denials.
    pub(super) fn index(self) -> usize {
        match self {
            Self::Secrets => 0,
            Self::Parameters => 1,
        }
    }

    /// Whether `job` may ride in a batch of this kind: the current version (a batch asks no
    /// version), and for parameters no reference to a secret (the service answers it under
    /// another name).
    fn takes(self, job: &Job) -> bool {
        let id = &*job.entry.id;
        job.entry.version.is_current()
            && match self {
                Self::Secrets => true,
                Self::Parameters => crate::parameter::parse(id)
                    .and_then(Result::ok)
                    .is_some_and(|p| !p.is_secret_reference()),
            }
    }

    /// `jobs` split into those that may share a batch and those read alone: a parameter's
    /// ARN whose name is also asked by name goes alone (an answer is matched to its ask by
    /// name or ARN, and another account's parameter may be answered under the same name).
    fn apart_from_names(self, jobs: Vec<Job>) -> (Vec<Job>, Vec<Job>) {
        if self != Self::Parameters {
            return (jobs, Vec::new());
        }
        fn path(id: &str) -> Option<&str> {
            Some(crate::parameter::parse(id)?.ok()?.path)
        }
        let by_name: Vec<String> = (jobs.iter())
            .filter(|job| !job.entry.id.starts_with("arn:"))
            .filter_map(|job| path(&job.entry.id).map(str::to_owned))
            .collect();
        jobs.into_iter().partition(|job| {
            !job.entry.id.starts_with("arn:")
                || path(&job.entry.id).is_none_or(|p| !by_name.iter().any(|n| n == p))
        })
    }

    fn ask<'a>(self, core: &'a Core, ids: &'a [Arc<str>]) -> Option<BoxFuture<'a, BatchResult>> {
        match self {
            Self::Secrets => core.source.get_batch(ids),
            Self::Parameters => core.source.get_parameters(ids),
        }
    }
}

/// Fetches in batches the jobs of a round that may share one; returns the rest, to fetch one
/// by one, each with the primary's failure when its batch's failure sends it to the failover
/// regions only.
pub(super) async fn fetch(
    core: &Arc<Core>,
    jobs: Vec<Job>,
    round: &Round,
) -> Vec<(Job, Option<Error>)> {
    let (parameters, secrets) = jobs.into_iter().partition(|j| is_parameter(&j.entry.id));
    let (mut secrets, parameters) = join(
        of_kind(core, Kind::Secrets, secrets, round),
        of_kind(core, Kind::Parameters, parameters, round),
    )
    .await;
    secrets.extend(parameters);
    secrets
}

/// The jobs of one kind: batched, chunks in flight together, when there are two or more and
/// the settings and the source allow.
async fn of_kind(
    core: &Arc<Core>,
    kind: Kind,
    jobs: Vec<Job>,
    round: &Round,
) -> Vec<(Job, Option<Error>)> {
    let (batchable, single): (Vec<Job>, Vec<Job>) = jobs.into_iter().partition(|j| kind.takes(j));
    let (batchable, apart) = kind.apart_from_names(batchable);
    let mut single: Vec<(Job, Option<Error>)> = (single.into_iter().chain(apart))
        .map(|j| (j, None))
        .collect();
    if batchable.len() > 1 && core.batches(kind) && core.batch_allowed(kind, Instant::now()) {
        // First loads and refreshes in chunks of their own: a first load waits its turns for
        // `startup_patience`, a refresh backs off. Chunks go out together: 40 secrets take one
        // round trip, not two.
        let (first, refreshes) = batchable
            .into_iter()
            .partition(|job: &Job| job.entry.state.load().is_none());
        // A chunk of one is read alone: the same one call, and its error its own.
        let (chunks, alone): (Vec<Vec<Job>>, Vec<Vec<Job>>) = (into_chunks(first, kind.max_ids()))
            .into_iter()
            .chain(into_chunks(refreshes, kind.max_ids()))
            .filter(|chunk| !chunk.is_empty())
            .partition(|chunk| chunk.len() > 1);
        single.extend(alone.into_iter().flatten().map(|job| (job, None)));
        let unanswered = join_all(chunks.into_iter().map(|c| one_call(core, kind, c, round)));
        single.extend(unanswered.await.into_iter().flatten());
    } else {
        single.extend(batchable.into_iter().map(|job| (job, None)));
    }
    single
}

fn into_chunks(mut jobs: Vec<Job>, size: usize) -> Vec<Vec<Job>> {
    let mut chunks = Vec::new();
    while jobs.len() > size {
        let rest = jobs.split_off(size);
        chunks.push(jobs);
        jobs = rest;
    }
    chunks.push(jobs);
    chunks
}

/// Completes the jobs one batch call answered; returns the ones to fetch one by one instead
/// (what the answer did not mention; all of them where the source has no batch call or the
/// call is denied).
async fn one_call(
    core: &Arc<Core>,
    kind: Kind,
    jobs: Vec<Job>,
    round: &Round,
) -> Vec<(Job, Option<Error>)> {
    let single = |jobs: Vec<Job>| jobs.into_iter().map(|job| (job, None)).collect();
    let ids: Vec<Arc<str>> = jobs.iter().map(|j| Arc::clone(&j.entry.id)).collect();
    let Some(asked) = kind.ask(core, &ids) else {
        return single(jobs);
    };
    let (op, label) = (kind.op(), kind.label());
    let first_load = jobs.iter().any(|job| job.entry.state.load().is_none());
    // A parameter batch waits its turns while throttled as a single read would.
    let patience = match kind {
        Kind::Parameters if first_load => Patience::FirstLoad,
        _ => Patience::None,
    };
    let called = core.call(
        op,
        label,
        patience,
        resend(asked, || kind.ask(core, &ids), label),
    );
    let answered = if first_load {
        by_deadline(core, op, label, round.deadline, called).await
    } else {
        called.await
    };
    let answers = match answered {
        Ok(answers) => answers,
        // Denied, or (a parameter batch) refused a key: each is read alone, which names the
        // parameter at fault, and the batch is not tried again for `denial_retry`.
        Err(Error::AccessDenied { .. }) => {
            core.deny_batch(kind, &ids, Instant::now());
            return single(jobs);
        }
        Err(Error::Decryption { .. }) if kind == Kind::Parameters => {
            core.deny_batch(kind, &ids, Instant::now());
            return single(jobs);
        }
        Err(err) if kind == Kind::Parameters && err.is_transient() => {
            for job in jobs {
                let err = err.clone().about(&job.entry.id);
                core.complete(job, Err(err), round);
            }
            return Vec::new();
        }
        Err(err) => {
            // A persistent batch-level error (one malformed id) is not every value's
            // failure: each gets its own answer from its own call. Secrets: the batch's quota
            // is a hundredth of `GetSecretValue`'s, so a throttled or failing batch falls
            // back at once to one call per secret; with failover regions, a batch the primary
            // did not answer sends its secrets to the replicas instead.
            tracing::debug!(error = %err, action = op.iam_action(), "a batch failed; fetching one value per call");
            return (jobs.into_iter())
                .map(|job| {
                    let failed = match kind {
                        Kind::Secrets => core.batch_failed_over(&err, &job.entry.id),
                        Kind::Parameters => None,
                    };
                    (job, failed)
                })
                .collect();
        }
    };
    let mut slots: Vec<Option<Job>> = jobs.into_iter().map(Some).collect();
    for (at, result) in answers {
        if let Some(job) = slots.get_mut(at).and_then(Option::take) {
            core.complete(job, result.map(Arc::new), round);
        }
    }
    // Whatever the batch did not mention is fetched one by one.
    single(slots.into_iter().flatten().collect())
}

impl Core {
    /// Whether the settings (or the source) batch `kind`.
    fn batches(&self, kind: Kind) -> bool {
        match kind {
            Kind::Secrets => self.settings.batch || self.source.batch_is_one_read(),
            Kind::Parameters => self.settings.batch_parameters,
        }
    }

    /// Whether `kind`'s call may be made (not denied, or denied long enough ago to try again).
    pub(super) fn batch_allowed(&self, kind: Kind, now: Instant) -> bool {
        self.batch_denied_until[kind.index()]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none_or(|until| now >= until)
    }

    /// Turns `kind`'s batches off for `denial_retry` after a batch of `ids` was refused,
    /// warning once per period.
    pub(super) fn deny_batch(&self, kind: Kind, ids: &[Arc<str>], now: Instant) {
        let retry = self.settings.denial_retry;
        let mut until = self.batch_denied_until[kind.index()]
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if until.is_none_or(|at| now >= at) {
            match kind {
                Kind::Secrets => tracing::warn!(
                    retry_in_s = retry.as_secs(),
                    "BatchGetSecretValue denied; fetching one GetSecretValue per secret, and \
                     trying the batch again later (grant secretsmanager:BatchGetSecretValue to \
                     save calls)"
                ),
                Kind::Parameters => tracing::warn!(
                    retry_in_s = retry.as_secs(),
                    parameters = ?ids,
                    "GetParameters refused (denied on one of these parameters, or one's key \
                     refused); fetching one GetParameter per parameter, which names the one at \
                     fault, and trying the batch again later (grant ssm:GetParameters, and \
                     kms:Decrypt on their keys, on every parameter read together to save \
                     calls: GetParameters shares GetParameter's quota, ten parameters a call)"
                ),
            }
        }
        *until = Some(now + retry);
    }
}
