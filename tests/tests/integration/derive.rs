//! Derived loaders over real HTTP: values, call economy, typed errors, IAM policy.

use asm_runtime::{AwsSecrets, Error, ExposeSecret, SecretCache, SecretSlice, SecretString, Vars};
use asm_testkit::Moto;

#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "${APP_ENV}/db")]
struct Db {
    username: SecretString,
    password: SecretString,
    #[aws_secrets(public)]
    host: String,
    #[aws_secrets(public)]
    port: u16,
    #[aws_secrets(key = "dbname", public)]
    database: String,
    /// Absent from the secret: `None`.
    replica_host: Option<SecretString>,
    /// A JSON number, read as its text.
    max_connections: SecretString,
}

#[derive(AwsSecrets, Debug)]
struct App {
    #[aws_secrets(nested)]
    db: Db,
    /// A plain (non-JSON) string secret, whole.
    #[aws_secrets(name = "${APP_ENV}/token")]
    token: SecretString,
    #[aws_secrets(name = "${APP_ENV}/tls", binary)]
    tls_key: SecretSlice<u8>,
    #[aws_secrets(name = "${APP_ENV}/stripe", key = "api_key")]
    stripe_key: SecretString,
}

const DB_JSON: &str = r#"{"username":"app","password":"canary-pw-7Q2","host":"db.internal","port":5432,"dbname":"orders","max_connections":20}"#;

async fn seeded() -> Moto {
    let moto = Moto::start();
    moto.create("test/db", DB_JSON).await;
    moto.create("test/token", "plain-token-value").await;
    moto.create_binary("test/tls", &[1, 2, 3]).await;
    moto.create("test/stripe", r#"{"api_key":"sk_test_1"}"#)
        .await;
    moto
}

fn vars() -> Vars {
    Vars::new().set("APP_ENV", "test")
}

#[tokio::test]
async fn loads_nested_json_plain_and_binary_secrets() {
    let moto = seeded().await;
    let cache = moto.cache();
    let app = App::load_with(&cache, vars()).await.expect("load");

    assert_eq!(app.db.username.expose_secret(), "app");
    assert_eq!(app.db.password.expose_secret(), "canary-pw-7Q2");
    assert_eq!(
        (app.db.host.as_str(), app.db.port, app.db.database.as_str()),
        ("db.internal", 5432, "orders")
    );
    assert!(app.db.replica_host.is_none());
    assert_eq!(app.db.max_connections.expose_secret(), "20");
    assert_eq!(app.token.expose_secret(), "plain-token-value");
    assert_eq!(app.tls_key.expose_secret(), &[1, 2, 3]);
    assert_eq!(app.stripe_key.expose_secret(), "sk_test_1");
    assert!(
        !format!("{app:?}").contains("canary"),
        "Debug redacts secret fields"
    );

    let stats = cache.stats();
    assert_eq!(
        (
            stats.get_secret_value_calls,
            stats.batch_get_secret_value_calls
        ),
        (4, 0),
        "four secrets, one call each (batches are off by default): {stats:?}"
    );
    assert_eq!(
        stats.describe_secret_calls, 4,
        "the rotation guardrail asks each secret's rotation rules once"
    );

    App::load_with(&cache, vars()).await.expect("reload");
    assert_eq!(
        cache.stats().api_calls(),
        stats.api_calls(),
        "a second load is served from memory"
    );
}

#[tokio::test]
async fn with_batches_on_a_struct_is_read_in_one_batched_call() {
    let moto = seeded().await;
    let cache = SecretCache::builder(moto.client())
        .batch(true)
        .build()
        .expect("valid settings");
    let app = App::load_with(&cache, vars()).await.expect("load");
    assert_eq!(app.token.expose_secret(), "plain-token-value");
    let stats = cache.stats();
    assert_eq!(
        stats.batch_get_secret_value_calls + stats.get_secret_value_calls,
        1,
        "four secrets, one batched call: {stats:?}"
    );
    let policy = App::iam_policy_with(&cache, vars()).expect("policy");
    assert!(
        policy.allows_batch(),
        "a cache that batches needs the action"
    );
}

#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "test/db")]
struct NeedsMissingKey {
    #[aws_secrets(key = "api_token")]
    _token: SecretString,
}

#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "test/db")]
struct WrongType {
    #[aws_secrets(key = "host", public)]
    _host: u16,
}

#[derive(AwsSecrets, Debug)]
struct KeyOfPlainText {
    #[aws_secrets(name = "test/token", key = "k")]
    _k: SecretString,
}

#[derive(AwsSecrets, Debug)]
struct Unresolved {
    #[aws_secrets(name = "${ASM_SURELY_UNSET_VAR}/db", key = "password")]
    _password: SecretString,
}

#[tokio::test]
async fn mapping_errors_are_typed_and_carry_no_value() {
    let moto = seeded().await;
    let cache = moto.cache();

    let err = NeedsMissingKey::load(&cache)
        .await
        .expect_err("missing key");
    assert!(
        matches!(&err, Error::MissingKey { key, field: Some(f), .. } if key == "api_token" && f.contains("_token")),
        "{err:?}"
    );

    let err = WrongType::load(&cache).await.expect_err("wrong type");
    assert!(
        matches!(&err, Error::WrongType { found: "string", key: Some(k), .. } if k == "host"),
        "{err:?}"
    );
    assert!(
        !format!("{err} {err:?}").contains("db.internal"),
        "the value is not echoed"
    );

    let err = KeyOfPlainText::load(&cache).await.expect_err("not json");
    assert!(matches!(&err, Error::NotJson { .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("plain-token"));

    let err = Unresolved::load(&cache).await.expect_err("unresolved");
    assert!(
        matches!(&err, Error::UnresolvedPlaceholder { variable, field } if variable == "ASM_SURELY_UNSET_VAR" && field.contains("_password")),
        "{err:?}"
    );
}

#[tokio::test]
async fn iam_policy_lists_exactly_the_secrets_read() {
    let moto = seeded().await;
    let cache = moto.cache();
    let unknown = App::iam_policy_with(&cache, vars());
    assert!(
        matches!(unknown, Err(Error::Config { .. })),
        "names only and nothing loaded: the account is unknown, so no exact policy yet"
    );

    App::load_with(&cache, vars()).await.expect("load");
    let policy = App::iam_policy_with(&cache, vars())
        .expect("policy")
        .to_json();
    let policy: serde_json::Value = serde_json::from_str(&policy).expect("json");
    let statements = policy["Statement"].as_array().expect("statements");
    assert_eq!(
        statements.len(),
        1,
        "exact secrets only: the cache does not batch by default, so no `Resource: \"*\"`"
    );
    let statement = &statements[0];
    assert_eq!(statement["Effect"], "Allow");
    assert_eq!(
        statement["Action"],
        serde_json::json!([
            "secretsmanager:GetSecretValue",
            "secretsmanager:DescribeSecret"
        ]),
        "DescribeSecret for version checks and the guardrail, on the same ARNs"
    );
    let resources: Vec<&str> = statement["Resource"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|r| r.as_str())
        .collect();
    assert_eq!(resources.len(), 4, "{resources:?}");
    for resource in resources {
        assert!(
            resource.starts_with("arn:aws:secretsmanager:us-east-1:"),
            "{resource}"
        );
        assert!(!resource.contains('*'), "never a wildcard: {resource}");
        assert!(resource.contains(":secret:test/"), "{resource}");
    }
}

#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "test/db", version_stage = "NOPE")]
struct NoSuchStage {
    _password: SecretString,
}

#[tokio::test]
async fn a_missing_version_is_named_as_the_version() {
    let moto = seeded().await;
    let cache = moto.cache();
    let err = NoSuchStage::load(&cache).await.expect_err("no such stage");
    assert!(
        matches!(&err, Error::VersionNotFound { secret_id, version } if secret_id == "test/db" && *version == asm_runtime::Version::stage("NOPE")),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("staging label `NOPE`") && message.contains("version_stage"),
        "{message}"
    );
    assert!(!message.contains("canary"), "{message}");
}

/// One rule for every TTL in force, with the values in its error: the cache's `ttl` above
/// `max_staleness` fails `build`, and a field's declared `ttl` above it fails the load (it was
/// clamped silently before), in the same words.
#[tokio::test]
async fn a_ttl_above_max_staleness_is_one_error_with_its_values() {
    use asm_runtime::MemorySource;

    #[derive(AwsSecrets)]
    struct Long {
        #[aws_secrets(name = "prod/db", ttl = "2d")]
        #[allow(dead_code, reason = "the load fails before it is read")]
        password: SecretString,
    }
    let secrets = MemorySource::new();
    secrets.text("prod/db", "pw");
    let two_days = std::time::Duration::from_secs(2 * 86_400);
    let built = SecretCache::builder(secrets.clone()).ttl(two_days).build();
    let Err(Error::Config { message: cache_ttl }) = built else {
        panic!("a cache ttl above max_staleness builds");
    };
    let loaded = Long::load(&SecretCache::new(secrets)).await.map(drop);
    let Err(Error::Config { message: field_ttl }) = loaded else {
        panic!("a field ttl above max_staleness loads: {loaded:?}");
    };
    for message in [&cache_ttl, &field_ttl] {
        assert!(
            message.contains("is 172800s, above max_staleness (3600s)"),
            "{message}"
        );
    }
    assert!(
        field_ttl.contains("`Long.password`") && field_ttl.contains("prod/db"),
        "{field_ttl}"
    );
    println!("{cache_ttl}\n{field_ttl}");
}

/// A field that names `version_stage = "AWSCURRENT"` reads `AWSCURRENT` even on a cache whose
/// default version is another (it was read as "the cache's default"), and may sit next to a
/// field reading the same key at the default version.
#[tokio::test]
async fn an_explicit_awscurrent_is_awscurrent_whatever_the_cache_default() {
    use asm_runtime::{MemorySource, Version};

    #[derive(AwsSecrets)]
    #[aws_secrets(name = "prod/db")]
    struct Both {
        #[aws_secrets(key = "password", version_stage = "AWSCURRENT")]
        current: SecretString,
        #[aws_secrets(key = "password")]
        default: SecretString,
    }
    let secrets = MemorySource::new();
    secrets.json("prod/db", &serde_json::json!({"password": "current"}));
    secrets.stage_text(
        "prod/db",
        "v-pending",
        r#"{"password":"pending"}"#,
        &["AWSPENDING"],
    );
    let cache = SecretCache::builder(secrets)
        .version(Version::stage("AWSPENDING"))
        .build()
        .expect("cache");
    let both = Both::load(&cache).await.expect("load");
    assert_eq!(both.current.expose_secret(), "current");
    assert_eq!(both.default.expose_secret(), "pending");
}

/// A whole-secret `public` field of a type that takes no string reads the scalar the text
/// spells (`5432` into a `u16`, as the README's `public` types promise); a text that is no
/// such scalar is a typed error without the value.
#[tokio::test]
async fn a_whole_secret_public_number_reads_its_text() {
    use asm_runtime::MemorySource;

    #[derive(AwsSecrets, Debug)]
    struct Port {
        #[aws_secrets(name = "prod/port", public)]
        port: u16,
        #[aws_secrets(name = "prod/host", public)]
        text: String,
    }
    let secrets = MemorySource::new();
    secrets.text("prod/port", "5432");
    secrets.text("prod/host", "5432");
    let cache = SecretCache::new(secrets.clone());
    let read = Port::load(&cache).await.expect("load");
    assert_eq!((read.port, read.text.as_str()), (5432, "5432"));
    secrets.text("prod/port", "not-a-port-Qz7!");
    cache.invalidate("prod/port");
    let err = Port::load(&cache).await.expect_err("not a number");
    assert!(matches!(err, Error::WrongType { .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("Qz7!"), "{err}");

    // Only a scalar: a map would take the whole JSON secret, password included, in the clear.
    #[derive(AwsSecrets, Debug)]
    #[allow(dead_code, reason = "the load fails before it is read")]
    struct Whole {
        #[aws_secrets(name = "prod/db", public)]
        all: std::collections::HashMap<String, String>,
    }
    secrets.text("prod/db", r#"{"password":"Qz7!"}"#);
    let err = Whole::load(&cache)
        .await
        .expect_err("an object is no scalar");
    assert!(matches!(err, Error::WrongType { .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("Qz7!"), "{err}");
}

#[derive(AwsSecrets, Debug)]
struct ParameterKinds {
    /// A `StringList`: its text, comma-separated, as Parameter Store returns it.
    #[aws_secrets(parameter = "/test/zones", public)]
    zones: String,
    /// A plain `String` parameter into a `public` number.
    #[aws_secrets(parameter = "/test/pool", public)]
    pool: u32,
    /// A `SecureString`, decrypted.
    #[aws_secrets(parameter = "/test/api-key")]
    api_key: SecretString,
    /// A JSON `String` parameter, read by key.
    #[aws_secrets(parameter = "/test/limits", key = "burst", public)]
    burst: u32,
}

/// Each kind of parameter over real HTTP, in one `GetParameters`: a `StringList` read whole,
/// a `String` into a number, a `SecureString` decrypted, a JSON value by key.
#[tokio::test]
async fn every_kind_of_parameter_loads_in_one_batch() {
    use aws_sdk_ssm::types::ParameterType;
    let moto = Moto::start();
    let ssm = aws_sdk_ssm::Client::new(&moto.sdk_config());
    for (name, value, kind) in [
        (
            "/test/zones",
            "us-east-1a,us-east-1b",
            ParameterType::StringList,
        ),
        ("/test/pool", "16", ParameterType::String),
        (
            "/test/api-key",
            "canary-key-4Rt",
            ParameterType::SecureString,
        ),
        ("/test/limits", r#"{"burst":40}"#, ParameterType::String),
    ] {
        let put = ssm.put_parameter().name(name).value(value).r#type(kind);
        put.send().await.unwrap_or_else(|e| panic!("{name}: {e:?}"));
    }
    let cache = SecretCache::from_conf(&moto.sdk_config()).expect("cache");
    let loaded = ParameterKinds::load(&cache).await.expect("loaded");
    assert_eq!(
        (loaded.zones.as_str(), loaded.pool, loaded.burst),
        ("us-east-1a,us-east-1b", 16, 40)
    );
    assert_eq!(loaded.api_key.expose_secret(), "canary-key-4Rt");
    assert!(!format!("{loaded:?}").contains("canary-key"), "{loaded:?}");
    let stats = cache.stats();
    assert_eq!(
        (stats.get_parameters_calls, stats.get_parameter_calls),
        (1, 0),
        "{stats:?}"
    );
}
