//! Readiness: what a Kubernetes readiness (or health) probe asks of a cache or a live handle.
//!
//! [`SecretCache::health`] and [`Live::health`](crate::Live::health) answer at one instant,
//! without a call to the source and without touching the hit path: they read each entry's
//! `Loaded` (its `confirmed`, `refresh_at`, `stale_at` and `last_error`) and each live handle's
//! published snapshot. Each secret is in one [`SecretState`]:
//!
//! | state | the entry | reads | [`Readiness`] |
//! |---|---|---|---|
//! | `Fresh` | a value within its soft TTL, its last fetch or check succeeded | hits | `Ready` |
//! | `Idle` | a value past its soft TTL, nothing failed (nobody has read it since) | the next read refreshes it | `Ready` |
//! | `Stale` | a value whose last refresh failed, younger than `max_staleness` | served (stale-if-error) | `Degraded` |
//! | `Expired` | a value whose last refresh failed, older than `max_staleness` | [`Error::Stale`] | `NotReady` |
//! | `Failed` | no value: the last first load failed (a remembered failure, or a transient one) | that error | `NotReady` |
//! | `Loading` | no value yet, nothing failed: a first load is under way | wait for it | `NotReady` |
//!
//! A live handle is `Current`, `Behind` (its last round failed, or could not rebuild the
//! struct from a rotated secret: it serves its last good snapshot) or `Stale` (its snapshot's
//! oldest secret is past `max_staleness`: [`Live::try_current`](crate::Live::try_current)
//! fails). No state holds a value: ids, versions, instants and typed errors only.
//!
//! The cache knows its live handles through [`Handles`]: each registers a `Weak` of what it
//! publishes (the [`Watched`] trait, implemented in `live`, so this module never names it).

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::{Core, Entry, SecretCache};
use crate::{Error, Version};

/// Whether a cache or a live handle can serve, for a readiness or health endpoint; the worst
/// of its secrets' and handles' states. Ordered from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Readiness {
    /// Every value was confirmed by its last fetch or version check.
    Ready,
    /// Some values are served stale because their refreshes fail (they are still younger than
    /// `max_staleness`), or a live handle serves its last good snapshot: ready, but say so.
    Degraded,
    /// Some reads fail: a value past `max_staleness`, a first load that failed or is still
    /// under way, a live handle whose snapshot is too old.
    NotReady,
}

impl Readiness {
    /// `ready`, `degraded` or `not_ready`: a label for pages and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::Degraded => "degraded",
            Self::NotReady => "not_ready",
        }
    }
}

/// What a cache ([`SecretCache::health`]) or a live handle
/// ([`Live::health`](crate::Live::health)) says of its secrets at one instant.
///
/// # Examples
/// A readiness endpoint (any HTTP framework):
/// ```no_run
/// # fn f(cache: &asm_runtime::SecretCache) -> (u16, String) {
/// let health = cache.health();
/// let status = if health.is_ready() { 200 } else { 503 };
/// (status, health.to_string()) // ids, states and typed failures: never a value
/// # }
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Health {
    /// Each secret (id as first asked, and version) the cache holds or has tried to load,
    /// sorted by id.
    pub secrets: Vec<SecretHealth>,
    /// Each live handle on the cache (for [`Live::health`](crate::Live::health): that handle).
    pub live: Vec<LiveHealth>,
}

impl Health {
    /// The worst state of any secret or live handle; `Ready` when there are none.
    pub fn readiness(&self) -> Readiness {
        let secrets = self.secrets.iter().map(|s| s.state.readiness());
        let live = self.live.iter().map(|l| l.state.readiness());
        secrets.chain(live).max().unwrap_or(Readiness::Ready)
    }

    /// Whether every read would be answered: no secret past `max_staleness`, no first load
    /// failed or under way, no live handle too stale. Values served stale within
    /// `max_staleness` still count as ready ([`Readiness::Degraded`]): the process serves.
    pub fn is_ready(&self) -> bool {
        self.readiness() != Readiness::NotReady
    }

    /// How long the oldest value whose refresh failed has gone unconfirmed (`None` when every
    /// value's last refresh succeeded): alert well before it reaches `max_staleness`.
    pub fn oldest_unconfirmed(&self) -> Option<Duration> {
        self.secrets
            .iter()
            .filter_map(|s| s.state.unconfirmed_for())
            .max()
    }

    /// The secrets that are not `Fresh` or `Idle`: what a page about an incident lists.
    pub fn problems(&self) -> impl Iterator<Item = &SecretHealth> {
        self.secrets
            .iter()
            .filter(|s| s.state.readiness() != Readiness::Ready)
    }
}

/// `ready`, `degraded` or `not_ready`, then one line per secret or handle that is not fine:
/// its id, state, age and typed failure. Never a value.
impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.readiness().name())?;
        for secret in self.problems() {
            writeln!(f, "{secret}")?;
        }
        for handle in &self.live {
            if handle.state.readiness() != Readiness::Ready {
                writeln!(f, "{handle}")?;
            }
        }
        Ok(())
    }
}

/// One secret's state.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SecretHealth {
    /// The id as first asked (name or ARN).
    pub secret_id: String,
    /// The version asked for.
    pub version: Version,
    /// Its state.
    pub state: SecretState,
}

impl SecretHealth {
    /// The state of `entry` at `now`.
    pub(crate) fn of(entry: &Entry, now: Instant) -> Self {
        Self {
            secret_id: entry.id.to_string(),
            version: entry.version.clone(),
            state: SecretState::of(entry, now),
        }
    }
}

impl fmt::Display for SecretHealth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.secret_id, self.version, self.state)
    }
}

/// Where one secret stands (see the table in [`SecretCache::health`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SecretState {
    /// Within its soft TTL; its last fetch or version check succeeded.
    Fresh {
        /// Since the source last confirmed the value.
        age: Duration,
    },
    /// Past its soft TTL, nothing failed: nobody has read it since (the next read refreshes
    /// it; a live handle renews its secrets before they get here).
    Idle {
        /// Since the source last confirmed the value.
        age: Duration,
    },
    /// Served stale: its last refresh failed, and it is younger than `max_staleness`.
    Stale {
        /// Since the source last confirmed the value.
        age: Duration,
        /// When that was (wall clock).
        confirmed_at: SystemTime,
        /// Refreshes failed in a row since.
        failures: u32,
        /// The last one's error (typed; [`Error::kind`] names it).
        last_failure: Error,
        /// How long until reads of it fail with [`Error::Stale`], unless a refresh succeeds.
        fails_in: Duration,
    },
    /// Past `max_staleness` with its last refresh failed: reads of it fail with
    /// [`Error::Stale`].
    Expired {
        /// Since the source last confirmed the value.
        age: Duration,
        /// When that was (wall clock).
        confirmed_at: SystemTime,
        /// Refreshes failed in a row since.
        failures: u32,
        /// The last one's error.
        last_failure: Error,
    },
    /// No value: the last first load failed with `error` (a persistent failure is answered
    /// from memory for a while; a transient one is tried again at the next read).
    Failed {
        /// The failure the load was answered with.
        error: Error,
    },
    /// No value and no failure yet: a first load is under way.
    Loading,
}

impl SecretState {
    fn of(entry: &Entry, now: Instant) -> Self {
        let state = entry.state.load();
        let Some(loaded) = state.as_deref() else {
            return match entry.load_failure() {
                Some(error) => Self::Failed { error },
                None => Self::Loading,
            };
        };
        let age = now.saturating_duration_since(loaded.confirmed);
        let Some(last_failure) = loaded.last_error.clone() else {
            return if now < loaded.refresh_at {
                Self::Fresh { age }
            } else {
                Self::Idle { age }
            };
        };
        let confirmed_at = SystemTime::now()
            .checked_sub(age)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let failures = loaded.failures;
        if now < loaded.stale_at {
            Self::Stale {
                age,
                confirmed_at,
                failures,
                last_failure,
                fails_in: loaded.stale_at - now,
            }
        } else {
            Self::Expired {
                age,
                confirmed_at,
                failures,
                last_failure,
            }
        }
    }

    /// What this state means for a probe.
    pub fn readiness(&self) -> Readiness {
        match self {
            Self::Fresh { .. } | Self::Idle { .. } => Readiness::Ready,
            Self::Stale { .. } => Readiness::Degraded,
            Self::Expired { .. } | Self::Failed { .. } | Self::Loading => Readiness::NotReady,
        }
    }

    /// `fresh`, `idle`, `stale`, `expired`, `failed` or `loading`: a label for pages and
    /// metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Fresh { .. } => "fresh",
            Self::Idle { .. } => "idle",
            Self::Stale { .. } => "stale",
            Self::Expired { .. } => "expired",
            Self::Failed { .. } => "failed",
            Self::Loading => "loading",
        }
    }

    /// The failure behind a `Stale`, `Expired` or `Failed` state.
    pub fn failure(&self) -> Option<&Error> {
        match self {
            Self::Stale { last_failure, .. } | Self::Expired { last_failure, .. } => {
                Some(last_failure)
            }
            Self::Failed { error } => Some(error),
            _ => None,
        }
    }

    /// How long a value whose refresh failed has gone unconfirmed (`Stale`, `Expired`).
    pub fn unconfirmed_for(&self) -> Option<Duration> {
        match self {
            Self::Stale { age, .. } | Self::Expired { age, .. } => Some(*age),
            _ => None,
        }
    }
}

impl fmt::Display for SecretState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = |d: &Duration| d.as_secs();
        match self {
            Self::Fresh { age } | Self::Idle { age } => {
                write!(f, "{}, confirmed {} s ago", self.name(), secs(age))
            }
            Self::Stale {
                age,
                failures,
                last_failure,
                fails_in,
                ..
            } => write!(
                f,
                "stale, unconfirmed for {} s after {failures} failed refreshes, reads fail in \
                 {} s; {}: {last_failure}",
                secs(age),
                secs(fails_in),
                last_failure.kind()
            ),
            Self::Expired {
                age,
                failures,
                last_failure,
                ..
            } => write!(
                f,
                "expired, unconfirmed for {} s after {failures} failed refreshes, reads fail; \
                 {}: {last_failure}",
                secs(age),
                last_failure.kind()
            ),
            Self::Failed { error } => write!(f, "failed; {}: {error}", error.kind()),
            Self::Loading => f.write_str("loading"),
        }
    }
}

/// One live handle's state.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LiveHealth {
    /// The settings struct it keeps current (its type name).
    pub settings: &'static str,
    /// Its state.
    pub state: LiveState,
}

impl fmt::Display for LiveHealth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.state {
            LiveState::Current => write!(f, "live {}: current", self.settings),
            LiveState::Behind { last_error } => write!(
                f,
                "live {}: behind, serving its last good snapshot; {}: {last_error}",
                self.settings,
                last_error.kind()
            ),
            LiveState::Stale { error } => write!(
                f,
                "live {}: stale, try_current fails; {}: {error}",
                self.settings,
                error.kind()
            ),
        }
    }
}

/// Where a live handle stands.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum LiveState {
    /// Its last round confirmed every secret and its snapshot is built from them.
    Current,
    /// Its last round failed (a refresh, or rebuilding the struct from a rotated secret): it
    /// serves its last good snapshot, younger than `max_staleness`.
    Behind {
        /// What failed ([`Live::last_error`](crate::Live::last_error)).
        last_error: Error,
    },
    /// Its snapshot's oldest secret is past `max_staleness`:
    /// [`Live::try_current`](crate::Live::try_current) fails with this [`Error::Stale`].
    Stale {
        /// The `Error::Stale` naming that secret, its age and its own last failure.
        error: Error,
    },
}

impl LiveState {
    /// What this state means for a probe.
    pub fn readiness(&self) -> Readiness {
        match self {
            Self::Current => Readiness::Ready,
            Self::Behind { .. } => Readiness::Degraded,
            Self::Stale { .. } => Readiness::NotReady,
        }
    }

    /// `current`, `behind` or `stale`: a label for pages and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Current => "current",
            Self::Behind { .. } => "behind",
            Self::Stale { .. } => "stale",
        }
    }
}

/// What a live handle publishes, as the cache sees it: implemented by `live`, so that the
/// cache can report its handles without naming them.
pub(crate) trait Watched: Send + Sync {
    /// The handle's state at `now`.
    fn health(&self, now: Instant) -> LiveHealth;
}

/// The live handles of a cache, held weakly: a handle dropped leaves the list at the next
/// registration or report.
#[derive(Default)]
pub(crate) struct Handles(Mutex<Vec<Weak<dyn Watched>>>);

impl Handles {
    fn list(&self) -> std::sync::MutexGuard<'_, Vec<Weak<dyn Watched>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a handle.
    pub(crate) fn register(&self, handle: Weak<dyn Watched>) {
        let mut list = self.list();
        list.retain(|h| h.strong_count() > 0);
        list.push(handle);
    }

    /// The handles still alive.
    pub(crate) fn alive(&self) -> Vec<Arc<dyn Watched>> {
        let mut list = self.list();
        list.retain(|h| h.strong_count() > 0);
        list.iter().filter_map(Weak::upgrade).collect()
    }
}

impl Core {
    /// The state of every secret this principal holds or has tried to load.
    fn secrets_health(&self, now: Instant) -> Vec<SecretHealth> {
        (self.entries.all().iter())
            .map(|entry| SecretHealth::of(entry, now))
            .collect()
    }
}

impl SecretCache {
    /// Whether the cache can serve, for a readiness or health endpoint: the state of every
    /// secret it holds or has tried to load, and of every live handle on it, at this instant.
    /// No call to the source; the hit path is not touched.
    ///
    /// | state | meaning | [`Readiness`] |
    /// |---|---|---|
    /// | [`Fresh`](SecretState::Fresh) | within its TTL, last fetch or check succeeded | `Ready` |
    /// | [`Idle`](SecretState::Idle) | past its TTL, nothing failed: the next read refreshes it | `Ready` |
    /// | [`Stale`](SecretState::Stale) | served stale: refreshes fail (since `confirmed_at`, why: `last_failure`), younger than `max_staleness` | `Degraded` |
    /// | [`Expired`](SecretState::Expired) | past `max_staleness` with refreshes failing: reads fail | `NotReady` |
    /// | [`Failed`](SecretState::Failed) | no value: its first load failed (remembered failures included) | `NotReady` |
    /// | [`Loading`](SecretState::Loading) | no value yet: a first load is under way | `NotReady` |
    ///
    /// A secret read once by mistake (a missing optional secret) keeps the cache `NotReady`
    /// until it loads or is [`invalidate`](Self::invalidate)d; a probe for what one settings
    /// struct needs is [`Live::health`](crate::Live::health) on its handle.
    pub fn health(&self) -> Health {
        let now = Instant::now();
        // Every principal's secrets (the cache's own and each role's); the live handles'
        // registry is shared by all of them.
        let mut secrets: Vec<SecretHealth> = (self.principals.all().iter())
            .flat_map(|core| core.secrets_health(now))
            .collect();
        secrets.sort_by(|a, b| a.secret_id.cmp(&b.secret_id));
        let live = (self.core.handles.alive().iter())
            .map(|handle| handle.health(now))
            .collect();
        Health { secrets, live }
    }

    /// Lists a live handle in [`health`](Self::health) for as long as it is alive.
    pub(crate) fn register_handle(&self, handle: Weak<dyn Watched>) {
        self.core.handles.register(handle);
    }
}

#[cfg(test)]
mod tests;
