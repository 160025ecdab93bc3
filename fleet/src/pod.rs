//! One pod's view of the service: its own SDK client (own retry token bucket, as in its own
//! process; one for Secrets Manager, one for Parameter Store), its own `SecretCache`, and the
//! settings struct it loads at start-up.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use std::sync::Arc;

use asm_runtime::{
    AgentSource, AwsSecrets, Error, RotationGuardrail, SecretCache, SecretString, Vars,
};
use aws_sdk_secretsmanager::config::retry::RetryConfig;
use aws_sdk_secretsmanager::config::{
    BehaviorVersion, Credentials, Region, StalledStreamProtectionConfig,
};
use aws_smithy_runtime::client::retries::RetryPartition;

use crate::agent::{AgentMeter, AgentSettings, NodeAgent, TOKEN};
use crate::service::Service;

/// The most distinct secrets a pod reads (fields of [`FleetSecrets`]).
pub const MAX_SECRETS: usize = 10;

/// What a pod of the fleet loads: ten secrets, whole. With `--secrets k` below ten, field `i`
/// reads secret `i % k`, and the load plan fetches each distinct secret once.
#[derive(AwsSecrets)]
#[allow(missing_docs)]
pub struct FleetSecrets {
    #[aws_secrets(name = "fleet/${S0}")]
    pub s0: SecretString,
    #[aws_secrets(name = "fleet/${S1}")]
    pub s1: SecretString,
    #[aws_secrets(name = "fleet/${S2}")]
    pub s2: SecretString,
    #[aws_secrets(name = "fleet/${S3}")]
    pub s3: SecretString,
    #[aws_secrets(name = "fleet/${S4}")]
    pub s4: SecretString,
    #[aws_secrets(name = "fleet/${S5}")]
    pub s5: SecretString,
    #[aws_secrets(name = "fleet/${S6}")]
    pub s6: SecretString,
    #[aws_secrets(name = "fleet/${S7}")]
    pub s7: SecretString,
    #[aws_secrets(name = "fleet/${S8}")]
    pub s8: SecretString,
    #[aws_secrets(name = "fleet/${S9}")]
    pub s9: SecretString,
}

impl std::fmt::Debug for FleetSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FleetSecrets { .. }")
    }
}

/// What a pod of a fleet reading Parameter Store loads: ten `SecureString` parameters,
/// decrypted. With `--secrets k` below ten, field `i` reads parameter `i % k`.
#[derive(AwsSecrets)]
#[allow(missing_docs)]
pub struct FleetParameters {
    #[aws_secrets(parameter = "/fleet/${P0}")]
    pub p0: SecretString,
    #[aws_secrets(parameter = "/fleet/${P1}")]
    pub p1: SecretString,
    #[aws_secrets(parameter = "/fleet/${P2}")]
    pub p2: SecretString,
    #[aws_secrets(parameter = "/fleet/${P3}")]
    pub p3: SecretString,
    #[aws_secrets(parameter = "/fleet/${P4}")]
    pub p4: SecretString,
    #[aws_secrets(parameter = "/fleet/${P5}")]
    pub p5: SecretString,
    #[aws_secrets(parameter = "/fleet/${P6}")]
    pub p6: SecretString,
    #[aws_secrets(parameter = "/fleet/${P7}")]
    pub p7: SecretString,
    #[aws_secrets(parameter = "/fleet/${P8}")]
    pub p8: SecretString,
    #[aws_secrets(parameter = "/fleet/${P9}")]
    pub p9: SecretString,
}

impl std::fmt::Debug for FleetParameters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FleetParameters { .. }")
    }
}

/// The placeholder values that make [`FleetSecrets`] read `secrets` distinct secrets, and
/// [`FleetParameters`] as many distinct parameters.
pub fn vars(secrets: usize) -> Vars {
    (0..MAX_SECRETS).fold(Vars::new(), |vars, i| {
        let at = i % secrets.max(1);
        (vars.set(format!("S{i}"), format!("s{at}"))).set(format!("P{i}"), format!("p{at}"))
    })
}

/// A client config builder of `service` for the simulated account (both SDKs' builders have
/// these methods), with its own retry partition `partition`.
macro_rules! simulated_config {
    ($builder:expr, $service:expr, $partition:expr, $retry:expr) => {
        $builder
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new($service.region()))
            .credentials_provider(Credentials::new(
                "AKIDFLEETSIMULATOR",
                "fleet-simulator-key",
                None,
                None,
                "fleet",
            ))
            .http_client($service.http_client())
            .retry_partition(RetryPartition::new($partition))
            .retry_config($retry)
            // Guards against stalled byte streams, which the simulated transport never
            // produces; its throughput clock is the wall clock, not the paused one.
            .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
            .build()
    };
}

/// The settings a pod runs with: the cache's, the SDK's retries, and how the application
/// starts.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Its name in reports.
    pub name: &'static str,
    /// The cache's soft TTL.
    pub ttl: Duration,
    /// `DescribeSecret` version checks on refresh.
    pub version_checks: bool,
    /// `BatchGetSecretValue` for secrets due together.
    pub batch: bool,
    /// `GetParameters` for parameters due together (`batch_parameters`, on by default).
    pub batch_parameters: bool,
    /// The rotation guardrail (`DescribeSecret` per secret at first load).
    pub guardrail: RotationGuardrail,
    /// The SDK's retry settings.
    pub retry: RetryConfig,
    /// The application waits a uniform random delay up to this before its first load.
    pub startup_jitter: Duration,
    /// The cache paces its calls when throttled (`throttle_pacing`, on by default).
    pub pacing: bool,
}

impl Profile {
    /// Every default: `SecretCache::new` (no batches), the SDK's standard retries (3
    /// attempts), no delay.
    pub fn defaults() -> Self {
        Self {
            name: "default",
            ttl: asm_runtime::SecretCacheBuilder::DEFAULT_TTL,
            version_checks: true,
            batch: false,
            batch_parameters: true,
            guardrail: RotationGuardrail::default(),
            retry: RetryConfig::standard(),
            startup_jitter: Duration::ZERO,
            pacing: true,
        }
    }

    /// The defaults with `.throttle_pacing(false)`: the library before throttled calls were
    /// paced (every call at once, the SDK retrying throttling).
    pub fn unpaced() -> Self {
        Self {
            name: "unpaced",
            pacing: false,
            ..Self::defaults()
        }
    }

    /// The defaults with `.batch(true)`: the library's default until FLEET.md's figures
    /// turned it off.
    pub fn batching() -> Self {
        Self {
            name: "batching",
            batch: true,
            ..Self::defaults()
        }
    }

    /// The defaults with `.batch_parameters(false)`: one `GetParameter` per parameter.
    pub fn single_parameters() -> Self {
        Self {
            name: "single-parameters",
            batch_parameters: false,
            ..Self::defaults()
        }
    }

    /// The settings FLEET.md recommends for a large fleet.
    pub fn recommended() -> Self {
        Self {
            name: "recommended",
            retry: RetryConfig::standard()
                .with_max_attempts(8)
                .with_max_backoff(Duration::from_secs(20)),
            ..Self::defaults()
        }
    }

    /// The profile named `name`.
    pub fn named(name: &str) -> Option<Self> {
        match name {
            "default" => Some(Self::defaults()),
            "batching" => Some(Self::batching()),
            "recommended" => Some(Self::recommended()),
            "unpaced" => Some(Self::unpaced()),
            "single-parameters" => Some(Self::single_parameters()),
            _ => None,
        }
    }

    /// A cache over a fresh client of `service`, failing over to `replica` if given: what one
    /// process builds at start-up; with `parameters`, also a fresh Parameter Store client
    /// (`parameter_client`). Each client gets its own retry partition, so its retry token
    /// bucket is its own, as it would be in its own process (the SDK keeps them in a
    /// process-wide map by partition name; the two services' default partitions differ).
    pub fn cache(
        &self,
        service: &Service,
        replica: Option<&Service>,
        parameters: bool,
    ) -> Result<SecretCache, Error> {
        static NEXT_CLIENT: AtomicU64 = AtomicU64::new(0);
        let id = NEXT_CLIENT.fetch_add(1, Relaxed);
        let secrets_client = |service: &Service, partition: String| {
            let config = simulated_config!(
                aws_sdk_secretsmanager::Config::builder(),
                service,
                partition,
                self.retry.clone()
            );
            aws_sdk_secretsmanager::Client::from_conf(config)
        };
        let mut builder = SecretCache::builder(secrets_client(service, format!("fleet-pod-{id}")));
        if let Some(replica) = replica {
            let partition = format!("fleet-pod-{id}-{}", replica.region());
            builder = builder.failover_client(secrets_client(replica, partition));
        }
        if parameters {
            let config = simulated_config!(
                aws_sdk_ssm::Config::builder(),
                service,
                format!("fleet-pod-{id}-ssm"),
                self.retry.clone()
            );
            builder = builder.parameter_client(aws_sdk_ssm::Client::from_conf(config));
        }
        builder
            .ttl(self.ttl)
            .version_checks(self.version_checks)
            .batch(self.batch)
            .batch_parameters(self.batch_parameters)
            .rotation_guardrail(self.guardrail)
            .throttle_pacing(self.pacing)
            .build()
    }

    /// A pod's cache reading through its node's `agent` with the real `AgentSource` (the
    /// token given, the requests handed over in memory): `SecretCache::builder(AgentSource…)`
    /// with this profile's TTL and pacing. The SDK settings play no part: the pod calls only
    /// the agent.
    pub fn agent_cache(&self, agent: &NodeAgent) -> Result<SecretCache, Error> {
        let source = AgentSource::new()
            .token(SecretString::from(TOKEN))
            .in_memory(Arc::new(agent.clone()));
        SecretCache::builder(source)
            .ttl(self.ttl)
            .throttle_pacing(self.pacing)
            .build()
    }
}

/// A node's simulated Secrets Manager Agent over a fresh client of `service`: the agent's own
/// SDK settings (`aws_config`'s defaults: standard retries, 3 attempts), its own retry
/// partition, its default settings.
pub fn node_agent(service: &Service, meter: Arc<AgentMeter>) -> NodeAgent {
    static NEXT_AGENT: AtomicU64 = AtomicU64::new(0);
    let id = NEXT_AGENT.fetch_add(1, Relaxed);
    let config = simulated_config!(
        aws_sdk_secretsmanager::Config::builder(),
        service,
        format!("fleet-agent-{id}"),
        RetryConfig::standard()
    );
    let client = aws_sdk_secretsmanager::Client::from_conf(config);
    NodeAgent::new(client, AgentSettings::default(), meter)
}
