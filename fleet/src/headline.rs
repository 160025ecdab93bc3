//! The headline figure: the largest fleet that completes a rolling deploy with no failed start
//! and no action above its quota, found by bisection on the pod count.

use std::time::Duration;

use crate::report::Report;
use crate::scenario::{Fleet, Scenario};

/// Whether a rollout met the headline's bar: every pod started first time, and no action was
/// asked for more than its quota in any second.
pub fn clean(report: &Report) -> bool {
    report.failed_starts == 0 && report.never_ready == 0 && report.over_quota(0).is_none()
}

/// The largest pod count in `[lo, hi]` whose rollout over `window` is [`clean`], to within
/// `resolution` (relative), with the runs it took. `None` when even `lo` is not clean; `hi`
/// itself when it is.
pub async fn largest_clean(
    fleet: &Fleet,
    window: Duration,
    lo: usize,
    hi: usize,
    resolution: f64,
    mut on_run: impl FnMut(usize, &Report),
) -> Option<usize> {
    let probe = |pods: usize| {
        let fleet = Fleet {
            pods,
            stop_when_unclean: true,
            ..fleet.clone()
        };
        async move { fleet.run(Scenario::Deploy { window }).await }
    };
    let report = probe(lo).await;
    on_run(lo, &report);
    if !clean(&report) {
        return None;
    }
    // Grow until a rollout fails (or the bound is reached), then bisect.
    let (mut good, mut bad) = (lo, None);
    while bad.is_none() && good < hi {
        let next = (good * 2).min(hi);
        let report = probe(next).await;
        on_run(next, &report);
        if clean(&report) {
            good = next;
        } else {
            bad = Some(next);
        }
    }
    let Some(mut bad) = bad else {
        return Some(good);
    };
    while (bad - good) as f64 > good as f64 * resolution && bad - good > 1 {
        let mid = good + (bad - good) / 2;
        let report = probe(mid).await;
        on_run(mid, &report);
        if clean(&report) {
            good = mid;
        } else {
            bad = mid;
        }
    }
    Some(good)
}
