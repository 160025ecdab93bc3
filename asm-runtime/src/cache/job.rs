//! A fetch round's units: a [`Job`] (one entry, and where its waiters listen) and the
//! [`Round`] its jobs share.

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::entry::Entry;
use crate::{Error, Secret};

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
    pub(super) deadline: Instant,
    /// The wait before they are.
    pub(super) retry_wait: Duration,
    pub(super) retries: Mutex<Vec<Job>>,
    /// Jobs this attempt answered with a value (the rest failed, wait for a retry, or were
    /// dropped at the round's deadline).
    pub(super) succeeded: AtomicUsize,
}

impl Round {
    /// Keeps `job` for another attempt after `retry_wait`, if that starts before the deadline;
    /// gives it back to be answered otherwise.
    pub(crate) fn retry(&self, job: Job) -> Retry {
        if Instant::now() + self.retry_wait >= self.deadline {
            return Retry::AnswerNow(job);
        }
        self.retries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(job);
        Retry::Queued
    }

    /// The wait before the next attempt.
    pub(crate) fn retry_wait(&self) -> Duration {
        self.retry_wait
    }
}

/// What becomes of a job whose first load failed.
pub(crate) enum Retry {
    /// Kept for the round's next attempt: its waiters wait on.
    Queued,
    /// Not tried again (a persistent failure, or no time left before the deadline): answer its
    /// waiters now.
    AnswerNow(Job),
}
