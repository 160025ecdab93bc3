//! Canary leak tests: the canary is planted wherever a value can appear (the secret value, the
//! service's error message, a response body) and driven through every error path. Each test
//! asserts the error it reached (so the path is really taken), then that no surface of it
//! (`Display`, `{:?}`, `{:#?}`, source chain, `Result` Debug, the `.expect()` panic message)
//! and no log line captured at TRACE holds the canary or any 4-character fragment of it.

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use asm_runtime::{
    AwsSecrets, Error, ExposeSecret, Secret, SecretCache, SecretSlice, SecretString, TransportKind,
    Vars, Version,
};
use asm_testkit::Moto;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::operation::batch_get_secret_value::BatchGetSecretValueOutput;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
use aws_sdk_secretsmanager::types::{ApiErrorType, SecretValueEntry};
use aws_smithy_mocks::{Rule, RuleMode, mock};
use aws_smithy_types::Blob;

use crate::support::{
    ARN, CANARY, Capture, NUMERIC_CANARY, Scripted, Step, assert_clean, assert_error_clean,
    batching, cache, mocked, output, panic_message, service_error_body, settle, value_body,
};

/// A cache whose every `GetSecretValue` answers `value` (version `v1`).
fn serving(value: &str) -> (SecretCache, Rule) {
    let value = value.to_owned();
    let rule = mock!(Client::get_secret_value)
        .sequence()
        .output(move || output("v1", &value))
        .repeatedly()
        .build();
    (cache(mocked(RuleMode::MatchAny, &[&rule])), rule)
}

/// A cache whose every `GetSecretValue` answers the binary `bytes`.
fn serving_binary(bytes: &'static [u8]) -> SecretCache {
    let rule = mock!(Client::get_secret_value)
        .sequence()
        .output(move || {
            GetSecretValueOutput::builder()
                .arn(ARN)
                .name("prod/db")
                .version_id("v1")
                .secret_binary(Blob::new(bytes))
                .build()
        })
        .repeatedly()
        .build();
    cache(mocked(RuleMode::MatchAny, &[&rule]))
}

fn json_doc() -> String {
    serde_json::json!({
        "user": "app",
        "password": CANARY,
        "v": CANARY,
        "n": NUMERIC_CANARY.parse::<f64>().expect("number"),
        "obj": { "inner": CANARY, CANARY: CANARY },
        "arr": [CANARY, CANARY],
    })
    .to_string()
}

// One struct per wrong mapping, so the first failure is the one under test.

#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "prod/db")]
struct WantsMissingKey {
    #[aws_secrets(key = "api_key")]
    _k: SecretString,
}

#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "prod/db")]
struct WantsU16 {
    #[aws_secrets(key = "v", public)]
    _v: u16,
}

#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "prod/db")]
struct WantsI64FromFraction {
    #[aws_secrets(key = "n", public)]
    _n: i64,
}

#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "prod/db")]
struct WantsF64 {
    #[aws_secrets(key = "v", public)]
    _v: f64,
}

#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "prod/db")]
struct WantsBool {
    #[aws_secrets(key = "v", public)]
    _v: bool,
}

#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "prod/db")]
struct WantsStringFromObject {
    #[aws_secrets(key = "obj", public)]
    _v: String,
}

#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "prod/db")]
struct WantsIpAddr {
    #[aws_secrets(key = "v", public)]
    _v: IpAddr,
}

#[derive(AwsSecrets, Debug)]
struct WantsWholeU32 {
    #[aws_secrets(name = "prod/db", public)]
    _v: u32,
}

#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "prod/db")]
struct WantsSecretFromArray {
    #[aws_secrets(key = "arr")]
    _v: SecretString,
}

#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "prod/db")]
struct WantsSecretFromObject {
    #[aws_secrets(key = "obj")]
    _v: Option<SecretString>,
}

#[derive(AwsSecrets, Debug)]
struct WantsWholeText {
    #[aws_secrets(name = "prod/db")]
    _v: SecretString,
}

#[derive(AwsSecrets, Debug)]
struct WantsBinary {
    #[aws_secrets(name = "prod/db", binary)]
    _v: SecretSlice<u8>,
}

#[derive(AwsSecrets, Debug)]
struct WantsPlaceholder {
    #[aws_secrets(name = "${OTHER}/${APP_ENV}/db", key = "password")]
    _v: SecretString,
}

#[derive(AwsSecrets, Debug)]
struct TwoSecrets {
    #[aws_secrets(name = "prod/db", key = "password")]
    _a: SecretString,
    #[aws_secrets(name = "prod/api", key = "token")]
    _b: SecretString,
}

/// The canary-bearing secret `prod/db`, and the derived credentials read from it.
#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "prod/db")]
struct Creds {
    user: SecretString,
    password: SecretString,
    replica: Option<SecretString>,
}

impl Creds {
    fn user_and_replica(&self) -> (&str, Option<&str>) {
        (
            self.user.expose_secret(),
            self.replica.as_ref().map(|r| r.expose_secret()),
        )
    }
}

async fn load_err<T: AwsSecrets + std::fmt::Debug>(cache: &SecretCache) -> Error {
    T::load_with(cache, Vars::new())
        .await
        .expect_err("the mapping must fail")
}

/// Asserts the error's shape, then that it is clean on every surface.
fn check(path: &str, err: &Error, shape: impl Fn(&Error) -> bool) {
    assert!(shape(err), "{path}: unexpected error {err:?}");
    assert!(
        err.secret_id().is_none_or(|id| !id.is_empty()),
        "{path}: names its secret"
    );
    assert_error_clean(path, err);
}

fn wrong_type(err: &Error, want_found: &str) -> bool {
    matches!(err, Error::WrongType { found, .. } if *found == want_found)
}

#[tokio::test(start_paused = true)]
async fn leak_missing_key() {
    let (capture, _guard) = Capture::start();
    let (cache, _rule) = serving(&json_doc());
    let secret = cache.get("prod/db").await.expect("load");
    let err = secret.json_key("api_key").expect_err("absent key");
    check(
        "missing key (json_key)",
        &err,
        |e| matches!(e, Error::MissingKey { key, .. } if key == "api_key"),
    );
    let err = load_err::<WantsMissingKey>(&cache).await;
    check("missing key (derive)", &err, |e| {
        matches!(e, Error::MissingKey { field: Some(_), .. })
    });
    capture.assert_all_clean("missing key");
}

#[tokio::test(start_paused = true)]
async fn leak_wrong_type_integer() {
    let (capture, _guard) = Capture::start();
    let (cache, _rule) = serving(&json_doc());
    let err = load_err::<WantsU16>(&cache).await;
    check("u16 from a string", &err, |e| wrong_type(e, "string"));
    let err = load_err::<WantsI64FromFraction>(&cache).await;
    check("i64 from a fraction", &err, |e| wrong_type(e, "number"));
    capture.assert_all_clean("wrong type integer");
}

#[tokio::test(start_paused = true)]
async fn leak_wrong_type_float() {
    let (capture, _guard) = Capture::start();
    let (cache, _rule) = serving(&json_doc());
    let err = load_err::<WantsF64>(&cache).await;
    check("f64 from a string", &err, |e| wrong_type(e, "string"));
    capture.assert_all_clean("wrong type float");
}

#[tokio::test(start_paused = true)]
async fn leak_wrong_type_bool() {
    let (capture, _guard) = Capture::start();
    let (cache, _rule) = serving(&json_doc());
    let err = load_err::<WantsBool>(&cache).await;
    check("bool from a string", &err, |e| wrong_type(e, "string"));
    capture.assert_all_clean("wrong type bool");
}

#[tokio::test(start_paused = true)]
async fn leak_wrong_type_string_and_from_str() {
    let (capture, _guard) = Capture::start();
    let (cache, _rule) = serving(&json_doc());
    let err = load_err::<WantsStringFromObject>(&cache).await;
    check("String from an object", &err, |e| wrong_type(e, "object"));
    let err = load_err::<WantsIpAddr>(&cache).await;
    check("IpAddr (FromStr) from a string", &err, |e| {
        wrong_type(e, "string")
    });
    let (plain, _rule) = serving(CANARY);
    let err = load_err::<WantsWholeU32>(&plain).await;
    check("whole-secret u32 from text", &err, |e| {
        wrong_type(e, "string")
    });
    capture.assert_all_clean("wrong type String/FromStr");
}

#[tokio::test(start_paused = true)]
async fn leak_wrong_type_secret_string_from_array_and_object() {
    let (capture, _guard) = Capture::start();
    let (cache, _rule) = serving(&json_doc());
    let err = load_err::<WantsSecretFromArray>(&cache).await;
    check("SecretString from an array", &err, |e| {
        wrong_type(e, "array")
    });
    let err = load_err::<WantsSecretFromObject>(&cache).await;
    check("Option<SecretString> from an object", &err, |e| {
        wrong_type(e, "object")
    });
    let secret = cache.get("prod/db").await.expect("load");
    let err = secret.json_key("obj").expect_err("object");
    check("json_key of an object", &err, |e| wrong_type(e, "object"));
    capture.assert_all_clean("wrong type SecretString");
}

#[tokio::test(start_paused = true)]
async fn leak_not_json() {
    let (capture, _guard) = Capture::start();
    for text in [
        CANARY.to_owned(),
        format!("{{\"password\": \"{CANARY}\""),
        format!("[\"{CANARY}\"]"),
        format!("\"{CANARY}\""),
    ] {
        let (cache, _rule) = serving(&text);
        let err = load_err::<Creds>(&cache).await;
        check("not JSON (derive)", &err, |e| {
            matches!(e, Error::NotJson { .. })
        });
        let secret = cache.get("prod/db").await.expect("load");
        let err = secret.json_key("password").expect_err("not json");
        check("not JSON (json_key)", &err, |e| {
            matches!(e, Error::NotJson { .. })
        });
    }
    capture.assert_all_clean("not JSON");
}

#[tokio::test(start_paused = true)]
async fn leak_binary_where_a_string_is_expected() {
    let (capture, _guard) = Capture::start();
    let cache = serving_binary(CANARY.as_bytes());
    let secret = cache.get("prod/db").await.expect("load");
    let err = secret.string().expect_err("binary");
    check("string() of binary", &err, |e| {
        wrong_type(e, "SecretBinary")
    });
    let err = secret.json_key("password").expect_err("binary");
    check("json_key of binary", &err, |e| {
        wrong_type(e, "SecretBinary")
    });
    let err = load_err::<WantsWholeText>(&cache).await;
    check("SecretString field from binary", &err, |e| {
        wrong_type(e, "SecretBinary")
    });
    let err = load_err::<Creds>(&cache).await;
    check("JSON keys from binary", &err, |e| {
        wrong_type(e, "SecretBinary")
    });
    assert_clean("binary Secret Debug", &format!("{secret:?} {secret:#?}"));
    capture.assert_all_clean("binary for string");
}

#[tokio::test(start_paused = true)]
async fn leak_string_where_binary_is_expected() {
    let (capture, _guard) = Capture::start();
    let (cache, _rule) = serving(CANARY);
    let err = load_err::<WantsBinary>(&cache).await;
    check("SecretSlice field from text", &err, |e| {
        wrong_type(e, "SecretString")
    });
    let secret = cache.get("prod/db").await.expect("load");
    let err = secret.binary().expect_err("text");
    check("binary() of text", &err, |e| wrong_type(e, "SecretString"));
    capture.assert_all_clean("string for binary");
}

#[tokio::test(start_paused = true)]
async fn leak_oversize() {
    let (capture, _guard) = Capture::start();
    let huge = CANARY.repeat(64 * 1024 / CANARY.len() + 2);
    let (cache, _rule) = serving(&huge);
    let err = cache.get("prod/db").await.expect_err("over 64 KiB");
    check("oversize", &err, |e| matches!(e, Error::TooLarge { .. }));
    let err = load_err::<Creds>(&cache).await;
    check("oversize (derive)", &err, |e| {
        matches!(e, Error::TooLarge { .. })
    });
    capture.assert_all_clean("oversize");
}

/// The first load fails with `code` (canary in the service message), while the cache holds
/// the canary as the value of another secret.
async fn service_error_path(path: &str, status: u16, code: &str, shape: fn(&Error) -> bool) {
    let (capture, _guard) = Capture::start();
    let good = mock!(Client::get_secret_value)
        .match_requests(|r| r.secret_id() == Some("prod/other"))
        .sequence()
        .output(|| {
            GetSecretValueOutput::builder()
                .arn("arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/other-XyZ123")
                .name("prod/other")
                .version_id("v1")
                .secret_string(json_doc())
                .build()
        })
        .repeatedly()
        .build();
    let body = service_error_body(code);
    let failing = mock!(Client::get_secret_value)
        .match_requests(|r| r.secret_id() == Some("prod/db"))
        .sequence()
        .http_status(status, Some(body))
        .repeatedly()
        .build();
    let cache = cache(mocked(RuleMode::MatchAny, &[&good, &failing]));
    cache.get("prod/other").await.expect("the canary is cached");
    let err = cache.get("prod/db").await.expect_err("service error");
    check(path, &err, shape);
    let err = load_err::<Creds>(&cache).await;
    check(&format!("{path} (derive)"), &err, shape);
    let err = cache.refresh_now("prod/db").await.expect_err("again");
    check(&format!("{path} (refresh_now)"), &err, shape);
    if err.is_transient() {
        // Retried within the call deadline on each of the three reads.
        assert!(failing.num_calls() > 3, "{path}: first loads are retried");
    } else {
        // The derived load is answered from memory; `refresh_now` forgets and asks again.
        assert_eq!(failing.num_calls(), 2, "{path}: the failure is remembered");
        assert_eq!(cache.stats().failures_remembered, 1, "{path}");
    }
    capture.assert_ours_clean(path);
    if code == "ThrottlingException" {
        // The line saying the cache now paces its calls is among those checked.
        assert!(
            capture.ours().contains("pacing this action's calls"),
            "{path}: {}",
            capture.ours()
        );
    }
}

#[tokio::test(start_paused = true)]
async fn leak_access_denied() {
    service_error_path("AccessDenied", 400, "AccessDeniedException", |e| {
        matches!(e, Error::AccessDenied { .. })
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn leak_not_found() {
    service_error_path("NotFound", 400, "ResourceNotFoundException", |e| {
        matches!(e, Error::NotFound { .. })
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn leak_version_not_found() {
    let (capture, _guard) = Capture::start();
    let failing = mock!(Client::get_secret_value)
        .sequence()
        .http_status(400, Some(service_error_body("ResourceNotFoundException")))
        .repeatedly()
        .build();
    let cache = cache(mocked(RuleMode::MatchAny, &[&failing]));
    let err = cache
        .get_version("prod/db", &Version::stage("NOPE"))
        .await
        .expect_err("no such stage");
    check("VersionNotFound", &err, |e| {
        matches!(e, Error::VersionNotFound { .. })
    });
    capture.assert_ours_clean("VersionNotFound");
}

/// A secret without a value at `AWSCURRENT`: the service's message is read for its fixed
/// phrase only, and the canary in it goes nowhere.
#[tokio::test(start_paused = true)]
async fn leak_no_current_value() {
    let (capture, _guard) = Capture::start();
    let body = format!(
        r#"{{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret value for staging label: AWSCURRENT {CANARY}"}}"#
    );
    let failing = mock!(Client::get_secret_value)
        .sequence()
        .http_status(400, Some(body))
        .repeatedly()
        .build();
    let cache = cache(mocked(RuleMode::MatchAny, &[&failing]));
    let err = cache.get("prod/db").await.expect_err("no value");
    check(
        "no current value",
        &err,
        |e| matches!(e, Error::VersionNotFound { version, .. } if *version == Version::current()),
    );
    capture.assert_ours_clean("no current value");
}

#[tokio::test(start_paused = true)]
async fn leak_throttled() {
    service_error_path("Throttled", 400, "ThrottlingException", |e| {
        matches!(e, Error::Throttled { .. })
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn leak_decryption() {
    service_error_path("Decryption", 400, "DecryptionFailure", |e| {
        matches!(e, Error::Decryption { .. })
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn leak_invalid_request() {
    service_error_path("InvalidRequest", 400, "InvalidRequestException", |e| {
        matches!(e, Error::InvalidRequest { .. })
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn leak_service_5xx() {
    service_error_path("Service 5xx", 500, "InternalServiceError", |e| {
        matches!(e, Error::Service { .. })
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn leak_batch_error_entries() {
    let (capture, _guard) = Capture::start();
    let batch = mock!(Client::batch_get_secret_value)
        .sequence()
        .output(|| {
            BatchGetSecretValueOutput::builder()
                .secret_values(
                    SecretValueEntry::builder()
                        .arn(ARN)
                        .name("prod/db")
                        .version_id("v1")
                        .secret_string(json_doc())
                        .build(),
                )
                .errors(
                    ApiErrorType::builder()
                        .secret_id("prod/api")
                        .error_code("DecryptionFailure")
                        .message(CANARY)
                        .build(),
                )
                .build()
        })
        .repeatedly()
        .build();
    let cache = batching(mocked(RuleMode::MatchAny, &[&batch]));
    let err = load_err::<TwoSecrets>(&cache).await;
    check(
        "batch error entry",
        &err,
        |e| matches!(e, Error::Decryption { secret_id } if secret_id == "prod/api"),
    );
    assert_eq!(batch.num_calls(), 1);
    capture.assert_all_clean("batch errors");
}

/// A throttled batch falls back to one `GetSecretValue` per secret (debug-logged with its
/// error): the throttling message (a canary) and the values reach none of asm's log lines
/// (the SDK traces raw response bodies itself).
#[tokio::test(start_paused = true)]
async fn leak_throttled_batch_fallback() {
    let (capture, _guard) = Capture::start();
    let batch = mock!(Client::batch_get_secret_value)
        .sequence()
        .http_status(400, Some(service_error_body("ThrottlingException")))
        .repeatedly()
        .build();
    let single = mock!(Client::get_secret_value).then_compute_output(|request| {
        let id = request.secret_id().unwrap_or_default();
        GetSecretValueOutput::builder()
            .arn(format!(
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:{id}-AbCdEf"
            ))
            .name(id)
            .version_id("v1")
            .secret_string(serde_json::json!({ "password": CANARY, "token": CANARY }).to_string())
            .build()
    });
    let cache = batching(mocked(RuleMode::MatchAny, &[&batch, &single]));
    let loaded = TwoSecrets::load(&cache).await.expect("loaded one by one");
    assert_clean("TwoSecrets Debug", &format!("{loaded:?}"));
    assert_eq!((batch.num_calls(), single.num_calls()), (1, 2));
    capture.assert_ours_clean("throttled batch fallback");
}

#[tokio::test(start_paused = true)]
async fn leak_stale() {
    let (capture, _guard) = Capture::start();
    let body = service_error_body("ThrottlingException");
    let rule = mock!(Client::get_secret_value)
        .sequence()
        .output(|| output("v1", &json_doc()))
        .http_status(400, Some(body))
        .repeatedly()
        .build();
    let cache = cache(mocked(RuleMode::Sequential, &[&rule]));
    Creds::load_with(&cache, Vars::new()).await.expect("load");
    for _ in 0..40 {
        tokio::time::advance(Duration::from_secs(10)).await;
        let _ = cache.get("prod/db").await;
        settle().await;
    }
    let err = cache.get("prod/db").await.expect_err("past max_staleness");
    check(
        "Stale",
        &err,
        |e| matches!(e, Error::Stale { last_failure, .. } if matches!(**last_failure, Error::Throttled { .. })),
    );
    let err = load_err::<Creds>(&cache).await;
    check("Stale (derive)", &err, |e| matches!(e, Error::Stale { .. }));
    capture.assert_ours_clean("Stale");
}

#[tokio::test(start_paused = true)]
async fn leak_unresolved_placeholder() {
    let (capture, _guard) = Capture::start();
    let (cache, _rule) = serving(&json_doc());
    Creds::load_with(&cache, Vars::new())
        .await
        .expect("the canary is cached");
    // `${OTHER}` resolves (to the canary) before `${APP_ENV}` fails: the partial id stays out.
    let vars = Vars::new().set("OTHER", CANARY);
    let err = WantsPlaceholder::load_with(&cache, vars)
        .await
        .expect_err("unresolved");
    check(
        "UnresolvedPlaceholder",
        &err,
        |e| matches!(e, Error::UnresolvedPlaceholder { variable, .. } if variable == "APP_ENV"),
    );
    let err = WantsPlaceholder::iam_policy_with(&cache, Vars::new().set("OTHER", CANARY))
        .expect_err("unresolved");
    check("UnresolvedPlaceholder (iam_policy)", &err, |e| {
        matches!(e, Error::UnresolvedPlaceholder { .. })
    });
    capture.assert_all_clean("unresolved placeholder");
}

/// First request answers the canary; later ones do `then`.
fn scripted_after_good(then: Step) -> Scripted {
    Scripted::new(move |n| {
        if n == 0 {
            Step::Respond(200, value_body("v1", &json_doc()))
        } else {
            then.clone()
        }
    })
}

#[tokio::test(start_paused = true)]
async fn leak_transport_connection_refused() {
    let (capture, _guard) = Capture::start();
    let scripted = scripted_after_good(Step::Refused);
    let cache = cache(scripted.client());
    cache.get("prod/db").await.expect("load");
    let err = cache.refresh_now("prod/db").await.expect_err("refused");
    check("connection refused", &err, |e| {
        matches!(
            e,
            Error::Transport {
                kind: TransportKind::Connection,
                ..
            }
        )
    });
    let err = cache.get("prod/other").await.expect_err("refused");
    check("connection refused (first load)", &err, |e| {
        matches!(e, Error::Transport { .. })
    });
    // The load, the refresh, then the first load retried until its deadline.
    assert!(scripted.calls() > 3, "{} calls", scripted.calls());
    capture.assert_ours_clean("connection refused");
}

#[tokio::test]
async fn leak_transport_connection_refused_real_socket() {
    let moto = Moto::start();
    moto.create("prod/db", &json_doc()).await;
    // Captured from here: the test's own `CreateSecret` request is the SDK's to log.
    let (capture, _guard) = Capture::start();
    let cache = moto.cache();
    Creds::load_with(&cache, Vars::new()).await.expect("load");
    drop(moto);
    let err = cache
        .refresh_now("prod/db")
        .await
        .expect_err("nobody listens");
    check("connection refused (socket)", &err, |e| {
        matches!(e, Error::Transport { .. })
    });
    capture.assert_all_clean("connection refused (socket)");
}

#[tokio::test(start_paused = true)]
async fn leak_timeout() {
    let (capture, _guard) = Capture::start();
    let scripted = scripted_after_good(Step::Hang);
    let cache = cache(scripted.client());
    cache.get("prod/db").await.expect("load");
    let err = cache.refresh_now("prod/db").await.expect_err("timeout");
    check("timeout", &err, |e| {
        matches!(
            e,
            Error::Transport {
                kind: TransportKind::Timeout,
                ..
            }
        )
    });
    capture.assert_ours_clean("timeout");
}

#[tokio::test(start_paused = true)]
async fn leak_malformed_response() {
    let (capture, _guard) = Capture::start();
    let bodies = [
        (200, format!("{{not json {CANARY}")),
        (200, format!("{{\"SecretString\": [\"{CANARY}\"]}}")),
        (
            200,
            format!("{{\"ARN\": \"{ARN}\", \"Name\": \"prod/db\"}}"),
        ),
        (200, format!("{{\"SecretBinary\": \"{CANARY}\"}}")),
        (502, format!("<html>{CANARY}</html>")),
    ];
    for (status, body) in bodies {
        let scripted = scripted_after_good(Step::Respond(status, body.clone()));
        let cache = cache(scripted.client());
        cache.get("prod/db").await.expect("load");
        let err = cache.refresh_now("prod/db").await.expect_err("malformed");
        check(&format!("malformed {status} {body:.20}"), &err, |e| {
            matches!(
                e,
                Error::Transport {
                    kind: TransportKind::MalformedResponse,
                    ..
                } | Error::Service { .. }
            )
        });
    }
    capture.assert_ours_clean("malformed response");
}

#[tokio::test(start_paused = true)]
async fn panics_and_results_with_values_stay_redacted() {
    let (cache, _rule) = serving(&json_doc());
    let secret: Result<Arc<Secret>, Error> = cache.get("prod/db").await;
    assert_clean("Ok Result Debug", &format!("{secret:?} {secret:#?}"));
    let message = panic_message(|| secret.clone().expect_err("[caught] should be an error"));
    assert!(message.contains("should be an error"));
    assert_clean("expect_err panic", &message);
    let creds = Creds::load_with(&cache, Vars::new()).await;
    let message = panic_message(|| creds.expect_err("[caught] should be an error"));
    assert_clean("expect_err panic on a derived struct", &message);
    let password = secret
        .expect("loaded")
        .json_key("password")
        .expect("password");
    let message = panic_message(|| Err::<(), _>(password).expect("[caught] boom"));
    assert_clean("panic carrying a SecretString", &message);
}

#[tokio::test(start_paused = true)]
async fn debug_of_every_public_type_redacts_the_value() {
    let (capture, _guard) = Capture::start();
    let (cache, _rule) = serving(&json_doc());
    let creds = Creds::load_with(&cache, Vars::new()).await.expect("load");
    assert_eq!(creds.password.expose_secret(), CANARY, "the value is there");
    let secret = cache.get("prod/db").await.expect("hit");
    let binary = serving_binary(CANARY.as_bytes())
        .get("prod/db")
        .await
        .expect("binary");
    let policy = Creds::iam_policy_with(&cache, Vars::new()).expect("policy");
    let live = Creds::watch_with(&cache, Vars::new()).await.expect("watch");
    assert_eq!(live.current().password.expose_secret(), CANARY);
    let surfaces: Vec<(&str, String)> = vec![
        ("Live", format!("{live:?} {live:#?}")),
        ("LiveRef", format!("{:?} {:#?}", live.read(), live.read())),
        ("LiveReader", {
            let mut reader = live.reader();
            let read = format!("{:?}", reader.read());
            format!("{reader:?} {reader:#?} {read}")
        }),
        ("Secret", format!("{secret:?}")),
        ("Secret pretty", format!("{secret:#?}")),
        ("SecretValue", format!("{:?}", secret.value())),
        ("binary Secret", format!("{binary:?} {binary:#?}")),
        ("binary SecretValue", format!("{:?}", binary.value())),
        ("SecretString", format!("{:?}", creds.password)),
        ("derived struct", format!("{creds:?}")),
        ("derived struct pretty", format!("{creds:#?}")),
        ("SecretCache", format!("{cache:?} {cache:#?}")),
        ("Stats", format!("{:?}", cache.stats())),
        ("IamPolicy", format!("{policy:?} {policy}")),
        ("Vars", format!("{:?}", Vars::new().set("APP_ENV", "prod"))),
        ("Version", format!("{:?}", Version::current())),
        (
            "SecretCacheBuilder",
            format!(
                "{:?}",
                SecretCache::builder(cache.client().cloned().expect("an SDK cache"))
            ),
        ),
        ("json_key", format!("{:?}", secret.json_key("password"))),
    ];
    for (what, shown) in &surfaces {
        assert_clean(what, shown);
    }
    assert!(
        format!("{secret:?}").contains("REDACTED"),
        "Secret Debug says the value is redacted"
    );
    capture.assert_all_clean("Debug surfaces");
}

/// Load, refresh-ahead, rotation, `refresh_now`, invalidation, failing refreshes, Stale and
/// recovery, all under a TRACE subscriber for every target: no line carries any value.
#[tokio::test(start_paused = true)]
async fn traced_load_refresh_rotate_run_logs_no_value() {
    let (capture, _guard) = Capture::start();
    let rotated = format!("{{\"user\":\"app\",\"password\":\"{CANARY}-2\"}}");
    let rule = mock!(Client::get_secret_value)
        .sequence()
        .output(|| output("v1", &json_doc()))
        .output(move || output("v2", &rotated))
        .times(3)
        .http_status(
            400,
            Some(r#"{"__type":"ThrottlingException","message":"slow down"}"#.into()),
        )
        .times(40)
        .output(|| output("v3", &json_doc()))
        .repeatedly()
        .build();
    let cache = cache(mocked(RuleMode::Sequential, &[&rule]));
    let first = Creds::load_with(&cache, Vars::new()).await.expect("load");
    assert_eq!(first.password.expose_secret(), CANARY);
    assert_eq!(first.user_and_replica(), ("app", None));
    tokio::time::advance(Duration::from_secs(61)).await;
    cache.get("prod/db").await.expect("refresh-ahead");
    settle().await;
    let rotated = Creds::load_with(&cache, Vars::new()).await.expect("v2");
    assert_eq!(rotated.password.expose_secret(), format!("{CANARY}-2"));
    tokio::time::advance(Duration::from_secs(2)).await;
    cache.refresh_now("prod/db").await.expect("forced");
    cache.invalidate("prod/db");
    cache.get(ARN).await.expect("reloaded by ARN");
    let mut stale_seen = false;
    let mut recovered = false;
    for _ in 0..120 {
        tokio::time::advance(Duration::from_secs(10)).await;
        match cache.get("prod/db").await {
            Ok(s) => recovered |= s.version_id() == "v3",
            Err(Error::Stale { .. }) => stale_seen = true,
            Err(other) => panic!("unexpected {other:?}"),
        }
        settle().await;
        if recovered {
            break;
        }
    }
    assert!(
        stale_seen && recovered,
        "stale {stale_seen}, recovered {recovered}"
    );
    let text = capture.text();
    for expected in [
        "new version adopted",
        "refresh failed; serving the last good value",
        "TRACE",
        // The spans of fetch rounds and source calls, with the fields recorded at their end.
        "asm.fetch_round{asm.round.attempt=1 asm.round.secrets=1 aws.secretsmanager.secret.id=\"prod/db\"",
        // A call's span inside its round's.
        "aws.secretsmanager.secret.id=\"prod/db\"}:asm.source.call{aws.secretsmanager.secret.id=\"prod/db\" asm.source=\"sdk\" rpc.method=\"GetSecretValue\" asm.call.attempt=1",
        "asm.outcome=\"ok\"",
        "asm.outcome=\"error\" error.type=\"Throttled\"",
        "asm.round.failures=1",
        "asm.duration_ms=",
    ] {
        assert!(text.contains(expected), "captured `{expected}`:\n{text}");
    }
    capture.assert_all_clean("load/refresh/rotate run");
}

/// Runs `f` to completion on a fresh thread and runtime, outside the capturing subscriber.
fn untraced<F>(f: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    std::thread::scope(|s| {
        s.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(f)
        })
        .join()
        .expect("untraced thread")
    })
}

/// The same over real HTTP (hyper, the SDK's TRACE events with real bodies) against moto.
#[tokio::test]
async fn traced_run_over_real_http_logs_no_value() {
    let moto = Moto::start();
    moto.create("prod/db", &json_doc()).await;
    // Captured from here. The SDK prints request bodies at TRACE, so the test's own
    // `PutSecretValue` (which the library never sends) runs on an untraced thread.
    let (capture, _guard) = Capture::start();
    let cache = SecretCache::builder(moto.client())
        .ttl(Duration::from_millis(300))
        .max_staleness(Duration::from_secs(5))
        .jitter(false)
        .build()
        .expect("valid");
    let first = Creds::load_with(&cache, Vars::new()).await.expect("load");
    assert_eq!(first.password.expose_secret(), CANARY);
    let rotated = format!("{{\"user\":\"app\",\"password\":\"{CANARY}\"}}");
    untraced(moto.put("prod/db", &rotated));
    tokio::time::sleep(Duration::from_millis(350)).await;
    cache.get("prod/db").await.expect("refresh-ahead");
    let after = cache.refresh_now("prod/db").await.expect("forced");
    assert_eq!(
        after.json_key("password").expect("key").expose_secret(),
        CANARY
    );
    cache.invalidate("prod/db");
    Creds::load_with(&cache, Vars::new()).await.expect("reload");
    let text = capture.text();
    assert!(
        text.contains("hyper") || text.contains("aws_smithy"),
        "the SDK's own events are captured"
    );
    capture.assert_all_clean("real HTTP run");
}

/// Two secrets, so a load batches; `prod/db` holds the canary.
#[derive(AwsSecrets, Debug)]
struct Pair {
    #[aws_secrets(name = "prod/db", key = "password")]
    password: SecretString,
    #[aws_secrets(name = "prod/other", key = "password")]
    other: SecretString,
}

/// A field whose own `Deserialize` panics, quoting the value, when it meets the canary.
#[derive(Debug)]
struct Quoting(String);

impl<'de> serde::Deserialize<'de> for Quoting {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = String::deserialize(d)?;
        assert!(!value.contains(CANARY), "cannot take {value}");
        Ok(Self(value))
    }
}

#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "prod/db")]
struct QuotingDb {
    #[aws_secrets(public)]
    password: Quoting,
}

/// The paths added for fleets, traced at TRACE with the canary held: `DescribeSecret` and
/// `BatchGetSecretValue` denied (features off for a period), a missing secret remembered, and a
/// panic in a field's code inside a live task. No value in any error or log line.
#[tokio::test(start_paused = true)]
async fn traced_denials_remembered_failures_and_panics_log_no_value() {
    let (capture, _guard) = Capture::start();
    let denied = || Some(service_error_body("AccessDeniedException"));
    let describe = mock!(Client::describe_secret)
        .sequence()
        .http_status(400, denied())
        .repeatedly()
        .build();
    let batch = mock!(Client::batch_get_secret_value)
        .sequence()
        .http_status(400, denied())
        .repeatedly()
        .build();
    let missing = mock!(Client::get_secret_value)
        .match_requests(|r| r.secret_id() == Some("app/missing"))
        .sequence()
        .http_status(400, Some(service_error_body("ResourceNotFoundException")))
        .repeatedly()
        .build();
    let rotated = json_doc();
    let values = mock!(Client::get_secret_value)
        .sequence()
        .output(|| output("v1", r#"{"password":"fine"}"#))
        .times(2)
        .output(move || output("v2", &rotated))
        .repeatedly()
        .build();
    let client = mocked(RuleMode::MatchAny, &[&missing, &describe, &batch, &values]);
    let cache = SecretCache::builder(client)
        .ttl(Duration::from_secs(60))
        .jitter(false)
        .batch(true)
        .build()
        .expect("default path: version checks and guardrail on");
    let pair = Pair::load(&cache)
        .await
        .expect("batch denied: fetched one by one");
    assert_eq!(pair.password.expose_secret(), "fine");
    assert_eq!(pair.other.expose_secret(), "fine");
    let mut live = QuotingDb::watch(&cache).await.expect("v1");
    assert_eq!(live.current().password.0, "fine");
    for _ in 0..3 {
        let err = cache.get("app/missing").await.expect_err("missing");
        check("remembered failure", &err, |e| {
            matches!(e, Error::NotFound { .. })
        });
    }
    assert_eq!(missing.num_calls(), 1, "answered from memory");
    // The refresh finds v2, whose value makes the field's code panic.
    let woken = tokio::time::timeout(Duration::from_secs(120), live.changed()).await;
    assert!(woken.is_err(), "no snapshot from v2");
    let err = live.last_error().expect("the panic is reported");
    check("panic in field code", &err, |e| {
        matches!(e, Error::Panicked { .. })
    });
    let text = capture.text();
    for expected in [
        "DescribeSecret denied",
        "BatchGetSecretValue denied",
        "reads get this error without a call",
    ] {
        assert!(text.contains(expected), "captured `{expected}`:\n{text}");
    }
    capture.assert_ours_clean("denials, remembered failures, panics");
}

/// Failover regions: the canary in both regions' answers, through a replica's answer and
/// failure.
mod failover;
/// The file source (`FileSource`): the canary in every mounted file, through each of its errors.
mod mounted;
/// Parameter Store parameters: the canary in the service's messages and in the values.
mod parameters;
