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
    pub(crate) forced_at: Mutex<Option<Instant>>,
    /// The secret's rotation interval once `DescribeSecret` told it (`Some(None)`: no fixed
    /// period). Concurrent loads share one call to learn it.
    pub(crate) rotation: OnceCell<Option<Duration>>,
    /// Set when the entry leaves the map (invalidated or evicted); a fetch completing after
    /// that must not put it back.
    removed: AtomicBool,
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
            version,
            default_ttl: ttl,
            declared_ttl_nanos: AtomicU64::new(u64::MAX),
            state: ArcSwapOption::empty(),
            flight: Mutex::new(None),
            forced_at: Mutex::new(None),
            rotation: OnceCell::new(),
            removed: AtomicBool::new(false),
        }
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
    pub(crate) fn declare_ttl(&self, ttl: Duration) {
        self.declared_ttl_nanos
            .fetch_min(nanos(ttl).min(u64::MAX - 1), Relaxed);
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

    /// Records the rotation interval a version check learnt, if none was known.
    pub(crate) fn set_rotation(&self, rotation: Option<Duration>) {
        // Already known: the guardrail ran at load, and that is when it applies.
        let _ = self.rotation.set(rotation);
    }

    /// When a live handle should next go to the service for this entry: a little before its
    /// soft deadline (so readers never see it pass), at its backoff deadline after a failure,
    /// or `now` if it holds no value.
    pub(crate) fn due_at(&self, now: Instant) -> Instant {
        match self.state.load().as_deref() {
            None => now,
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
