//! What a scenario measured, printed as the tables in FLEET.md, and checked against the goals.

use std::fmt;
use std::time::Duration;

use crate::quota::{Action, Second};

/// p50, p99 and max of a set of durations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    /// The median.
    pub p50: Duration,
    /// The 99th percentile.
    pub p99: Duration,
    /// The largest.
    pub max: Duration,
}

impl Spread {
    /// The spread of `samples`, `None` when there are none.
    pub fn of(samples: &mut [Duration]) -> Option<Self> {
        samples.sort_unstable();
        let n = samples.len();
        let at = |q: f64| samples[((n as f64 * q).ceil() as usize).clamp(1, n) - 1];
        (n > 0).then(|| Self {
            p50: at(0.5),
            p99: at(0.99),
            max: samples[n - 1],
        })
    }
}

impl fmt::Display for Spread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "p50 {} / p99 {} / max {}",
            secs(self.p50),
            secs(self.p99),
            secs(self.max)
        )
    }
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 10.0 {
        format!("{s:.3} s")
    } else {
        format!("{s:.0} s")
    }
}

/// One action's traffic over a scenario.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActionLoad {
    /// The action.
    pub action: Action,
    /// Requests that reached the service.
    pub calls: u64,
    /// Of those, refused with `ThrottlingException`.
    pub throttled: u64,
    /// The most requests in one second that its quota saw (its own, and those of the actions
    /// drawing on the same quota: Parameter Store's `GetParameter` and `GetParameters`).
    pub peak: u32,
    /// Its quota per second.
    pub quota: u32,
    /// Seconds in which more requests arrived at its quota than it allows.
    pub seconds_above: u32,
}

impl ActionLoad {
    /// The load of `action`, allowed `quota` requests a second: its calls from its own
    /// per-second record, its peak and seconds above from the record of its quota's bucket.
    pub fn of(action: Action, quota: u32, seconds: &[Second], bucket: &[Second]) -> Self {
        let used = !seconds.is_empty() && seconds.iter().any(|s| s.offered > 0);
        let bucket = if used { bucket } else { &[] };
        Self {
            action,
            calls: seconds.iter().map(|s| u64::from(s.offered)).sum(),
            throttled: seconds.iter().map(|s| u64::from(s.throttled)).sum(),
            peak: bucket.iter().map(|s| s.offered).max().unwrap_or(0),
            quota,
            seconds_above: bucket.iter().filter(|s| s.offered > quota).count() as u32,
        }
    }
}

/// Everything a scenario run measured.
#[derive(Debug, Clone)]
pub struct Report {
    /// What ran: scenario, sizes, settings, quotas.
    pub title: String,
    /// Time from a pod's start to its settings loaded, for pods that became ready.
    pub ready: Option<Spread>,
    /// Start attempts that failed (each is a container restart in Kubernetes).
    pub failed_starts: u64,
    /// Pods still not ready when the scenario ended.
    pub never_ready: u64,
    /// Traffic per action.
    pub loads: Vec<ActionLoad>,
    /// Calls per secret per hour of simulated time, the whole fleet together; and per pod.
    pub per_secret_hour: (f64, f64),
    /// The simulated time the traffic figures cover.
    pub measured: Duration,
    /// Time from a rotation until each pod serves the new version.
    pub adoption: Option<Spread>,
    /// Pods that had not adopted the rotation when the scenario ended.
    pub not_adopted: u64,
    /// After an outage: calls made during it, and the peak requests per second (all actions)
    /// in the first minute after it ended.
    pub outage: Option<OutageFigures>,
    /// The account's other services' `GetSecretValue` load during a rollout, if any.
    pub background: Option<BackgroundLoad>,
    /// What the simulated node agents answered, through agents.
    pub agent: Option<AgentFigures>,
}

/// What the simulated node agents answered over a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AgentFigures {
    /// Requests the pods sent them.
    pub requests: u64,
    /// Of those, answered from an agent's cache without a call to the service.
    pub hits: u64,
}

/// The account's other services during a rollout: what they asked, what was throttled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackgroundLoad {
    /// Requests they sent.
    pub offered: u64,
    /// Of those, refused with `ThrottlingException`.
    pub throttled: u64,
    /// The largest share of one second's requests throttled.
    pub worst_second: f64,
}

/// What an outage cost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutageFigures {
    /// Requests sent while every call failed.
    pub calls_during: u64,
    /// The most requests in one second (all actions) in the minute after it ended.
    pub peak_after: u32,
    /// The most `GetSecretValue` requests in one second in that minute.
    pub peak_get_after: u32,
    /// Pods whose snapshot turned stale (`try_current` failed) at the end of the outage.
    pub stale_pods: u64,
    /// With failover on, the requests the replicas' region received.
    pub replica_calls: Option<ReplicaCalls>,
}

/// Requests to the replicas' region before, during and after an outage of the primary.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplicaCalls {
    /// From the start of the run until the primary went down.
    pub before: u64,
    /// While the primary was down.
    pub during: u64,
    /// From the primary's recovery to the end of the run.
    pub after: u64,
}

impl Report {
    /// The largest action throttled or above its quota for more than `grace` seconds.
    pub fn over_quota(&self, grace: u32) -> Option<&ActionLoad> {
        self.loads.iter().find(|l| l.seconds_above > grace)
    }

    /// The goals of a rollout past the quota (FLEET.md) this run missed, in words: every pod
    /// started first time; `GetSecretValue` calls at most 1.2 times the `reads` needed (the
    /// calls a load needs at least: a tenth of the parameters when they are batched); no
    /// second above 1.25 times its quota; ready p99 at most 1.5 times `reads ÷ quota`. The
    /// read action is the fleet's busiest: `GetParameter` or `GetParameters` for parameters.
    pub fn missed_past_quota_goals(&self, reads: u64) -> Vec<String> {
        let mut missed = Vec::new();
        if self.failed_starts > 0 || self.never_ready > 0 {
            missed.push(format!(
                "{} failed starts, {} pods never ready",
                self.failed_starts, self.never_ready
            ));
        }
        let reading = (self.loads.iter())
            .filter(|l| {
                matches!(
                    l.action,
                    Action::Get | Action::GetParameter | Action::GetParameters
                )
            })
            .max_by_key(|l| l.calls);
        let Some(get) = reading else {
            return missed;
        };
        if get.calls as f64 > 1.2 * reads as f64 {
            missed.push(format!(
                "{} {} calls for {reads} reads (above 1.2x)",
                get.calls, get.action
            ));
        }
        if f64::from(get.peak) > 1.25 * f64::from(get.quota) {
            missed.push(format!(
                "{} peak {}/s above 1.25x its quota",
                get.action, get.peak
            ));
        }
        let limit = Duration::from_secs_f64(1.5 * reads as f64 / f64::from(get.quota.max(1)));
        if let Some(ready) = self.ready
            && ready.p99 > limit
        {
            missed.push(format!(
                "p99 time to ready {} above {}",
                secs(ready.p99),
                secs(limit)
            ));
        }
        missed
    }

    /// The goals this run missed, in words (empty: all met).
    pub fn missed_goals(&self, ready_p99: Option<Duration>, ttl: Duration) -> Vec<String> {
        let mut missed = Vec::new();
        if self.failed_starts > 0 || self.never_ready > 0 {
            missed.push(format!(
                "{} failed starts, {} pods never ready",
                self.failed_starts, self.never_ready
            ));
        }
        if let Some(load) = self.over_quota(1) {
            missed.push(format!(
                "{} above its quota for {} s (peak {}/s)",
                load.action, load.seconds_above, load.peak
            ));
        }
        if let (Some(limit), Some(ready)) = (ready_p99, self.ready)
            && ready.p99 > limit
        {
            missed.push(format!(
                "p99 time to ready {} above {}",
                secs(ready.p99),
                secs(limit)
            ));
        }
        if let Some(adoption) = self.adoption
            && (adoption.p99 > ttl || self.not_adopted > 0)
        {
            missed.push(format!(
                "rotation adoption p99 {} (TTL {}), {} pods not adopted",
                secs(adoption.p99),
                secs(ttl),
                self.not_adopted
            ));
        }
        if let Some(outage) = self.outage {
            let quota = self
                .loads
                .iter()
                .find(|l| l.action == Action::Get)
                .map(|l| l.quota);
            if quota.is_some_and(|q| outage.peak_get_after > q) {
                missed.push(format!(
                    "peak GetSecretValue rate after the outage {}/s above the quota",
                    outage.peak_get_after
                ));
            }
        }
        missed
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "### {}\n", self.title)?;
        match self.ready {
            Some(ready) => write!(f, "- time to ready: {ready}")?,
            None => write!(f, "- time to ready: no pod started")?,
        }
        writeln!(
            f,
            "; failed starts {}; never ready {}",
            self.failed_starts, self.never_ready
        )?;
        let hours = self.measured.as_secs_f64() / 3600.0;
        if hours >= 1.0 {
            writeln!(
                f,
                "- calls per secret-hour (over {hours:.0} h): {:.1} for the fleet, {:.3} per pod",
                self.per_secret_hour.0, self.per_secret_hour.1
            )?;
        } else {
            writeln!(
                f,
                "- calls per secret per pod (over {:.0} s): {:.2}",
                self.measured.as_secs_f64(),
                self.per_secret_hour.1 * hours
            )?;
        }
        if let Some(adoption) = self.adoption {
            writeln!(
                f,
                "- rotation adopted: {adoption}; not adopted {}",
                self.not_adopted
            )?;
        }
        if let Some(o) = self.outage {
            writeln!(
                f,
                "- outage: {} calls during it; first minute after: peak {}/s (GetSecretValue {}/s); pods stale at its end {}",
                o.calls_during, o.peak_after, o.peak_get_after, o.stale_pods
            )?;
            if let Some(r) = o.replica_calls {
                writeln!(
                    f,
                    "- replica region: {} calls before the outage, {} during it, {} after it",
                    r.before, r.during, r.after
                )?;
            }
        }
        if let Some(b) = self.background {
            writeln!(
                f,
                "- other services: {} GetSecretValue sent, {} throttled ({:.1} %; worst second {:.1} %)",
                b.offered,
                b.throttled,
                100.0 * b.throttled as f64 / b.offered.max(1) as f64,
                100.0 * b.worst_second
            )?;
        }
        if let Some(a) = self.agent {
            writeln!(
                f,
                "- node agents: {} requests from pods, {} answered from their caches, {} not",
                a.requests,
                a.hits,
                a.requests - a.hits
            )?;
        }
        writeln!(
            f,
            "\n| action | calls | throttled | peak req/s | quota/s | seconds above quota |"
        )?;
        writeln!(f, "|---|---:|---:|---:|---:|---:|")?;
        for l in &self.loads {
            writeln!(
                f,
                "| {} | {} | {} | {} | {} | {} |",
                l.action, l.calls, l.throttled, l.peak, l.quota, l.seconds_above
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_ranked_sample() {
        let mut samples: Vec<Duration> = (1..=200).map(Duration::from_millis).collect();
        let spread = Spread::of(&mut samples).expect("samples");
        assert_eq!(spread.p50, Duration::from_millis(100));
        assert_eq!(spread.p99, Duration::from_millis(198));
        assert_eq!(spread.max, Duration::from_millis(200));
        assert_eq!(Spread::of(&mut []), None);
    }
}
