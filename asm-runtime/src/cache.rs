//! [`SecretCache`]: the in-memory TTL cache over a source (the Secrets Manager API by default).

mod backoff;
mod builder;
mod call;
mod describe;
mod entry;
mod fetch;
mod guardrail;
mod map;
mod pace;
mod stats;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, join_all};
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

pub use builder::SecretCacheBuilder;
use guardrail::Interval;
pub use guardrail::RotationGuardrail;
pub use stats::Stats;

pub(crate) use builder::Settings;
use entry::Flight;
pub(crate) use entry::{Entry, Loaded};
use fetch::{Job, Round};
use map::EntryMap;
use stats::Counters;

use crate::arn::Arn;
use crate::iam::Grantor;
use crate::plan::{Declaration, Plan, PlanDefaults, Plans, Request};
use crate::source::{Backend, SecretSource};
use crate::{Error, Secret, Vars, Version};

/// An in-memory cache of secrets, shared by cloning (one `Arc`).
///
/// - **Hits** are lock-free and allocation-free, and never wait on the network (an entry added
///   since the map last published its table is found under the writers' lock until it is).
/// - **Misses** of one entry share one API call (single flight), made in a spawned task so a
///   reader that gives up strands nobody.
/// - **Freshness**: after its soft TTL (jittered into `[ttl/2, ttl]`) a value is still served
///   while one background refresh runs; failing refreshes back off exponentially; a value older
///   than `max_staleness` is no longer served ([`Error::Stale`]).
/// - **Rotation**: a refresh that finds a new version id swaps the value atomically.
///
/// # Examples
/// ```no_run
/// # async fn f() -> Result<(), asm_runtime::Error> {
/// use asm_runtime::{ExposeSecret, SecretCache};
/// let cache = SecretCache::from_env().await?;
/// let db = cache.get("prod/db").await?;
/// let password = db.json_key("password")?;
/// # let _ = password.expose_secret();
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SecretCache {
    shared: Arc<Shared>,
}

pub(crate) struct Shared {
    source: Arc<dyn Backend>,
    settings: Settings,
    entries: EntryMap,
    counters: Counters,
    /// Until when batches go one by one after `BatchGetSecretValue` was denied.
    batch_denied_until: Mutex<Option<Instant>>,
    /// Per action: how calls are paced while the service throttles them.
    pacers: pace::Pacers,
    /// Bumped when a rotation is adopted or an entry invalidated; live handles wait on it.
    changes: watch::Sender<u64>,
    /// Derived structs' load plans, built once per type and placeholder values.
    plans: Plans,
    /// `arn:…:REGION:ACCOUNT:secret:`, where the source's bare names resolve: learned from the
    /// ARN of the first secret read by name.
    home: OnceLock<Box<str>>,
}

/// What a read found in memory.
enum Lookup {
    /// A value to return; `refresh` when it is past its soft TTL.
    Serve(Arc<Secret>, bool),
    /// A value past `max_staleness` whose refresh is backing off.
    Stale(Error),
    /// A first load's persistent failure, remembered: answered without a call.
    Remembered(Error),
    /// Nothing usable: wait for a fetch. Carries the old value's confirmation time, if any.
    Wait(Option<Instant>),
}

impl SecretCache {
    /// A builder with the default settings (TTL 600 s, `max_staleness` 1 h, `AWSCURRENT`)
    /// over `source`: an SDK client (`aws_sdk_secretsmanager::Client`), an
    /// [`AgentSource`](crate::AgentSource), a `FileSource` (feature `files`), or a
    /// `MemorySource` (feature `testing`).
    pub fn builder(source: impl SecretSource) -> SecretCacheBuilder {
        SecretCacheBuilder::new(source)
    }

    /// A cache with the default settings over `source` (see [`builder`](Self::builder)).
    pub fn new(source: impl SecretSource) -> Self {
        Self::builder(source)
            .build()
            .unwrap_or_else(|_| unreachable!("the default settings are valid"))
    }

    /// A cache with the default settings over the source the environment chooses: see
    /// [`builder_from_env`](Self::builder_from_env), of which this is the shorthand.
    ///
    /// # Errors
    /// As [`builder_from_env`](Self::builder_from_env).
    pub async fn from_env() -> Result<Self, Error> {
        Self::builder_from_env().await?.build()
    }

    /// A builder over the source the environment chooses, with the default settings, to change
    /// some of them before [`build`](SecretCacheBuilder::build):
    ///
    /// - with the feature `files`, `ASM_SECRETS_DIR` (`FileSource::ENV_DIR`) set to a
    ///   directory: a `FileSource` over it (secrets mounted on Kubernetes); no AWS
    ///   configuration is read then;
    /// - else with `ASM_SECRETS_AGENT` set (`1`, or the agent's `http://HOST:PORT` on
    ///   loopback): the Secrets Manager Agent or Lambda extension, see
    ///   [`AgentSource`](crate::AgentSource);
    /// - else a client from the default AWS configuration chain: environment, shared profile
    ///   (SSO included), web identity (EKS IRSA, CI OIDC), ECS and EC2 instance roles.
    ///   `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_SECRETS_MANAGER`) points it at another
    ///   endpoint, such as a local Secrets Manager. The configuration is loaded with the pinned
    ///   [`behavior_version`](Self::behavior_version), and the client's connect and read
    ///   timeouts are the builder's `attempt_timeout` (3 s unless set), besides the
    ///   per-attempt and per-call deadlines the cache applies to every call on any client.
    ///
    /// # Examples
    /// ```no_run
    /// # async fn f() -> Result<(), asm_runtime::Error> {
    /// use std::time::Duration;
    /// use asm_runtime::{RotationGuardrail, SecretCache};
    /// let cache = SecretCache::builder_from_env()
    ///     .await?
    ///     .ttl(Duration::from_secs(300))
    ///     .rotation_guardrail(RotationGuardrail::Strict)
    ///     .build()?;
    /// # let _ = cache;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Config`] when no region is configured, or for an `ASM_SECRETS_AGENT` value
    /// that is not an agent's address on loopback.
    pub async fn builder_from_env() -> Result<SecretCacheBuilder, Error> {
        SecretCacheBuilder::from_env().await
    }

    /// A cache with the default settings over a client built from `config`: the one
    /// `SdkConfig` a service already loaded for its other AWS clients (S3, DynamoDB…), with
    /// their region, credentials, endpoint, retries and timeouts. The cache's own per-attempt
    /// and per-call deadlines apply on top.
    ///
    /// # Examples
    /// ```no_run
    /// # async fn f() -> Result<(), asm_runtime::Error> {
    /// use asm_runtime::{SecretCache, aws_config};
    /// let config = aws_config::load_defaults(SecretCache::behavior_version()).await;
    /// // let s3 = aws_sdk_s3::Client::new(&config);
    /// let cache = SecretCache::from_conf(&config)?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Config`] when `config` has no region.
    pub fn from_conf(config: &aws_config::SdkConfig) -> Result<Self, Error> {
        crate::source::client_for(config).map(Self::new)
    }

    /// The SDK behavior version [`from_env`](Self::from_env) loads its configuration with:
    /// `BehaviorVersion::v2026_01_12()` (SDK retries on by default, a 3.1 s connect timeout,
    /// proxy environment variables honoured). It is pinned rather than `latest()`, so that an
    /// SDK upgrade does not change this library's behaviour silently; a new release of this
    /// library moves it on purpose. Pass it to `aws_config::load_defaults` to build an
    /// `SdkConfig` that behaves like `from_env`'s.
    ///
    /// SDK releases deprecate each behavior version when they add the next one; the pin is
    /// deliberate, so that deprecation is silenced here and nowhere else (a build against a
    /// newer SDK prints no warning for it).
    pub fn behavior_version() -> aws_config::BehaviorVersion {
        crate::source::behavior_version()
    }

    /// The SDK client the cache calls, when its source is the Secrets Manager API.
    pub fn client(&self) -> Option<&Client> {
        self.shared.source.client()
    }

    /// The secret `id` (name or ARN) at the default version.
    ///
    /// A hit is answered when `get` is called, without locking or allocating; the returned
    /// future is ready on its first poll. Concurrent misses of one secret make one API call
    /// between them; a value past its soft TTL is returned while a background refresh runs.
    ///
    /// # Errors
    /// The first load's typed error (a transient failure is retried until `call_timeout`, a
    /// persistent one answered from memory for a while); past `max_staleness`, [`Error::Stale`].
    pub fn get<'a>(
        &'a self,
        id: &'a str,
    ) -> impl Future<Output = Result<Arc<Secret>, Error>> + Send + 'a {
        self.get_version(id, &self.shared.settings.version)
    }

    /// The secret `id` at `version` (a staging label or a version id); see [`get`](Self::get).
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn get_version<'a>(
        &'a self,
        id: &'a str,
        version: &'a Version,
    ) -> impl Future<Output = Result<Arc<Secret>, Error>> + Send + 'a {
        // A hit is answered here, when `get` is called, before any future exists: the future
        // holds only the value (the miss path's state machine is boxed; a miss allocates
        // anyway, and looks at the clock again when first polled).
        if let Some(secret) = self.shared.hit(id, version, Instant::now()) {
            return Read::Hit(Some(secret));
        }
        Read::Miss(Box::pin(async move {
            let entry = self.shared.entry(id, version, None);
            self.shared.read(&entry, Instant::now()).await
        }))
    }

    /// Fetches `requests` together: hits from memory, the rest in one round of API calls
    /// (batched when the cache batches). Results are in request order.
    pub(crate) async fn get_many(&self, requests: &[Request]) -> Result<Vec<Arc<Secret>>, Error> {
        let now = Instant::now();
        if let Some(warm) = self.shared.hits(requests, now) {
            return warm;
        }
        let entries = self.entries(requests);
        let waiting: Vec<Arc<Entry>> = entries
            .iter()
            .filter(|e| matches!(self.shared.lookup(e, now), Lookup::Wait(_)))
            .cloned()
            .collect();
        // Start every missing fetch at once, so they can share a batch call.
        drop(self.shared.flights(&waiting));
        let (secrets, guarded) = tokio::join!(
            join_all(entries.iter().map(|e| self.shared.read(e, now))),
            self.shared.guard_rotation(&entries),
        );
        let secrets = secrets.into_iter().collect::<Result<Vec<_>, _>>()?;
        guarded?;
        self.shared.guard_declared_rotation(&entries, requests)?;
        Ok(secrets)
    }

    /// The load plan of the struct `declaration` describes, under `vars`, built once per type
    /// and placeholder values; fields without a version read the cache's default version.
    pub(crate) fn plan(&self, declaration: &Declaration, vars: &Vars) -> Result<Arc<Plan>, Error> {
        let shared = &self.shared;
        shared.plans.of(declaration, vars, shared.plan_defaults())
    }

    /// Calls `f` with a struct's load plan under `vars`, borrowed where it is kept (no
    /// reference count), built first if needed.
    pub(crate) fn with_plan<R>(
        &self,
        declaration: &Declaration,
        vars: &Vars,
        f: impl FnOnce(&Plan) -> R,
    ) -> Result<R, Error> {
        let shared = &self.shared;
        shared
            .plans
            .with(declaration, vars, shared.plan_defaults(), f)
    }

    /// [`get_many`](Self::get_many)'s warm path, without a future: every request's value when
    /// each is a fresh hit (counted as one), after the rotation guardrail's check; `None` when
    /// any needs the full read.
    pub(crate) fn hits(&self, requests: &[Request]) -> Option<Result<Vec<Arc<Secret>>, Error>> {
        self.shared.hits(requests, Instant::now())
    }

    /// The entries of `requests`, created where missing, in request order.
    pub(crate) fn entries(&self, requests: &[Request]) -> Vec<Arc<Entry>> {
        requests
            .iter()
            .map(|r| self.shared.entry(&r.id, &r.version, r.ttl))
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

    /// Refreshes all of `entries` in one round, due or not, and returns the failures.
    pub(crate) async fn refresh_all(&self, entries: &[Arc<Entry>]) -> Vec<Error> {
        join_all(self.shared.flights(entries))
            .await
            .into_iter()
            .filter_map(Result::err)
            .collect()
    }

    /// Whether the cache calls `DescribeSecret` (version checks or the rotation guardrail).
    pub(crate) fn uses_describe(&self) -> bool {
        let settings = &self.shared.settings;
        settings.version_checks || settings.guardrail.is_on()
    }

    /// Whether the cache fetches several secrets with `BatchGetSecretValue`.
    pub(crate) fn batches(&self) -> bool {
        self.shared.settings.batch
    }

    /// The wait before retrying after `failures` consecutive failures (full jitter).
    pub(crate) fn backoff(&self, failures: u32) -> Duration {
        backoff::backoff(failures, self.shared.settings.max_backoff)
    }

    /// A receiver that sees a change each time the cache adopts a rotated version or drops
    /// an entry.
    pub(crate) fn changes(&self) -> watch::Receiver<u64> {
        self.shared.changes.subscribe()
    }

    /// The source's own change signal, if it has one (see `Source::changes`).
    pub(crate) fn source_changes(&self) -> Option<watch::Receiver<u64>> {
        self.shared.source.changes()
    }

    /// Re-reads `id` (default version) from the service now, e.g. after a database rejected
    /// the cached password, and returns what it found.
    ///
    /// Calls are coalesced with any fetch in flight, and rate limited: within
    /// `refresh_now_interval` of the last forced refresh, no call is made: the value held is
    /// returned, or, when the last refresh of it failed (the forced one or a later one), that
    /// error, never the old value as if it had been re-read.
    ///
    /// # Errors
    /// The fetch's error, typed.
    pub async fn refresh_now(&self, id: &str) -> Result<Arc<Secret>, Error> {
        let version = &self.shared.settings.version;
        let entry = self.shared.entry(id, version, None);
        self.force(&entry).await
    }

    /// [`refresh_now`](Self::refresh_now) for one entry: coalesced with a fetch in flight,
    /// rate limited by `refresh_now_interval`.
    pub(crate) async fn force(&self, entry: &Arc<Entry>) -> Result<Arc<Secret>, Error> {
        let now = Instant::now();
        let limited = {
            let mut forced = entry
                .forced_at
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let limited =
                forced.is_some_and(|at| now < at + self.shared.settings.refresh_now_interval);
            if !limited {
                *forced = Some(now);
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
                self.shared.counters.failure_remembered();
                return Err(err);
            }
        }
        tracing::debug!(secret_id = &*entry.id, "refresh requested");
        entry.failure.forget();
        entry.force();
        self.shared.flight(entry).await
    }

    /// Drops `id` (every version, and every entry filed under it: a secret read by name is
    /// filed under its ARN too, one read by ARN under its name once the cache knows names
    /// resolve to its account); the next read fetches it again.
    pub fn invalidate(&self, id: &str) {
        let removed = self.shared.entries.remove(id);
        tracing::debug!(secret_id = id, removed, "invalidated");
        if removed > 0 {
            // Live handles reading it load it again now, rather than at its old deadline.
            self.shared.changes.send_modify(|n| *n += 1);
        }
    }

    /// The counters since the cache was built.
    pub fn stats(&self) -> Stats {
        self.shared.counters.snapshot()
    }

    /// The ARN under which `id` was fetched, if it has been.
    pub fn known_arn(&self, id: &str) -> Option<String> {
        let entry = self.shared.entries.find_any(id)?;
        let loaded = entry.state.load_full()?;
        Some(loaded.secret.arn().to_owned()).filter(|arn| !arn.is_empty())
    }

    /// The region the source reads from, when it knows (the SDK client's region).
    pub fn region(&self) -> Option<&str> {
        self.shared.source.region()
    }
}

impl Grantor for SecretCache {
    fn known_arn(&self, id: &str) -> Option<String> {
        SecretCache::known_arn(self, id)
    }
    fn region(&self) -> Option<&str> {
        SecretCache::region(self)
    }
    fn uses_describe(&self) -> bool {
        SecretCache::uses_describe(self)
    }
    fn batches(&self) -> bool {
        SecretCache::batches(self)
    }
}

impl fmt::Debug for SecretCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretCache")
            .field("settings", &self.shared.settings)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// The future of [`SecretCache::get_version`].
enum Read<'a> {
    /// Answered from memory; taken by the first poll.
    Hit(Option<Arc<Secret>>),
    Miss(BoxFuture<'a, Result<Arc<Secret>, Error>>),
}

impl Future for Read<'_> {
    type Output = Result<Arc<Secret>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Read::Hit(secret) => match secret.take() {
                Some(secret) => Poll::Ready(Ok(secret)),
                None => panic!("a `SecretCache::get` future polled after it completed"),
            },
            Read::Miss(miss) => miss.as_mut().poll(cx),
        }
    }
}

impl Shared {
    /// What the plans of derived structs take from the settings.
    fn plan_defaults(&self) -> PlanDefaults<'_> {
        PlanDefaults {
            version: &self.settings.version,
            max_ttl: self.settings.max_staleness,
        }
    }

    /// A fresh value of (`id`, `version`), counted as a hit: no lock, no allocation.
    #[inline]
    fn hit(&self, id: &str, version: &Version, now: Instant) -> Option<Arc<Secret>> {
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
    fn hits(&self, requests: &[Request], now: Instant) -> Option<Result<Vec<Arc<Secret>>, Error>> {
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

    fn entry(&self, id: &str, version: &Version, ttl: Option<Duration>) -> Arc<Entry> {
        let entry = self.entries.get_or_insert(id, version, || {
            Entry::new(id.into(), version.clone(), self.settings.ttl)
        });
        if let Some(ttl) = ttl {
            entry.declare_ttl(ttl);
        }
        entry
    }

    fn lookup(&self, entry: &Entry, now: Instant) -> Lookup {
        let state = entry.state.load();
        let Some(loaded) = state.as_deref() else {
            return match entry.failure.active(now) {
                Some(err) => Lookup::Remembered(err),
                None => Lookup::Wait(None),
            };
        };
        if now < loaded.fresh_until {
            return Lookup::Serve(Arc::clone(&loaded.secret), false);
        }
        if now < loaded.stale_at {
            return Lookup::Serve(Arc::clone(&loaded.secret), now >= loaded.refresh_at);
        }
        if now < loaded.refresh_at {
            // Past max_staleness and backing off: say so without calling the service again.
            if let Some(last) = &loaded.last_error {
                return Lookup::Stale(stale(entry, now - loaded.confirmed, last.clone()));
            }
        }
        Lookup::Wait(Some(loaded.confirmed))
    }

    /// A read that missed the hit path: serve, refresh in the background, or wait.
    async fn read(
        self: &Arc<Self>,
        entry: &Arc<Entry>,
        now: Instant,
    ) -> Result<Arc<Secret>, Error> {
        match self.lookup(entry, now) {
            Lookup::Serve(secret, false) => {
                self.counters.hit();
                Ok(secret)
            }
            Lookup::Serve(secret, true) => {
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

    fn flight(self: &Arc<Self>, entry: &Arc<Entry>) -> Flight {
        let mut flights = self.flights(std::slice::from_ref(entry));
        flights
            .pop()
            .unwrap_or_else(|| unreachable!("one flight per entry asked for"))
    }

    /// The fetch in flight for each entry, starting one task for all that have none.
    fn flights(self: &Arc<Self>, entries: &[Arc<Entry>]) -> Vec<Flight> {
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
            tokio::spawn(fetch::run(Arc::clone(self), jobs));
        }
        flights
    }

    /// Records a fetch's (or a version check's) outcome, ends its flight, and answers its
    /// waiters; a first load that failed transiently goes back to `round` to be tried again
    /// while its deadline allows.
    fn complete(&self, job: Job, result: Result<Arc<Secret>, Error>, round: &Round) {
        let entry = &job.entry;
        let now = Instant::now();
        let previous = entry.state.load_full();
        let rotated = matches!(&result, Ok(secret) if is_rotation(previous.as_deref(), secret));
        let loaded = match &result {
            Ok(secret) => {
                self.adopt(entry, previous.is_some(), rotated, secret);
                entry.failure.forget();
                // A declared TTL is at most `max_staleness` (plans refuse others); `min` keeps
                // that true of any entry.
                let ttl = entry.ttl().min(self.settings.max_staleness);
                let soft_ttl = backoff::soft_ttl(ttl, round.fraction, previous.is_none());
                Loaded::new(
                    Arc::clone(secret),
                    now,
                    now + soft_ttl,
                    self.settings.max_staleness,
                    0,
                    None,
                )
            }
            Err(err) => {
                self.counters.failure(err.is_transient());
                let Some(previous) = previous else {
                    if let Some(job) = self.first_load_failed(job, err, round, now) {
                        job.answer(result);
                    }
                    return;
                };
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
        };
        entry.state.store(Some(Arc::new(loaded)));
        if let Ok(secret) = &result {
            self.entries.alias(entry, &self.aliases(entry, secret));
            if rotated {
                self.changes.send_modify(|n| *n += 1);
            }
        }
        job.answer(result);
    }

    /// The ids besides its own that may find `entry` once `secret` is fetched: its ARN (one
    /// secret in the world), and its name only where that name means this secret: in the
    /// account and region a bare name resolves in, learned from the first read by name. Another
    /// account's secret, read by ARN, never answers a bare name of ours.
    fn aliases<'s>(&self, entry: &Entry, secret: &'s Secret) -> [&'s str; 2] {
        let Some(arn) = Arn::parse(secret.arn()) else {
            return [secret.arn(), ""];
        };
        let by_name = Arn::parse(&entry.id).is_none();
        let home = if by_name {
            self.home.get_or_init(|| arn.home().into())
        } else {
            self.home.get().map_or("", |home| &**home)
        };
        let ours = arn.home() == home;
        [secret.arn(), if ours { secret.name() } else { "" }]
    }

    /// A first load failed: a transient failure is tried again while the round allows, a
    /// persistent one is remembered (reads meanwhile get it without a call). Gives the job
    /// back when its waiters are to be answered now.
    fn first_load_failed(&self, job: Job, err: &Error, round: &Round, now: Instant) -> Option<Job> {
        let entry = Arc::clone(&job.entry);
        let secret_id = &*entry.id;
        if err.is_transient() {
            let retry_in_ms = u64::try_from(round.retry_wait().as_millis()).unwrap_or(u64::MAX);
            let job = round.retry(job);
            if job.is_none() {
                tracing::debug!(secret_id, error = %err, retry_in_ms, "first load failed; retrying");
            } else {
                tracing::warn!(secret_id, error = %err, "first load failed");
            }
            return job;
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
        Some(job)
    }

    /// Counts and logs a value fetched or confirmed.
    fn adopt(&self, entry: &Entry, had_value: bool, rotated: bool, secret: &Secret) {
        if rotated {
            self.counters.rotation();
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

fn stale(entry: &Entry, age: Duration, last_failure: Error) -> Error {
    Error::Stale {
        secret_id: entry.id.to_string(),
        age,
        last_failure: Box::new(last_failure),
    }
}

fn task_ended(id: &str) -> Error {
    Error::Transport {
        secret_id: id.to_owned(),
        kind: crate::TransportKind::Other,
        detail: Some("the fetch task ended without an answer (runtime shutting down?)".into()),
    }
}

#[cfg(test)]
mod tests;
