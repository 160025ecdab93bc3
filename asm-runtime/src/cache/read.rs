//! The read path: a hit from memory without a lock, else a lookup that serves, refreshes in the
//! background, answers a remembered failure, or waits for a flight.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use tokio::time::Instant;

use super::guardrail::Interval;
use super::{Core, Entry, RotationGuardrail};
use crate::plan::Request;
use crate::{Error, Secret, Version};

/// What a read found in memory.
pub(super) enum Lookup {
    /// A value within its soft TTL.
    Fresh(Arc<Secret>),
    /// A value past its soft TTL but within `max_staleness`: served while a refresh runs.
    RefreshDue(Arc<Secret>),
    /// A value past `max_staleness` whose refresh is backing off.
    Stale(Error),
    /// A first load's persistent failure, remembered: answered without a call.
    Remembered(Error),
    /// Nothing usable: wait for a fetch. Carries the old value's confirmation time, if any.
    Wait(Option<Instant>),
}

impl Core {
    /// The version `get` reads `id` at: the cache's default, or, for a Parameter Store
    /// parameter, its latest version (staging labels are Secrets Manager's).
    pub(super) fn default_version(&self, id: &str) -> &Version {
        static LATEST: LazyLock<Version> = LazyLock::new(Version::current);
        let version = &self.settings.version;
        if !version.is_current() && crate::parameter::is_parameter(id) {
            return &LATEST;
        }
        version
    }

    /// A fresh value of (`id`, `version`), counted as a hit: no lock, no allocation.
    #[inline]
    pub(super) fn hit(&self, id: &str, version: &Version, now: Instant) -> Option<Arc<Secret>> {
        let secret = self.entries.with(id, version, |entry| {
            let state = entry.state.load();
            match state.as_deref() {
                Some(loaded) if now < loaded.fresh_until => Some(Arc::clone(&loaded.secret)),
                _ => None,
            }
        })??;
        self.counters.hit();
        tracing::trace!(secret_id = id, outcome = "hit");
        Some(secret)
    }

    /// The warm path of a struct's load: when every request is a fresh hit whose rotation
    /// interval the guardrail already knows (or cannot learn: `DescribeSecret` denied), the
    /// values (each counted as a hit) after the guardrail's check; `None` when any must go
    /// through the full read.
    pub(super) fn hits(
        &self,
        requests: &[Request],
        now: Instant,
    ) -> Option<Result<Vec<Arc<Secret>>, Error>> {
        let guardrail = self.settings.guardrail;
        let mut checked = Ok(());
        let mut secrets = Vec::with_capacity(requests.len());
        for request in requests {
            let secret = self.entries.with(&request.id, &request.version, |entry| {
                let rotation = match entry.rotation.get() {
                    _ if !guardrail.is_on() => None,
                    Some(rotation) => *rotation,
                    // Denied: the full read would skip the check too (warned at the denial).
                    None if guardrail != RotationGuardrail::Strict
                        && !entry.describe_allowed(now) =>
                    {
                        None
                    }
                    None => return None,
                };
                let state = entry.state.load();
                let loaded = state.as_deref().filter(|l| now < l.fresh_until)?;
                if let Some(ttl) = request.ttl {
                    entry.declare_ttl(ttl);
                }
                if checked.is_ok() {
                    checked = entry.guard(guardrail, rotation, Interval::Learnt);
                }
                if checked.is_ok() && request.rotation.is_some() {
                    // A declared rotation is checked on every load, warm ones included.
                    checked = entry.guard(guardrail, request.rotation, Interval::Declared);
                }
                Some(Arc::clone(&loaded.secret))
            });
            secrets.push(secret.flatten()?);
        }
        for request in requests {
            self.counters.hit();
            tracing::trace!(secret_id = &*request.id, outcome = "hit");
        }
        Some(checked.map(|()| secrets))
    }

    pub(super) fn entry(&self, id: &str, version: &Version, ttl: Option<Duration>) -> Arc<Entry> {
        let entry = self.entries.get_or_insert(id, version, || {
            Entry::new(id.into(), version.clone(), self.settings.ttl).read_as(self.role_arn())
        });
        if let Some(ttl) = ttl {
            entry.declare_ttl(ttl);
        }
        entry
    }

    pub(super) fn lookup(&self, entry: &Entry, now: Instant) -> Lookup {
        let state = entry.state.load();
        let Some(loaded) = state.as_deref() else {
            return match entry.failure.active(now) {
                Some(err) => Lookup::Remembered(err),
                None => Lookup::Wait(None),
            };
        };
        if now < loaded.fresh_until {
            return Lookup::Fresh(Arc::clone(&loaded.secret));
        }
        if now < loaded.stale_at {
            // `fresh_until` is `min(refresh_at, stale_at)`: past it and before `stale_at`, the
            // refresh is due.
            return Lookup::RefreshDue(Arc::clone(&loaded.secret));
        }
        if now < loaded.refresh_at {
            // Past max_staleness and backing off: say so without calling the service again.
            if let Some(last) = &loaded.last_error {
                return Lookup::Stale(stale(entry, now - loaded.confirmed, last.clone()));
            }
        }
        Lookup::Wait(Some(loaded.confirmed))
    }

    /// [`read`](Self::read) for a read that already waited for the service (on a first load
    /// of the same secret by name): a value found then is counted as the miss it was.
    pub(super) async fn read_after_waiting(
        self: &Arc<Self>,
        entry: &Arc<Entry>,
        now: Instant,
    ) -> Result<Arc<Secret>, Error> {
        if let Lookup::Fresh(secret) = self.lookup(entry, now) {
            self.counters.miss();
            tracing::debug!(secret_id = &*entry.id, outcome = "miss");
            return Ok(secret);
        }
        self.read(entry, now).await
    }

    /// A read that missed the hit path: serve, refresh in the background, or wait.
    pub(super) async fn read(
        self: &Arc<Self>,
        entry: &Arc<Entry>,
        now: Instant,
    ) -> Result<Arc<Secret>, Error> {
        match self.lookup(entry, now) {
            Lookup::Fresh(secret) => {
                self.counters.hit();
                Ok(secret)
            }
            Lookup::RefreshDue(secret) => {
                self.counters.stale_served();
                tracing::debug!(
                    secret_id = &*entry.id,
                    outcome = "refresh-ahead",
                    "serving while refreshing"
                );
                drop(self.flight(entry));
                Ok(secret)
            }
            Lookup::Stale(err) => Err(err),
            Lookup::Remembered(err) => {
                self.counters.failure_remembered();
                tracing::debug!(secret_id = &*entry.id, outcome = "remembered failure");
                Err(err)
            }
            Lookup::Wait(previous) => {
                self.counters.miss();
                tracing::debug!(secret_id = &*entry.id, outcome = "miss");
                match self.flight(entry).await {
                    Ok(secret) => Ok(secret),
                    Err(err) => match previous {
                        Some(confirmed) => Err(stale(entry, Instant::now() - confirmed, err)),
                        None => Err(err),
                    },
                }
            }
        }
    }
}

fn stale(entry: &Entry, age: Duration, last_failure: Error) -> Error {
    Error::Stale {
        secret_id: entry.id.to_string(),
        age,
        last_failure: Box::new(last_failure),
    }
}
