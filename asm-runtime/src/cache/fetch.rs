//! Talking to the service: one `GetSecretValue`, or `BatchGetSecretValue` for many current
//! versions at once, and turning the SDK's output into a [`Secret`] without keeping copies.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::SystemTime;

use aws_sdk_secretsmanager::Config;
use aws_sdk_secretsmanager::config::retry::RetryConfig;
use aws_sdk_secretsmanager::types::SecretValueEntry;
use aws_smithy_types::Blob;
use futures_util::future::join_all;
use secrecy::{SecretSlice, SecretString};
use tokio::sync::oneshot;
use zeroize::Zeroize;

use super::describe::check_versions;
use super::entry::Entry;
use super::{Shared, backoff};
use crate::error::{Operation, from_code, from_sdk};
use crate::secret::SecretValue;
use crate::{Error, Secret, Version};

/// Secrets Manager's limit on a secret's size.
pub(crate) const MAX_SECRET_BYTES: usize = 64 * 1024;
/// Secrets Manager's limit on ids in one `BatchGetSecretValue`.
pub(crate) const MAX_BATCH: usize = 20;

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
    /// A job dropped unanswered (its task was cancelled, say by a runtime shutting down) still
    /// ends its flight, so the next read starts a new one instead of joining a dead one.
    fn drop(&mut self) {
        if self.reply.is_some() {
            *self.entry.flight_slot() = None;
        }
    }
}

/// Refreshes or fetches every job's entry and completes each: values already held are first
/// checked with `DescribeSecret` (when on), the rest fetched, current versions batched where
/// allowed. Runs in a spawned task, so a reader that stops waiting strands nobody.
pub(crate) async fn run(shared: Arc<Shared>, jobs: Vec<Job>) {
    let fraction = backoff::jitter_fraction(shared.settings.jitter);
    let jobs = if shared.settings.version_checks {
        check_versions(&shared, jobs, fraction).await
    } else {
        jobs
    };
    let (batchable, single): (Vec<Job>, Vec<Job>) = jobs
        .into_iter()
        .partition(|job| job.entry.version.is_current());
    let mut single = single;
    if batchable.len() > 1 && shared.settings.batch && !shared.batch_denied.load(Relaxed) {
        // Chunks go out together: 40 secrets take one round trip, not two.
        let chunks = into_chunks(batchable, MAX_BATCH);
        let unanswered = join_all(chunks.into_iter().map(|c| batch(&shared, c, fraction))).await;
        single.extend(unanswered.into_iter().flatten());
    } else {
        single.extend(batchable);
    }
    join_all(single.into_iter().map(|job| async {
        let result = get_one(&shared, &job.entry).await.map(Arc::new);
        shared.complete(job, result, fraction);
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
    shared.counters.call(Operation::GetSecretValue);
    let out = request
        .send()
        .await
        .map_err(|e| from_sdk(&e, &entry.id, Operation::GetSecretValue))?;
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
async fn batch(shared: &Arc<Shared>, mut jobs: Vec<Job>, fraction: f64) -> Vec<Job> {
    let ids: Vec<String> = jobs.iter().map(|j| j.entry.id.to_string()).collect();
    let mut next_token: Option<String> = None;
    loop {
        shared.counters.call(Operation::BatchGetSecretValue);
        let sent = shared
            .client
            .batch_get_secret_value()
            .set_secret_id_list(Some(ids.clone()))
            .set_next_token(next_token.take())
            .customize()
            // One attempt: the batch's quota (100/s per account) is a hundredth of
            // GetSecretValue's, so a throttled or failing batch falls back at once to one call
            // per secret (retried by the SDK as configured) instead of retrying the batch.
            .config_override(Config::builder().retry_config(RetryConfig::disabled()))
            .send()
            .await;
        let mut out = match sent {
            Ok(out) => out,
            Err(err) => {
                let mapped = from_sdk(&err, "(batch)", Operation::BatchGetSecretValue);
                if matches!(mapped, Error::AccessDenied { .. }) {
                    if !shared.batch_denied.swap(true, Relaxed) {
                        tracing::warn!(
                            "BatchGetSecretValue denied; falling back to one GetSecretValue per secret \
                             (grant secretsmanager:BatchGetSecretValue to save calls)"
                        );
                    }
                    return jobs;
                }
                if mapped.is_transient() {
                    tracing::debug!(
                        error = %mapped,
                        "BatchGetSecretValue failed; fetching its secrets one by one"
                    );
                    return jobs;
                }
                for job in jobs {
                    let err = from_sdk(&err, &job.entry.id, Operation::BatchGetSecretValue);
                    shared.complete(job, Err(err), fraction);
                }
                return Vec::new();
            }
        };
        for value in out.secret_values.take().unwrap_or_default() {
            if let Some(at) = jobs.iter().position(|j| answers(&j.entry.id, &value)) {
                let job = jobs.swap_remove(at);
                let result = secret_from_parts(&job.entry.id, Parts::from(value)).map(Arc::new);
                shared.complete(job, result, fraction);
            }
        }
        for error in out.errors.take().unwrap_or_default() {
            let requested = error.secret_id.as_deref().unwrap_or_default();
            if let Some(at) = jobs.iter().position(|j| &*j.entry.id == requested) {
                let job = jobs.swap_remove(at);
                let code = error.error_code.as_deref().unwrap_or("UnknownError");
                let err = from_code(code, requested, Operation::GetSecretValue);
                shared.complete(job, Err(err), fraction);
            }
        }
        next_token = out.next_token.take();
        if next_token.is_none() || jobs.is_empty() {
            // Whatever the batch did not mention is fetched one by one.
            return jobs;
        }
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
                kind: crate::TransportKind::MalformedResponse,
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
