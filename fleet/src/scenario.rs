//! The scenarios: a fleet of pods started on a timeline against one simulated service, then
//! the event each scenario is about (nothing, a rotation, an outage), measured.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use asm_runtime::{AwsSecrets, ExposeSecret, Live, SecretCache};
use futures_util::future::join_all;
use tokio::time::{Instant, sleep, sleep_until, timeout_at};

use crate::agent::{AgentMeter, NodeAgent};
use crate::pod::{FleetParameters, FleetSecrets, MAX_SECRETS, Profile, node_agent, vars};
use crate::quota::{Action, ParameterQuota, QuotaModel};
use crate::report::{
    ActionLoad, AgentFigures, BackgroundLoad, OutageFigures, ReplicaCalls, Report, Spread,
};
use crate::rng::Rng;
use crate::service::{Latency, REPLICA_REGION, Service};

/// What happens to the fleet once it runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scenario {
    /// Every pod starts once, spread evenly over `window`; each loads its settings and is done.
    Deploy {
        /// How long the rollout takes from the first pod to the last.
        window: Duration,
    },
    /// Pods keep live handles for `hours`; calls are counted after the first hour.
    Steady {
        /// Simulated hours in all.
        hours: u32,
    },
    /// Pods keep live handles; secret 0 rotates 15 minutes in (a fleet of secrets).
    Rotation,
    /// Pods keep live handles; 15 minutes in, every call fails for `length` (a fleet of
    /// secrets).
    Outage {
        /// How long the service is down.
        length: Duration,
    },
}

/// The fleet: how many pods, what they read, with which settings, against which quotas.
#[derive(Debug, Clone)]
pub struct Fleet {
    /// Pods (processes).
    pub pods: usize,
    /// Distinct secrets (or parameters) each pod reads (at most [`MAX_SECRETS`]).
    pub secrets: usize,
    /// With `Some(quota)`, pods read [`FleetParameters`] from Parameter Store at that quota
    /// instead of [`FleetSecrets`] (deploy and steady scenarios).
    pub parameters: Option<ParameterQuota>,
    /// Settings of each pod's cache and SDK client (of each node agent's, with `per_node`).
    pub profile: Profile,
    /// The quotas the service enforces.
    pub model: QuotaModel,
    /// With `Some(n)`, pods read through one cache per node of `n` pods (a node agent).
    pub per_node: Option<usize>,
    /// What the node agent is, with `per_node`.
    pub agent: AgentKind,
    /// Seed of every random draw the simulator makes (latency, start-up jitter).
    pub seed: u64,
    /// `GetSecretValue` requests a second from the account's other services, offered for as
    /// long as a rollout lasts (0: none).
    pub background: u32,
    /// Each pod's cache fails over to the secrets' replicas in a second region, which has
    /// quotas of its own (`failover_client`).
    pub failover: bool,
    /// Stop starting pods once the run cannot be clean (a failed start, an action above its
    /// quota): the headline's bisection needs only the verdict of a failing probe.
    pub stop_when_unclean: bool,
}

/// What reads secrets for a node's pods, with [`Fleet::per_node`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentKind {
    /// The AWS Secrets Manager Agent as users run it: a simulated agent per node
    /// ([`NodeAgent`], its HTTP API and its cache), which each pod reads through its own
    /// `SecretCache` over the real `AgentSource`. The agent reads one region (`failover` plays
    /// no part) and serves no Parameter Store parameters (a fleet of parameters gets
    /// [`InProcess`](Self::InProcess)).
    Http,
    /// One `SecretCache` per node that the node's pods read directly, in-process (a 1 ms
    /// loopback at each start): a node cache with the library's single flight, which no
    /// agent offers today. The model before the agent was simulated; fleets of parameters.
    InProcess,
}

/// The node agents of a run.
enum Nodes {
    /// None: each pod calls the service itself.
    Direct,
    /// [`AgentKind::InProcess`]: one cache per node.
    InProcess(Vec<SecretCache>),
    /// [`AgentKind::Http`]: one agent per node, started with the node's first pod.
    Agents(Vec<OnceLock<NodeAgent>>, Arc<AgentMeter>),
}

impl Fleet {
    /// The fewest calls the fleet's first loads need: one per secret a pod reads, or, for
    /// parameters read ten a call (`batch_parameters`), one per ten (the goals of a rollout
    /// past the quota are set against it).
    pub fn calls_needed(&self) -> u64 {
        let per_pod = match self.parameters {
            Some(_) if self.profile.batch_parameters => self.secrets.div_ceil(10),
            _ => self.secrets,
        };
        (self.pods * per_pod) as u64
    }
}

/// When a live scenario's event happens.
const EVENT_AT: Duration = Duration::from_secs(15 * 60);
/// The window over which a live scenario's pods start.
const LIVE_START_WINDOW: Duration = Duration::from_secs(60);
/// How long a rollout waits for its last pod before counting it as never ready.
const DEPLOY_DEADLINE: Duration = Duration::from_secs(30 * 60);
/// A pod reaching its node's agent: a loopback round trip.
const AGENT_LATENCY: Duration = Duration::from_millis(1);

/// How one pod's start went.
#[derive(Default)]
struct PodStart {
    ready: Option<Duration>,
    failed_starts: u64,
    live: Option<Live<FleetSecrets>>,
    /// A fleet of parameters' live handle, kept so that it refreshes.
    _live_parameters: Option<Live<FleetParameters>>,
}

/// Loads `T` through `cache` (with `live`, starts a live handle): one pod's start.
async fn start<T: AwsSecrets>(
    cache: &SecretCache,
    vars: asm_runtime::Vars,
    live: bool,
) -> Result<Option<Live<T>>, asm_runtime::Error> {
    if live {
        T::watch_with(cache, vars).await.map(Some)
    } else {
        T::load_with(cache, vars).await.map(|_| None)
    }
}

/// Shared by every pod task of a run.
struct Run {
    fleet: Fleet,
    service: Service,
    /// The replicas' region, with `failover`.
    replica: Option<Service>,
    start: Instant,
    nodes: Nodes,
    rng: Rng,
    failed: AtomicBool,
}

impl Run {
    /// Whether a pod failed to start or an action went above its quota.
    fn unclean(&self) -> bool {
        self.failed.load(Relaxed) || self.service.with_quotas(|q| q.ever_over_quota())
    }

    /// A fresh process's cache: over its own client, over the real `AgentSource` to its node's
    /// agent (started with the node's first pod), or the node's in-process cache.
    fn cache_for(&self, pod: usize) -> Result<SecretCache, asm_runtime::Error> {
        // Nodes fill as the rollout proceeds (a scale-out): pods 0-19 on node 0, and so on.
        let per_node = self.fleet.per_node.unwrap_or(1).max(1);
        let node = |nodes: usize| (pod / per_node).min(nodes.saturating_sub(1));
        match &self.nodes {
            Nodes::Direct => {
                let parameters = self.fleet.parameters.is_some();
                (self.fleet.profile).cache(&self.service, self.replica.as_ref(), parameters)
            }
            Nodes::InProcess(caches) => Ok(caches[node(caches.len())].clone()),
            Nodes::Agents(agents, meter) => {
                let agent = agents[node(agents.len())]
                    .get_or_init(|| node_agent(&self.service, Arc::clone(meter)));
                self.fleet.profile.agent_cache(agent)
            }
        }
    }

    /// Starts pod `pod` at `at`: waits its start-up jitter, loads its settings (or starts a
    /// live handle), and restarts like Kubernetes (10 s doubling to 300 s) after a failure.
    async fn start_pod(
        self: Arc<Self>,
        pod: usize,
        at: Instant,
        live: bool,
        deadline: Instant,
    ) -> PodStart {
        sleep_until(at).await;
        if self.fleet.stop_when_unclean && self.unclean() {
            return PodStart::default();
        }
        let jitter = self.fleet.profile.startup_jitter;
        let mut failed_starts = 0;
        let mut restart_wait = Duration::from_secs(10);
        loop {
            if !jitter.is_zero() {
                sleep(jitter.mul_f64(self.rng.unit())).await;
            }
            if matches!(self.nodes, Nodes::InProcess(_)) {
                sleep(AGENT_LATENCY).await;
            }
            let vars = vars(self.fleet.secrets);
            let started = match (self.cache_for(pod), self.fleet.parameters) {
                (Ok(cache), None) => start(&cache, vars, live).await.map(|live| PodStart {
                    live,
                    ..PodStart::default()
                }),
                (Ok(cache), Some(_)) => {
                    start(&cache, vars, live)
                        .await
                        .map(|_live_parameters| PodStart {
                            _live_parameters,
                            ..PodStart::default()
                        })
                }
                (Err(err), _) => Err(err),
            };
            match started {
                Ok(started) => {
                    return PodStart {
                        ready: Some(Instant::now() - at),
                        failed_starts,
                        ..started
                    };
                }
                Err(_) => failed_starts += 1,
            }
            self.failed.store(true, Relaxed);
            if self.fleet.stop_when_unclean || Instant::now() + restart_wait > deadline {
                return PodStart {
                    failed_starts,
                    ..PodStart::default()
                };
            }
            sleep(restart_wait).await;
            restart_wait = (restart_wait * 2).min(Duration::from_secs(300));
        }
    }

    /// Starts every pod, spread evenly over `window`, and waits for all of them. A pod's task
    /// is spawned when it starts, and ends once it is ready (keeping only its live handle), so
    /// pods not started yet or done cost no memory beyond their result.
    async fn start_fleet(self: &Arc<Self>, window: Duration, live: bool) -> Vec<PodStart> {
        let pods = self.fleet.pods;
        let deadline = self.start + window + DEPLOY_DEADLINE;
        let mut tasks = Vec::with_capacity(pods);
        for pod in 0..pods {
            let at = self.start + window.mul_f64(pod as f64 / pods.max(1) as f64);
            sleep_until(at).await;
            tasks.push(tokio::spawn(
                Arc::clone(self).start_pod(pod, at, live, deadline),
            ));
        }
        join_all(tasks)
            .await
            .into_iter()
            .map(|joined| {
                joined.unwrap_or_else(|_| PodStart {
                    failed_starts: 1,
                    ..PodStart::default()
                })
            })
            .collect()
    }

    /// The report's traffic figures over `[from, to)`, with the start-up figures of `starts`.
    fn report(&self, title: String, starts: &[PodStart], from: Instant, to: Instant) -> Report {
        let mut ready: Vec<Duration> = starts.iter().filter_map(|s| s.ready).collect();
        let loads = self.loads(&self.service, from, to);
        let calls: u64 = loads.iter().map(|l| l.calls).sum();
        let hours = (to - from).as_secs_f64() / 3600.0;
        let secrets = self.fleet.secrets as f64;
        let fleet_rate = calls as f64 / secrets / hours;
        Report {
            title,
            ready: Spread::of(&mut ready),
            failed_starts: starts.iter().map(|s| s.failed_starts).sum(),
            never_ready: starts.iter().filter(|s| s.ready.is_none()).count() as u64,
            loads,
            per_secret_hour: (fleet_rate, fleet_rate / self.fleet.pods.max(1) as f64),
            measured: to - from,
            adoption: None,
            not_adopted: 0,
            outage: None,
            background: None,
            agent: match &self.nodes {
                Nodes::Agents(_, meter) => Some(AgentFigures {
                    requests: meter.requests.load(Relaxed),
                    hits: meter.hits.load(Relaxed),
                }),
                _ => None,
            },
        }
    }
}

impl Run {
    /// The load each action of `service` saw over `[from, to)`.
    fn loads(&self, service: &Service, from: Instant, to: Instant) -> Vec<ActionLoad> {
        let (first, last) = service.with_quotas(|q| (q.elapsed(from), q.elapsed(to)));
        let range = |len: usize| {
            let lo = usize::try_from(first.as_secs()).unwrap_or(len).min(len);
            // The second `to` falls in is counted: a call made in it happened before `to`.
            let hi = usize::try_from(last.as_secs() + u64::from(last.subsec_nanos() > 0))
                .unwrap_or(len)
                .min(len);
            lo..hi.max(lo)
        };
        Action::ALL
            .iter()
            .map(|a| {
                service.with_quotas(|q| {
                    let seconds = q.seconds(*a);
                    let bucket = q.bucket_seconds(*a);
                    ActionLoad::of(
                        *a,
                        q.limit(*a),
                        &seconds[range(seconds.len())],
                        &bucket[range(bucket.len())],
                    )
                })
            })
            .collect()
    }

    /// The requests `service` received over `[from, to)`, every action.
    fn calls(&self, service: &Service, from: Instant, to: Instant) -> u64 {
        self.loads(service, from, to).iter().map(|l| l.calls).sum()
    }
}

impl Fleet {
    /// Runs `scenario` on the current runtime (paused time expected) and reports it.
    pub async fn run(&self, scenario: Scenario) -> Report {
        let mut fleet = self.clone();
        fleet.secrets = fleet.secrets.clamp(1, MAX_SECRETS);
        let service = Service::new(
            fleet.secrets,
            fleet.model,
            fleet.parameters.unwrap_or_default(),
            Latency::IN_REGION,
            fleet.seed,
        );
        let replica = fleet
            .failover
            .then(|| service.replica(REPLICA_REGION, fleet.model));
        let parameters = fleet.parameters.is_some();
        let count = |per_node: usize| fleet.pods.div_ceil(per_node.max(1)).max(1);
        let nodes = match fleet.per_node {
            Some(per_node) if fleet.agent == AgentKind::Http && !parameters => Nodes::Agents(
                (0..count(per_node)).map(|_| OnceLock::new()).collect(),
                Arc::default(),
            ),
            Some(per_node) => Nodes::InProcess(
                (0..count(per_node))
                    .map(|_| fleet.profile.cache(&service, replica.as_ref(), parameters))
                    .collect::<Result<_, _>>()
                    .unwrap_or_else(|err| panic!("the profile's settings are invalid: {err}")),
            ),
            None => Nodes::Direct,
        };
        let run = Arc::new(Run {
            rng: Rng::new(fleet.seed ^ 0x5EED),
            fleet,
            service,
            replica,
            start: Instant::now(),
            nodes,
            failed: AtomicBool::new(false),
        });
        let title = run.title(scenario);
        match scenario {
            Scenario::Deploy { window } => {
                let others = run.background_load();
                let starts = run.start_fleet(window, false).await;
                others.store(false, Relaxed);
                let mut report = run.report(title, &starts, run.start, Instant::now());
                report.background = run.background_figures();
                report
            }
            Scenario::Steady { hours } => {
                let starts = run.start_fleet(LIVE_START_WINDOW, true).await;
                let end = run.start + Duration::from_secs(3600 * u64::from(hours.max(2)));
                sleep_until(end).await;
                let mut report =
                    run.report(title, &starts, run.start + Duration::from_secs(3600), end);
                // Start-up figures are the rollout's; the traffic is the steady state's.
                report.ready =
                    Spread::of(&mut starts.iter().filter_map(|s| s.ready).collect::<Vec<_>>());
                report
            }
            Scenario::Rotation => run.rotation(title).await,
            Scenario::Outage { length } => run.outage(title, length).await,
        }
    }
}

/// How often the background load is offered: its requests of each tick arrive together (a
/// millisecond: near enough to a steady stream that it competes with the fleet call for call).
const BACKGROUND_TICK: Duration = Duration::from_millis(1);

impl Run {
    /// Starts offering the fleet's background load, until the flag returned is cleared.
    fn background_load(self: &Arc<Self>) -> Arc<AtomicBool> {
        let on = Arc::new(AtomicBool::new(self.fleet.background > 0));
        let rate = u64::from(self.fleet.background);
        let (run, running) = (Arc::clone(self), Arc::clone(&on));
        tokio::spawn(async move {
            let (mut ticks, mut sent) = (0u64, 0u64);
            while running.load(Relaxed) {
                ticks += 1;
                // Requests due by the end of this tick: `rate` a second, whatever the tick.
                let due = rate * ticks * BACKGROUND_TICK.as_millis() as u64 / 1_000;
                run.service
                    .offer_background(u32::try_from(due - sent).unwrap_or(u32::MAX));
                sent = due;
                sleep(BACKGROUND_TICK).await;
            }
        });
        on
    }

    /// What the background load offered and how much of it was throttled.
    fn background_figures(&self) -> Option<BackgroundLoad> {
        (self.fleet.background > 0).then(|| {
            self.service.with_quotas(|q| BackgroundLoad {
                offered: q.background().iter().map(|s| u64::from(s.offered)).sum(),
                throttled: q.background().iter().map(|s| u64::from(s.throttled)).sum(),
                worst_second: q
                    .background()
                    .iter()
                    .map(|s| f64::from(s.throttled) / f64::from(s.offered.max(1)))
                    .fold(0.0, f64::max),
            })
        })
    }

    fn title(&self, scenario: Scenario) -> String {
        let f = &self.fleet;
        let what = match scenario {
            Scenario::Deploy { window } => {
                format!("rolling deploy over {} s", window.as_secs_f64())
            }
            Scenario::Steady { hours } => {
                format!("steady state, {hours} h (counted after the first hour)")
            }
            Scenario::Rotation => "rotation of one secret under live handles".to_owned(),
            Scenario::Outage { length } => format!(
                "{}-minute regional outage and recovery",
                length.as_secs() / 60
            ),
        };
        let failover = if f.failover {
            format!(", failover to {REPLICA_REGION}")
        } else {
            String::new()
        };
        let via = match (f.per_node, &self.nodes) {
            (Some(n), Nodes::Agents(..)) => format!(
                ", through the simulated Secrets Manager Agent ({n} pods/node, AgentSource)"
            ),
            (Some(n), _) => format!(", through an in-process node cache ({n} pods/node)"),
            (None, _) => String::new(),
        };
        let quotas = match f.model {
            QuotaModel::Current => "current quotas",
            QuotaModel::SharedGetDescribe => "older shared 10,000/s quota",
            QuotaModel::CurrentDividedBy(_) => "current quotas divided by",
        };
        let quotas = match f.model {
            QuotaModel::CurrentDividedBy(n) => format!("{quotas} {n}"),
            _ => quotas.to_owned(),
        };
        let background = match f.background {
            0 => String::new(),
            n => format!(", {n} GetSecretValue/s from other services"),
        };
        let jitter = f.profile.startup_jitter;
        let jitter = if jitter.is_zero() {
            String::new()
        } else {
            format!(" + start-up jitter {} s", jitter.as_secs())
        };
        let (reads, quotas) = match f.parameters {
            None => ("secrets", quotas),
            Some(level) => (
                "SecureString parameters",
                format!("Parameter Store {}/s", level.limit()),
            ),
        };
        format!(
            "{what}: {} pods x {} {reads}, {} settings{jitter}{via}{failover}, {quotas}{background}",
            f.pods, f.secrets, f.profile.name
        )
    }

    async fn rotation(self: &Arc<Self>, title: String) -> Report {
        let starts = self.start_fleet(LIVE_START_WINDOW, true).await;
        let rotated_at = self.start + EVENT_AT;
        sleep_until(rotated_at).await;
        self.service.rotate(0);
        let want = Service::value(0, self.service.version(0));
        let give_up = rotated_at + self.fleet.profile.ttl * 3;
        let waits = starts
            .iter()
            .filter_map(|s| s.live.clone())
            .map(|mut live| {
                let want = want.clone();
                tokio::spawn(async move {
                    timeout_at(give_up, async {
                        loop {
                            if live.current().s0.expose_secret() == want {
                                return Some(Instant::now() - rotated_at);
                            }
                            live.changed().await?;
                        }
                    })
                    .await
                    .ok()
                    .flatten()
                })
            });
        let adopted: Vec<Option<Duration>> = join_all(waits.collect::<Vec<_>>())
            .await
            .into_iter()
            .map(|r| r.ok().flatten())
            .collect();
        let mut report = self.report(
            title,
            &starts,
            self.start,
            Instant::now().max(rotated_at + Duration::from_secs(1)),
        );
        let mut times: Vec<Duration> = adopted.iter().flatten().copied().collect();
        report.adoption = Spread::of(&mut times);
        report.not_adopted = (self.fleet.pods - times.len()) as u64;
        drop(starts);
        report
    }

    async fn outage(self: &Arc<Self>, title: String, length: Duration) -> Report {
        let starts = self.start_fleet(LIVE_START_WINDOW, true).await;
        let down = self.start + EVENT_AT;
        let up = down + length;
        sleep_until(down).await;
        self.service.set_outage(true);
        sleep_until(up).await;
        self.service.set_outage(false);
        let stale_pods = starts
            .iter()
            .filter_map(|s| s.live.as_ref())
            .filter(|live| live.try_current().is_err())
            .count() as u64;
        let end = up + Duration::from_secs(30 * 60);
        sleep_until(end).await;
        let mut report = self.report(title, &starts, self.start, end);
        let during = self.report(String::new(), &[], down, up);
        let after = self.service.with_quotas(|q| {
            let lo = usize::try_from(q.elapsed(up).as_secs()).unwrap_or(usize::MAX);
            let window = |a: Action| -> Vec<u32> {
                q.seconds(a)
                    .iter()
                    .skip(lo)
                    .take(60)
                    .map(|s| s.offered)
                    .collect()
            };
            let get = window(Action::Get);
            let describe = window(Action::Describe);
            let batch = window(Action::Batch);
            let total = (0..60)
                .map(|i| {
                    [&get, &describe, &batch]
                        .iter()
                        .map(|w| w.get(i).copied().unwrap_or(0))
                        .sum::<u32>()
                })
                .max()
                .unwrap_or(0);
            (total, get.iter().copied().max().unwrap_or(0))
        });
        let replica_calls = self.replica.as_ref().map(|replica| ReplicaCalls {
            before: self.calls(replica, self.start, down),
            during: self.calls(replica, down, up),
            after: self.calls(replica, up, end),
        });
        report.outage = Some(OutageFigures {
            calls_during: during.loads.iter().map(|l| l.calls).sum(),
            replica_calls,
            peak_after: after.0,
            peak_get_after: after.1,
            stale_pods,
        });
        drop(starts);
        report
    }
}
