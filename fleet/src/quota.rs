//! Secrets Manager's and Parameter Store's request quotas as token buckets, and a per-second
//! meter of what each action was asked for, admitted and refused.

use std::fmt;
use std::time::Duration;

use tokio::time::Instant;

/// The actions the simulated service answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `GetSecretValue`.
    Get,
    /// `DescribeSecret`.
    Describe,
    /// `BatchGetSecretValue`.
    Batch,
    /// Parameter Store's `GetParameter` (`AmazonSSM.GetParameter`).
    GetParameter,
    /// Parameter Store's `GetParameters` (up to ten names; `GetParameter`'s quota).
    GetParameters,
}

impl Action {
    /// Every action, in report order.
    pub const ALL: [Action; 5] = [
        Action::Get,
        Action::Describe,
        Action::Batch,
        Action::GetParameter,
        Action::GetParameters,
    ];

    /// Its position in per-action arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The action named by an `X-Amz-Target` header (`secretsmanager.GetSecretValue`,
    /// `AmazonSSM.GetParameter`).
    pub fn from_target(target: &str) -> Option<Self> {
        match target.rsplit('.').next()? {
            "GetSecretValue" => Some(Self::Get),
            "DescribeSecret" => Some(Self::Describe),
            "BatchGetSecretValue" => Some(Self::Batch),
            "GetParameter" => Some(Self::GetParameter),
            "GetParameters" => Some(Self::GetParameters),
            _ => None,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Get => "GetSecretValue",
            Self::Describe => "DescribeSecret",
            Self::Batch => "BatchGetSecretValue",
            Self::GetParameter => "GetParameter",
            Self::GetParameters => "GetParameters",
        })
    }
}

/// Which published quotas the service enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaModel {
    /// Since 2025: `GetSecretValue` 10,000/s, `DescribeSecret` 40,000/s,
    /// `BatchGetSecretValue` 100/s, each its own bucket.
    Current,
    /// Older pages: `GetSecretValue` and `DescribeSecret` share 10,000/s; the batch 100/s.
    SharedGetDescribe,
    /// The current quotas divided by this (at least 1 request/s each): a fleet this many times
    /// smaller meets the same contention, for the short forms in CI.
    CurrentDividedBy(u32),
}

impl QuotaModel {
    /// Requests per second allowed for `action`. Parameter Store's quota is not this model's:
    /// `GetParameter` gets [`ParameterQuota::Standard`]'s here, and [`Quotas::limit`] the
    /// level in force.
    pub fn limit(self, action: Action) -> u32 {
        match (self, action) {
            (_, Action::GetParameter | Action::GetParameters) => ParameterQuota::Standard.limit(),
            (Self::CurrentDividedBy(n), _) => (Self::Current.limit(action) / n.max(1)).max(1),
            (_, Action::Batch) => 100,
            (Self::Current, Action::Describe) => 40_000,
            _ => 10_000,
        }
    }

    /// The bucket `action` draws from (the shared model pools get and describe).
    fn bucket(self, action: Action) -> usize {
        match (self, action) {
            (Self::SharedGetDescribe, Action::Describe) => Action::Get.index(),
            // Parameter Store's read actions share one quota.
            (_, Action::GetParameters) => Action::GetParameter.index(),
            _ => action.index(),
        }
    }
}

/// Parameter Store's throughput setting for the account and region: the quota
/// `GetParameter`, `GetParameters` and `GetParametersByPath` draw on (the first two are
/// simulated, from one bucket).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParameterQuota {
    /// The default: 40 transactions/s, shared by the three read actions.
    #[default]
    Standard,
    /// Paid "higher throughput": 3,000/s for `GetParameter` and `GetParameters`.
    Higher,
}

impl ParameterQuota {
    /// `GetParameter` requests per second allowed.
    pub fn limit(self) -> u32 {
        match self {
            Self::Standard => 40,
            Self::Higher => 3_000,
        }
    }
}

/// A token bucket: `rate` tokens a second, holding at most one second's worth.
#[derive(Debug)]
struct Bucket {
    rate: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn new(rate: u32, now: Instant) -> Self {
        Self {
            rate: f64::from(rate),
            tokens: f64::from(rate),
            at: now,
        }
    }

    fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Requests of one action in one second of simulated time.
#[derive(Debug, Clone, Copy, Default)]
pub struct Second {
    /// Requests that arrived.
    pub offered: u32,
    /// Requests refused with `ThrottlingException`.
    pub throttled: u32,
}

/// The quota buckets and the per-second meter.
#[derive(Debug)]
pub struct Quotas {
    model: QuotaModel,
    parameters: ParameterQuota,
    buckets: Vec<Bucket>,
    start: Instant,
    seconds: [Vec<Second>; 5],
    /// `GetSecretValue` requests of the account's other services, per second.
    background: Vec<Second>,
    over_quota: bool,
}

impl Quotas {
    /// Full buckets at `start`: Secrets Manager's under `model`, Parameter Store's at
    /// `parameters`.
    pub fn new(model: QuotaModel, parameters: ParameterQuota, start: Instant) -> Self {
        let mut quotas = Self {
            model,
            parameters,
            buckets: Vec::new(),
            start,
            seconds: Default::default(),
            background: Vec::new(),
            over_quota: false,
        };
        quotas.buckets = (Action::ALL.iter())
            .map(|a| Bucket::new(quotas.limit(*a), start))
            .collect();
        quotas
    }

    /// Requests per second allowed for `action`.
    pub fn limit(&self, action: Action) -> u32 {
        match action {
            Action::GetParameter | Action::GetParameters => self.parameters.limit(),
            secrets => self.model.limit(secrets),
        }
    }

    /// The model enforced.
    pub fn model(&self) -> QuotaModel {
        self.model
    }

    /// Records a request of `action` at `now`; whether the quota admits it.
    pub fn admit(&mut self, action: Action, now: Instant) -> bool {
        let admitted = self.buckets[self.model.bucket(action)].take(now);
        let limit = self.limit(action);
        let second = self.second(action, now);
        second.offered += 1;
        if !admitted {
            second.throttled += 1;
        }
        // Above the quota counts what arrived at the bucket: every action drawing on it.
        let at = self.index_of(now);
        let offered = (self.sharing(action))
            .filter_map(|a| self.seconds[a.index()].get(at))
            .map(|s| s.offered)
            .sum::<u32>();
        let over = !admitted || offered > limit;
        self.over_quota |= over;
        admitted
    }

    /// The actions drawing on `action`'s bucket, itself included.
    fn sharing(&self, action: Action) -> impl Iterator<Item = Action> + '_ {
        let bucket = self.model.bucket(action);
        (Action::ALL.into_iter()).filter(move |a| self.model.bucket(*a) == bucket)
    }

    /// The per-second record of every action drawing on `action`'s bucket, summed: what the
    /// quota saw (for an action with a bucket of its own, its own record).
    pub fn bucket_seconds(&self, action: Action) -> Vec<Second> {
        let mut sum: Vec<Second> = Vec::new();
        for other in self.sharing(action) {
            let seconds = &self.seconds[other.index()];
            if sum.len() < seconds.len() {
                sum.resize(seconds.len(), Second::default());
            }
            for (total, second) in sum.iter_mut().zip(seconds) {
                total.offered += second.offered;
                total.throttled += second.throttled;
            }
        }
        sum
    }

    /// Whether any action has been throttled, or asked more than its quota in one second.
    pub fn ever_over_quota(&self) -> bool {
        self.over_quota
    }

    /// Offers `n` `GetSecretValue` requests of other services at `now` (they draw on the same
    /// quota, and are metered apart from the fleet's); how many the quota admitted.
    pub fn admit_background(&mut self, n: u32, now: Instant) -> u32 {
        let bucket = self.model.bucket(Action::Get);
        let admitted = (0..n).filter(|_| self.buckets[bucket].take(now)).count() as u32;
        let at = usize::try_from(now.saturating_duration_since(self.start).as_secs())
            .unwrap_or(usize::MAX);
        if self.background.len() <= at {
            self.background.resize(at + 1, Second::default());
        }
        self.background[at].offered += n;
        self.background[at].throttled += n - admitted;
        admitted
    }

    /// The per-second record of the other services' `GetSecretValue` requests.
    pub fn background(&self) -> &[Second] {
        &self.background
    }

    /// Records a request that a failing service refused (an outage): offered, not throttled.
    pub fn record_failed(&mut self, action: Action, now: Instant) {
        self.second(action, now).offered += 1;
    }

    /// The second of the run `now` falls in.
    fn index_of(&self, now: Instant) -> usize {
        usize::try_from(now.saturating_duration_since(self.start).as_secs()).unwrap_or(usize::MAX)
    }

    fn second(&mut self, action: Action, now: Instant) -> &mut Second {
        let at = self.index_of(now);
        let seconds = &mut self.seconds[action.index()];
        if seconds.len() <= at {
            seconds.resize(at + 1, Second::default());
        }
        &mut seconds[at]
    }

    /// The per-second record of `action` from the start.
    pub fn seconds(&self, action: Action) -> &[Second] {
        &self.seconds[action.index()]
    }

    /// Seconds since the start at `now`.
    pub fn elapsed(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_bucket_admits_its_rate_and_refuses_the_rest() {
        let start = Instant::now();
        let mut quotas = Quotas::new(QuotaModel::Current, ParameterQuota::Standard, start);
        let admitted = (0..150)
            .filter(|_| quotas.admit(Action::Batch, start))
            .count();
        assert_eq!(admitted, 100, "one second's worth at once");
        let later = start + Duration::from_millis(500);
        let admitted = (0..100)
            .filter(|_| quotas.admit(Action::Batch, later))
            .count();
        assert_eq!(admitted, 50, "refilled at 100/s");
        assert_eq!(quotas.seconds(Action::Batch)[0].offered, 250);
        assert_eq!(quotas.seconds(Action::Batch)[0].throttled, 100);
    }

    /// `GetParameter` and `GetParameters` draw on one quota: 30 of each in a second is above
    /// 40/s, though neither alone is.
    #[tokio::test(start_paused = true)]
    async fn parameter_stores_actions_are_metered_against_their_shared_quota() {
        let start = Instant::now();
        let mut quotas = Quotas::new(QuotaModel::Current, ParameterQuota::Standard, start);
        let admitted = (0..60)
            .filter(|i| {
                let action = if i % 2 == 0 {
                    Action::GetParameter
                } else {
                    Action::GetParameters
                };
                quotas.admit(action, start)
            })
            .count();
        assert_eq!(admitted, 40, "one bucket of 40");
        assert_eq!(quotas.seconds(Action::GetParameter)[0].offered, 30);
        assert_eq!(quotas.bucket_seconds(Action::GetParameters)[0].offered, 60);
        assert!(quotas.ever_over_quota());
        assert_eq!(
            quotas.bucket_seconds(Action::Get).len(),
            0,
            "its own bucket, unused"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn background_requests_share_the_get_bucket_and_are_metered_apart() {
        let start = Instant::now();
        let mut quotas = Quotas::new(
            QuotaModel::CurrentDividedBy(100),
            ParameterQuota::Standard,
            start,
        );
        assert_eq!(quotas.model().limit(Action::Get), 100);
        assert_eq!(quotas.model().limit(Action::Batch), 1);
        assert_eq!(quotas.admit_background(80, start), 80);
        let fleet = (0..50).filter(|_| quotas.admit(Action::Get, start)).count();
        assert_eq!(fleet, 20, "what the background left");
        assert_eq!(quotas.admit_background(10, start), 0);
        assert_eq!(quotas.background()[0].offered, 90);
        assert_eq!(quotas.background()[0].throttled, 10);
        assert_eq!(quotas.seconds(Action::Get)[0].offered, 50);
    }

    #[tokio::test(start_paused = true)]
    async fn the_shared_model_pools_get_and_describe() {
        let start = Instant::now();
        let mut quotas = Quotas::new(
            QuotaModel::SharedGetDescribe,
            ParameterQuota::Standard,
            start,
        );
        let gets = (0..6_000)
            .filter(|_| quotas.admit(Action::Get, start))
            .count();
        let describes = (0..6_000)
            .filter(|_| quotas.admit(Action::Describe, start))
            .count();
        assert_eq!(gets + describes, 10_000);
        let mut current = Quotas::new(QuotaModel::Current, ParameterQuota::Standard, start);
        let describes = (0..50_000)
            .filter(|_| current.admit(Action::Describe, start))
            .count();
        assert_eq!(describes, 40_000);
    }

    #[tokio::test(start_paused = true)]
    async fn get_parameter_draws_on_its_own_quota_at_either_level() {
        let start = Instant::now();
        for (level, rate) in [
            (ParameterQuota::Standard, 40),
            (ParameterQuota::Higher, 3_000),
        ] {
            let mut quotas = Quotas::new(QuotaModel::Current, level, start);
            let admitted = (0..5_000)
                .filter(|_| quotas.admit(Action::GetParameter, start))
                .count();
            assert_eq!(admitted, rate, "{level:?}");
            assert!(
                quotas.admit(Action::Get, start),
                "secrets are not throttled"
            );
            assert_eq!(quotas.limit(Action::GetParameter), rate as u32);
        }
    }
}
