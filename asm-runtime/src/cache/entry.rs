//! One cached (secret id, version): its last good value, its deadlines, its in-flight fetch.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use futures_util::future::{BoxFuture, Shared};
use tokio::sync::OnceCell;
use tokio::time::Instant;

use crate::{Error, Secret, Version};

/// The most a live handle renews an entry ahead of its soft deadline (a tenth of the TTL for
/// short TTLs).
const MAX_REFRESH_LEAD: Duration = Duration::from_secs(5);

/// A fetch shared by every reader waiting for one entry (single flight).
pub(crate) type Flight = Shared<BoxFuture<'static, Result<Arc<Secret>, Error>>>;

pub(crate) struct Entry {
    /// The id the service is asked for (name or ARN, as first requested).
    pub(crate) id: Arc<str>,
    /// The role it is read as (its principal), or `None` for the cache's own credentials.
    pub(crate) role: Option<Arc<str>>,
    pub(crate) version: Version,
    /// The cache's TTL, used until a struct declares one.
    default_ttl: Duration,
    /// The shortest TTL a struct declared for this entry (`u64::MAX`: none).
    declared_ttl_nanos: AtomicU64,
    /// The last good value, swapped whole by a fetch; readers never lock.
    pub(crate) state: ArcSwapOption<Loaded>,
    /// The fetch under way, if any. Locked only on misses and refreshes.
    flight: Mutex<Option<Flight>>,
    /// When `refresh_now` last went to the service, for its rate limit.
    pub(crate) refreshed_now_at: Mutex<Option<Instant>>,
    /// Set by `refresh_now` for the next fetch: the source bypasses any cache of its own.
    bypass_source_cache: AtomicBool,
    /// The secret's rotation interval once `DescribeSecret` told it (`Some(None)`: no fixed
    /// period). Concurrent loads share one call to learn it.
    pub(crate) rotation: OnceCell<Option<Duration>>,
    /// A persistent failure of the first load, answered from memory until it expires.
    pub(crate) failure: FailureMemo,
    /// A failed rotation-guardrail check, not asked again until it expires.
    pub(crate) guard_failure: FailureMemo,
    /// The failure that answered the last first load, transient or not, until a value is
    /// fetched: what a health check reports for an entry that holds no value.
    load_failure: Mutex<Option<Error>>,
    /// The last guardrail findings logged under `Warn`, against the interval `DescribeSecret`
    /// reported and against a declared one (see `Entry::guard`): each is logged once.
    pub(crate) guard_warned: [AtomicU64; 2],
    /// When the entry was made: the origin of `describe_denied_until`.
    created: Instant,
    /// Until when `DescribeSecret` stays off for this secret after a denial, in nanoseconds
    /// after `created` (0: never denied). An atomic, not a lock: a warm load reads it.
    describe_denied_until: AtomicU64,
    /// Set when the entry leaves the map (invalidated, evicted, or merged into another entry
    /// of its secret); a fetch completing after that must not put it back.
    removed: AtomicBool,
}

/// A failure remembered until `until`: reads meanwhile get `error` without a call.
#[derive(Clone)]
pub(crate) struct Remembered {
    pub(crate) error: Error,
    pub(crate) until: Instant,
    /// How many times in a row it has been remembered (drives its backoff).
    pub(crate) count: u32,
}

/// The last failure of one kind for one entry, with its expiry. Locked only off the hit path.
#[derive(Default)]
pub(crate) struct FailureMemo(Mutex<Option<Remembered>>);

impl FailureMemo {
    fn slot(&self) -> MutexGuard<'_, Option<Remembered>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The remembered failure, while it has not expired.
    pub(crate) fn active(&self, now: Instant) -> Option<Error> {
        self.slot()
            .as_ref()
            .filter(|r| now < r.until)
            .map(|r| r.error.clone())
    }

    /// When the remembered failure expires, if one is remembered.
    pub(crate) fn until(&self) -> Option<Instant> {
        self.slot().as_ref().map(|r| r.until)
    }

    /// Remembers `error` for `wait(count)`, where `count` is the number of failures in a row
    /// (1 for the first); returns the wait.
    pub(crate) fn remember(
        &self,
        error: Error,
        now: Instant,
        wait: impl FnOnce(u32) -> Duration,
    ) -> Duration {
        let mut slot = self.slot();
        let count = slot.as_ref().map_or(0, |r| r.count).saturating_add(1);
        let wait = wait(count);
        *slot = Some(Remembered {
            error,
            until: now + wait,
            count,
        });
        wait
    }

    /// The remembered failure, expired or not.
    pub(crate) fn last(&self) -> Option<Error> {
        self.slot().as_ref().map(|r| r.error.clone())
    }

    /// Forgets the failure: the next read asks the service.
    pub(crate) fn forget(&self) {
        *self.slot() = None;
    }
}

/// A value and its deadlines, replaced as one so readers see a consistent set.
pub(crate) struct Loaded {
    pub(crate) secret: Arc<Secret>,
    /// When the service last confirmed this value.
    pub(crate) confirmed: Instant,
    /// Soft deadline: after it, the next read triggers a refresh (also the backoff deadline).
    pub(crate) refresh_at: Instant,
    /// Hard deadline: after it, reads fail with `Stale` unless a refresh succeeds.
    pub(crate) stale_at: Instant,
    /// `min(refresh_at, stale_at)`: before it, a read is a plain hit.
    pub(crate) fresh_until: Instant,
    /// Consecutive failed refreshes.
    pub(crate) failures: u32,
    pub(crate) last_error: Option<Error>,
}

impl Loaded {
    pub(crate) fn new(
        secret: Arc<Secret>,
        confirmed: Instant,
        refresh_at: Instant,
        max_staleness: Duration,
        failures: u32,
        last_error: Option<Error>,
    ) -> Self {
        let stale_at = confirmed + max_staleness;
        Self {
            secret,
            confirmed,
            refresh_at,
            stale_at,
            fresh_until: refresh_at.min(stale_at),
            failures,
            last_error,
        }
    }
}

impl Entry {
    pub(crate) fn new(id: Arc<str>, version: Version, ttl: Duration) -> Self {
        Self {
            id,
            role: None,
            version,
            default_ttl: ttl,
            declared_ttl_nanos: AtomicU64::new(u64::MAX),
            state: ArcSwapOption::empty(),
            flight: Mutex::new(None),
            refreshed_now_at: Mutex::new(None),
            bypass_source_cache: AtomicBool::new(false),
            rotation: OnceCell::new(),
            failure: FailureMemo::default(),
            guard_failure: FailureMemo::default(),
            load_failure: Mutex::new(None),
            guard_warned: [AtomicU64::new(u64::MAX), AtomicU64::new(u64::MAX)],
            created: Instant::now(),
            describe_denied_until: AtomicU64::new(0),
            removed: AtomicBool::new(false),
        }
    }

    /// The entry read as `role` (`None`: the cache's own credentials).
    pub(crate) fn read_as(mut self, role: Option<Arc<str>>) -> Self {
        self.role = role;
        self
    }

    /// The TTL in force: the shortest a struct declared for this secret, longer or shorter
    /// than the cache's, or the cache's when none did.
    pub(crate) fn ttl(&self) -> Duration {
        match self.declared_ttl_nanos.load(Relaxed) {
            u64::MAX => self.default_ttl,
            declared => Duration::from_nanos(declared),
        }
    }

    /// Records a TTL a struct declared: it replaces the cache's; when several structs declare
    /// one, the shortest wins, as they share the one cached value.
    /// A plain load first: a warm load re-declares its TTLs each time, and must not write a
    /// shared cache line when nothing changes.
    pub(crate) fn declare_ttl(&self, ttl: Duration) {
        let declared = nanos(ttl).min(u64::MAX - 1);
        if declared < self.declared_ttl_nanos.load(Relaxed) {
            self.declared_ttl_nanos.fetch_min(declared, Relaxed);
        }
    }

    /// Asks the next fetch to bypass the source's own cache (a node agent's TTL).
    pub(crate) fn bypass_source_cache(&self) {
        self.bypass_source_cache.store(true, Relaxed);
    }

    /// Whether this fetch is to bypass the source's own cache (and clears the request).
    pub(crate) fn take_bypass_source_cache(&self) -> bool {
        self.bypass_source_cache.swap(false, Relaxed)
    }

    pub(crate) fn flight_slot(&self) -> MutexGuard<'_, Option<Flight>> {
        self.flight.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn current_flight(&self) -> Option<Flight> {
        self.flight_slot().clone()
    }

    /// Marks the entry as out of the map (called under the map's write lock).
    pub(crate) fn mark_removed(&self) {
        self.removed.store(true, Relaxed);
    }

    pub(crate) fn is_removed(&self) -> bool {
        self.removed.load(Relaxed)
    }

    /// Records the rotation interval a version check learnt, the first time one is learnt.
    pub(crate) fn learn_rotation(&self, rotation: Option<Duration>) -> Learnt {
        match self.rotation.set(rotation) {
            Ok(()) => Learnt::First,
            Err(_) => Learnt::AlreadyKnown,
        }
    }

    /// Whether `DescribeSecret` may be asked about this secret (not denied, or denied long
    /// enough ago to try again).
    pub(crate) fn describe_allowed(&self, now: Instant) -> bool {
        match self.describe_denied_until.load(Relaxed) {
            0 => true,
            until => now >= self.created + Duration::from_nanos(until),
        }
    }

    /// Turns `DescribeSecret` off for this secret until `until`; `true` if it was on (the
    /// first denial of a period, worth a warning).
    pub(crate) fn deny_describe(&self, now: Instant, until: Instant) -> bool {
        let was_on = self.describe_allowed(now);
        let after = nanos(until.saturating_duration_since(self.created)).max(1);
        self.describe_denied_until.store(after, Relaxed);
        was_on
    }

    /// Records the failure a first load was answered with (`None`: a value was fetched).
    pub(crate) fn set_load_failure(&self, error: Option<&Error>) {
        *self
            .load_failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = error.cloned();
    }

    /// The failure the last first load was answered with, while the entry holds no value.
    pub(crate) fn load_failure(&self) -> Option<Error> {
        (self
            .load_failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner))
        .clone()
    }

    /// The failure this entry last met and has not recovered from: its refresh's, or, while it
    /// holds no value, its first load's.
    pub(crate) fn last_failure(&self) -> Option<Error> {
        match self.state.load().as_deref() {
            Some(loaded) => loaded.last_error.clone(),
            None => self.failure.last(),
        }
    }

    /// Whether the entry holds a value whose last refresh failed in a way retrying may fix
    /// (it is backing off from a timeout, a throttle, a 5xx).
    pub(crate) fn backing_off_transiently(&self) -> bool {
        self.state
            .load()
            .as_deref()
            .and_then(|loaded| loaded.last_error.as_ref())
            .is_some_and(Error::is_transient)
    }

    /// Whether the source confirmed the entry's value at or after `since`.
    pub(crate) fn confirmed_since(&self, since: Instant) -> bool {
        self.state
            .load()
            .as_deref()
            .is_some_and(|loaded| loaded.last_error.is_none() && loaded.confirmed >= since)
    }

    /// Whether the entry holds a value whose last refresh succeeded.
    pub(crate) fn is_healthy(&self) -> bool {
        self.state
            .load()
            .as_deref()
            .is_some_and(|loaded| loaded.last_error.is_none())
    }

    /// When a live handle should next go to the service for this entry: a little before its
    /// soft deadline (so readers never see it pass), at its backoff deadline after a failure,
    /// or, if it holds no value, `now` or when its remembered failure expires.
    pub(crate) fn due_at(&self, now: Instant) -> Instant {
        match self.state.load().as_deref() {
            None => self.failure.until().map_or(now, |until| until.max(now)),
            Some(loaded) if loaded.failures > 0 => loaded.refresh_at,
            Some(loaded) => {
                let lead = (self.ttl() / 10).min(MAX_REFRESH_LEAD);
                loaded
                    .refresh_at
                    .checked_sub(lead)
                    .unwrap_or(loaded.refresh_at)
            }
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Whether a rotation interval was learnt for the first time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Learnt {
    /// None was known: the guardrail could not check the TTL at load, and applies now.
    First,
    /// One was known already.
    AlreadyKnown,
}
