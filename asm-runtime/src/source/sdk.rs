//! The Secrets Manager API through `aws-sdk-secretsmanager`: `GetSecretValue`,
//! `BatchGetSecretValue` and `DescribeSecret`, each with the cache's timeouts set on the call
//! whatever the client's own configuration.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::Builder as ConfigBuilder;
use aws_sdk_secretsmanager::config::Region;
use aws_sdk_secretsmanager::config::retry::RetryConfig;
use aws_sdk_secretsmanager::operation::batch_get_secret_value::BatchGetSecretValueError;
use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretError;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use aws_sdk_secretsmanager::types::RotationRulesType;
use aws_smithy_types::timeout::TimeoutConfig;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use super::sdk_call::{NoThrottleRetries, ThrottleCode, call_timeouts};
use super::{Backend, BatchResult, Description, Parts, SecretSource, answer_index, sealed};
use crate::error::{Operation, from_code, from_sdk, names_missing_value, value_missing};
use crate::{Error, Secret, Version};

/// The SDK client, and the timeouts every call overrides its configuration with.
#[derive(Debug)]
struct Sdk {
    client: Client,
    timeouts: TimeoutConfig,
    /// The cache paces throttled calls itself: the SDK must not retry them.
    cache_paces: bool,
    /// The configuration the client was built from, when the cache was given one: the STS
    /// calls of roles are made with it (its endpoint for STS, its retries).
    sts: Option<aws_config::SdkConfig>,
}

/// A client and the `SdkConfig` it was built from (`SecretCache::from_conf`, `from_env`):
/// the configuration roles call STS with.
#[derive(Debug)]
pub(crate) struct Configured {
    client: Client,
    config: aws_config::SdkConfig,
}

impl Configured {
    /// `client`, built from `config`.
    pub(crate) fn new(client: Client, config: aws_config::SdkConfig) -> Self {
        Self { client, config }
    }
}

impl SecretSource for Configured {}

impl sealed::Sealed for Configured {
    /// With the feature `ssm`, parameters are read through an SSM client built from the same
    /// configuration.
    fn into_source(self, terms: sealed::Terms) -> sealed::Building {
        #[cfg(feature = "ssm")]
        let parameters = Some(super::ssm::over_config(&self.config, terms));
        #[cfg(not(feature = "ssm"))]
        let parameters = None;
        let secrets = Arc::new(Sdk::new(self.client, terms, Some(self.config)));
        sealed::Building(super::Stores::over(secrets, parameters))
    }
}

/// The SDK behavior version the environment's client is loaded with (see
/// `SecretCache::behavior_version`). Pinned on purpose, so its deprecation is silenced here
/// and nowhere else.
#[allow(deprecated)]
pub(crate) fn behavior_version() -> aws_config::BehaviorVersion {
    aws_config::BehaviorVersion::v2026_01_12()
}

/// A Secrets Manager client over `config`, which must name a region (kept for the STS calls
/// of roles).
pub(crate) fn client_for(config: &aws_config::SdkConfig) -> Result<Configured, Error> {
    if config.region().is_none() {
        return Err(Error::Config {
            message: "no AWS region: set AWS_REGION or a profile's `region`".to_owned(),
        });
    }
    Ok(Configured::new(Client::new(config), config.clone()))
}

impl SecretSource for Client {}

impl sealed::Sealed for Client {
    fn into_source(self, terms: sealed::Terms) -> sealed::Building {
        sealed::Building(Arc::new(Sdk::new(self, terms, None)))
    }
}

impl Sdk {
    fn new(client: Client, terms: sealed::Terms, sts: Option<aws_config::SdkConfig>) -> Self {
        Self {
            client,
            timeouts: call_timeouts(terms),
            cache_paces: terms.cache_paces_throttling,
            sts,
        }
    }

    /// The per-call override of the client's timeouts: each attempt and the whole operation
    /// are bounded, even on a client built without any timeout.
    fn call_config<E: ThrottleCode>(&self) -> ConfigBuilder {
        let config = ConfigBuilder::default().timeout_config(self.timeouts.clone());
        if self.cache_paces {
            config.retry_classifier(NoThrottleRetries::<E>::default())
        } else {
            config
        }
    }

    async fn get(&self, id: &str, version: &Version) -> Result<Secret, Error> {
        let request = self.client.get_secret_value().secret_id(id);
        let request = match version {
            Version::Stage(stage) => request.version_stage(&**stage),
            Version::Id(version_id) => request.version_id(&**version_id),
        };
        let out = request
            .customize()
            .config_override(self.call_config::<GetSecretValueError>())
            .send()
            .await
            .map_err(|e| {
                let err = from_sdk(&e, id, Operation::GetSecretValue);
                if value_missing(&e) {
                    err.version_missing(version)
                } else {
                    err
                }
            })?;
        Parts {
            arn: out.arn,
            name: out.name,
            version_id: out.version_id,
            version_stages: out.version_stages,
            string: out.secret_string,
            binary: out.secret_binary.map(|b| b.into_inner()),
        }
        .into_secret(id)
    }

    async fn batch(&self, ids: &[Arc<str>]) -> BatchResult {
        let list: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
        let mut answered = Vec::new();
        let mut next_token: Option<String> = None;
        // Each page answers at least one id, or the rest are fetched one by one.
        for _ in 0..ids.len() {
            let mut out = self
                .client
                .batch_get_secret_value()
                .set_secret_id_list(Some(list.clone()))
                .set_next_token(next_token.take())
                .customize()
                // One attempt: a throttled or failing batch falls back to one call per secret
                // (retried as the client is configured) instead of retrying against its
                // 100 calls/s quota.
                .config_override(
                    self.call_config::<BatchGetSecretValueError>()
                        .retry_config(RetryConfig::disabled()),
                )
                .send()
                .await
                .map_err(|e| from_sdk(&e, "(batch)", Operation::BatchGetSecretValue))?;
            let before = answered.len();
            for value in out.secret_values.take().unwrap_or_default() {
                let found = answer_index(ids, value.name.as_deref(), value.arn.as_deref());
                if let Some(at) = found {
                    let parts = Parts {
                        arn: value.arn,
                        name: value.name,
                        version_id: value.version_id,
                        version_stages: value.version_stages,
                        string: value.secret_string,
                        binary: value.secret_binary.map(|b| b.into_inner()),
                    };
                    answered.push((at, parts.into_secret(&ids[at])));
                }
            }
            for error in out.errors.take().unwrap_or_default() {
                let requested = error.secret_id.as_deref().unwrap_or_default();
                if let Some(at) = ids.iter().position(|id| &**id == requested) {
                    let code = error.error_code.as_deref().unwrap_or("UnknownError");
                    let mut err = from_code(code, requested, Operation::GetSecretValue);
                    if names_missing_value(error.message.as_deref()) {
                        err = err.version_missing(&Version::current());
                    }
                    answered.push((at, Err(err)));
                }
            }
            next_token = out.next_token.take();
            if next_token.is_none() || answered.len() == before || answered.len() >= ids.len() {
                break;
            }
        }
        Ok(answered)
    }

    async fn describe(&self, id: &str) -> Result<Description, Error> {
        let out = self
            .client
            .describe_secret()
            .secret_id(id)
            .customize()
            .config_override(self.call_config::<DescribeSecretError>())
            .send()
            .await
            .map_err(|e| from_sdk(&e, id, Operation::DescribeSecret))?;
        Ok(Description {
            rotation: rotation_interval(out.rotation_enabled, out.rotation_rules.as_ref()),
            deleted: out.deleted_date.is_some(),
            versions: out.version_ids_to_stages.unwrap_or_default(),
        })
    }
}

impl Backend for Sdk {
    fn kind(&self) -> &'static str {
        "sdk"
    }

    fn get<'a>(
        &'a self,
        id: &'a str,
        version: &'a Version,
        _refresh: bool,
    ) -> BoxFuture<'a, Result<Secret, Error>> {
        Sdk::get(self, id, version).boxed()
    }

    fn describe<'a>(&'a self, id: &'a str) -> Option<BoxFuture<'a, Result<Description, Error>>> {
        Some(Sdk::describe(self, id).boxed())
    }

    fn get_batch<'a>(&'a self, ids: &'a [Arc<str>]) -> Option<BoxFuture<'a, BatchResult>> {
        Some(self.batch(ids).boxed())
    }

    fn region(&self) -> Option<&str> {
        self.client.config().region().map(|r| r.as_ref())
    }

    fn client(&self) -> Option<&Client> {
        Some(&self.client)
    }

    /// The client's configuration with the region replaced: the same credentials, retries,
    /// HTTP client and endpoint settings (an explicit endpoint URL included). Its roles call
    /// STS in that region too, so a replica reads as a role while the primary region is down.
    fn in_region(&self, region: &str, terms: sealed::Terms) -> Option<Arc<dyn Backend>> {
        let region = Region::new(region.to_owned());
        let config = (self.client.config().to_builder())
            .region(region.clone())
            .build();
        let sts = (self.sts.as_ref()).map(|sts| sts.to_builder().region(region).build());
        Some(Arc::new(Sdk::new(Client::from_conf(config), terms, sts)))
    }

    fn assume(&self, role: &Arc<str>) -> Result<Arc<dyn Backend>, Error> {
        Ok(Arc::new(Sdk {
            client: super::assume::client_as(&self.client, self.sts.as_ref(), role)?,
            timeouts: self.timeouts.clone(),
            cache_paces: self.cache_paces,
            sts: None,
        }))
    }
}

/// The rotation period: `AutomaticallyAfterDays`, or a `rate(N unit)` schedule. A `cron(…)`
/// schedule has no fixed period and gives `None`, as does rotation switched off.
pub(crate) fn rotation_interval(
    enabled: Option<bool>,
    rules: Option<&RotationRulesType>,
) -> Option<Duration> {
    let rules = rules.filter(|_| enabled == Some(true))?;
    let days = |n: u64| Duration::from_secs(n.saturating_mul(86_400));
    match rules.schedule_expression() {
        Some(expression) => rate(expression),
        None => rules
            .automatically_after_days()
            .and_then(|n| u64::try_from(n).ok())
            .filter(|n| *n > 0)
            .map(days),
    }
}

/// Parses `rate(4 hours)`, `rate(1 day)`, `rate(10 days)` (the units Secrets Manager accepts).
fn rate(expression: &str) -> Option<Duration> {
    let inner = expression.trim().strip_prefix("rate(")?.strip_suffix(')')?;
    let (count, unit) = inner.trim().split_once(' ')?;
    let count: u64 = count.parse().ok().filter(|n| *n > 0)?;
    let unit_secs = match unit.trim() {
        "hour" | "hours" => 3_600,
        "day" | "days" => 86_400,
        _ => return None,
    };
    Some(Duration::from_secs(count.saturating_mul(unit_secs)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(days: Option<i64>, schedule: Option<&str>) -> RotationRulesType {
        RotationRulesType::builder()
            .set_automatically_after_days(days)
            .set_schedule_expression(schedule.map(str::to_owned))
            .build()
    }

    #[test]
    fn rotation_periods_come_from_days_or_rate_expressions() {
        let hour = Duration::from_secs(3_600);
        let on = Some(true);
        assert_eq!(
            rotation_interval(on, Some(&rules(Some(30), None))),
            Some(hour * 24 * 30)
        );
        assert_eq!(
            rotation_interval(on, Some(&rules(None, Some("rate(4 hours)")))),
            Some(hour * 4)
        );
        assert_eq!(
            rotation_interval(on, Some(&rules(Some(30), Some("rate(1 day)")))),
            Some(hour * 24),
            "the schedule expression wins over the day count"
        );
        assert_eq!(
            rotation_interval(on, Some(&rules(None, Some("cron(0 16 1,15 * ? *)")))),
            None
        );
        assert_eq!(
            rotation_interval(Some(false), Some(&rules(Some(30), None))),
            None
        );
        assert_eq!(rotation_interval(on, None), None);
    }

    #[test]
    fn malformed_rates_are_not_periods() {
        for bad in [
            "rate()",
            "rate(0 days)",
            "rate(-1 days)",
            "rate(3 weeks)",
            "rate(3days)",
            "rate(3 days",
        ] {
            assert_eq!(rate(bad), None, "{bad}");
        }
    }
}
