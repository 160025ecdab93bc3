//! What derived structs (`AwsSecrets::load`) and live handles ask of the cache: plans, reads of
//! several secrets in one round, due refreshes, and the change signals they wait on.

use std::sync::{Arc, PoisonError};
use std::time::Duration;

use futures_util::future::join_all;
use tokio::sync::watch;
use tokio::time::Instant;

use super::read::Lookup;
use super::{Core, Entry, SecretCache, backoff};
use crate::plan::{Declaration, Plan, PlanDefaults, Request};
use crate::{Error, Secret, Vars};

impl SecretCache {
    /// Fetches `requests` together: hits from memory, the rest in one round of API calls
    /// (batched when the cache batches), one round per principal they read as. Results are in
    /// request order.
    pub(crate) async fn get_many(&self, requests: &[Request]) -> Result<Vec<Arc<Secret>>, Error> {
        let Some(views) = self.by_view(requests) else {
            return self.get_many_here(requests).await;
        };
        let views = views?;
        let answers = join_all(views.iter().map(|v| v.view.get_many_here(&v.requests))).await;
        let mut secrets: Vec<Option<Arc<Secret>>> = vec![None; requests.len()];
        for (reads, answer) in views.iter().zip(answers) {
            for (at, secret) in reads.at.iter().zip(answer?) {
                secrets[*at] = Some(secret);
            }
        }
        Ok(secrets.into_iter().flatten().collect())
    }

    /// [`get_many`](Self::get_many) of requests that all read as this view's principal.
    async fn get_many_here(&self, requests: &[Request]) -> Result<Vec<Arc<Secret>>, Error> {
        if let Some(warm) = self.core.hits(requests, Instant::now()) {
            return warm;
        }
        self.core.await_first_loads_by_name(requests).await;
        // After any wait: the entries are judged by the clock of now.
        let now = Instant::now();
        let entries = self.entries_here(requests);
        let waiting: Vec<Arc<Entry>> = entries
            .iter()
            .filter(|e| matches!(self.core.lookup(e, now), Lookup::Wait(_)))
            .cloned()
            .collect();
        // Start every missing fetch at once, so they can share a batch call.
        drop(self.core.flights(&waiting));
        let (secrets, guarded) = tokio::join!(
            join_all(entries.iter().map(|e| self.core.read(e, now))),
            self.core.guard_rotation(&entries),
        );
        let secrets = secrets.into_iter().collect::<Result<Vec<_>, _>>()?;
        guarded?;
        self.core.guard_declared_rotation(&entries, requests)?;
        Ok(secrets)
    }

    /// The load plan of the struct `declaration` describes, under `vars`, built once per type
    /// and placeholder values; fields without a version read the cache's default version.
    pub(crate) fn plan(&self, declaration: &Declaration, vars: &Vars) -> Result<Arc<Plan>, Error> {
        let core = &self.core;
        core.plans.of(declaration, vars, core.plan_defaults())
    }

    /// Calls `f` with a struct's load plan under `vars`, borrowed where it is kept (no
    /// reference count), built first if needed.
    pub(crate) fn with_plan<R>(
        &self,
        declaration: &Declaration,
        vars: &Vars,
        f: impl FnOnce(&Plan) -> R,
    ) -> Result<R, Error> {
        let core = &self.core;
        core.plans.with(declaration, vars, core.plan_defaults(), f)
    }

    /// [`get_many`](Self::get_many)'s warm path, without a future: every request's value when
    /// each is a fresh hit (counted as one), after the rotation guardrail's check; `None` when
    /// any needs the full read.
    pub(crate) fn hits(&self, requests: &[Request]) -> Option<Result<Vec<Arc<Secret>>, Error>> {
        let now = Instant::now();
        let Some(views) = self.by_known_view(requests) else {
            return self.core.hits(requests, now);
        };
        let mut secrets: Vec<Option<Arc<Secret>>> = vec![None; requests.len()];
        for reads in views? {
            let found = match reads.view.core.hits(&reads.requests, now)? {
                Ok(found) => found,
                Err(err) => return Some(Err(err)),
            };
            for (at, secret) in reads.at.iter().zip(found) {
                secrets[*at] = Some(secret);
            }
        }
        Some(Ok(secrets.into_iter().flatten().collect()))
    }

    /// The entries of `requests`, created where missing, in request order, each in the
    /// principal it reads as.
    ///
    /// # Errors
    /// A view that cannot be made (see `as_role`); never once the requests were loaded.
    pub(crate) fn entries(&self, requests: &[Request]) -> Result<Vec<Arc<Entry>>, Error> {
        requests
            .iter()
            .map(|r| Ok(self.view_for(r)?.core.entry(&r.id, &r.version, r.ttl)))
            .collect()
    }

    /// The entries of `requests` in this view's principal, created where missing.
    fn entries_here(&self, requests: &[Request]) -> Vec<Arc<Entry>> {
        requests
            .iter()
            .map(|r| self.core.entry(&r.id, &r.version, r.ttl))
            .collect()
    }

    /// Refreshes (or loads) those of `entries` that are due, in one round, and returns the
    /// failures.
    pub(crate) async fn refresh_due(&self, entries: &[Arc<Entry>]) -> Vec<Error> {
        let now = Instant::now();
        let due: Vec<Arc<Entry>> = entries
            .iter()
            .filter(|e| e.due_at(now) <= now)
            .cloned()
            .collect();
        self.refresh_all(&due).await
    }

    /// Refreshes all of `entries` in one round, due or not (one round per principal they are
    /// read as), and returns the failures.
    pub(crate) async fn refresh_all(&self, entries: &[Arc<Entry>]) -> Vec<Error> {
        let mut errors = Vec::new();
        let mut flights = Vec::new();
        let mut rest: Vec<Arc<Entry>> = entries.to_vec();
        while let Some(first) = rest.first() {
            let role = first.role.clone();
            let (same, other): (Vec<Arc<Entry>>, Vec<Arc<Entry>>) =
                rest.into_iter().partition(|e| e.role == role);
            rest = other;
            match self.owner(&same[0]) {
                Ok(owner) => flights.extend(owner.core.flights(&same)),
                Err(err) => errors.push(err),
            }
        }
        let answers = join_all(flights).await;
        errors.extend(answers.into_iter().filter_map(Result::err));
        errors
    }

    /// Whether the cache calls `DescribeSecret` (version checks or the rotation guardrail).
    pub(crate) fn uses_describe(&self) -> bool {
        let settings = &self.core.settings;
        settings.version_checks || settings.guardrail.is_on()
    }

    /// Whether the cache fetches several secrets with `BatchGetSecretValue`.
    pub(crate) fn batches(&self) -> bool {
        self.core.settings.batch
    }

    /// The wait before retrying after `failures` consecutive failures (full jitter).
    pub(crate) fn backoff(&self, failures: u32) -> Duration {
        backoff::backoff(failures, self.core.settings.max_backoff)
    }

    /// A receiver that sees a change each time the cache adopts a rotated version or drops
    /// an entry.
    pub(crate) fn changes(&self) -> watch::Receiver<u64> {
        self.core.changes.subscribe()
    }

    /// The source's own change signal, if it has one (see `Source::changes`).
    pub(crate) fn source_changes(&self) -> Option<watch::Receiver<u64>> {
        self.core.source.changes()
    }

    /// [`refresh_now`](Self::refresh_now) for one entry: coalesced with a fetch in flight,
    /// rate limited by `refresh_now_interval`.
    pub(crate) async fn refresh_entry_now(&self, entry: &Arc<Entry>) -> Result<Arc<Secret>, Error> {
        let owner = self.owner(entry)?;
        let core = &owner.core;
        let now = Instant::now();
        let limited = {
            let mut last = entry
                .refreshed_now_at
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let limited = last.is_some_and(|at| now < at + core.settings.refresh_now_interval);
            if !limited {
                *last = Some(now);
            }
            limited
        };
        if limited {
            if let Some(flight) = entry.current_flight() {
                return flight.await;
            }
            if let Some(loaded) = entry.state.load_full() {
                // The last answer, shared: a value not confirmed since the last forced
                // refresh failed is that failure, not a success the caller would act on.
                return match &loaded.last_error {
                    Some(err) => Err(err.clone()),
                    None => Ok(Arc::clone(&loaded.secret)),
                };
            }
            if let Some(err) = entry.failure.active(now) {
                // Nothing held and the last forced fetch failed: its answer, without a call.
                core.counters.failure_remembered();
                return Err(err);
            }
        }
        tracing::debug!(secret_id = &*entry.id, "refresh requested");
        entry.failure.forget();
        core.forget_role_denial();
        entry.bypass_source_cache();
        core.flight(entry).await
    }
}

impl Core {
    /// What the plans of derived structs take from the settings.
    fn plan_defaults(&self) -> PlanDefaults<'_> {
        PlanDefaults {
            version: &self.settings.version,
            max_ttl: self.settings.max_staleness,
            max_reads: self.settings.capacity,
        }
    }
}
