//! Parameters read ten a call with `GetParameters` (which shares `GetParameter`'s quota):
//! a struct's parameters in one call, a missing one asked alone so its error is named, a
//! throttled batch tried again whole rather than split, a denied one replaced by single
//! reads, and parameters never offered to failover regions or Secrets Manager's batch.

use aws_sdk_ssm::operation::get_parameter::GetParameterOutput;
use aws_sdk_ssm::operation::get_parameters::GetParametersOutput;
use aws_sdk_ssm::types::{Parameter, ParameterType};
use aws_smithy_mocks::mock_client;
use aws_smithy_types::retry::RetryConfig;

use super::failover::{replica_v1, west};
use super::*;
use crate::AwsSecrets;

const ARN_PREFIX: &str = "arn:aws:ssm:us-east-1:123456789012:parameter/";

fn ssm(rules: &[&Rule]) -> aws_sdk_ssm::Client {
    mock_client!(aws_sdk_ssm, RuleMode::MatchAny, rules, |c| c
        .retry_config(RetryConfig::disabled()))
}

/// `/app/NAME`, version 1, its value `value-NAME`.
fn parameter(name: &str) -> Parameter {
    Parameter::builder()
        .name(format!("/app/{name}"))
        .r#type(ParameterType::SecureString)
        .value(format!("value-{name}"))
        .version(1)
        .arn(format!("{ARN_PREFIX}app/{name}"))
        .build()
}

/// `GetParameters` answering the names asked that are among `present`, the rest invalid.
fn get_parameters(present: &'static [&'static str]) -> Rule {
    mock!(aws_sdk_ssm::Client::get_parameters)
        .match_requests(|r| r.with_decryption() == Some(true))
        .then_output(move || {
            let mut out = GetParametersOutput::builder();
            for name in present {
                out = out.parameters(parameter(name));
            }
            out.invalid_parameters("/app/missing").build()
        })
}

/// `GetParameter` of `/app/NAME` for each of `names`.
fn get_parameter(names: &'static [&'static str]) -> Vec<Rule> {
    (names.iter())
        .map(|&name| {
            mock!(aws_sdk_ssm::Client::get_parameter)
                .match_requests(move |r| r.name() == Some(format!("/app/{name}").as_str()))
                .then_output(move || {
                    GetParameterOutput::builder()
                        .parameter(parameter(name))
                        .build()
                })
        })
        .collect()
}

fn failing(operation: &str, code: &str) -> Rule {
    let body = error_body(code);
    match operation {
        "GetParameters" => mock!(aws_sdk_ssm::Client::get_parameters)
            .sequence()
            .http_status(400, Some(body))
            .repeatedly()
            .build(),
        _ => mock!(aws_sdk_ssm::Client::get_parameter)
            .sequence()
            .http_status(400, Some(body))
            .repeatedly()
            .build(),
    }
}

fn cache_over(batch: &Rule, singles: &[Rule]) -> SecretCacheBuilder {
    let rules: Vec<&Rule> = std::iter::once(batch).chain(singles).collect();
    minute(client(RuleMode::MatchAny, &[&always_v1()])).parameter_client(ssm(&rules))
}

/// The calls made of `GetParameters` and of `GetParameter`.
fn parameter_calls(cache: &SecretCache) -> (u64, u64) {
    let stats = cache.stats();
    (stats.get_parameters_calls, stats.get_parameter_calls)
}

#[derive(AwsSecrets, Debug)]
#[aws_secrets(crate = "crate")]
struct Three {
    #[aws_secrets(parameter = "/app/a", public)]
    a: String,
    #[aws_secrets(parameter = "/app/b", public)]
    b: String,
    #[aws_secrets(parameter = "/app/c", public)]
    c: String,
}

#[derive(AwsSecrets, Debug)]
#[aws_secrets(crate = "crate")]
#[allow(dead_code, reason = "only the load's error is read")]
struct WithMissing {
    #[aws_secrets(parameter = "/app/a", public)]
    a: String,
    #[aws_secrets(parameter = "/app/missing", public)]
    missing: String,
}

#[tokio::test(start_paused = true)]
async fn a_structs_parameters_load_with_one_get_parameters() {
    let batch = get_parameters(&["a", "b", "c"]);
    let cache = cache_over(&batch, &get_parameter(&["a", "b", "c"]))
        .build()
        .expect("valid");
    let three = Three::load(&cache).await.expect("loaded");
    assert_eq!((three.a.as_str(), three.c.as_str()), ("value-a", "value-c"));
    assert_eq!(parameter_calls(&cache), (1, 0), "{:?}", cache.stats());
    assert_eq!(cache.stats().api_calls(), 1);
    // The batch's answers are ordinary entries: by ARN, the same value, no call.
    let by_arn = cache.get(&format!("{ARN_PREFIX}app/b")).await.expect("b");
    assert_eq!(by_arn.version_id(), "1");
    assert_eq!(cache.stats().api_calls(), 1);
}

/// A parameter the batch leaves out (the service lists it invalid) is asked alone, and its
/// own answer names the error; the rest of the struct was read in the batch.
#[tokio::test(start_paused = true)]
async fn a_parameter_the_batch_leaves_out_is_asked_alone_and_its_error_named() {
    let batch = get_parameters(&["a"]);
    let missing = failing("GetParameter", "ParameterNotFound");
    let cache = cache_over(&batch, &[missing]).build().expect("valid");
    let err = WithMissing::load(&cache).await.expect_err("one is missing");
    assert!(
        matches!(&err, Error::NotFound { secret_id } if secret_id == "ssm:/app/missing"),
        "{err:?}"
    );
    assert_eq!(parameter_calls(&cache), (1, 1));
}

/// A throttled or failing `GetParameters` is tried again whole (in the pacer's turns, or by
/// the first load's next round), never split into a call per parameter: ten calls into the
/// quota that just throttled one.
#[tokio::test(start_paused = true)]
async fn a_throttled_or_failing_batch_is_tried_again_whole_not_split() {
    for (status, code) in [(400, "ThrottlingException"), (500, "InternalServerError")] {
        let batch = mock!(aws_sdk_ssm::Client::get_parameters)
            .sequence()
            .http_status(status, Some(error_body(code)))
            .times(2)
            .output(|| {
                GetParametersOutput::builder()
                    .parameters(parameter("a"))
                    .parameters(parameter("b"))
                    .parameters(parameter("c"))
                    .build()
            })
            .build();
        let cache = cache_over(&batch, &get_parameter(&["a", "b", "c"]))
            .build()
            .expect("valid");
        let three = Three::load(&cache)
            .await
            .expect("loaded after the failures");
        assert_eq!(three.b, "value-b");
        assert_eq!(
            parameter_calls(&cache),
            (3, 0),
            "{code}: {:?}",
            cache.stats()
        );
    }
}

/// Where `ssm:GetParameters` is denied, each parameter is read alone, and the batch is not
/// tried again before `denial_retry`.
#[tokio::test(start_paused = true)]
async fn a_denied_batch_falls_back_to_one_get_parameter_each() {
    let batch = failing("GetParameters", "AccessDeniedException");
    let cache = cache_over(&batch, &get_parameter(&["a", "b", "c"]))
        .build()
        .expect("valid");
    let three = Three::load(&cache).await.expect("loaded one by one");
    assert_eq!((three.a.as_str(), three.b.as_str()), ("value-a", "value-b"));
    assert_eq!(parameter_calls(&cache), (1, 3));
    cache.invalidate("ssm:/app/a");
    cache.invalidate("ssm:/app/b");
    Three::load(&cache).await.expect("loaded one by one");
    assert_eq!(parameter_calls(&cache), (1, 5), "the denial is remembered");
}

#[tokio::test(start_paused = true)]
async fn batch_parameters_off_reads_each_parameter_alone() {
    let batch = get_parameters(&["a", "b", "c"]);
    let cache = cache_over(&batch, &get_parameter(&["a", "b", "c"]))
        .batch_parameters(false)
        .build()
        .expect("valid");
    Three::load(&cache).await.expect("loaded");
    assert_eq!(parameter_calls(&cache), (0, 3));
    assert!(
        !Three::iam_policy(&cache)
            .expect("policy")
            .allows_parameter_batch()
    );
}

#[derive(AwsSecrets, Debug)]
#[aws_secrets(crate = "crate")]
#[allow(dead_code, reason = "only the load's calls are counted")]
struct Mixed {
    #[aws_secrets(parameter = "/app/a", public)]
    a: String,
    #[aws_secrets(parameter = "/app/b", public)]
    b: String,
    #[aws_secrets(name = "prod/db")]
    db: secrecy::SecretString,
    #[aws_secrets(name = "prod/other")]
    other: secrecy::SecretString,
}

/// With Secrets Manager's batch on too, parameters ride in `GetParameters` only, never in a
/// `BatchGetSecretValue`.
#[tokio::test(start_paused = true)]
async fn parameters_never_ride_in_secrets_managers_batch() {
    let secrets = mock!(Client::batch_get_secret_value)
        .match_requests(|r| {
            let ids = r.secret_id_list();
            ids.iter().all(|id| !id.starts_with("ssm:"))
        })
        .then_output(|| {
            let entry = |name: &str| {
                SecretValueEntry::builder()
                    .name(name)
                    .arn(format!("{ARN}-{name}"))
                    .version_id("v1")
                    .version_stages("AWSCURRENT")
                    .secret_string("s")
                    .build()
            };
            BatchGetSecretValueOutput::builder()
                .secret_values(entry("prod/db"))
                .secret_values(entry("prod/other"))
                .build()
        });
    let batch = get_parameters(&["a", "b"]);
    let cache = minute(client(RuleMode::MatchAny, &[&secrets]))
        .batch(true)
        .parameter_client(ssm(&[&batch]))
        .build()
        .expect("valid");
    Mixed::load(&cache).await.expect("loaded");
    let stats = cache.stats();
    assert_eq!(
        (
            stats.batch_get_secret_value_calls,
            stats.get_parameters_calls,
            stats.api_calls()
        ),
        (1, 1, 2),
        "{stats:?}"
    );
    assert_eq!(
        secrets.num_calls(),
        1,
        "no parameter id in the secrets' batch"
    );
}

/// Parameter Store has no replicas: a parameter failing transiently is not sent to the
/// failover regions (no failover call counted, no replica asked).
#[tokio::test(start_paused = true)]
async fn a_failing_parameter_is_not_offered_to_failover_regions() {
    let down = failing("GetParameter", "InternalServerError");
    let replica = replica_v1();
    let cache = cache_over(&get_parameters(&[]), &[down])
        .failover_client(west(&[&replica]))
        .build()
        .expect("valid");
    let err = cache
        .get("ssm:/app/a")
        .await
        .expect_err("the region is down");
    assert!(err.is_transient(), "{err:?}");
    let stats = cache.stats();
    assert_eq!(stats.failover_calls, 0, "{stats:?}");
    assert_eq!(replica.num_calls(), 0);
}

/// A version that is no parameter version or label is refused before any call, and no call
/// is counted.
#[tokio::test(start_paused = true)]
async fn a_version_parameter_store_cannot_take_is_refused_without_a_call() {
    let single = get_parameter(&["a"]);
    let cache = cache_over(&get_parameters(&[]), &single)
        .build()
        .expect("valid");
    for (version, says) in [
        (Version::id("3b9c-uuid"), "not a parameter version"),
        (Version::stage("7"), "is a number"),
        (Version::stage("has space"), "contains ` `"),
    ] {
        let err = (cache.get_version("ssm:/app/a", &version).await).expect_err("refused");
        assert!(
            matches!(&err, Error::Config { message } if message.contains(says)),
            "{version:?}: {err}"
        );
    }
    assert_eq!(cache.stats().api_calls(), 0);
    assert_eq!(single[0].num_calls(), 0);
}

/// With failover regions set, a parameter's call keeps the whole call deadline (no region
/// shares it): a silent Parameter Store is one attempt of `call_timeout`, not two of half.
#[tokio::test(start_paused = true)]
async fn a_parameters_call_keeps_the_whole_deadline_with_failover_regions() {
    let call = SecretCacheBuilder::DEFAULT_CALL_TIMEOUT;
    let cache = minute(client(RuleMode::MatchAny, &[&always_v1()]))
        .attempt_timeout(call)
        .failover_client(west(&[&replica_v1()]))
        .parameter_client(crate::testing::silent_ssm_client())
        .build()
        .expect("valid");
    let started = Instant::now();
    let err = cache.get("ssm:/app/a").await.expect_err("silent");
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(started.elapsed(), call);
    assert_eq!(cache.stats().get_parameter_calls, 1, "{:?}", cache.stats());
}

#[derive(AwsSecrets, Debug)]
#[aws_secrets(crate = "crate")]
#[allow(dead_code, reason = "only the load's calls are counted")]
struct NameAndForeignArn {
    #[aws_secrets(parameter = "/app/a", public)]
    ours: String,
    #[aws_secrets(parameter = "/app/b", public)]
    b: String,
    #[aws_secrets(
        parameter = "arn:aws:ssm:us-east-1:999999999999:parameter/app/a",
        public
    )]
    theirs: String,
}

/// A parameter's ARN whose path is also asked by name never shares that batch (an answer is
/// matched by name or ARN, and another account's may come back under the same name): it is
/// read alone, and each field gets its own account's value.
#[tokio::test(start_paused = true)]
async fn an_arn_sharing_a_path_with_a_name_is_read_alone() {
    let batch = mock!(aws_sdk_ssm::Client::get_parameters)
        .match_requests(|r| r.names().iter().all(|n| !n.starts_with("arn:")))
        .then_output(|| {
            (GetParametersOutput::builder())
                .parameters(parameter("a"))
                .parameters(parameter("b"))
                .build()
        });
    let foreign = "arn:aws:ssm:us-east-1:999999999999:parameter/app/a";
    let theirs = mock!(aws_sdk_ssm::Client::get_parameter)
        .match_requests(move |r| r.name() == Some(foreign))
        .then_output(move || {
            let parameter = (Parameter::builder())
                .name("/app/a")
                .value("theirs")
                .version(7)
                .arn(foreign)
                .build();
            GetParameterOutput::builder().parameter(parameter).build()
        });
    let cache = cache_over(&batch, &[theirs]).build().expect("valid");
    let loaded = NameAndForeignArn::load(&cache).await.expect("loaded");
    assert_eq!(
        (loaded.ours.as_str(), loaded.theirs.as_str()),
        ("value-a", "theirs")
    );
    assert_eq!(parameter_calls(&cache), (1, 1));
}
