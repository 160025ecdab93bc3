//! One pod's view of the service: its own SDK client (own retry token bucket, as in its own
//! process), its own `SecretCache`, and the settings struct it loads at start-up.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use asm_runtime::{AwsSecrets, Error, RotationGuardrail, SecretCache, SecretString, Vars};
use aws_sdk_secretsmanager::config::retry::RetryConfig;
use aws_sdk_secretsmanager::config::{
    BehaviorVersion, Credentials, Region, StalledStreamProtectionConfig,
};
use aws_smithy_runtime::client::retries::RetryPartition;

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

/// The placeholder values that make [`FleetSecrets`] read `secrets` distinct secrets.
pub fn vars(secrets: usize) -> Vars {
    (0..MAX_SECRETS).fold(Vars::new(), |vars, i| {
        vars.set(format!("S{i}"), format!("s{}", i % secrets.max(1)))
    })
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
            _ => None,
        }
    }

    /// A cache over a fresh client of `service`, failing over to `replica` if given: what one
    /// process builds at start-up.
    pub fn cache(
        &self,
        service: &Service,
        replica: Option<&Service>,
    ) -> Result<SecretCache, Error> {
        let builder = SecretCache::builder(self.client(service))
            .ttl(self.ttl)
            .version_checks(self.version_checks)
            .batch(self.batch)
            .rotation_guardrail(self.guardrail)
            .throttle_pacing(self.pacing);
        match replica {
            Some(replica) => builder.failover_client(self.client(replica)),
            None => builder,
        }
        .build()
    }

    /// A fresh client of `service`, in its region. Each client gets its own retry partition,
    /// so its retry token bucket is its own, as it would be in its own process (the SDK keeps
    /// them in a process-wide map by partition name).
    fn client(&self, service: &Service) -> aws_sdk_secretsmanager::Client {
        static NEXT_CLIENT: AtomicU64 = AtomicU64::new(0);
        let id = NEXT_CLIENT.fetch_add(1, Relaxed);
        let config = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(service.region()))
            .credentials_provider(Credentials::new(
                "AKIDFLEETSIMULATOR",
                "fleet-simulator-key",
                None,
                None,
                "fleet",
            ))
            .http_client(service.http_client())
            .retry_partition(RetryPartition::new(format!("fleet-pod-{id}")))
            .retry_config(self.retry.clone())
            // Guards against stalled byte streams, which the simulated transport never
            // produces; its throughput clock is the wall clock, not the paused one.
            .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
            .build();
        aws_sdk_secretsmanager::Client::from_conf(config)
    }
}
