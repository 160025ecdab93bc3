//! Settings of a [`SecretCache`], checked when it is built.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use aws_sdk_secretsmanager::Client;

use super::guardrail::RotationGuardrail;
use super::map::EntryMap;
use super::stats::Counters;
use super::{SecretCache, Shared};
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
    pub(crate) guardrail: RotationGuardrail,
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
            batch: true,
            guardrail: RotationGuardrail::default(),
        }
    }
}

/// Builds a [`SecretCache`] from an SDK client.
///
/// # Examples
/// ```no_run
/// # async fn f() -> Result<(), asm_runtime::Error> {
/// use std::time::Duration;
/// let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
/// let client = aws_sdk_secretsmanager::Client::new(&config);
/// let cache = asm_runtime::SecretCache::builder(client)
///     .ttl(Duration::from_secs(300))
///     .max_staleness(Duration::from_secs(3600))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use]
pub struct SecretCacheBuilder {
    client: Client,
    settings: Settings,
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
    /// The longest any duration setting may be: 10 years.
    pub const MAX_DURATION: Duration = Duration::from_secs(10 * 365 * 86_400);

    pub(crate) fn new(client: Client) -> Self {
        Self {
            client,
            settings: Settings::default(),
        }
    }

    /// Soft TTL: after it (jittered into `[ttl/2, ttl]`), the value is refreshed in the
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

    /// Spread each entry's soft TTL uniformly over `[ttl/2, ttl]` (on by default) so that
    /// entries loaded together do not expire together.
    pub fn jitter(mut self, jitter: bool) -> Self {
        self.settings.jitter = jitter;
        self
    }

    /// The most (secret, version) entries kept; the one confirmed longest ago is dropped
    /// first.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.settings.capacity = capacity;
        self
    }

    /// The version read when none is given (default `AWSCURRENT`).
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
    /// and the value crosses the network only when it rotated. Where `DescribeSecret` is denied,
    /// the cache logs one warning and fetches instead. Off: refreshes fetch the value, batched
    /// (`BatchGetSecretValue`, up to 20 secrets a call) when several are due together.
    pub fn version_checks(mut self, on: bool) -> Self {
        self.settings.version_checks = on;
        self
    }

    /// Fetch several secrets due together with one `BatchGetSecretValue` (up to 20 a call; on
    /// by default). The batch saves calls in one process, but its quota is 100 calls/s per
    /// account against 10,000 for `GetSecretValue`: a fleet starting more than about 100
    /// processes a second should turn it off (FLEET.md). A throttled or failing batch falls
    /// back to one `GetSecretValue` per secret either way.
    pub fn batch(mut self, on: bool) -> Self {
        self.settings.batch = on;
        self
    }

    /// What a load does when a secret's TTL is not below its rotation interval (default
    /// [`RotationGuardrail::Warn`]).
    pub fn rotation_guardrail(mut self, guardrail: RotationGuardrail) -> Self {
        self.settings.guardrail = guardrail;
        self
    }

    /// Checks the settings and builds the cache.
    ///
    /// # Errors
    /// [`Error::Config`] for a zero TTL or capacity, a `max_staleness` below the TTL, or a
    /// duration over [`MAX_DURATION`](Self::MAX_DURATION).
    pub fn build(self) -> Result<SecretCache, Error> {
        let s = &self.settings;
        let invalid = |message: &str| {
            Err(Error::Config {
                message: message.to_owned(),
            })
        };
        if s.ttl.is_zero() {
            return invalid("ttl must be above zero");
        }
        let durations = [
            ("ttl", s.ttl),
            ("max_staleness", s.max_staleness),
            ("max_backoff", s.max_backoff),
            ("refresh_now_interval", s.refresh_now_interval),
        ];
        if let Some((name, _)) = durations.iter().find(|(_, d)| *d > Self::MAX_DURATION) {
            return invalid(&format!(
                "{name} must be at most 10 years (deadlines are instants, and `Duration::MAX` \
                 would overflow them)"
            ));
        }
        if s.max_staleness < s.ttl {
            return invalid("max_staleness must be at least the ttl");
        }
        if s.capacity == 0 {
            return invalid("capacity must be above zero");
        }
        if s.max_backoff < super::backoff::BACKOFF_BASE {
            return invalid("max_backoff must be at least one second");
        }
        Ok(SecretCache {
            shared: Arc::new(Shared {
                client: self.client,
                entries: EntryMap::new(self.settings.capacity),
                settings: self.settings,
                counters: Counters::default(),
                batch_denied: AtomicBool::new(false),
                describe_denied: AtomicBool::new(false),
                changes: tokio::sync::watch::Sender::new(0),
            }),
        })
    }
}
