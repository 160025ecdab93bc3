//! Talking to the service: one `GetSecretValue`, or `BatchGetSecretValue` for many current
//! versions at once, and turning the SDK's output into a [`Secret`] without keeping copies.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use aws_sdk_secretsmanager::types::SecretValueEntry;
use aws_smithy_types::Blob;
use futures_util::future::join_all;
use secrecy::{SecretSlice, SecretString};
use tokio::sync::oneshot;
use tokio::time::Instant;
use zeroize::Zeroize;

use super::describe::check_versions;
use super::entry::Entry;
use super::{Shared, backoff};
use crate::error::{Operation, from_code, from_sdk};
use crate::secret::SecretValue;
use crate::{Error, Secret, TransportKind, Version};

/// Secrets Manager's limit on a secret's size.
pub(crate) const MAX_SECRET_BYTES: usize = 64 * 1024;
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
            let _ = reply.send(Err(Error::Transport {
                secret_id: self.entry.id.to_string(),
                kind: TransportKind::Timeout,
                detail: Some(
                    "the fetch ended without an answer: its round passed its deadline, or the \
                     runtime is shutting down"
                        .into(),
                ),
            }));
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
    let deadline = started + shared.settings.call_timeout;
    let mut limit = shared.settings.call_timeout * ROUND_CALLS;
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
    if batchable.len() > 1 && shared.batch_allowed(Instant::now()) {
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
    let request = shared.client.get_secret_value().secret_id(&*entry.id);
    let request = match &entry.version {
        Version::Stage(stage) => request.version_stage(&**stage),
        Version::Id(id) => request.version_id(&**id),
    };
    let send = async {
        request
            .customize()
            .config_override(shared.call_config())
            .send()
            .await
            .map_err(|e| from_sdk(&e, &entry.id, Operation::GetSecretValue))
    };
    let out = shared
        .call(Operation::GetSecretValue, &entry.id, send)
        .await?;
    secret_from_parts(
        &entry.id,
        Parts {
            arn: out.arn,
            name: out.name,
            version_id: out.version_id,
            version_stages: out.version_stages,
            string: out.secret_string,
            binary: out.secret_binary,
        },
    )
}

/// Completes the jobs the batch answered; returns the ones to fetch one by one instead.
async fn batch(shared: &Arc<Shared>, mut jobs: Vec<Job>, round: &Round) -> Vec<Job> {
    let ids: Vec<String> = jobs.iter().map(|j| j.entry.id.to_string()).collect();
    let mut next_token: Option<String> = None;
    // Each page answers at least one id, or the rest are fetched one by one.
    for _ in 0..MAX_BATCH {
        let send = async {
            shared
                .client
                .batch_get_secret_value()
                .set_secret_id_list(Some(ids.clone()))
                .set_next_token(next_token.take())
                .customize()
                .config_override(shared.call_config())
                .send()
                .await
                .map_err(|e| from_sdk(&e, "(batch)", Operation::BatchGetSecretValue))
        };
        let mut out = match shared
            .call(Operation::BatchGetSecretValue, "(batch)", send)
            .await
        {
            Ok(out) => out,
            Err(Error::AccessDenied { .. }) => {
                shared.deny_batch(Instant::now());
                return jobs;
            }
            Err(err) => {
                for job in jobs {
                    let err = with_secret_id(&err, &job.entry.id);
                    shared.complete(job, Err(err), round);
                }
                return Vec::new();
            }
        };
        let before = jobs.len();
        for value in out.secret_values.take().unwrap_or_default() {
            if let Some(at) = jobs.iter().position(|j| answers(&j.entry.id, &value)) {
                let job = jobs.swap_remove(at);
                let result = secret_from_parts(&job.entry.id, Parts::from(value)).map(Arc::new);
                shared.complete(job, result, round);
            }
        }
        for error in out.errors.take().unwrap_or_default() {
            let requested = error.secret_id.as_deref().unwrap_or_default();
            if let Some(at) = jobs.iter().position(|j| &*j.entry.id == requested) {
                let job = jobs.swap_remove(at);
                let code = error.error_code.as_deref().unwrap_or("UnknownError");
                let err = from_code(code, requested, Operation::GetSecretValue);
                shared.complete(job, Err(err), round);
            }
        }
        next_token = out.next_token.take();
        if next_token.is_none() || jobs.is_empty() || jobs.len() == before {
            break;
        }
    }
    // Whatever the batch did not mention is fetched one by one.
    jobs
}

/// `err`, a batch call's failure, as the failure of the secret `id`.
fn with_secret_id(err: &Error, id: &str) -> Error {
    let mut err = err.clone();
    err.set_secret_id(id);
    err
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

/// Whether a batch result is the secret asked for as `id` (a name, a full ARN, or an ARN
/// without the six-character suffix).
fn answers(id: &str, value: &SecretValueEntry) -> bool {
    let arn = value.arn.as_deref().unwrap_or_default();
    value.name.as_deref() == Some(id)
        || arn == id
        || arn
            .len()
            .checked_sub(7)
            .is_some_and(|cut| arn.is_char_boundary(cut) && &arn[..cut] == id)
}

/// The fields of a `GetSecretValue` answer or a batch entry, owned.
struct Parts {
    arn: Option<String>,
    name: Option<String>,
    version_id: Option<String>,
    version_stages: Option<Vec<String>>,
    string: Option<String>,
    binary: Option<Blob>,
}

impl From<SecretValueEntry> for Parts {
    fn from(v: SecretValueEntry) -> Self {
        Self {
            arn: v.arn,
            name: v.name,
            version_id: v.version_id,
            version_stages: v.version_stages,
            string: v.secret_string,
            binary: v.secret_binary,
        }
    }
}

/// Moves the value into `secrecy` wrappers (copied at exact size, the SDK's buffer zeroized),
/// after checking the 64 KiB limit.
fn secret_from_parts(id: &str, parts: Parts) -> Result<Secret, Error> {
    let value = match (parts.string, parts.binary) {
        (Some(mut text), binary) => {
            if let Some(blob) = binary {
                zeroize_blob(blob);
            }
            let checked = check_size(id, text.len())
                .map(|()| SecretValue::String(SecretString::from(text.as_str())));
            text.zeroize();
            checked?
        }
        (None, Some(blob)) => {
            let mut bytes = blob.into_inner();
            let checked = check_size(id, bytes.len()).map(|()| SecretSlice::from(bytes.to_vec()));
            bytes.zeroize();
            SecretValue::Binary(checked?)
        }
        (None, None) => {
            return Err(Error::Transport {
                secret_id: id.to_owned(),
                kind: TransportKind::MalformedResponse,
                detail: Some("the response holds neither SecretString nor SecretBinary".into()),
            });
        }
    };
    Ok(Secret {
        name: parts.name.unwrap_or_else(|| id.to_owned()).into(),
        arn: parts.arn.unwrap_or_default().into(),
        version_id: parts.version_id.unwrap_or_default().into(),
        version_stages: parts
            .version_stages
            .unwrap_or_default()
            .into_iter()
            .map(String::into_boxed_str)
            .collect(),
        fetched_at: SystemTime::now(),
        value,
    })
}

fn check_size(id: &str, bytes: usize) -> Result<(), Error> {
    if bytes > MAX_SECRET_BYTES {
        return Err(Error::TooLarge {
            secret_id: id.to_owned(),
            bytes,
        });
    }
    Ok(())
}

fn zeroize_blob(blob: Blob) {
    blob.into_inner().zeroize();
}
