//! Parameter Store parameters through the cache: one more (id, version), keyed apart from
//! secrets, a new version adopted as a rotation, versions and labels as `Version`s.

use super::*;
use crate::{AwsSecrets, MemorySource, Version};

const HOST: &str = "ssm:/prod/orders/db-host";
const HOST_ARN: &str = "arn:aws:ssm:us-east-1:111122223333:parameter/prod/orders/db-host";

fn over(store: &MemorySource) -> SecretCache {
    SecretCache::builder(store.clone())
        .ttl(Duration::from_secs(60))
        .max_staleness(Duration::from_secs(300))
        .jitter(false)
        .build()
        .expect("valid settings")
}

fn text(secret: &Secret) -> &str {
    secret.string().expect("text").expose_secret()
}

#[tokio::test(start_paused = true)]
async fn a_parameter_is_cached_and_its_new_version_adopted_as_a_rotation() {
    let store = MemorySource::new();
    store.parameter("/prod/orders/db-host", "db-1");
    let cache = over(&store);
    let first = cache.get(HOST).await.expect("loaded");
    assert_eq!((text(&first), first.version_id()), ("db-1", "1"));
    assert_eq!(
        (first.name(), first.arn()),
        ("/prod/orders/db-host", HOST_ARN)
    );
    assert!(cache.get(HOST).now_or_never().is_some(), "a hit");
    store.parameter("/prod/orders/db-host", "db-2");
    tokio::time::advance(Duration::from_secs(61)).await;
    let served = cache.get(HOST).await.expect("served while refreshing");
    assert_eq!(text(&served), "db-1");
    settle().await;
    let rotated = cache.get(HOST).await.expect("rotated");
    assert_eq!((text(&rotated), rotated.version_id()), ("db-2", "2"));
    let stats = cache.stats();
    assert_eq!(stats.get_parameter_calls, 2, "{stats:?}");
    assert_eq!(stats.rotations, 1);
    assert_eq!(
        stats.get_secret_value_calls + stats.describe_secret_calls,
        0
    );
    assert_eq!(stats.api_calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_secret_and_a_parameter_of_one_name_are_two_entries() {
    let store = MemorySource::new();
    store.text("/prod/orders/db-host", "the secret");
    store.parameter("/prod/orders/db-host", "the parameter");
    let cache = over(&store);
    let parameter = cache.get(HOST).await.expect("parameter");
    let secret = cache.get("/prod/orders/db-host").await.expect("secret");
    assert_eq!(text(&parameter), "the parameter");
    assert_eq!(text(&secret), "the secret");
    // Read by ARN once loaded by name: the same entry, no call.
    let by_arn = cache.get(HOST_ARN).await.expect("by ARN");
    assert!(Arc::ptr_eq(&by_arn, &parameter));
    assert_eq!(cache.stats().get_parameter_calls, 1);
}

#[tokio::test(start_paused = true)]
async fn versions_and_labels_select_and_missing_ones_are_typed_and_remembered() {
    let store = MemorySource::new();
    store.parameter("/prod/orders/db-host", "db-1");
    store.parameter("/prod/orders/db-host", "db-2");
    store.label_parameter("/prod/orders/db-host", 1, "blue");
    let cache = over(&store);
    let first = cache
        .get_version(HOST, &Version::id("1"))
        .await
        .expect("v1");
    let blue = cache
        .get_version(HOST, &Version::stage("blue"))
        .await
        .expect("blue");
    assert_eq!((text(&first), text(&blue)), ("db-1", "db-1"));
    let missing = cache.get_version(HOST, &Version::id("9")).await;
    assert!(
        matches!(&missing, Err(Error::VersionNotFound { version, .. }) if *version == Version::id("9")),
        "{missing:?}"
    );
    let absent = cache.get("ssm:/prod/orders/nothing").await;
    assert!(matches!(absent, Err(Error::NotFound { .. })), "{absent:?}");
    let again = cache.get("ssm:/prod/orders/nothing").await;
    assert!(matches!(again, Err(Error::NotFound { .. })));
    assert_eq!(cache.stats().failures_remembered, 1);
}

#[tokio::test(start_paused = true)]
async fn a_cache_without_a_parameter_source_says_how_to_get_one_and_calls_nothing() {
    let rule = always_v1();
    let cache = minute(client(RuleMode::MatchAny, &[&rule]))
        .build()
        .expect("valid settings");
    let err = cache.get(HOST).await.expect_err("no parameter source");
    assert!(
        matches!(&err, Error::Config { message } if message.contains("parameter_client")),
        "{err}"
    );
    let malformed = cache.get("ssm:/aws/private").await.expect_err("reserved");
    assert!(
        malformed.to_string().contains("cannot start with `aws`"),
        "{malformed}"
    );
    assert_eq!(
        cache.stats().get_secret_value_calls,
        0,
        "nothing asked of Secrets Manager"
    );
    assert_eq!(rule.num_calls(), 0);
}

#[derive(crate::AwsSecrets, Debug)]
#[aws_secrets(crate = "crate")]
struct Orders {
    #[aws_secrets(parameter = "/prod/orders/db-host", public)]
    host: String,
    #[allow(dead_code, reason = "read by the loader only")]
    #[aws_secrets(name = "prod/orders-db", key = "password")]
    password: secrecy::SecretString,
}

/// What an unchanged parameter costs in the steady state, under a live handle and the
/// default TTL (600 s, jittered): one `GetParameter` per refresh, 6 to 8 an hour (a refresh
/// every `[3/4 ttl, ttl]`, renewed up to 5 s ahead), never a read waiting on the network.
#[tokio::test(start_paused = true)]
async fn an_unchanged_parameter_costs_six_to_eight_calls_an_hour() {
    const HOURS: u64 = 24;
    let store = MemorySource::new();
    store.parameter("/prod/orders/db-host", "db-1");
    store.json("prod/orders-db", &serde_json::json!({"password": "pw"}));
    let cache = SecretCache::builder(store.clone())
        .build()
        .expect("defaults");
    let live = Orders::watch(&cache).await.expect("load");
    tokio::time::sleep(Duration::from_secs(HOURS * 3600)).await;
    assert_eq!(live.current().host, "db-1");
    let stats = cache.stats();
    let per_hour = stats.get_parameter_calls as f64 / HOURS as f64;
    eprintln!("GetParameter calls per parameter-hour (ttl 600 s, jitter on): {per_hour:.2}");
    assert!(
        (6.0..=8.2).contains(&per_hour),
        "{per_hour} calls an hour: {stats:?}"
    );
    assert_eq!(stats.misses, 2, "only the first load waited");
    assert_eq!(stats.rotations, 0);
}

#[derive(crate::AwsSecrets, Debug)]
#[aws_secrets(crate = "crate")]
#[allow(dead_code, reason = "only its policy is read")]
struct Mixed {
    #[aws_secrets(parameter = "/prod/orders/db-host", public)]
    host: String,
    #[aws_secrets(parameter = "flags:blue", public)]
    flags: String,
    #[aws_secrets(parameter = "/aws/reference/secretsmanager/prod/stripe")]
    stripe: secrecy::SecretString,
    #[aws_secrets(
        parameter = "arn:aws:ssm:eu-west-1:999999999999:parameter/shared/url",
        public
    )]
    shared: String,
}

/// Exact parameter ARNs (a hierarchical name's `/` dropped, a flat name as is, an ARN as
/// written), `ssm:GetParameter` only; a reference also grants the secret it reads.
#[tokio::test(start_paused = true)]
async fn the_policy_grants_get_parameter_on_exact_parameter_arns() {
    let store = MemorySource::new();
    store.parameter("/prod/orders/db-host", "db-1");
    let cache = over(&store);
    cache
        .get(HOST)
        .await
        .expect("loaded: the account is learnt");
    let policy = Mixed::iam_policy(&cache).expect("a policy");
    assert_eq!(
        policy.parameters(),
        [
            "arn:aws:ssm:eu-west-1:999999999999:parameter/shared/url",
            "arn:aws:ssm:us-east-1:111122223333:parameter/aws/reference/secretsmanager/prod/stripe",
            "arn:aws:ssm:us-east-1:111122223333:parameter/flags",
            HOST_ARN,
        ]
    );
    assert_eq!(
        policy.resources(),
        ["arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/stripe-??????"]
    );
    let json = policy.to_json();
    // Parameters are read ten a call by default: `GetParameters` on the same ARNs.
    assert!(json.contains(r#""ssm:GetParameter""#) && json.contains(r#""ssm:GetParameters""#));
    assert!(json.contains("KmsDecrypt"), "{json}");
}

#[derive(crate::AwsSecrets, Debug)]
#[aws_secrets(crate = "crate")]
struct HostOnly {
    #[aws_secrets(parameter = "/prod/orders/db-host", public)]
    host: String,
}

/// A parameter without a selector reads its latest version, whatever version the cache reads
/// secrets at by default (a parameter has no `AWSPREVIOUS`).
#[tokio::test(start_paused = true)]
async fn a_parameter_reads_its_latest_version_whatever_the_caches_default_stage() {
    let store = MemorySource::new();
    store.parameter("/prod/orders/db-host", "db-1");
    store.parameter("/prod/orders/db-host", "db-2");
    let cache = SecretCache::builder(store.clone())
        .version(Version::stage("AWSPREVIOUS"))
        .build()
        .expect("valid settings");
    let loaded = HostOnly::load(&cache).await.expect("the latest version");
    assert_eq!(loaded.host, "db-2");
    // `get` and `refresh_now` too: the cache's default stage is Secrets Manager's.
    let read = cache.get(HOST).await.expect("the latest version");
    assert_eq!(text(&read), "db-2");
    let refreshed = cache.refresh_now(HOST).await.expect("re-read");
    assert_eq!(refreshed.version_id(), "2");
}

#[derive(crate::AwsSecrets, Debug)]
#[aws_secrets(crate = "crate")]
#[allow(dead_code, reason = "only its policy is read")]
struct Elsewhere {
    #[aws_secrets(
        parameter = "/aws/service/global-infrastructure/current-region",
        public
    )]
    region: String,
    #[aws_secrets(parameter = "${SHARED_ARN}", public)]
    shared: String,
    #[aws_secrets(parameter = "/aws/reference/secretsmanager/prod/stripe")]
    stripe: secrecy::SecretString,
    #[aws_secrets(parameter = "/prod/orders/db-host", public)]
    host: String,
}

/// AWS's public parameters are granted on their account-less ARN, a parameter ARN given
/// through a placeholder as written (no `ssm:` of the cache's id), and a reference on the
/// parameter's ARN even once loaded (its answer carries the secret's ARN).
#[tokio::test(start_paused = true)]
async fn the_policy_names_public_placeholder_and_reference_parameters_exactly() {
    let store = MemorySource::new();
    store.parameter("/prod/orders/db-host", "db-1");
    store.json("prod/stripe", &serde_json::json!({"stripe": "sk"}));
    let cache = over(&store);
    cache
        .get(HOST)
        .await
        .expect("loaded: the account is learnt");
    let shared = "arn:aws:ssm:eu-west-1:999999999999:parameter/shared/url";
    let vars = || crate::Vars::new().set("SHARED_ARN", shared);
    let expected = [
        shared.to_owned(),
        "arn:aws:ssm:us-east-1:111122223333:parameter/aws/reference/secretsmanager/prod/stripe"
            .to_owned(),
        HOST_ARN.to_owned(),
        "arn:aws:ssm:us-east-1::parameter/aws/service/global-infrastructure/current-region"
            .to_owned(),
    ];
    let policy = Elsewhere::iam_policy_with(&cache, vars()).expect("a policy");
    assert_eq!(policy.parameters(), expected);
    let reference = "ssm:/aws/reference/secretsmanager/prod/stripe";
    let read = cache.get(reference).await.expect("the referenced secret");
    assert!(read.arn().contains(":secretsmanager:"), "{}", read.arn());
    let policy = Elsewhere::iam_policy_with(&cache, vars()).expect("a policy");
    assert_eq!(
        policy.parameters(),
        expected,
        "after the reference was read"
    );
}

/// A parameter read by name and by ARN at once, before either is loaded: one call, one entry
/// (the read by ARN waits for the name's first load, then finds it filed under its ARN).
#[tokio::test(start_paused = true)]
async fn concurrent_first_reads_by_name_and_arn_share_one_call() {
    let store = MemorySource::new();
    store.parameter("/prod/orders/db-host", "db-1");
    let cache = over(&store);
    let (by_name, by_arn) = tokio::join!(cache.get(HOST), cache.get(HOST_ARN));
    let (by_name, by_arn) = (by_name.expect("by name"), by_arn.expect("by ARN"));
    assert!(Arc::ptr_eq(&by_name, &by_arn), "one entry");
    assert_eq!(cache.stats().get_parameter_calls, 1);
    // Another account's parameter of the same name, by ARN: its own read, never ours.
    let foreign = "arn:aws:ssm:us-east-1:999999999999:parameter/prod/orders/db-host";
    let (ours, theirs) = tokio::join!(cache.get(HOST), cache.get(foreign));
    assert_eq!(text(&ours.expect("ours")), "db-1");
    assert!(theirs.is_err(), "not in this store: {theirs:?}");
}

#[derive(crate::AwsSecrets, Debug)]
#[aws_secrets(crate = "crate")]
#[allow(dead_code, reason = "only its policy is read")]
struct PublicAndOurs {
    #[aws_secrets(
        parameter = "/aws/service/global-infrastructure/current-region",
        public
    )]
    region: String,
    #[aws_secrets(parameter = "/prod/orders/db-host", public)]
    host: String,
}

/// A loaded public parameter (its ARN names no account) tells nothing of the caller's account:
/// a parameter named by name and not loaded yet leaves the policy unknown, never an ARN with an
/// empty account.
#[tokio::test(start_paused = true)]
async fn a_public_parameter_teaches_no_account() {
    let store = MemorySource::new();
    let region = "/aws/service/global-infrastructure/current-region";
    store.parameter(region, "us-east-1");
    let cache = over(&store);
    let read = cache.get(&format!("ssm:{region}")).await.expect("public");
    assert!(
        read.arn().contains("us-east-1::parameter/aws/service/"),
        "{}",
        read.arn()
    );
    let err = PublicAndOurs::iam_policy(&cache).expect_err("our account is unknown");
    assert!(err.to_string().contains("is unknown"), "{err}");
}

/// Invalidating a parameter by its ARN also drops a first load of its name still in flight:
/// a read by ARN after the invalidation makes its own call at once rather than waiting for,
/// and sharing, a load that began before it.
#[tokio::test(start_paused = true)]
async fn invalidating_an_arn_drops_its_names_first_load_in_flight() {
    let store = MemorySource::new();
    store.parameter("/prod/orders/db-host", "db-1");
    store.fail(Some(HOST), crate::MemoryFault::Hang);
    // Unpaced: the slow start's one call in flight would hold the second read back too.
    let cache = SecretCache::builder(store.clone())
        .throttle_pacing(false)
        .build()
        .expect("valid settings");
    let by_name = tokio::spawn({
        let cache = cache.clone();
        async move { cache.get(HOST).await.map(|_| ()) }
    });
    settle().await;
    store.clear_failures();
    store.parameter("/prod/orders/db-host", "db-2");
    cache.invalidate(HOST_ARN);
    let started = Instant::now();
    let read = cache.get(HOST_ARN).await.expect("its own call");
    assert_eq!((text(&read), started.elapsed()), ("db-2", Duration::ZERO));
    by_name.abort();
}
