//! In-process counters: cheap to bump from any thread, read as one [`Stats`] snapshot.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

use crate::error::Operation;

/// A snapshot of a cache's counters since it was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Reads answered from memory with a fresh value.
    pub hits: u64,
    /// Reads that found no value and waited for the service.
    pub misses: u64,
    /// Reads answered with a value past its soft TTL while a refresh ran.
    pub stale_served: u64,
    /// `GetSecretValue` calls made.
    pub get_secret_value_calls: u64,
    /// `BatchGetSecretValue` calls made.
    pub batch_get_secret_value_calls: u64,
    /// `DescribeSecret` calls made (version checks and the rotation guardrail).
    pub describe_secret_calls: u64,
    /// Fetches or version checks of one secret that failed (first loads and refreshes).
    pub failures: u64,
    /// The part of `failures` that retrying will not fix: access denied, not found, decryption
    /// failed, invalid request (e.g. scheduled for deletion).
    pub persistent_failures: u64,
    /// Refreshes that found a new version (rotations adopted).
    pub rotations: u64,
}

impl Stats {
    /// All API calls made, whatever the operation.
    pub fn api_calls(&self) -> u64 {
        self.get_secret_value_calls + self.batch_get_secret_value_calls + self.describe_secret_calls
    }
}

const SHARDS: usize = 16;

/// One cache line per shard, so threads counting hits do not contend.
#[repr(align(128))]
#[derive(Default)]
struct Shard(AtomicU64);

#[derive(Default)]
pub(crate) struct Counters {
    hits: [Shard; SHARDS],
    misses: AtomicU64,
    stale_served: AtomicU64,
    get_calls: AtomicU64,
    batch_calls: AtomicU64,
    describe_calls: AtomicU64,
    failures: AtomicU64,
    persistent_failures: AtomicU64,
    rotations: AtomicU64,
}

fn shard() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local!(static SHARD: Cell<usize> = const { Cell::new(usize::MAX) });
    SHARD.with(|s| {
        if s.get() == usize::MAX {
            s.set(NEXT.fetch_add(1, Relaxed) % SHARDS);
        }
        s.get()
    })
}

impl Counters {
    pub(crate) fn hit(&self) {
        self.hits[shard()].0.fetch_add(1, Relaxed);
    }

    pub(crate) fn miss(&self) {
        self.misses.fetch_add(1, Relaxed);
    }

    pub(crate) fn stale_served(&self) {
        self.stale_served.fetch_add(1, Relaxed);
    }

    pub(crate) fn failure(&self, transient: bool) {
        self.failures.fetch_add(1, Relaxed);
        if !transient {
            self.persistent_failures.fetch_add(1, Relaxed);
        }
    }

    pub(crate) fn rotation(&self) {
        self.rotations.fetch_add(1, Relaxed);
    }

    pub(crate) fn call(&self, op: Operation) {
        let counter = match op {
            Operation::GetSecretValue => &self.get_calls,
            Operation::BatchGetSecretValue => &self.batch_calls,
            Operation::DescribeSecret => &self.describe_calls,
        };
        counter.fetch_add(1, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Stats {
        Stats {
            hits: self.hits.iter().map(|s| s.0.load(Relaxed)).sum(),
            misses: self.misses.load(Relaxed),
            stale_served: self.stale_served.load(Relaxed),
            get_secret_value_calls: self.get_calls.load(Relaxed),
            batch_get_secret_value_calls: self.batch_calls.load(Relaxed),
            describe_secret_calls: self.describe_calls.load(Relaxed),
            failures: self.failures.load(Relaxed),
            persistent_failures: self.persistent_failures.load(Relaxed),
            rotations: self.rotations.load(Relaxed),
        }
    }
}
