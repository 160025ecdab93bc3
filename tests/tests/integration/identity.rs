//! One identity per secret on `moto_server`: (principal, region, secret, version). Account
//! 999999999999 keeps its own `prod/db`, read through a real assumed role; a read of it by its
//! full ARN never answers our bare `prod/db`, and our `prod/db` read by name and by ARN is one
//! entry, loaded once and invalidated or refreshed by either id.

use std::time::Duration;

use asm_runtime::{AwsSecrets, ExposeSecret, Secret, SecretCache, SecretString, Vars};
use asm_testkit::Moto;

const READER: &str = "arn:aws:iam::999999999999:role/reader";

fn text(secret: &Secret) -> String {
    secret.string().expect("text").expose_secret().to_owned()
}

fn cache_over(moto: &Moto) -> SecretCache {
    SecretCache::builder_from_conf(&moto.sdk_config())
        .expect("a region")
        .build()
        .expect("cache")
}

#[tokio::test]
async fn a_foreign_arn_read_never_answers_our_own_name() {
    let moto = Moto::start();
    let theirs = moto.create_as(READER, "prod/db", "theirs").await;
    let ours = moto.create("prod/db", "ours").await;
    assert!(theirs.contains(":999999999999:"), "{theirs}");
    let cache = cache_over(&moto);
    let reader = cache.as_role(READER).expect("view");
    // The other account's secret by its full ARN first…
    assert_eq!(text(&reader.get(&theirs).await.expect("theirs")), "theirs");
    // …then our own by its bare name: ours, with a call of its own.
    let read = cache.get("prod/db").await.expect("ours");
    assert_eq!(
        (text(&read), read.arn()),
        ("ours".to_owned(), ours.as_str())
    );
    assert_eq!(cache.stats().get_secret_value_calls, 2);
    // Inside the reader's account the bare name is the reader's secret, already loaded by ARN.
    let by_name = reader.get("prod/db").await.expect("the reader's own");
    assert_eq!(
        (text(&by_name), by_name.arn()),
        ("theirs".to_owned(), theirs.as_str())
    );
    // A struct naming `prod/db` grants our ARN, which the service returned, not theirs.
    let policy = ByName::iam_policy(&cache).expect("policy");
    assert_eq!(policy.resources(), [ours]);
}

#[tokio::test]
async fn concurrent_first_loads_by_name_and_arn_share_one_call_and_one_invalidation() {
    let moto = Moto::start();
    let arn = moto.create("prod/db", "v1").await;
    let cache = cache_over(&moto);
    let (by_name, by_arn) = tokio::join!(cache.get("prod/db"), cache.get(&arn));
    assert_eq!(text(&by_name.expect("by name")), "v1");
    assert_eq!(text(&by_arn.expect("by ARN")), "v1");
    assert_eq!(
        cache.stats().get_secret_value_calls,
        1,
        "one flight for both ids"
    );
    moto.put("prod/db", "v2").await;
    cache.invalidate("prod/db");
    assert_eq!(text(&cache.get(&arn).await.expect("by ARN")), "v2");
    assert_eq!(text(&cache.get("prod/db").await.expect("by name")), "v2");
    assert_eq!(
        cache.stats().get_secret_value_calls,
        2,
        "one entry reloaded once"
    );
}

#[derive(AwsSecrets)]
#[aws_secrets(name = "prod/db")]
struct ByName {
    #[aws_secrets(key = "password")]
    password: SecretString,
}

#[derive(AwsSecrets)]
#[aws_secrets(name = "${DB_ARN}")]
struct ByArn {
    #[aws_secrets(key = "password")]
    password: SecretString,
}

/// Two structs watched at start-up, one naming the secret and one its ARN, through the role:
/// one call, and a `refresh_now` by the name reaches the struct that names the ARN.
#[tokio::test]
async fn a_refresh_by_name_reaches_a_struct_that_names_the_arn_through_a_role() {
    let moto = Moto::start();
    let arn = moto
        .create_as(READER, "prod/db", r#"{"password":"one"}"#)
        .await;
    let cache = cache_over(&moto);
    let reader = cache.as_role(READER).expect("view");
    let vars = Vars::new().set("DB_ARN", &arn);
    let (by_name, by_arn) = tokio::join!(ByName::watch(&reader), ByArn::watch_with(&reader, vars));
    let (by_name, mut by_arn) = (by_name.expect("by name"), by_arn.expect("by ARN"));
    assert_eq!(by_arn.current().password.expose_secret(), "one");
    assert_eq!(
        cache.stats().get_secret_value_calls,
        1,
        "one flight for both structs"
    );
    let theirs = moto.client_as(READER).await;
    theirs
        .put_secret_value()
        .secret_id("prod/db")
        .secret_string(r#"{"password":"two"}"#)
        .send()
        .await
        .expect("rotate");
    reader
        .refresh_now("prod/db")
        .await
        .expect("refresh by name");
    let rotated = tokio::time::timeout(Duration::from_secs(10), by_arn.changed())
        .await
        .expect("the ARN's struct is rebuilt")
        .expect("the task runs");
    assert_eq!(rotated.password.expose_secret(), "two");
    assert_eq!(by_name.current().password.expose_secret(), "two");
}

/// Puts the `SecureString` parameter `name` in the account `config`'s credentials act in.
async fn put_parameter(config: &aws_config::SdkConfig, name: &str, value: &str) {
    let ssm = aws_sdk_ssm::Client::new(config);
    (ssm.put_parameter().name(name).value(value))
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .unwrap_or_else(|e| panic!("put_parameter {name}: {e:?}"));
}

#[derive(AwsSecrets, Debug)]
#[aws_secrets(role = "arn:aws:iam::999999999999:role/reader")]
struct TheirHost {
    #[aws_secrets(parameter = "/prod/host", public)]
    host: String,
    #[aws_secrets(parameter = "/prod/port", public)]
    port: u16,
}

/// A parameter read as a role is the role's account's (its own `AssumeRole` session through
/// the SSM client built from the same `SdkConfig`), never ours of the same name, and a struct
/// naming the role loads its parameters in one `GetParameters`.
#[tokio::test]
async fn a_parameter_read_as_a_role_is_the_roles_accounts() {
    let moto = Moto::start();
    let config = moto.sdk_config();
    let theirs = moto.sdk_config_as(READER).await;
    put_parameter(&theirs, "/prod/host", "theirs.internal").await;
    put_parameter(&theirs, "/prod/port", "6432").await;
    put_parameter(&config, "/prod/host", "ours.internal").await;
    let cache = cache_over(&moto);
    let loaded = TheirHost::load(&cache).await.expect("through the role");
    assert_eq!(
        (loaded.host.as_str(), loaded.port),
        ("theirs.internal", 6432)
    );
    let reader = cache.as_role(READER).expect("view");
    let read = reader.get("ssm:/prod/host").await.expect("theirs, loaded");
    assert_eq!(text(&read), "theirs.internal");
    assert!(
        read.arn().contains(":999999999999:parameter/"),
        "{}",
        read.arn()
    );
    let ours = cache.get("ssm:/prod/host").await.expect("ours");
    assert_eq!(text(&ours), "ours.internal");
    let stats = cache.stats();
    assert_eq!(
        (stats.get_parameters_calls, stats.get_parameter_calls),
        (1, 1),
        "the struct in one batch as the role, ours alone: {stats:?}"
    );
    // The role's policy grants the role's parameters, batched.
    let policies = TheirHost::iam_policies_with(&cache, Vars::new()).expect("policies");
    let role = policies.role(READER).expect("the role's policy");
    assert_eq!(
        role.parameters(),
        [
            "arn:aws:ssm:us-east-1:999999999999:parameter/prod/host",
            "arn:aws:ssm:us-east-1:999999999999:parameter/prod/port"
        ]
    );
    assert!(role.allows_parameter_batch());
}
