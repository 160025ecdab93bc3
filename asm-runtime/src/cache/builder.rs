//! Settings of a [`SecretCache`], checked when it is built (failover regions by
//! `failover.rs`, which holds their rules).

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_secretsmanager::Client;

use super::failover::{self, Failover, Spec};
use super::guardrail::RotationGuardrail;
use super::map::EntryMap;
use super::pace::Pacers;
use super::{Core, SecretCache};
use crate::source::{Deadlines, SecretSource, Unbuilt};
use crate::{Error, Version};

/// The settings of a cache, fixed when it is built.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) ttl: Duration,
    pub(crate) max_staleness: Duration,
    pub(crate) jitter: bool,
    pub(crate) capacity: usize,
    pub(crate) version: Version,
    pub(crate) max_backoff: Duration,
    pub(crate) refresh_now_interval: Duration,
    pub(crate) version_checks: bool,
    pub(crate) batch: bool,
    pub(crate) batch_parameters: bool,
    pub(crate) guardrail: RotationGuardrail,
    pub(crate) deadlines: Deadlines,
    pub(crate) max_failure_memory: Duration,
    pub(crate) denial_retry: Duration,
    pub(crate) throttle_pacing: bool,
    pub(crate) startup_patience: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            ttl: SecretCacheBuilder::DEFAULT_TTL,
            max_staleness: SecretCacheBuilder::DEFAULT_MAX_STALENESS,
            jitter: true,
            capacity: SecretCacheBuilder::DEFAULT_CAPACITY,
            version: Version::current(),
            max_backoff: SecretCacheBuilder::DEFAULT_MAX_BACKOFF,
            refresh_now_interval: SecretCacheBuilder::DEFAULT_REFRESH_NOW_INTERVAL,
            version_checks: true,
            batch: false,
            batch_parameters: true,
            guardrail: RotationGuardrail::default(),
            deadlines: Deadlines {
                attempt: SecretCacheBuilder::DEFAULT_ATTEMPT_TIMEOUT,
                call: SecretCacheBuilder::DEFAULT_CALL_TIMEOUT,
            },
            max_failure_memory: SecretCacheBuilder::DEFAULT_MAX_FAILURE_MEMORY,
            denial_retry: SecretCacheBuilder::DEFAULT_DENIAL_RETRY,
            throttle_pacing: true,
            startup_patience: SecretCacheBuilder::DEFAULT_STARTUP_PATIENCE,
        }
    }
}

/// Builds a [`SecretCache`] over a source: an SDK client, the Secrets Manager Agent, mounted
/// files (`FileSource`, feature `files`) or memory (`MemorySource`, feature `testing`); or over
/// the source the environment chooses, with [`SecretCache::builder_from_env`].
///
/// # Examples
/// ```no_run
/// # async fn f() -> Result<(), asm_runtime::Error> {
/// use std::time::Duration;
/// use asm_runtime::{SecretCache, aws_config, aws_sdk_secretsmanager};
/// let config = aws_config::load_defaults(SecretCache::behavior_version()).await;
/// let client = aws_sdk_secretsmanager::Client::new(&config);
/// let cache = SecretCache::builder(client)
///     .ttl(Duration::from_secs(300))
///     .max_staleness(Duration::from_secs(3600))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use]
pub struct SecretCacheBuilder {
    source: Unbuilt,
    settings: Settings,
    /// Failover regions, in order (see `failover.rs`).
    pub(super) failover: Vec<Spec>,
    /// Where parameters are read, when not from the source itself.
    #[cfg(feature = "ssm")]
    parameters: Option<aws_sdk_ssm::Client>,
}

impl SecretCacheBuilder {
    /// 600 s, the seed's figure: well below any rotation interval (days).
    pub const DEFAULT_TTL: Duration = Duration::from_secs(600);
    /// One hour: how long a value is served while every refresh fails.
    pub const DEFAULT_MAX_STALENESS: Duration = Duration::from_secs(3600);
    /// Distinct (secret, version) entries kept.
    pub const DEFAULT_CAPACITY: usize = 1024;
    /// The longest wait between retries of a failing refresh.
    pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(128);
    /// The shortest interval between two `refresh_now` calls that reach the service.
    pub const DEFAULT_REFRESH_NOW_INTERVAL: Duration = Duration::from_secs(1);
    /// One HTTP attempt's limit: a healthy call answers in tens of milliseconds, and three
    /// seconds leave room for a TLS handshake and a cold KMS decrypt, while a connection that
    /// went silent is given up (and dropped) quickly.
    pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
    /// One API call's limit, the SDK's own retries included: room for three attempts.
    pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(10);
    /// The longest a persistent failure of a first load (not found, access denied, decryption,
    /// invalid request) is answered from memory before the service is asked again.
    pub const DEFAULT_MAX_FAILURE_MEMORY: Duration = Duration::from_secs(300);
    /// How long a feature denied for a secret (`DescribeSecret` version checks) or for the
    /// cache (`BatchGetSecretValue`) stays off before it is tried again.
    pub const DEFAULT_DENIAL_RETRY: Duration = Duration::from_secs(3600);
    /// How long a throttled first load waits its turn: 5 minutes, room for 3,000,000 reads
    /// of a 10,000/s quota (a fleet of 300,000 pods reading ten secrets each).
    pub const DEFAULT_STARTUP_PATIENCE: Duration = Duration::from_secs(300);
    /// The longest `startup_patience` may be: one hour.
    pub const MAX_STARTUP_PATIENCE: Duration = Duration::from_secs(3600);
    /// The longest any duration setting may be: 10 years.
    pub const MAX_DURATION: Duration = Duration::from_secs(10 * 365 * 86_400);

    pub(crate) fn new(source: impl SecretSource) -> Self {
        Self {
            source: Unbuilt::new(source),
            settings: Settings::default(),
            failover: Vec::new(),
            #[cfg(feature = "ssm")]
            parameters: None,
        }
    }

    /// The source the environment chooses; see
    /// [`SecretCache::builder_from_env`](crate::SecretCache::builder_from_env).
    pub(crate) async fn from_env() -> Result<Self, Error> {
        Ok(Self {
            source: crate::source::from_env().await?,
            settings: Settings::default(),
            failover: Vec::new(),
            #[cfg(feature = "ssm")]
            parameters: None,
        })
    }

    /// Soft TTL: after it (jittered into `[ttl/2, ttl]` on a first load, `[3/4 ttl, ttl]` on a
    /// refresh), the value is refreshed in the
    /// background while still served. Keep it below the secret's rotation interval.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.settings.ttl = ttl;
        self
    }

    /// Hard limit on a value's age while refreshes fail; past it, reads return
    /// [`Error::Stale`]. At least the TTL.
    pub fn max_staleness(mut self, max_staleness: Duration) -> Self {
        self.settings.max_staleness = max_staleness;
        self
    }

    /// Spread each entry's soft TTL uniformly over `[ttl/2, ttl]` on a first load and
    /// `[3/4 ttl, ttl]` on a refresh (on by default; one draw per fetch round) so that
    /// entries loaded together do not expire together.
    pub fn jitter(mut self, jitter: bool) -> Self {
        self.settings.jitter = jitter;
        self
    }

    /// The most (secret, version) entries kept (default 1024). Past it, a sixteenth of the
    /// capacity is dropped at once: entries never loaded first, then those confirmed longest
    /// ago; an entry a reader, a fetch or a live handle holds is not dropped, so the map may
    /// stay over capacity until they let go. A derived struct reading more distinct secrets
    /// than the capacity fails its load with [`Error::Config`].
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.settings.capacity = capacity;
        self
    }

    /// The version read when none is given (default `AWSCURRENT`): by
    /// [`SecretCache::get`](crate::SecretCache::get),
    /// [`SecretCache::refresh_now`](crate::SecretCache::refresh_now), and every field of a
    /// derived struct without `version_stage` or `version_id`, so a `refresh_now(id)` always
    /// refreshes the entry such a field reads.
    pub fn version(mut self, version: Version) -> Self {
        self.settings.version = version;
        self
    }

    /// The longest wait between retries of a failing refresh (default 128 s).
    pub fn max_backoff(mut self, max_backoff: Duration) -> Self {
        self.settings.max_backoff = max_backoff;
        self
    }

    /// The shortest interval between two [`SecretCache::refresh_now`] calls for one secret
    /// that reach the service (default 1 s); calls inside it share the last answer.
    pub fn refresh_now_interval(mut self, interval: Duration) -> Self {
        self.settings.refresh_now_interval = interval;
        self
    }

    /// Refresh by asking `DescribeSecret` which version is current, and fetch the value only
    /// when it changed (on by default). A check costs one call like a fetch, but no KMS decrypt,
    /// and the value crosses the network only when it rotated. Where `DescribeSecret` is denied for a
    /// secret, the cache logs one warning and fetches that secret instead until `denial_retry`
    /// has passed. Off: refreshes fetch the value (batched when [`batch`](Self::batch) is on
    /// and several are due together).
    pub fn version_checks(mut self, on: bool) -> Self {
        self.settings.version_checks = on;
        self
    }

    /// Fetch several current versions due together with one `BatchGetSecretValue` (up to 20
    /// secrets a call; **off by default**). A batch saves calls in one process, but its quota
    /// is 100 calls/s per account against 10,000 for `GetSecretValue`, shared with every other
    /// service of the account: a fleet starting more than about 100 processes a second
    /// throttles it (FLEET.md), and the action cannot be limited to named secrets, so
    /// [`IamPolicy`](crate::IamPolicy) must then grant it on `Resource: "*"`. Turn it on for a
    /// few processes reading many secrets each. A throttled or failing batch falls back to one
    /// `GetSecretValue` per secret; where the action is denied the cache logs one warning and
    /// does so until `denial_retry` has passed. Off: one `GetSecretValue` per secret, all in
    /// flight at once.
    pub fn batch(mut self, on: bool) -> Self {
        self.settings.batch = on;
        self
    }

    /// Read the latest versions of several Parameter Store parameters due together with one
    /// `GetParameters` (up to 10 a call; **on by default**). Unlike `BatchGetSecretValue`,
    /// `GetParameters` shares `GetParameter`'s quota (40 calls/s per account and region by
    /// default), so a struct of ten parameters costs one call of it instead of ten: a fleet
    /// deploy fits ten times the pods (FLEET.md). A parameter the batch does not return (not
    /// found, denied) is read with its own `GetParameter`, which names its error; versions,
    /// labels and `/aws/reference/secretsmanager/…` are always read one by one. A batch that
    /// fails transiently is tried again as a batch (a first load) or backed off (a refresh),
    /// not split into ten calls. Where `ssm:GetParameters` is denied the cache logs one
    /// warning and reads one parameter a call until `denial_retry` has passed.
    /// [`IamPolicy`](crate::IamPolicy) grants it on the same parameter ARNs when on.
    pub fn batch_parameters(mut self, on: bool) -> Self {
        self.settings.batch_parameters = on;
        self
    }

    /// What a load does when a secret's TTL is not below its rotation interval (default
    /// [`RotationGuardrail::Warn`]).
    pub fn rotation_guardrail(mut self, guardrail: RotationGuardrail) -> Self {
        self.settings.guardrail = guardrail;
        self
    }

    /// The limit on one HTTP attempt of an API call (default 3 s), set on every SDK call
    /// whatever the client's own settings: a connection that accepts and never answers is
    /// abandoned, and the SDK retries on a fresh connection. The agent source uses it as its
    /// connect timeout; every source is bounded by [`call_timeout`](Self::call_timeout).
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.settings.deadlines.attempt = timeout;
        self
    }

    /// The limit on one API call, its retries included (default 10 s). Enforced by the cache
    /// around every call, so it holds for any client: past it, the call's readers get
    /// [`Error::Transport`] with [`TransportKind::Timeout`](crate::TransportKind::Timeout)
    /// (transient: the value in hand is served within `max_staleness`, and the refresh is
    /// retried with backoff). A first load is answered by this deadline however its calls
    /// queued (after a batch that got no answer, behind the first calls of the slow start),
    /// unless the service throttles it ([`startup_patience`](Self::startup_patience)). With
    /// [`failover_regions`](Self::failover_regions), the primary region's call gets half of it
    /// and the replicas the other half.
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.settings.deadlines.call = timeout;
        self
    }

    /// The longest a persistent failure of a first load (not found, access denied, decryption,
    /// invalid request) is remembered (default 5 min). Reads meanwhile get the same error
    /// without a call; the memory starts at 1 s and doubles (jittered) with each repeat.
    /// [`SecretCache::refresh_now`] and [`SecretCache::invalidate`] forget it.
    pub fn max_failure_memory(mut self, max: Duration) -> Self {
        self.settings.max_failure_memory = max;
        self
    }

    /// How long a denied `DescribeSecret` (for the secret it was denied on) or
    /// `BatchGetSecretValue` stays off before the cache tries it again (default 1 h), so an IAM
    /// change that lands after the deploy is picked up without a restart.
    pub fn denial_retry(mut self, period: Duration) -> Self {
        self.settings.denial_retry = period;
        self
    }

    /// Pace calls when the service throttles them (on by default). Each action starts slowly
    /// (one call in flight, then one more per answer, open after eight), and after a
    /// `ThrottlingException` goes one call at a time with jittered gaps that double from 2 s
    /// (up to 12 s) while answers are throttled and shrink while they are not; the SDK does not
    /// retry a throttled call (the cache does, in its turn). A fleet past the account's quota
    /// then converges on it instead of multiplying its calls, and other services of the
    /// account keep their share (FLEET.md). Off: every call goes out at once and the SDK
    /// retries throttling as the client is configured.
    pub fn throttle_pacing(mut self, on: bool) -> Self {
        self.settings.throttle_pacing = on;
        self
    }

    /// How long a first load whose calls are throttled waits its turn before it fails with
    /// [`Error::Throttled`] (default 5 min, at most 1 h; zero: fail at the first throttling
    /// answer). Separate from [`call_timeout`](Self::call_timeout), which still bounds each
    /// attempt: a fleet starting past the quota needs `reads ÷ quota` seconds in all (120 s for
    /// 120,000 pods of ten secrets against 10,000 calls/s), and its pods should wait that out
    /// rather than fail and restart into the same queue. Only with
    /// [`throttle_pacing`](Self::throttle_pacing).
    pub fn startup_patience(mut self, patience: Duration) -> Self {
        self.settings.startup_patience = patience;
        self
    }

    /// Adds failover regions, tried in order when the primary region's call fails transiently:
    /// a timeout, a refused connection, a 5xx answer, or throttling that outlasted its pacing
    /// (a refresh's first throttled answer; a first load's `startup_patience`). The same secret
    /// is then read from its replica there: a name as it is, an ARN with its region field
    /// swapped. Not found, access denied, decryption and invalid requests never fail over.
    ///
    /// The primary is asked first at every call, so a healthy primary makes no replica call,
    /// and a recovered one answers the next refresh. With failover on, the primary's call gets
    /// **half of [`call_timeout`](Self::call_timeout)**, and the replicas share the other half:
    /// a first load against a blackholed primary is answered after `call_timeout / 2` plus the
    /// replica's round trip (5 s and some milliseconds by default), and no call takes longer
    /// than `call_timeout`, failover or not. A throttled first load waits its turns in the
    /// primary for [`startup_patience`](Self::startup_patience) first.
    ///
    /// Each region's client is the primary's, with the region replaced: the same credentials,
    /// retries, timeouts, HTTP client and any explicit endpoint URL (one endpoint serving every
    /// region, as a local Secrets Manager does). Where the primary's endpoint URL names one
    /// region's endpoint (a VPC endpoint's DNS name), give each failover region its own client
    /// with [`failover_client`](Self::failover_client) instead.
    ///
    /// [`Stats::replica_reads`](crate::Stats::replica_reads) counts the answers from a replica,
    /// each also logged as a warning (secret id and region, never the value);
    /// [`IamPolicy`](crate::IamPolicy) grants the replicas' ARNs too. Only the Secrets Manager
    /// API (an SDK client) fails over.
    ///
    /// # Examples
    /// ```no_run
    /// # async fn f() -> Result<(), asm_runtime::Error> {
    /// use asm_runtime::SecretCache;
    /// // The client's region is the primary (say us-east-1); its secrets are replicated to
    /// // us-west-2 (`aws secretsmanager replicate-secret-to-regions`).
    /// let cache = SecretCache::builder_from_env()
    ///     .await?
    ///     .failover_regions(["us-west-2"])
    ///     .build()?;
    /// # let _ = cache;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`build`](Self::build) fails with [`Error::Config`] for an empty or malformed region, one
    /// given twice, the primary's own region, one in another partition, or a source other than
    /// the SDK (an agent, mounted files and memory read one place only).
    pub fn failover_regions<R: Into<String>>(
        mut self,
        regions: impl IntoIterator<Item = R>,
    ) -> Self {
        let regions = regions.into_iter().map(|r| Spec::Region(r.into()));
        self.failover.extend(regions);
        self
    }

    /// Adds a failover region read through `client`, whose configuration names the region (and
    /// may name its own endpoint and credentials): for a primary whose endpoint URL cannot
    /// serve other regions. Tried in the order added, with the same rules as
    /// [`failover_regions`](Self::failover_regions).
    ///
    /// # Errors
    /// [`build`](Self::build) fails with [`Error::Config`] when `client` has no region, or as
    /// for `failover_regions`.
    pub fn failover_client(mut self, client: Client) -> Self {
        self.failover.push(Spec::Client(client));
        self
    }

    /// Reads Parameter Store parameters (ids `ssm:NAME` or a parameter's ARN, `parameter = "…"`
    /// in the derive) through `client`, with the cache's deadlines on every call. Not needed
    /// for a cache built from an `SdkConfig` (`from_env`, `from_conf`), which reads them
    /// through a client built from the same configuration; without either, a read of a
    /// parameter is an [`Error::Config`] saying so.
    ///
    /// # Examples
    /// ```no_run
    /// # async fn f() -> Result<(), asm_runtime::Error> {
    /// use asm_runtime::{SecretCache, aws_config, aws_sdk_secretsmanager, aws_sdk_ssm};
    /// let config = aws_config::load_defaults(SecretCache::behavior_version()).await;
    /// let cache = SecretCache::builder(aws_sdk_secretsmanager::Client::new(&config))
    ///     .parameter_client(aws_sdk_ssm::Client::new(&config))
    ///     .build()?;
    /// let host = cache.get("ssm:/prod/orders/db-host").await?;
    /// # let _ = host; Ok(()) }
    /// ```
    #[cfg(feature = "ssm")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ssm")))]
    pub fn parameter_client(mut self, client: aws_sdk_ssm::Client) -> Self {
        self.parameters = Some(client);
        self
    }

    /// Checks the settings and builds the cache.
    ///
    /// # Errors
    /// [`Error::Config`] for a zero TTL or capacity, a `max_staleness` below the TTL, a
    /// `startup_patience` over an hour, a duration over [`MAX_DURATION`](Self::MAX_DURATION),
    /// or failover regions the source cannot serve (see
    /// [`failover_regions`](Self::failover_regions)).
    pub fn build(self) -> Result<SecretCache, Error> {
        let s = &self.settings;
        let invalid = |message: &str| {
            Err(Error::Config {
                message: message.to_owned(),
            })
        };
        let durations = [
            ("ttl", s.ttl),
            ("max_staleness", s.max_staleness),
            ("max_backoff", s.max_backoff),
            ("refresh_now_interval", s.refresh_now_interval),
            ("attempt_timeout", s.deadlines.attempt),
            ("call_timeout", s.deadlines.call),
            ("max_failure_memory", s.max_failure_memory),
            ("denial_retry", s.denial_retry),
        ];
        if let Some((name, _)) = durations.iter().find(|(_, d)| *d > Self::MAX_DURATION) {
            return invalid(&format!(
                "{name} must be at most 10 years (deadlines are instants, and `Duration::MAX` \
                 would overflow them)"
            ));
        }
        if s.startup_patience > Self::MAX_STARTUP_PATIENCE {
            return invalid("startup_patience must be at most one hour");
        }
        if s.max_staleness < s.ttl {
            return Err(Error::ttl_above_max_staleness(
                "the cache's ttl",
                s.ttl,
                s.max_staleness,
            ));
        }
        let must_be_positive = [
            "ttl",
            "attempt_timeout",
            "call_timeout",
            "max_failure_memory",
        ];
        if let Some((name, _)) = durations
            .iter()
            .find(|(name, d)| d.is_zero() && must_be_positive.contains(name))
        {
            return invalid(&format!("{name} must be above zero"));
        }
        if s.deadlines.attempt > s.deadlines.call {
            return invalid("attempt_timeout must be at most call_timeout");
        }
        if s.capacity == 0 {
            return invalid("capacity must be above zero");
        }
        if s.max_backoff < super::backoff::BACKOFF_BASE {
            return invalid("max_backoff must be at least one second");
        }
        let (terms, replica_terms) =
            failover::terms(s.deadlines, s.throttle_pacing, !self.failover.is_empty());
        #[cfg(feature = "ssm")]
        let parameters =
            (self.parameters).map(|client| crate::source::ssm::over_client(client, terms));
        #[cfg(not(feature = "ssm"))]
        let parameters = None;
        let source = crate::source::Stores::over(self.source.build(terms), parameters);
        let call = s.deadlines.call;
        let failover = Failover::build(&*source, self.failover, replica_terms, call)?;
        Ok(SecretCache::over(Core {
            source,
            failover,
            entries: EntryMap::new(self.settings.capacity),
            pacers: Pacers::new(self.settings.throttle_pacing),
            settings: self.settings,
            counters: Arc::default(),
            batch_denied_until: Default::default(),
            changes: Arc::new(tokio::sync::watch::Sender::new(0)),
            plans: crate::plan::Plans::default(),
            handles: Arc::default(),
            exported: Arc::default(),
            home: std::sync::OnceLock::new(),
            role: None,
        }))
    }
}
