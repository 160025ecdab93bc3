//! [`SecretCache`]: the in-memory TTL cache over a source (the Secrets Manager API by default).

mod backoff;
mod batch;
mod builder;
mod call;
mod complete;
mod describe;
mod entry;
mod failover;
mod fetch;
mod guardrail;
mod health;
mod identity;
mod job;
mod map;
mod pace;
mod read;
mod roles;
mod stats;
mod structs;
mod telemetry;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};

use aws_sdk_secretsmanager::Client;
use futures_util::future::BoxFuture;
use tokio::sync::watch;
use tokio::time::Instant;

pub use builder::SecretCacheBuilder;
pub use guardrail::RotationGuardrail;
pub use health::{Health, LiveHealth, LiveState, Readiness, SecretHealth, SecretState};
pub use stats::Stats;
#[cfg(feature = "metrics")]
pub use telemetry::MetricsExporter;

pub(crate) use builder::Settings;
pub(crate) use entry::{Entry, Loaded};
pub(crate) use health::Watched;
use map::EntryMap;
use roles::{Principals, Role};
use stats::Counters;

use crate::iam::Grantor;
use crate::plan::Plans;
use crate::source::{Backend, SecretSource};
use crate::{Error, Secret, Version};

/// An in-memory cache of secrets, shared by cloning (two `Arc`s).
///
/// - **Hits** are lock-free and allocation-free, and never wait on the network (an entry added
///   since the map last published its table is found under the writers' lock until it is).
/// - **Misses** of one entry share one API call (single flight), made in a spawned task so a
///   reader that gives up strands nobody.
/// - **Freshness**: after its soft TTL (jittered into `[ttl/2, ttl]`, `[3/4 ttl, ttl]` once
///   refreshed) a value is still served
///   while one background refresh runs; failing refreshes back off exponentially; a value older
///   than `max_staleness` is no longer served ([`Error::Stale`]).
/// - **Rotation**: a refresh that finds a new version id swaps the value atomically.
/// - **Roles**: [`as_role`](Self::as_role) is a view of the cache that reads as an IAM role,
///   with entries of its own (a name resolves in the role's account).
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
    /// The principal this handle reads as: the cache's own credentials, or a role.
    core: Arc<Core>,
    /// Every principal of the cache (see `roles`).
    principals: Arc<Principals>,
}

/// What every clone of a [`SecretCache`] shares: the source, the settings, the entries and
/// everything learnt about the source's answers. Its methods live in the module of their role:
/// `read` (the read path), `fetch` (flights and fetch rounds), `describe` (version checks),
/// `call` (one call under its deadline and pacing), `failover` (a failed call sent on to the
/// replicas), `complete` (recording an outcome), `identity` (one secret, one entry), `structs`
/// (what derived structs and live handles ask), `roles` (the cache's principals); `job` holds
/// a round's units. One per principal: the cache's own credentials, and each role it reads as.
pub(crate) struct Core {
    source: Arc<dyn Backend>,
    /// The replicas a failed call of `source` is sent to (`failover`).
    failover: failover::Failover,
    settings: Settings,
    entries: EntryMap,
    /// Shared by every principal of the cache.
    counters: Arc<Counters>,
    /// Per batch call (`batch::Kind`): until when its values go one by one after it was
    /// denied.
    batch_denied_until: [Mutex<Option<Instant>>; 2],
    /// Per action: how calls are paced while the service throttles them.
    pacers: pace::Pacers,
    /// Bumped when a rotation is adopted or an entry invalidated; live handles wait on it.
    /// Shared by every principal of the cache.
    changes: Arc<watch::Sender<u64>>,
    /// Derived structs' load plans, built once per type and placeholder values.
    plans: Plans,
    /// The live handles on the cache, for `health`.
    handles: Arc<health::Handles>,
    /// What `export_metrics` exported last (feature `metrics`).
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    exported: Arc<telemetry::Exported>,
    /// `arn:…:REGION:ACCOUNT:secret:`, where the source's bare names resolve: learned from the
    /// ARN of the first secret read by name.
    home: OnceLock<Box<str>>,
    /// The role this core reads as; `None` for the cache's own credentials.
    role: Option<Role>,
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
    ///   (SSO with the default feature `sso`), web identity (EKS IRSA, CI OIDC), ECS and EC2
    ///   instance roles.
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

    /// A builder over a client built from `config`, as [`from_conf`](Self::from_conf), to change
    /// some settings before [`build`](SecretCacheBuilder::build). Roles
    /// ([`as_role`](Self::as_role)) call STS with `config` (its endpoint, retries and timeouts).
    ///
    /// # Errors
    /// [`Error::Config`] when `config` has no region.
    pub fn builder_from_conf(config: &aws_config::SdkConfig) -> Result<SecretCacheBuilder, Error> {
        crate::source::client_for(config).map(Self::builder)
    }

    /// The most roles one cache reads as: 20, the bound of the Secrets Manager Agent. Each
    /// holds one SDK client and one set of temporary credentials; past it,
    /// [`as_role`](Self::as_role) (and a struct reading through one more role) is an
    /// [`Error::Config`] naming the bound.
    pub const MAX_ROLES: usize = 20;

    /// A view of this cache that reads as the IAM role `role`
    /// (`arn:aws:iam::ACCOUNT:role/NAME`), for [`get`](Self::get)-style reads and for
    /// [`AwsSecrets::load`](crate::AwsSecrets::load) (whose fields without a `role` then read
    /// as this one).
    ///
    /// The view is a `SecretCache` whose calls carry the role's credentials: through the SDK,
    /// STS `AssumeRole` with this cache's own credentials (aws-config's `AssumeRoleProvider`;
    /// the SDK keeps the credentials and renews them before they expire), made within the
    /// deadline of the first call that needs them; through the Secrets Manager Agent 2.1, its
    /// `roleArn` parameter. It has its own entries: a bare name means a secret of the role's
    /// account, so `prod/db` read as two roles is two secrets; and every semantic of the cache
    /// holds per role (TTL, single flight, deadlines, remembered failures, stale-if-error,
    /// live handles). It shares the settings, the counters ([`stats`](Self::stats)) and
    /// the live handles' change signal with the cache. Views are made once per role, on first
    /// use, and kept for the life of the cache; `as_role` on a view reads as `role` from the
    /// cache's own credentials (roles are not chained).
    ///
    /// An `sts:AssumeRole` denial is [`Error::RoleDenied`]: reads through the role answer it
    /// from memory, without a call, until `denial_retry` has passed (or a `refresh_now`
    /// through the role).
    ///
    /// # Examples
    /// ```no_run
    /// # async fn f(cache: asm_runtime::SecretCache) -> Result<(), asm_runtime::Error> {
    /// let reader = cache.as_role("arn:aws:iam::999999999999:role/reader")?;
    /// let theirs = reader.get("prod/db").await?; // prod/db of account 999999999999
    /// let ours = cache.get("prod/db").await?; // prod/db of the cache's own account
    /// # let _ = (theirs, ours);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Config`] for a malformed role ARN, past [`MAX_ROLES`](Self::MAX_ROLES), or
    /// over a source that cannot read as a role (mounted files; `MemorySource::role` serves
    /// tests).
    pub fn as_role(&self, role: &str) -> Result<SecretCache, Error> {
        self.view(role)
    }

    /// The role this view reads as; `None` for the cache's own credentials.
    pub fn role(&self) -> Option<&str> {
        self.core.role.as_ref().map(|role| &*role.arn)
    }

    /// The roles the cache reads as so far (each holds a client and its credentials), sorted.
    pub fn roles(&self) -> Vec<String> {
        self.roles_held()
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

    /// The SDK client the cache (or this view of a role) calls, when its source is the Secrets
    /// Manager API.
    pub fn client(&self) -> Option<&Client> {
        self.core.source.client()
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
        self.get_version(id, self.core.default_version(id))
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
        if let Some(secret) = self.core.hit(id, version, Instant::now()) {
            return Read::Hit(Some(secret));
        }
        Read::Miss(Box::pin(async move {
            // The same secret, maybe, loading by name: share its answer.
            if self.core.await_first_load_by_name(id, version).await {
                let entry = self.core.entry(id, version, None);
                return self.core.read_after_waiting(&entry, Instant::now()).await;
            }
            let entry = self.core.entry(id, version, None);
            self.core.read(&entry, Instant::now()).await
        }))
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
        let version = self.core.default_version(id);
        let entry = self.core.entry(id, version, None);
        self.refresh_entry_now(&entry).await
    }

    /// Drops `id` (every version, and every entry filed under it: a secret read by name is
    /// filed under its ARN too, one read by ARN under its name once the cache knows names
    /// resolve to its account); the next read fetches it again. Only this principal's entries
    /// (a view of a role drops the role's).
    pub fn invalidate(&self, id: &str) {
        let removed = self.core.remove(id);
        tracing::debug!(secret_id = id, removed, "invalidated");
        if removed > 0 {
            // Live handles reading it load it again now, rather than at its old deadline.
            self.core.changes.send_modify(|n| *n += 1);
        }
    }

    /// The counters since the cache was built, of every principal (its own credentials and
    /// every role it reads as).
    pub fn stats(&self) -> Stats {
        self.core.counters.snapshot()
    }

    /// The ARN under which `id` was fetched, if it has been.
    pub fn known_arn(&self, id: &str) -> Option<String> {
        let entry = self.core.entries.find_any(id)?;
        let loaded = entry.state.load_full()?;
        Some(loaded.secret.arn().to_owned()).filter(|arn| !arn.is_empty())
    }

    /// The region the source reads from, when it knows (the SDK client's region).
    pub fn region(&self) -> Option<&str> {
        self.core.source.region()
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
    fn batches_parameters(&self) -> bool {
        self.core.settings.batch_parameters
    }
    fn role_account(&self) -> Option<String> {
        let role = crate::role_arn::RoleArn::parse(self.role()?).ok()?;
        Some(role.account.to_owned())
    }
    fn failover_regions(&self) -> Vec<&str> {
        self.core.failover.regions().collect()
    }
}

impl fmt::Debug for SecretCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretCache")
            .field("role", &self.role())
            .field("settings", &self.core.settings)
            .field(
                "failover_regions",
                &self.core.failover.regions().collect::<Vec<_>>(),
            )
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

#[cfg(test)]
mod tests;
