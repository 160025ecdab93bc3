//! Parameter Store through `aws-sdk-ssm` (feature `ssm`): `GetParameter`, decrypted, with the
//! same per-call timeouts and throttling rule as the Secrets Manager client (`sdk.rs`).
//!
//! A parameter has no `DescribeSecret`: a version check fetches it and compares its version
//! number (`GetParameter` is the cheapest call that tells the version), so a refresh of an
//! unchanged parameter is one `GetParameter`, a change is adopted as a rotation.

use std::sync::Arc;

use aws_sdk_ssm::Client;
use aws_sdk_ssm::config::Builder as ConfigBuilder;
use aws_sdk_ssm::operation::get_parameter::GetParameterError;
use aws_smithy_types::timeout::TimeoutConfig;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use super::sdk_call::{NoThrottleRetries, attempt_timeouts, call_timeouts};
use super::{Backend, Parts, sealed};
use crate::error::{Operation, from_sdk};
use crate::parameter::request_name;
use crate::{Error, Secret, TransportKind, Version};

/// The SSM client, and the timeouts every call overrides its configuration with.
#[derive(Debug)]
struct Ssm {
    client: Client,
    timeouts: TimeoutConfig,
    /// The cache paces throttled calls itself: the SDK must not retry them.
    cache_paces: bool,
}

/// The backend reading parameters through `client`, under the cache's `terms`.
pub(crate) fn over_client(client: Client, terms: sealed::Terms) -> Arc<dyn Backend> {
    Arc::new(Ssm {
        client,
        timeouts: call_timeouts(terms),
        cache_paces: terms.cache_paces_throttling,
    })
}

/// The backend reading parameters through a client built from `config` (the one the Secrets
/// Manager client was built from), its connect and read timeouts the cache's attempt deadline.
pub(crate) fn over_config(
    config: &aws_config::SdkConfig,
    terms: sealed::Terms,
) -> Arc<dyn Backend> {
    let conf = ConfigBuilder::from(config)
        .timeout_config(attempt_timeouts(terms))
        .build();
    over_client(Client::from_conf(conf), terms)
}

impl Ssm {
    async fn get(&self, id: &str, version: &Version) -> Result<Secret, Error> {
        let mut config = ConfigBuilder::default().timeout_config(self.timeouts.clone());
        if self.cache_paces {
            config = config.retry_classifier(NoThrottleRetries::<GetParameterError>::default());
        }
        let out = (self.client.get_parameter())
            .name(request_name(id, version))
            .with_decryption(true)
            .customize()
            .config_override(config)
            .send()
            .await
            .map_err(|e| {
                let kms = names_kms(e.as_service_error().and_then(|e| e.meta().message()));
                match from_sdk(&e, id, Operation::GetParameter) {
                    Error::AccessDenied { secret_id, .. } if kms => Error::Decryption { secret_id },
                    err => err,
                }
            })?;
        let Some(parameter) = out.parameter else {
            return Err(Error::Transport {
                secret_id: id.to_owned(),
                kind: TransportKind::MalformedResponse,
                detail: Some("the response holds no Parameter".into()),
            });
        };
        Parts {
            arn: parameter.arn,
            name: parameter.name,
            version_id: Some(parameter.version.to_string()),
            version_stages: None,
            string: parameter.value,
            binary: None,
        }
        .into_secret(id)
    }
}

impl Backend for Ssm {
    fn kind(&self) -> &'static str {
        "sdk"
    }

    fn get<'a>(
        &'a self,
        id: &'a str,
        version: &'a Version,
        _refresh: bool,
    ) -> BoxFuture<'a, Result<Secret, Error>> {
        Ssm::get(self, id, version).boxed()
    }

    fn region(&self) -> Option<&str> {
        self.client.config().region().map(|r| r.as_ref())
    }

    fn serves_parameters(&self) -> bool {
        true
    }
}

/// Whether an access denial is KMS's rather than Parameter Store's: the service answers
/// `AccessDeniedException` naming `kms:Decrypt` when the caller may read the parameter but not
/// decrypt its key. Only this fixed phrase is looked for; the message is never kept.
fn names_kms(message: Option<&str>) -> bool {
    message.is_some_and(|m| m.contains("kms:") || m.contains("KMS"))
}

#[cfg(test)]
mod tests {
    use aws_sdk_ssm::operation::get_parameter::GetParameterOutput;
    use aws_sdk_ssm::types::{Parameter, ParameterType};
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use aws_smithy_types::retry::RetryConfig;
    use secrecy::ExposeSecret;

    use crate::testing::{always_v1, client, error_body};
    use crate::{Error, SecretCache, Version};

    fn ssm(rules: &[&Rule]) -> aws_sdk_ssm::Client {
        mock_client!(aws_sdk_ssm, RuleMode::MatchAny, rules, |c| c
            .retry_config(RetryConfig::disabled()))
    }

    fn cache(rules: &[&Rule]) -> SecretCache {
        SecretCache::builder(client(RuleMode::MatchAny, &[&always_v1()]))
            .parameter_client(ssm(rules))
            .build()
            .expect("valid settings")
    }

    fn failing(code: &str, message: &str) -> Rule {
        let body = error_body(code).replace("canary-hunter2", message);
        mock!(aws_sdk_ssm::Client::get_parameter)
            .sequence()
            .http_status(400, Some(body))
            .repeatedly()
            .build()
    }

    #[tokio::test(start_paused = true)]
    async fn get_parameter_is_asked_decrypted_with_the_selector_of_the_version() {
        let answered = mock!(aws_sdk_ssm::Client::get_parameter)
            .match_requests(|r| r.name() == Some("/prod/db:3") && r.with_decryption() == Some(true))
            .then_output(|| {
                let parameter = Parameter::builder()
                    .name("/prod/db")
                    .r#type(ParameterType::SecureString)
                    .value("hunter2")
                    .version(3)
                    .arn("arn:aws:ssm:us-east-1:123456789012:parameter/prod/db")
                    .build();
                GetParameterOutput::builder().parameter(parameter).build()
            });
        let cache = cache(&[&answered]);
        let read = (cache.get_version("ssm:/prod/db", &Version::id("3")).await).expect("read");
        assert_eq!(read.string().expect("text").expose_secret(), "hunter2");
        assert_eq!((read.version_id(), read.name()), ("3", "/prod/db"));
        assert_eq!(answered.num_calls(), 1);
        assert_eq!(cache.stats().get_parameter_calls, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn parameter_store_failures_are_typed_and_quote_no_message() {
        let kms = "User: x is not authorized to perform: kms:Decrypt Qz7!xK9#wL2%vT8";
        type Shape = fn(&Error) -> bool;
        let cases: [(Rule, Version, Shape); 5] = [
            (
                failing("AccessDeniedException", kms),
                Version::current(),
                |e| matches!(e, Error::Decryption { .. }),
            ),
            (
                failing("AccessDeniedException", "Qz7!xK9#wL2%vT8"),
                Version::current(),
                |e| {
                    matches!(
                        e,
                        Error::AccessDenied {
                            action: "ssm:GetParameter",
                            ..
                        }
                    )
                },
            ),
            (
                failing("ParameterNotFound", "Qz7!xK9#wL2%vT8"),
                Version::current(),
                |e| matches!(e, Error::NotFound { .. }),
            ),
            (
                failing("ParameterVersionNotFound", "Qz7!xK9#wL2%vT8"),
                Version::stage("blue"),
                |e| matches!(e, Error::VersionNotFound { .. }),
            ),
            (
                failing("InvalidKeyId", "Qz7!xK9#wL2%vT8"),
                Version::current(),
                |e| matches!(e, Error::Decryption { .. }),
            ),
        ];
        for (rule, version, expected) in cases {
            let err =
                (cache(&[&rule]).get_version("ssm:/prod/db", &version).await).expect_err("failure");
            assert!(expected(&err), "{err:?}");
            let shown = format!("{err} {err:?}");
            assert!(
                !shown.contains("Qz7!") && shown.contains("ssm:/prod/db"),
                "{shown}"
            );
        }
    }
}
