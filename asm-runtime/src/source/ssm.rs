//! Parameter Store through `aws-sdk-ssm` (feature `ssm`): `GetParameter`, decrypted, with the
//! same per-call timeouts and throttling rule as the Secrets Manager client (`sdk.rs`).
//!
//! A parameter has no `DescribeSecret`: a version check fetches it and compares its version
//! number (`GetParameter` is the cheapest call that tells the version), so a refresh of an
//! unchanged parameter is one `GetParameter`, a change is adopted as a rotation.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_ssm::Client;
use aws_sdk_ssm::config::Builder as ConfigBuilder;
use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ssm::operation::get_parameter::GetParameterError;
use aws_sdk_ssm::operation::get_parameters::GetParametersError;
use aws_sdk_ssm::types::Parameter;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::timeout::TimeoutConfig;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use zeroize::{Zeroize, Zeroizing};

use super::sdk_call::{NoThrottleRetries, ThrottleCode, attempt_timeouts, call_timeouts};
use super::{Backend, BatchResult, Parts, malformed, sealed};
use crate::error::{Operation, from_sdk};
use crate::json::{self, JsonDocument, JsonIndex};
use crate::parameter::request_name;
use crate::{Error, Secret, Version};

/// The SSM client, and the timeouts every call overrides its configuration with.
#[derive(Debug)]
struct Ssm {
    client: Client,
    timeouts: TimeoutConfig,
    /// The cache paces throttled calls itself: the SDK must not retry them.
    cache_paces: bool,
    /// The configuration the client was built from, whose credentials assume roles (`None`
    /// for a client given as is: its credentials cannot be read back).
    sts: Option<aws_config::SdkConfig>,
}

/// The backend reading parameters through `client`, under the cache's `terms`.
pub(crate) fn over_client(client: Client, terms: sealed::Terms) -> Arc<dyn Backend> {
    over(client, terms, None)
}

/// Under the cache's deadlines whole (no failover region shares a parameter's call).
fn over(
    client: Client,
    terms: sealed::Terms,
    sts: Option<aws_config::SdkConfig>,
) -> Arc<dyn Backend> {
    let terms = whole(terms);
    Arc::new(Ssm {
        client,
        timeouts: call_timeouts(terms),
        cache_paces: terms.cache_paces_throttling,
        sts,
    })
}

/// The backend reading parameters through a client built from `config` (the one the Secrets
/// Manager client was built from), its connect and read timeouts the cache's attempt deadline.
pub(crate) fn over_config(
    config: &aws_config::SdkConfig,
    terms: sealed::Terms,
) -> Arc<dyn Backend> {
    let conf = ConfigBuilder::from(config)
        .timeout_config(attempt_timeouts(whole(terms)))
        .build();
    over(Client::from_conf(conf), terms, Some(config.clone()))
}

/// What the id of a `GetParameters` call's failure is, before the cache names each parameter.
const CALL_ID: &str = "(parameters)";

/// `terms` with the cache's deadlines whole.
fn whole(terms: sealed::Terms) -> sealed::Terms {
    sealed::Terms {
        deadlines: terms.unshared,
        ..terms
    }
}

impl Ssm {
    /// The per-call settings: the cache's timeouts, and, when the cache paces, no SDK retry of
    /// a throttled call of the operation whose error type is `E`.
    fn overrides<E: ThrottleCode>(&self) -> ConfigBuilder {
        let config = ConfigBuilder::default().timeout_config(self.timeouts.clone());
        if self.cache_paces {
            return config.retry_classifier(NoThrottleRetries::<E>::default());
        }
        config
    }

    async fn get(&self, id: &str, version: &Version) -> Result<Secret, Error> {
        let out = (self.client.get_parameter())
            .name(request_name(id, version))
            .with_decryption(true)
            .customize()
            .config_override(self.overrides::<GetParameterError>())
            .send()
            .await
            .map_err(|e| failure(&e, id, Operation::GetParameter))?;
        let Some(parameter) = out.parameter else {
            return Err(malformed(id, "the response holds no Parameter"));
        };
        into_secret(parameter, id)
    }

    /// One `GetParameters` for the latest versions of `ids` (by name or ARN); each parameter
    /// answered is matched to the ids that name it. A parameter the service lists as invalid
    /// (missing, or not readable) is left out: its own `GetParameter` says which.
    async fn get_all(&self, ids: &[Arc<str>]) -> BatchResult {
        let names = (ids.iter())
            .map(|id| request_name(id, &Version::current()))
            .collect();
        let out = (self.client.get_parameters())
            .set_names(Some(names))
            .with_decryption(true)
            .customize()
            .config_override(self.overrides::<GetParametersError>())
            .send()
            .await
            .map_err(|e| failure(&e, CALL_ID, Operation::GetParameters))?;
        let mut answers = Vec::new();
        for mut parameter in out.parameters.unwrap_or_default() {
            let asked = (ids.iter().enumerate()).filter(|(_, id)| answers_ask(&parameter, id));
            for (at, id) in asked {
                answers.push((at, into_secret(parameter.clone(), id)));
            }
            parameter.value.zeroize();
            parameter.source_result.zeroize();
        }
        Ok(answers)
    }
}

/// Whether `parameter`, in a `GetParameters` answer, is the one `id` asked for: the latest
/// version (no selector) of the parameter `id` names, by name or by ARN. Versions and labels
/// are never batched (`cache/batch.rs`).
fn answers_ask(parameter: &Parameter, id: &str) -> bool {
    let asked = id.strip_prefix(crate::parameter::PREFIX).unwrap_or(id);
    parameter.selector.is_none()
        && (parameter.name.as_deref() == Some(asked) || parameter.arn.as_deref() == Some(asked))
}

/// `parameter`, read for `id`, as a secret: its value, name, ARN, and version (for a
/// reference, the secret's own; see [`referenced_version`]).
fn into_secret(parameter: Parameter, id: &str) -> Result<Secret, Error> {
    // A reference answers version 0 every time: the secret's own version id, from the
    // `SourceResult` beside the value (which holds the secret again, and is zeroized).
    let source_result = parameter.source_result.map(Zeroizing::new);
    let version_id = (source_result.as_deref())
        .and_then(|result| referenced_version(result))
        .unwrap_or_else(|| parameter.version.to_string());
    Parts {
        arn: parameter.arn,
        name: parameter.name,
        version_id: Some(version_id),
        version_stages: None,
        string: parameter.value,
        binary: None,
    }
    .into_secret(id)
}

/// A failed call about `id` as the cache's error; an access denial that KMS's is a
/// decryption failure.
fn failure<E>(err: &SdkError<E, HttpResponse>, id: &str, op: Operation) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let kms = names_kms(err.as_service_error().and_then(|e| e.message()));
    match from_sdk(err, id, op) {
        Error::AccessDenied { secret_id, .. } if kms => Error::Decryption { secret_id },
        err => err,
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

    fn get_parameters<'a>(&'a self, ids: &'a [Arc<str>]) -> Option<BoxFuture<'a, BatchResult>> {
        Some(self.get_all(ids).boxed())
    }

    fn region(&self) -> Option<&str> {
        self.client.config().region().map(|r| r.as_ref())
    }

    fn serves_parameters(&self) -> bool {
        true
    }

    /// The same client as `role` (its own `AssumeRole` session, renewed by the client's
    /// identity cache).
    fn assume(&self, role: &Arc<str>) -> Result<Arc<dyn Backend>, Error> {
        let credentials = super::assume::credentials_of(self.sts.as_ref(), role)?;
        let conf = (self.client.config().to_builder())
            .credentials_provider(credentials)
            .build();
        Ok(Arc::new(Ssm {
            client: Client::from_conf(conf),
            timeouts: self.timeouts.clone(),
            cache_paces: self.cache_paces,
            sts: None,
        }))
    }
}

/// The version of the secret a `/aws/reference/secretsmanager/…` answer carries in its
/// `SourceResult`: `VersionId` where it is `GetSecretValue`'s answer (as Parameter Store sends
/// it), else the version `VersionIdsToStages` marks `AWSCURRENT` (a `DescribeSecret` shape, as
/// moto sends it). Read through the JSON index, which copies no value out of the text.
fn referenced_version(source_result: &str) -> Option<String> {
    let index = JsonIndex::parse(source_result)?;
    let doc = JsonDocument {
        index: &index,
        text: source_result,
    };
    if let Some(version_id) = doc.get("VersionId") {
        return json::to_public::<String>(version_id).ok();
    }
    let stages = doc.get("VersionIdsToStages")?;
    let stages: HashMap<String, Vec<String>> = json::to_public(stages).ok()?;
    stages
        .into_iter()
        .find(|(_, stages)| stages.iter().any(|stage| stage == Version::CURRENT_STAGE))
        .map(|(version_id, _)| version_id)
}

/// Whether an access denial is KMS's rather than Parameter Store's: the service answers
/// `AccessDeniedException` naming `kms:Decrypt` when the caller may read the parameter but not
/// decrypt its key. Only this fixed phrase is looked for; the message is never kept.
fn names_kms(message: Option<&str>) -> bool {
    // Not any `KMS`: the message names the caller, whose role may be called `KMSReader`.
    message.is_some_and(|m| m.contains("kms:Decrypt") || m.contains("Service: AWSKMS"))
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

    /// A `GetParameters` answer is matched by name to a name's id and by ARN (or an ARN
    /// returned as the name) to an ARN's id; never a name to another account's ARN, nor an
    /// answer that carries a selector.
    #[test]
    fn batch_answers_are_matched_by_name_or_arn_as_asked() {
        let arn = "arn:aws:ssm:us-east-1:123456789012:parameter/prod/db";
        let answer =
            |name: &str, arn: &str| Parameter::builder().name(name).arn(arn).version(1).build();
        let ours = answer("/prod/db", arn);
        assert!(super::answers_ask(&ours, "ssm:/prod/db"));
        assert!(super::answers_ask(&ours, arn));
        let foreign = "arn:aws:ssm:us-east-1:999999999999:parameter/prod/db";
        assert!(!super::answers_ask(&ours, foreign));
        assert!(super::answers_ask(&answer(foreign, foreign), foreign));
        assert!(!super::answers_ask(
            &answer(foreign, foreign),
            "ssm:/prod/db"
        ));
        let selected = Parameter::builder()
            .name("/prod/db")
            .arn(arn)
            .selector(":3")
            .build();
        assert!(!super::answers_ask(&selected, "ssm:/prod/db"));
    }

    /// A reference's version is its secret's: `VersionId` in Parameter Store's `SourceResult`
    /// (`GetSecretValue`'s answer), or the `AWSCURRENT` version of moto's `DescribeSecret`
    /// shape; nothing where it has neither.
    #[test]
    fn a_references_version_is_read_from_its_source_result() {
        let aws = r#"{"Name":"s1","VersionId":"aaabbb-111","SecretString":"Qz7!\"x","VersionStages":["AWSCURRENT"]}"#;
        assert_eq!(
            super::referenced_version(aws).as_deref(),
            Some("aaabbb-111")
        );
        let moto =
            r#"{"Name":"s1","VersionIdsToStages":{"old":["AWSPREVIOUS"],"new":["AWSCURRENT"]}}"#;
        assert_eq!(super::referenced_version(moto).as_deref(), Some("new"));
        assert_eq!(super::referenced_version(r#"{"Name":"s1"}"#), None);
        assert_eq!(super::referenced_version("not json"), None);
    }

    /// Only KMS's own phrases make a denial a decryption failure, not a caller whose role is
    /// called `KMSReader`.
    #[test]
    fn a_denial_is_kmss_only_when_it_names_kms_decrypt() {
        assert!(super::names_kms(Some(
            "User: arn:aws:sts::1:assumed-role/app/i is not authorized to perform: kms:Decrypt"
        )));
        assert!(super::names_kms(Some(
            "(Service: AWSKMS; Status Code: 400)"
        )));
        assert!(!super::names_kms(Some(
            "User: arn:aws:sts::1:assumed-role/KMSReader/i is not authorized to perform: \
             ssm:GetParameter on resource: arn:aws:ssm:us-east-1:1:parameter/kms/key"
        )));
        assert!(!super::names_kms(None));
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
