//! `SecretCache` over real HTTP.

use asm_runtime::{Error, ExposeSecret, SecretValue, Version};
use asm_testkit::Moto;

#[tokio::test]
async fn reads_a_json_secret_and_hits_afterwards() {
    let moto = Moto::start();
    let arn = moto
        .create(
            "prod/db",
            r#"{"username":"app","password":"s3cr3t-canary"}"#,
        )
        .await;
    let cache = moto.cache();

    let secret = cache.get("prod/db").await.expect("first load");
    assert_eq!(secret.arn(), arn);
    assert_eq!(secret.name(), "prod/db");
    assert!(secret.version_stages().any(|s| s == "AWSCURRENT"));
    assert_eq!(
        secret.json_key("password").expect("key").expose_secret(),
        "s3cr3t-canary"
    );
    assert!(!format!("{secret:?}").contains("s3cr3t"));

    cache.get(&arn).await.expect("by ARN: same entry");
    let stats = cache.stats();
    assert_eq!((stats.get_secret_value_calls, stats.hits), (1, 1));
}

#[tokio::test]
async fn reads_a_binary_secret() {
    let moto = Moto::start();
    moto.create_binary("prod/tls", &[0, 1, 2, 254, 255]).await;
    let secret = moto.cache().get("prod/tls").await.expect("binary");
    match secret.value() {
        SecretValue::Binary(bytes) => assert_eq!(bytes.expose_secret(), &[0, 1, 2, 254, 255]),
        other => panic!("expected binary, got {other:?}"),
    }
    assert!(matches!(secret.json_key("k"), Err(Error::WrongType { .. })));
}

#[tokio::test]
async fn a_missing_secret_is_not_found() {
    let moto = Moto::start();
    let err = moto.cache().get("nope/missing").await.expect_err("absent");
    assert!(
        matches!(err, Error::NotFound { ref secret_id } if secret_id == "nope/missing"),
        "{err:?}"
    );
}

#[tokio::test]
async fn refresh_now_adopts_a_rotation_and_previous_stays_readable() {
    let moto = Moto::start();
    moto.create("prod/api", "old-value").await;
    let cache = moto.cache();
    let before = cache.get("prod/api").await.expect("load");
    let new_version = moto.put("prod/api", "new-value").await;

    assert_eq!(
        cache.get("prod/api").await.expect("cached").version_id(),
        before.version_id()
    );
    let after = cache.refresh_now("prod/api").await.expect("refresh");
    assert_eq!(after.version_id(), new_version);
    assert_eq!(
        cache
            .get("prod/api")
            .await
            .expect("hit")
            .string()
            .expect("string")
            .expose_secret(),
        "new-value"
    );

    let previous = cache
        .get_version("prod/api", &Version::stage("AWSPREVIOUS"))
        .await
        .expect("previous");
    assert_eq!(previous.version_id(), before.version_id());
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_transport_error() {
    let moto = Moto::start();
    let client = moto.client();
    drop(moto);
    let cache = asm_runtime::SecretCache::new(client);
    let err = cache.get("prod/db").await.expect_err("nobody listens");
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(err.to_string().contains("prod/db"));
}

/// A service that already holds one `SdkConfig` for its other AWS clients hands it over,
/// through the crates `asm_runtime` re-exports (this test names no other AWS crate).
#[tokio::test]
async fn from_conf_takes_the_services_sdk_config() {
    use asm_runtime::aws_sdk_secretsmanager::Client;
    use asm_runtime::aws_sdk_secretsmanager::config::{Credentials, Region};
    use asm_runtime::{SecretCache, aws_config};

    let moto = Moto::start();
    moto.create("prod/api", "api-token-value").await;
    let config = aws_config::defaults(SecretCache::behavior_version())
        .region(Region::new("us-east-1"))
        .endpoint_url(moto.endpoint())
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await;
    let cache = SecretCache::from_conf(&config).expect("a config with a region");
    let secret = cache
        .get("prod/api")
        .await
        .expect("read through the shared config");
    assert_eq!(
        secret.string().expect("text").expose_secret(),
        "api-token-value"
    );
    let client: &Client = cache.client().expect("an SDK cache");
    assert_eq!(
        client.config().region().map(|r| r.as_ref()),
        Some("us-east-1")
    );

    let no_region = aws_config::SdkConfig::builder()
        .behavior_version(SecretCache::behavior_version())
        .build();
    assert!(matches!(
        SecretCache::from_conf(&no_region),
        Err(Error::Config { .. })
    ));
}

/// `refresh_now` twice within `refresh_now_interval`, the first throttled: the second shares
/// the first's answer, the error, not the old value as if it had been re-read (a caller whose
/// login was refused would retry the same password).
#[tokio::test(start_paused = true)]
async fn refresh_now_within_the_interval_repeats_a_failure() {
    use asm_runtime::{MemoryFault, MemorySource, SecretCache};

    let secrets = MemorySource::new();
    secrets.text("prod/db", "old");
    let cache = SecretCache::new(secrets.clone());
    cache.get("prod/db").await.expect("first load");
    secrets.fail(Some("prod/db"), MemoryFault::Throttled);
    let first = cache.refresh_now("prod/db").await.map(drop);
    assert!(matches!(first, Err(Error::Throttled { .. })), "{first:?}");
    let calls = secrets.calls();
    let second = cache.refresh_now("prod/db").await.map(drop);
    assert!(matches!(second, Err(Error::Throttled { .. })), "{second:?}");
    assert_eq!(secrets.calls(), calls, "within the interval: no call");
    secrets.clear_failures();
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let third = cache
        .refresh_now("prod/db")
        .await
        .expect("after the interval");
    assert_eq!(third.string().expect("text").expose_secret(), "old");
}
