//! A role per secret on `moto_server`, whose STS grants `AssumeRole` with credentials that act
//! in the role's account: our `prod/db` and the reader's are two secrets, read in one process
//! by two structs on two roles (and a third on the cache's own credentials), through the SDK
//! and through the real agent (`roleArn`).

use std::time::Duration;

use asm_runtime::{AgentSource, AwsSecrets, ExposeSecret, SecretCache, SecretString};
use asm_testkit::{Agent, Moto, RegionalOutage};
use aws_sdk_secretsmanager::types::ReplicaRegionType;

const READER: &str = "arn:aws:iam::999999999999:role/reader";
const AUDITOR: &str = "arn:aws:iam::888888888888:role/audit/auditor";

fn login(password: &str) -> String {
    format!(r#"{{"user":"app","password":"{password}"}}"#)
}

#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "prod/db")]
struct Ours {
    password: SecretString,
}

#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "prod/db", role = "arn:aws:iam::999999999999:role/reader")]
struct Theirs {
    password: SecretString,
}

#[derive(AwsSecrets, Debug)]
#[aws_secrets(
    name = "prod/db",
    role = "arn:aws:iam::888888888888:role/audit/auditor"
)]
struct Audited {
    password: SecretString,
    #[aws_secrets(key = "user")]
    user: SecretString,
}

/// `prod/db` in three accounts: moto's default (ours), the reader's and the auditor's.
async fn three_accounts(moto: &Moto) -> [String; 3] {
    [
        moto.create("prod/db", &login("ours")).await,
        moto.create_as(READER, "prod/db", &login("theirs")).await,
        moto.create_as(AUDITOR, "prod/db", &login("audited")).await,
    ]
}

#[tokio::test]
async fn two_structs_on_two_roles_read_their_own_accounts_prod_db() {
    let moto = Moto::start();
    let arns = three_accounts(&moto).await;
    assert!(arns[1].contains(":999999999999:") && arns[2].contains(":888888888888:"));
    let cache = SecretCache::builder_from_conf(&moto.sdk_config())
        .expect("a region")
        .build()
        .expect("cache");
    let (ours, theirs, audited) = tokio::join!(
        Ours::watch(&cache),
        Theirs::watch(&cache),
        Audited::watch(&cache)
    );
    let (ours, theirs, mut audited) = (
        ours.expect("ours"),
        theirs.expect("theirs"),
        audited.expect("audited"),
    );
    assert_eq!(ours.current().password.expose_secret(), "ours");
    assert_eq!(theirs.current().password.expose_secret(), "theirs");
    assert_eq!(audited.current().password.expose_secret(), "audited");
    assert_eq!(audited.current().user.expose_secret(), "app");
    // `get`-style reads through a view share the structs' entries.
    let calls = cache.stats().get_secret_value_calls;
    let reader = cache.as_role(READER).expect("view");
    let read = reader.get("prod/db").await.expect("theirs");
    assert_eq!(read.arn(), arns[1], "the reader's own secret");
    assert_eq!(cache.get("prod/db").await.expect("ours").arn(), arns[0]);
    assert_eq!(cache.stats().get_secret_value_calls, calls, "hits");
    assert_eq!(cache.roles(), [AUDITOR, READER]);
    // One policy per principal, each with the ARNs the service returned.
    let policies = Theirs::iam_policies(&cache).expect("policies");
    assert_eq!(policies.caller().assumes(), [READER]);
    assert!(policies.caller().resources().is_empty());
    let reader_policy = policies.role(READER).expect("the reader's policy");
    assert_eq!(reader_policy.resources(), [arns[1].clone()]);
    let ours_policy = Ours::iam_policies(&cache).expect("policies");
    assert_eq!(ours_policy.caller().resources(), [arns[0].clone()]);
    assert!(ours_policy.roles().next().is_none() && ours_policy.caller().assumes().is_empty());
    // A rotation in the auditor's account reaches its struct, and nothing else.
    let auditor = moto.client_as(AUDITOR).await;
    auditor
        .put_secret_value()
        .secret_id("prod/db")
        .secret_string(login("audited-2"))
        .send()
        .await
        .expect("rotate");
    audited.refresh_now().await.expect("refresh");
    let rotated = tokio::time::timeout(Duration::from_secs(10), audited.changed())
        .await
        .expect("rebuilt")
        .expect("the task runs");
    assert_eq!(rotated.password.expose_secret(), "audited-2");
    assert_eq!(ours.current().password.expose_secret(), "ours");
    assert_eq!(theirs.current().password.expose_secret(), "theirs");
}

/// The agent 2.1 reads as the role itself: `roleArn` on each request.
#[tokio::test]
async fn through_the_agent_a_role_goes_in_role_arn() {
    let moto = Moto::start();
    let agent = Agent::start(&moto.endpoint(), 300);
    three_accounts(&moto).await;
    let source = AgentSource::new()
        .endpoint(&agent.endpoint())
        .expect("url")
        .token(SecretString::from(agent.token()));
    let cache = SecretCache::new(source);
    let theirs = Theirs::load(&cache).await.expect("theirs");
    assert_eq!(theirs.password.expose_secret(), "theirs");
    let ours = Ours::load(&cache).await.expect("ours");
    assert_eq!(ours.password.expose_secret(), "ours");
    let audited = cache.as_role(AUDITOR).expect("view");
    let read = audited.get("prod/db").await.expect("audited");
    assert!(read.arn().contains(":888888888888:"), "{}", read.arn());
}

/// A role's read fails over like the cache's own: with us-east-1 down (its Secrets Manager and
/// its STS), the reader's `prod/db` is read from its us-west-2 replica, the role assumed
/// through us-west-2's STS.
#[tokio::test]
async fn a_roles_read_fails_over_through_the_replica_regions_sts() {
    let moto = Moto::start();
    moto.client_as(READER)
        .await
        .create_secret()
        .name("prod/db")
        .secret_string(login("theirs"))
        .add_replica_regions(ReplicaRegionType::builder().region("us-west-2").build())
        .send()
        .await
        .expect("a replicated secret in the reader's account");
    let outage = RegionalOutage::start(moto.addr()).await;
    let config = moto
        .sdk_config()
        .to_builder()
        .endpoint_url(outage.url())
        .build();
    let cache = SecretCache::builder_from_conf(&config)
        .expect("a region")
        .failover_regions(["us-west-2"])
        .attempt_timeout(Duration::from_secs(1))
        .call_timeout(Duration::from_secs(4))
        .build()
        .expect("cache");
    outage.fail("us-east-1");
    let started = tokio::time::Instant::now();
    let theirs = cache
        .as_role(READER)
        .expect("view")
        .get("prod/db")
        .await
        .expect("answered by the replica");
    assert!(
        theirs.arn().contains(":us-west-2:999999999999:"),
        "the reader's replica: {}",
        theirs.arn()
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(
        outage.requests("us-west-2") >= 2,
        "AssumeRole and GetSecretValue there"
    );
}
