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
    /// Parameter Store `GetParameter` calls made (reads and version checks of parameters:
    /// a parameter has no `DescribeSecret`, so each refresh is one).
    pub get_parameter_calls: u64,
    /// Parameter Store `GetParameters` calls made (up to ten parameters each, see
    /// [`SecretCacheBuilder::batch_parameters`](crate::SecretCacheBuilder::batch_parameters)).
    pub get_parameters_calls: u64,
    /// Fetches or version checks of one secret that failed (first loads and refreshes).
    pub failures: u64,
    /// The part of `failures` that retrying will not fix: access denied, not found, decryption
    /// failed, invalid request (e.g. scheduled for deletion).
    pub persistent_failures: u64,
    /// Reads answered with a first load's remembered persistent failure, without a call.
    pub failures_remembered: u64,
    /// Refreshes that found a new version (rotations adopted).
    pub rotations: u64,
    /// Calls sent to a failover region after the primary region's call failed transiently
    /// (see [`SecretCacheBuilder::failover_regions`](crate::SecretCacheBuilder::failover_regions));
    /// each is counted under its operation too. Zero while the primary is healthy.
    pub failover_calls: u64,
    /// The part of `failover_calls` a replica answered: values and version checks read from a
    /// failover region (the value's [`Secret::arn`](crate::Secret::arn) names that region).
    pub replica_reads: u64,
}

impl Stats {
    /// All API calls made, whatever the operation.
    pub fn api_calls(&self) -> u64 {
        self.get_secret_value_calls
            + self.batch_get_secret_value_calls
            + self.describe_secret_calls
            + self.get_parameter_calls
            + self.get_parameters_calls
    }
}

const SHARDS: usize = 16;

/// One cache line per shard, so threads counting hits do not contend.
#[repr(align(128))]
#[derive(Default)]
struct Shard(AtomicU64);

#[derive(Default)]
pub(crate) struct Counters {
    /// Hits by the first `SHARDS` threads of the process, one shard each: a shard has a single
    /// writer, so counting is a plain load and store, with no locked instruction on the hit path.
    owned: [Shard; SHARDS],
    /// Hits by every later thread, spread over shared shards counted with `fetch_add`.
    shared: [Shard; SHARDS],
    misses: AtomicU64,
    stale_served: AtomicU64,
    get_calls: AtomicU64,
    batch_calls: AtomicU64,
    describe_calls: AtomicU64,
    parameter_calls: AtomicU64,
    parameters_calls: AtomicU64,
    failures: AtomicU64,
    persistent_failures: AtomicU64,
    failures_remembered: AtomicU64,
    rotations: AtomicU64,
    failover_calls: AtomicU64,
    replica_reads: AtomicU64,
}

/// This thread's number, handed out once per thread in order of first use.
fn thread_slot() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local!(static SLOT: Cell<usize> = const { Cell::new(usize::MAX) });
    SLOT.with(|s| {
        if s.get() == usize::MAX {
            s.set(NEXT.fetch_add(1, Relaxed));
        }
        s.get()
    })
}

impl Counters {
    #[inline]
    pub(crate) fn hit(&self) {
        let slot = thread_slot();
        match self.owned.get(slot) {
            // Only this thread ever writes this shard: no read-modify-write race to lose.
            Some(Shard(mine)) => mine.store(mine.load(Relaxed).wrapping_add(1), Relaxed),
            None => {
                self.shared[slot % SHARDS].0.fetch_add(1, Relaxed);
            }
        }
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

    pub(crate) fn failure_remembered(&self) {
        self.failures_remembered.fetch_add(1, Relaxed);
    }

    pub(crate) fn rotation(&self) {
        self.rotations.fetch_add(1, Relaxed);
    }

    /// A call sent to a failover region (counted under its operation by [`call`](Self::call)).
    pub(crate) fn failover_call(&self) {
        self.failover_calls.fetch_add(1, Relaxed);
    }

    pub(crate) fn replica_read(&self) {
        self.replica_reads.fetch_add(1, Relaxed);
    }

    pub(crate) fn call(&self, op: Operation) {
        let counter = match op {
            Operation::GetSecretValue => &self.get_calls,
            Operation::BatchGetSecretValue => &self.batch_calls,
            Operation::DescribeSecret => &self.describe_calls,
            Operation::GetParameter => &self.parameter_calls,
            Operation::GetParameters => &self.parameters_calls,
        };
        counter.fetch_add(1, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Stats {
        Stats {
            hits: (self.owned.iter().chain(&self.shared))
                .map(|s| s.0.load(Relaxed))
                .fold(0, u64::wrapping_add),
            misses: self.misses.load(Relaxed),
            stale_served: self.stale_served.load(Relaxed),
            get_secret_value_calls: self.get_calls.load(Relaxed),
            batch_get_secret_value_calls: self.batch_calls.load(Relaxed),
            describe_secret_calls: self.describe_calls.load(Relaxed),
            get_parameter_calls: self.parameter_calls.load(Relaxed),
            get_parameters_calls: self.parameters_calls.load(Relaxed),
            failures: self.failures.load(Relaxed),
            persistent_failures: self.persistent_failures.load(Relaxed),
            failures_remembered: self.failures_remembered.load(Relaxed),
            rotations: self.rotations.load(Relaxed),
            failover_calls: self.failover_calls.load(Relaxed),
            replica_reads: self.replica_reads.load(Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_from_more_threads_than_shards_are_all_counted() {
        let counters = Counters::default();
        let threads = 3 * SHARDS;
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    for _ in 0..1000 {
                        counters.hit();
                    }
                });
            }
        });
        assert_eq!(counters.snapshot().hits, 1000 * threads as u64);
    }
}
