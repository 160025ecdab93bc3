//! Derived structs' loads against a mocked SDK client, under paused tokio time: the warm path,
//! its hit counts, the plan it reuses, and which version a field without one reads.

use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
use aws_smithy_mocks::{Rule, RuleMode, mock};
use futures_util::FutureExt;
use secrecy::{ExposeSecret, SecretString};

use crate::testing::{client, described, error_body};
use crate::{AwsSecrets, RotationGuardrail, SecretCache, Vars, Version};

/// Two secrets: three keys of one JSON secret, and a whole second secret.
#[derive(crate::AwsSecrets)]
#[aws_secrets(crate = "crate", name = "prod/db")]
struct App {
    user: SecretString,
    password: SecretString,
    #[aws_secrets(public)]
    port: u16,
    #[aws_secrets(name = "prod/token")]
    token: SecretString,
}

/// One secret whose name varies by deployment.
#[derive(crate::AwsSecrets)]
#[aws_secrets(crate = "crate", name = "${APP_ENV}/db")]
struct PerEnv {
    password: SecretString,
}

fn answer(name: &str, version: &str, value: &str) -> GetSecretValueOutput {
    GetSecretValueOutput::builder()
        .arn(format!(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-AbCdEf"
        ))
        .name(name)
        .version_id(version)
        .version_stages("AWSCURRENT")
        .secret_string(value)
        .build()
}

/// `GetSecretValue` of `name` answers `value`, for ever.
fn secret(name: &'static str, value: &'static str) -> Rule {
    mock!(Client::get_secret_value)
        .match_requests(move |r| r.secret_id() == Some(name))
        .sequence()
        .output(move || answer(name, "v1", value))
        .repeatedly()
        .build()
}

fn db() -> Rule {
    secret("prod/db", r#"{"user":"app","password":"p1","port":5432}"#)
}

fn token() -> Rule {
    secret("prod/token", "t1")
}

fn cache(client: Client, guardrail: RotationGuardrail) -> SecretCache {
    SecretCache::builder(client)
        .ttl(Duration::from_secs(60))
        .jitter(false)
        .rotation_guardrail(guardrail)
        .build()
        .expect("valid settings")
}

/// Issue 16: a warm load through `get_many` that counted its reads as misses (or not at all)
/// passed every test. Each distinct secret of a warm load is one hit, with the guardrail off
/// (the warm path) and on (its rotation intervals learnt at the first load).
#[tokio::test(start_paused = true)]
async fn a_warm_load_counts_one_hit_per_secret() {
    let describe = mock!(Client::describe_secret)
        .sequence()
        .output(|| described("v1", None))
        .repeatedly()
        .build();
    for guardrail in [RotationGuardrail::Off, RotationGuardrail::Warn] {
        let (db, token) = (db(), token());
        let cache = cache(
            client(RuleMode::MatchAny, &[&db, &token, &describe]),
            guardrail,
        );
        let cold = App::load(&cache).await.expect("cold load");
        assert_eq!(cold.user.expose_secret(), "app");
        let after_cold = cache.stats();
        assert_eq!(
            (after_cold.hits, after_cold.misses),
            (0, 2),
            "{guardrail:?}"
        );
        for round in 1..=3u64 {
            let warm = App::load(&cache).await.expect("warm load");
            assert_eq!((warm.password.expose_secret(), warm.port), ("p1", 5432));
            assert_eq!(warm.token.expose_secret(), "t1");
            let stats = cache.stats();
            assert_eq!(
                (stats.hits, stats.misses, stats.stale_served),
                (2 * round, 2, 0),
                "{guardrail:?}, warm load {round}"
            );
        }
        assert_eq!((db.num_calls(), token.num_calls()), (1, 1), "{guardrail:?}");
    }
}

/// A warm load past the TTL serves the held values and refreshes them: counted as served
/// stale, not as hits, and not as misses.
#[tokio::test(start_paused = true)]
async fn a_load_past_the_ttl_counts_stale_reads() {
    let (db, token) = (db(), token());
    let cache = cache(
        client(RuleMode::MatchAny, &[&db, &token]),
        RotationGuardrail::Off,
    );
    App::load(&cache).await.expect("cold load");
    tokio::time::advance(Duration::from_secs(61)).await;
    App::load(&cache).await.expect("served while refreshing");
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses, stats.stale_served), (0, 2, 2));
}

/// A cached plan is reused only for the placeholder values it was built with.
#[tokio::test(start_paused = true)]
async fn a_plan_is_reused_only_for_the_same_placeholder_values() {
    let prod = secret("prod/db", r#"{"password":"prod-pw"}"#);
    let staging = secret("staging/db", r#"{"password":"staging-pw"}"#);
    let cache = cache(
        client(RuleMode::MatchAny, &[&prod, &staging]),
        RotationGuardrail::Off,
    );
    let vars = |env: &str| Vars::new().set("APP_ENV", env);
    for (env, want) in [
        ("prod", "prod-pw"),
        ("staging", "staging-pw"),
        ("prod", "prod-pw"),
    ] {
        let loaded = PerEnv::load_with(&cache, vars(env)).await.expect("load");
        assert_eq!(loaded.password.expose_secret(), want, "APP_ENV={env}");
    }
    let plan = cache
        .plan(&super::declaration::<PerEnv>(), &vars("prod"))
        .expect("plan");
    assert!(std::sync::Arc::ptr_eq(
        &plan,
        &cache
            .plan(&super::declaration::<PerEnv>(), &vars("prod"))
            .expect("plan")
    ));
    assert!(!std::sync::Arc::ptr_eq(
        &plan,
        &cache
            .plan(&super::declaration::<PerEnv>(), &vars("staging"))
            .expect("plan")
    ));
    let err = PerEnv::load_with(&cache, Vars::new()).await.err();
    assert!(
        matches!(err, Some(crate::Error::UnresolvedPlaceholder { .. })),
        "{err:?}"
    );
    assert_eq!((prod.num_calls(), staging.num_calls()), (1, 1));
}

/// Issue 12: a struct read `AWSCURRENT` whatever the cache's `.version(..)`, while `get` and
/// `refresh_now` read the cache's default, so `refresh_now(id)` refreshed an entry the struct
/// did not read. A field without a version now reads the cache's default, as they do.
#[tokio::test(start_paused = true)]
async fn a_struct_reads_the_cache_default_version_like_get_and_refresh_now() {
    let previous = mock!(Client::get_secret_value)
        .match_requests(|r| r.version_stage() == Some("AWSPREVIOUS"))
        .sequence()
        .output(|| answer("prod/db", "v0", r#"{"password":"old"}"#))
        .repeatedly()
        .build();
    let other = mock!(Client::get_secret_value)
        .sequence()
        .output(|| answer("prod/db", "v1", r#"{"password":"new"}"#))
        .repeatedly()
        .build();
    let cache = SecretCache::builder(client(RuleMode::MatchAny, &[&previous, &other]))
        .version(Version::stage("AWSPREVIOUS"))
        .rotation_guardrail(RotationGuardrail::Off)
        .version_checks(false)
        .build()
        .expect("valid settings");
    let db = PerEnv::load_with(&cache, Vars::new().set("APP_ENV", "prod"))
        .await
        .expect("load");
    assert_eq!(db.password.expose_secret(), "old");
    let got = cache.get("prod/db").await.expect("get");
    assert_eq!(got.version_id(), "v0", "the entry the struct loaded");
    let refreshed = cache.refresh_now("prod/db").await.expect("refresh");
    assert_eq!(refreshed.version_id(), "v0");
    assert_eq!((previous.num_calls(), other.num_calls()), (2, 0));
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses), (1, 1), "one entry, read twice");
}

/// Issue 12: a JSON number read into a `SecretString` is its text as written in the secret.
#[tokio::test(start_paused = true)]
async fn a_number_field_keeps_the_digits_of_the_secret() {
    #[derive(crate::AwsSecrets)]
    #[aws_secrets(crate = "crate", name = "prod/numbers")]
    struct Numbers {
        scaled: SecretString,
        big: SecretString,
        #[aws_secrets(public)]
        port: u16,
    }
    let numbers = secret(
        "prod/numbers",
        r#"{"scaled": 1E2, "big": 123456789012345678901234567890, "port": 5432}"#,
    );
    let cache = cache(
        client(RuleMode::MatchAny, &[&numbers]),
        RotationGuardrail::Off,
    );
    for _ in 0..2 {
        let loaded = Numbers::load(&cache).await.expect("load");
        assert_eq!(loaded.scaled.expose_secret(), "1E2");
        assert_eq!(loaded.big.expose_secret(), "123456789012345678901234567890");
        assert_eq!(loaded.port, 5432);
    }
}

/// With `DescribeSecret` denied the rotation interval is never learnt: warm loads under `Warn`
/// still take the warm path (before the fix every one took the full read: a future per
/// secret, the guardrail's lookups), so they allocate what warm loads with it allowed do.
#[tokio::test(start_paused = true)]
async fn a_warm_load_with_describe_denied_takes_the_warm_path() {
    let mut allocations = Vec::new();
    for describe in [
        mock!(Client::describe_secret)
            .sequence()
            .output(|| described("v1", None))
            .repeatedly()
            .build(),
        mock!(Client::describe_secret)
            .sequence()
            .http_status(400, Some(error_body("AccessDeniedException")))
            .repeatedly()
            .build(),
    ] {
        let (db, token) = (db(), token());
        let cache = cache(
            client(RuleMode::MatchAny, &[&db, &token, &describe]),
            RotationGuardrail::Warn,
        );
        App::load(&cache).await.expect("cold load");
        let counted = allocation_counter::measure(|| {
            for _ in 0..10 {
                let warm = App::load(&cache).now_or_never().expect("ready at once");
                assert_eq!(warm.expect("warm load").token.expose_secret(), "t1");
            }
        });
        allocations.push(counted.count_total);
    }
    assert_eq!(allocations[0], allocations[1], "allowed, denied");
}
