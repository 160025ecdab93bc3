//! Timing: TTL jitter and retry backoff, both randomised so fleets do not synchronise.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

/// The first retry waits up to this long; each further failure doubles it, up to a cap.
pub(crate) const BACKOFF_BASE: Duration = Duration::from_secs(1);

/// A uniformly random fraction in `[0, 1)`.
pub(crate) fn unit_random() -> f64 {
    // RandomState is seeded per instance from OS randomness: enough for jitter.
    let bits = RandomState::new().hash_one(0u8) >> 11;
    bits as f64 / (1u64 << 53) as f64
}

/// One jitter draw in `[0, 1)`, or 0 when jitter is off. A fetch round draws once for all its
/// entries, so secrets fetched together stay due together and their refreshes share a batch.
pub(crate) fn jitter_fraction(jitter: bool) -> f64 {
    if jitter { unit_random() } else { 0.0 }
}

/// The soft TTL for a value just fetched: inside `[ttl/2, ttl]` on a first load, which spreads a
/// fleet started at once; inside `[3/4 ttl, ttl]` on a refresh, which keeps the spread and
/// spends fewer calls.
pub(crate) fn soft_ttl(ttl: Duration, fraction: f64, first_load: bool) -> Duration {
    let spread = if first_load { 0.5 } else { 0.25 };
    ttl.mul_f64(1.0 - fraction * spread)
}

/// The first retry of a first load that failed transiently waits about this long.
const FIRST_LOAD_RETRY_BASE: Duration = Duration::from_millis(200);
/// ... and no retry of a first load waits longer than this.
const FIRST_LOAD_RETRY_CAP: Duration = Duration::from_secs(2);

/// The ceiling of the wait after `failures` consecutive failures (1 for the first):
/// `base × 2^(failures-1)`, at most `cap`.
pub(crate) fn backoff_ceiling(failures: u32, cap: Duration) -> Duration {
    doubling(BACKOFF_BASE, failures, cap)
}

fn doubling(base: Duration, n: u32, cap: Duration) -> Duration {
    let doublings = n.saturating_sub(1).min(31);
    base.saturating_mul(1 << doublings).min(cap)
}

/// "Equal jitter": a uniformly random wait in `[ceiling/2, ceiling]`, for waits that must not
/// be much shorter than their ceiling.
fn equal_jitter(ceiling: Duration) -> Duration {
    ceiling.mul_f64(0.5 + unit_random() / 2.0)
}

/// How long the `count`-th persistent failure in a row of a first load is remembered: 1 s
/// doubling up to `cap`, jittered into the upper half.
pub(crate) fn failure_memory(count: u32, cap: Duration) -> Duration {
    equal_jitter(doubling(BACKOFF_BASE, count, cap))
}

/// The wait before the `attempt`-th retry of a first load that failed transiently: 200 ms
/// doubling up to 2 s, jittered into the upper half.
pub(crate) fn first_load_retry(attempt: u32) -> Duration {
    equal_jitter(doubling(
        FIRST_LOAD_RETRY_BASE,
        attempt,
        FIRST_LOAD_RETRY_CAP,
    ))
}

/// "Full jitter": a uniformly random wait in `[0, ceiling]`, with a floor of 1/16 of the
/// ceiling so a retry never fires at once.
pub(crate) fn backoff(failures: u32, cap: Duration) -> Duration {
    let ceiling = backoff_ceiling(failures, cap);
    ceiling.mul_f64(unit_random()).max(ceiling / 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_ttls_stay_inside_their_jitter_windows() {
        let ttl = Duration::from_secs(600);
        for _ in 0..10_000 {
            let fraction = jitter_fraction(true);
            let first = soft_ttl(ttl, fraction, true);
            assert!(
                first >= ttl / 2 && first <= ttl,
                "{first:?} outside [300s, 600s]"
            );
            let later = soft_ttl(ttl, fraction, false);
            assert!(
                later >= ttl * 3 / 4 && later <= ttl,
                "{later:?} outside [450s, 600s]"
            );
        }
        assert_eq!(soft_ttl(ttl, jitter_fraction(false), true), ttl);
    }

    /// Staying inside the window is not enough: a constant (no jitter, or a fraction fixed at 0)
    /// stays inside it too. The draws must cover it, near both ends.
    #[test]
    fn soft_ttl_draws_spread_over_their_window() {
        let ttl = Duration::from_secs(600);
        let draws = |first_load| -> Vec<Duration> {
            (0..1_000)
                .map(|_| soft_ttl(ttl, jitter_fraction(true), first_load))
                .collect()
        };
        let first = draws(true);
        assert!(
            first.iter().any(|d| *d < ttl * 6 / 10) && first.iter().any(|d| *d > ttl * 9 / 10),
            "first-load soft TTLs do not cover [300s, 600s]: min {:?}, max {:?}",
            first.iter().min(),
            first.iter().max()
        );
        let later = draws(false);
        assert!(
            later.iter().any(|d| *d < ttl * 8 / 10) && later.iter().any(|d| *d > ttl * 95 / 100),
            "refresh soft TTLs do not cover [450s, 600s]: min {:?}, max {:?}",
            later.iter().min(),
            later.iter().max()
        );
    }

    #[test]
    fn backoff_doubles_from_one_second_to_the_cap() {
        let cap = Duration::from_secs(128);
        let ceilings: Vec<u64> = (1..=10)
            .map(|n| backoff_ceiling(n, cap).as_secs())
            .collect();
        assert_eq!(ceilings, [1, 2, 4, 8, 16, 32, 64, 128, 128, 128]);
        assert_eq!(backoff_ceiling(u32::MAX, cap), cap);
    }

    #[test]
    fn backoff_waits_are_jittered_within_their_ceiling() {
        let cap = Duration::from_secs(128);
        for failures in 1..12 {
            let ceiling = backoff_ceiling(failures, cap);
            for _ in 0..500 {
                let wait = backoff(failures, cap);
                assert!(
                    wait >= ceiling / 16 && wait <= ceiling,
                    "{wait:?} vs {ceiling:?}"
                );
            }
        }
    }

    #[test]
    fn remembered_failures_double_from_one_second_to_the_cap_in_their_upper_half() {
        let cap = Duration::from_secs(300);
        for count in 1..14 {
            let ceiling = doubling(BACKOFF_BASE, count, cap);
            for _ in 0..200 {
                let wait = failure_memory(count, cap);
                assert!(
                    wait >= ceiling / 2 && wait <= ceiling,
                    "{wait:?} vs {ceiling:?}"
                );
            }
        }
        assert_eq!(doubling(BACKOFF_BASE, 1, cap), Duration::from_secs(1));
        assert_eq!(doubling(BACKOFF_BASE, 9, cap), Duration::from_secs(256));
        assert_eq!(doubling(BACKOFF_BASE, 10, cap), cap);
        let retries: Vec<u128> = (1..=6)
            .map(|n| doubling(FIRST_LOAD_RETRY_BASE, n, FIRST_LOAD_RETRY_CAP).as_millis())
            .collect();
        assert_eq!(retries, [200, 400, 800, 1600, 2000, 2000]);
    }

    #[test]
    fn unit_random_is_spread() {
        let samples: Vec<f64> = (0..2_000).map(|_| unit_random()).collect();
        assert!(samples.iter().all(|x| (0.0..1.0).contains(x)));
        assert!(samples.iter().any(|x| *x < 0.1) && samples.iter().any(|x| *x > 0.9));
    }
}
