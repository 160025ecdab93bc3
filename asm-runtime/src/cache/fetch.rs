//! Flights and fetch rounds: one flight per entry (single flight), started together in one
//! spawned round; a round runs version checks, then batches, then single fetches, each call
//! through the source under its deadline; first loads that fail transiently tried again.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, join_all};
use tokio::sync::oneshot;
use tokio::time::Instant;
use tracing::Instrument;

use super::call::{Patience, by_deadline};
use super::describe::check_versions;
use super::entry::{Entry, Flight};
use super::job::{Job, Round};
use super::{Core, backoff, batch, telemetry};
use crate::error::Operation;
use crate::source::Backend;
use crate::{Error, Secret, Version};

/// The calls a round makes one after another at most (a version check, a batch, a fetch), each
/// bounded by the call deadline: the round's own deadline is this many call deadlines.
const ROUND_CALLS: u32 = 3;

/// Refreshes or fetches every job's entry and completes each: values already held are first
/// checked with `DescribeSecret` (when on), the rest fetched, current versions batched where
/// allowed. First loads that fail transiently are tried again, with jittered waits, until the
/// call deadline. Runs in a spawned task, so a reader that stops waiting strands nobody.
pub(crate) async fn run(core: Arc<Core>, mut jobs: Vec<Job>) {
    let fraction = backoff::jitter_fraction(core.settings.jitter);
    let started = Instant::now();
    let deadline = started + core.settings.deadlines.call;
    let mut limit = core.settings.deadlines.call * ROUND_CALLS;
    if jobs.iter().any(|job| job.entry.state.load().is_none()) {
        // A throttled first load waits its turn for up to `startup_patience`.
        limit += core.settings.startup_patience;
    }
    for attempt in 1.. {
        let round = Round {
            fraction,
            deadline,
            retry_wait: backoff::first_load_retry(attempt),
            retries: Mutex::default(),
            succeeded: AtomicUsize::new(0),
        };
        let span = telemetry::round_span(attempt, jobs.iter().map(|job| &*job.entry.id));
        let (secrets, started) = (jobs.len(), Instant::now());
        if tokio::time::timeout(limit, one_round(&core, jobs, &round))
            .instrument(span.clone())
            .await
            .is_err()
        {
            tracing::warn!(
                limit_ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
                "a fetch round passed its deadline; its readers were answered with a timeout"
            );
        }
        let failed = secrets.saturating_sub(round.succeeded.load(Relaxed));
        telemetry::round_done(&span, secrets, failed, started);
        jobs = round
            .retries
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        if jobs.is_empty() {
            return;
        }
        // A retry ends by the deadline: its readers were promised an answer by then. (The
        // round may have run on past the instant its retries were kept for.)
        tokio::time::sleep_until((Instant::now() + round.retry_wait).min(deadline)).await;
        limit = deadline.saturating_duration_since(Instant::now());
        if limit.is_zero() {
            // Dropped unanswered, the jobs answer their readers with a timeout.
            return;
        }
    }
}

/// One attempt at every job: version checks, then batches, then single fetches.
async fn one_round(core: &Arc<Core>, jobs: Vec<Job>, round: &Round) {
    let jobs = if core.settings.version_checks {
        check_versions(core, jobs, round).await
    } else {
        jobs
    };
    // Each single fetch, and the primary's failure when its batch already was the primary's
    // call for it (it goes to the failover regions only).
    let single = batch::fetch(core, jobs, round).await;
    join_all(single.into_iter().map(|(job, primary_failed)| async {
        let fetched = get_one(core, &job.entry, primary_failed);
        let result = if job.entry.state.load().is_none() {
            let (op, id) = (Operation::get(&job.entry.id), &*job.entry.id);
            by_deadline(core, op, id, round.deadline, fetched).await
        } else {
            fetched.await
        };
        core.complete(job, result.map(Arc::new), round);
    }))
    .await;
}

/// Fetches `entry`'s value, failing over as `failover` says; after `primary_failed` (its batch
/// got no answer from the primary), from the failover regions only.
async fn get_one(
    core: &Core,
    entry: &Entry,
    primary_failed: Option<Error>,
) -> Result<Secret, Error> {
    let bypass = entry.take_bypass_source_cache();
    let patience = if entry.state.load().is_none() {
        Patience::FirstLoad
    } else {
        Patience::None
    };
    let (id, version) = (&*entry.id, &entry.version);
    if let Some(refused) = core.source.refuses(id, version) {
        // Refused here, not by the service: no call is made or counted.
        return Err(refused);
    }
    let op = Operation::get(id);
    let ask = asking(id, version, bypass);
    let result = match primary_failed {
        Some(err) => core.ask_replicas(op, id, err, ask).await,
        None => {
            let first = core.source.get(id, version, bypass);
            core.call_with_failover(op, id, patience, first, ask).await
        }
    };
    result.map_err(|err| err.for_version(&entry.version))
}

/// `GetSecretValue` (or `GetParameter`) of (`id`, `version`), for any region's source.
fn asking<'a>(
    id: &'a str,
    version: &'a Version,
    bypass: bool,
) -> impl Fn(&'a dyn Backend) -> Option<BoxFuture<'a, Result<Secret, Error>>> {
    move |source| Some(source.get(id, version, bypass))
}

impl Core {
    pub(super) fn flight(self: &Arc<Self>, entry: &Arc<Entry>) -> Flight {
        let mut flights = self.flights(std::slice::from_ref(entry));
        flights
            .pop()
            .unwrap_or_else(|| unreachable!("one flight per entry asked for"))
    }

    /// The fetch in flight for each entry, starting one task for all that have none.
    pub(super) fn flights(self: &Arc<Self>, entries: &[Arc<Entry>]) -> Vec<Flight> {
        let mut jobs = Vec::new();
        let flights = entries
            .iter()
            .map(|entry| {
                let mut slot = entry.flight_slot();
                if let Some(flight) = &*slot {
                    return flight.clone();
                }
                let (reply, answer) = oneshot::channel();
                let id = Arc::clone(&entry.id);
                let flight = answer
                    .map(move |answer| answer.unwrap_or_else(|_| Err(task_ended(&id))))
                    .boxed()
                    .shared();
                *slot = Some(flight.clone());
                jobs.push(Job::new(Arc::clone(entry), reply));
                flight
            })
            .collect();
        if !jobs.is_empty() {
            tokio::spawn(run(Arc::clone(self), jobs));
        }
        flights
    }
}

fn task_ended(id: &str) -> Error {
    Error::Transport {
        secret_id: id.to_owned(),
        kind: crate::TransportKind::Other,
        detail: Some("the fetch task ended without an answer (runtime shutting down?)".into()),
    }
}
