//! Fetch rounds: version checks, then batches, then single fetches, each call through the
//! source under its deadline; first loads that fail transiently tried again.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::future::join_all;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::call::{Patience, resend};
use super::describe::check_versions;
use super::entry::Entry;
use super::{Shared, backoff};
use crate::error::Operation;
use crate::{Error, Secret};

/// Secrets Manager's limit on ids in one `BatchGetSecretValue`.
pub(crate) const MAX_BATCH: usize = 20;
/// The calls a round makes one after another at most (a version check, a batch, a fetch), each
/// bounded by the call deadline: the round's own deadline is this many call deadlines.
const ROUND_CALLS: u32 = 3;

/// One entry to fetch, and where its waiters listen.
pub(crate) struct Job {
    pub(crate) entry: Arc<Entry>,
    reply: Option<oneshot::Sender<Result<Arc<Secret>, Error>>>,
}

impl Job {
    pub(crate) fn new(
        entry: Arc<Entry>,
        reply: oneshot::Sender<Result<Arc<Secret>, Error>>,
    ) -> Self {
        Self {
            entry,
            reply: Some(reply),
        }
    }

    /// Ends the entry's flight and hands its waiters `result`.
    pub(crate) fn answer(mut self, result: Result<Arc<Secret>, Error>) {
        *self.entry.flight_slot() = None;
        if let Some(reply) = self.reply.take() {
            // A reader that stopped waiting dropped its receiver; nothing to do then.
            let _ = reply.send(result);
        }
    }
}

impl Drop for Job {
    /// A job dropped unanswered (its round passed its deadline, or its task was cancelled by a
    /// runtime shutting down) still ends its flight, so the next read starts a new one, and
    /// tells its waiters so.
    fn drop(&mut self) {
        if let Some(reply) = self.reply.take() {
            *self.entry.flight_slot() = None;
            let _ = reply.send(Err(Error::timed_out(&self.entry.id)));
        }
    }
}

/// What the jobs of one round share: the jitter draw, and first loads to try again.
pub(crate) struct Round {
    /// The round's jitter draw: entries fetched together stay due together.
    pub(crate) fraction: f64,
    /// First loads that failed transiently are tried again only before this instant.
    deadline: Instant,
    /// The wait before they are.
    retry_wait: Duration,
    retries: Mutex<Vec<Job>>,
}

impl Round {
    /// Keeps `job` for another attempt after `retry_wait`, if that starts before the deadline;
    /// gives it back otherwise.
    pub(crate) fn retry(&self, job: Job) -> Option<Job> {
        if Instant::now() + self.retry_wait >= self.deadline {
            return Some(job);
        }
        self.retries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(job);
        None
    }

    /// The wait before the next attempt.
    pub(crate) fn retry_wait(&self) -> Duration {
        self.retry_wait
    }
}

/// Refreshes or fetches every job's entry and completes each: values already held are first
/// checked with `DescribeSecret` (when on), the rest fetched, current versions batched where
/// allowed. First loads that fail transiently are tried again, with jittered waits, until the
/// call deadline. Runs in a spawned task, so a reader that stops waiting strands nobody.
pub(crate) async fn run(shared: Arc<Shared>, mut jobs: Vec<Job>) {
    let fraction = backoff::jitter_fraction(shared.settings.jitter);
    let started = Instant::now();
    let deadline = started + shared.settings.deadlines.call;
    let mut limit = shared.settings.deadlines.call * ROUND_CALLS;
    if jobs.iter().any(|job| job.entry.state.load().is_none()) {
        // A throttled first load waits its turn for up to `startup_patience`.
        limit += shared.settings.startup_patience;
    }
    for attempt in 1.. {
        let round = Round {
            fraction,
            deadline,
            retry_wait: backoff::first_load_retry(attempt),
            retries: Mutex::default(),
        };
        if tokio::time::timeout(limit, one_round(&shared, jobs, &round))
            .await
            .is_err()
        {
            tracing::warn!(
                limit_ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
                "a fetch round passed its deadline; its readers were answered with a timeout"
            );
        }
        jobs = round
            .retries
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        if jobs.is_empty() {
            return;
        }
        tokio::time::sleep(round.retry_wait).await;
        // A retry ends by the deadline: its readers were promised an answer by then.
        limit = deadline.saturating_duration_since(Instant::now());
    }
}

/// One attempt at every job: version checks, then batches, then single fetches.
async fn one_round(shared: &Arc<Shared>, jobs: Vec<Job>, round: &Round) {
    let jobs = if shared.settings.version_checks {
        check_versions(shared, jobs, round).await
    } else {
        jobs
    };
    let (batchable, mut single): (Vec<Job>, Vec<Job>) = jobs
        .into_iter()
        .partition(|job| job.entry.version.is_current());
    let batching = shared.settings.batch || shared.source.batch_is_one_read();
    if batchable.len() > 1 && batching && shared.batch_allowed(Instant::now()) {
        // Chunks go out together: 40 secrets take one round trip, not two.
        let chunks = into_chunks(batchable, MAX_BATCH);
        let unanswered = join_all(chunks.into_iter().map(|c| batch(shared, c, round))).await;
        single.extend(unanswered.into_iter().flatten());
    } else {
        single.extend(batchable);
    }
    join_all(single.into_iter().map(|job| async {
        let result = get_one(shared, &job.entry).await.map(Arc::new);
        shared.complete(job, result, round);
    }))
    .await;
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

async fn get_one(shared: &Shared, entry: &Entry) -> Result<Secret, Error> {
    let forced = entry.take_forced();
    let patience = if entry.state.load().is_none() {
        Patience::FirstLoad
    } else {
        Patience::None
    };
    let asked = || shared.source.get(&entry.id, &entry.version, forced);
    shared
        .call(Operation::GetSecretValue, &entry.id, patience, asked)
        .await
        .map_err(|err| err.for_version(&entry.version))
}

/// Completes the jobs a batch call answered; returns the ones to fetch one by one instead
/// (all of them where the source has no batch call or the batch is denied).
async fn batch(shared: &Arc<Shared>, jobs: Vec<Job>, round: &Round) -> Vec<Job> {
    let ids: Vec<Arc<str>> = jobs.iter().map(|j| Arc::clone(&j.entry.id)).collect();
    let Some(asked) = shared.source.get_batch(&ids) else {
        return jobs;
    };
    let asked = resend(asked, || shared.source.get_batch(&ids), "(batch)");
    let answers = match shared
        .call(
            Operation::BatchGetSecretValue,
            "(batch)",
            Patience::None,
            asked,
        )
        .await
    {
        Ok(answers) => answers,
        Err(Error::AccessDenied { .. }) => {
            shared.deny_batch(Instant::now());
            return jobs;
        }
        Err(err) => {
            // The batch's quota (100 calls/s per account) is a hundredth of GetSecretValue's: a
            // throttled or failing batch falls back at once to one call per secret. A
            // persistent batch-level error (one malformed id) is not every secret's failure:
            // each gets its own answer from its own call.
            tracing::debug!(error = %err, "BatchGetSecretValue failed; fetching one secret per call");
            return jobs;
        }
    };
    let mut slots: Vec<Option<Job>> = jobs.into_iter().map(Some).collect();
    for (at, result) in answers {
        if let Some(job) = slots.get_mut(at).and_then(Option::take) {
            shared.complete(job, result.map(Arc::new), round);
        }
    }
    // Whatever the batch did not mention is fetched one by one.
    slots.into_iter().flatten().collect()
}

impl Shared {
    /// Whether `BatchGetSecretValue` may be called (not denied, or denied long enough ago to
    /// try again).
    fn batch_allowed(&self, now: Instant) -> bool {
        self.batch_denied_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none_or(|until| now >= until)
    }

    /// Turns batching off for `denial_retry`, warning once per period.
    fn deny_batch(&self, now: Instant) {
        let retry = self.settings.denial_retry;
        let mut until = self
            .batch_denied_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if until.is_none_or(|at| now >= at) {
            tracing::warn!(
                retry_in_s = retry.as_secs(),
                "BatchGetSecretValue denied; fetching one GetSecretValue per secret, and trying \
                 the batch again later (grant secretsmanager:BatchGetSecretValue to save calls)"
            );
        }
        *until = Some(now + retry);
    }
}
