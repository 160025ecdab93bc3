//! A role per secret, over `MemorySource` (each role's secrets a source of their own): views
//! with their own entries and home, one `Stats`, the bound on roles, derived structs and live
//! handles whose fields read as different roles.

use super::*;
use crate::{AwsSecrets, MemorySource, SecretCacheBuilder, SecretString, Vars};

const READER: &str = "arn:aws:iam::999999999999:role/reader";
const AUDITOR: &str = "arn:aws:iam::888888888888:role/team/auditor";

/// `prod/db` in the cache's own account and in the reader's, each its own value.
fn two_accounts() -> (MemorySource, SecretCache) {
    let secrets = MemorySource::new();
    secrets.json("prod/db", &serde_json::json!({"password": "ours"}));
    let theirs = secrets.role(READER);
    theirs.json("prod/db", &serde_json::json!({"password": "theirs"}));
    (secrets.clone(), SecretCache::new(secrets))
}

fn password(secret: &Secret) -> String {
    secret
        .json_key("password")
        .map(|p| p.expose_secret().to_owned())
        .unwrap_or_default()
}

#[tokio::test(start_paused = true)]
async fn one_name_read_as_two_principals_is_two_secrets() {
    let (secrets, cache) = two_accounts();
    let reader = cache.as_role(READER).expect("a view");
    assert_eq!((cache.role(), reader.role()), (None, Some(READER)));
    assert_eq!(
        password(&reader.get("prod/db").await.expect("theirs")),
        "theirs"
    );
    assert_eq!(password(&cache.get("prod/db").await.expect("ours")), "ours");
    assert_eq!(
        password(&reader.get("prod/db").await.expect("hit")),
        "theirs"
    );
    let (ours, theirs) = (cache.known_arn("prod/db"), reader.known_arn("prod/db"));
    assert!(
        ours.is_some_and(|a| a.contains(":111122223333:")),
        "own account"
    );
    assert!(
        theirs.is_some_and(|a| a.contains(":999999999999:")),
        "the role's account"
    );
    // One `Stats` for the whole cache, whichever view is asked.
    assert_eq!(cache.stats(), reader.stats());
    assert_eq!(cache.stats().get_secret_value_calls, 2);
    assert_eq!(secrets.calls() + secrets.role(READER).calls(), 2);
    // A view of the same role is the same view: its entries are there.
    let again = cache.as_role(READER).expect("the same view");
    let view_of_view = reader.as_role(READER).expect("the same view");
    for view in [again, view_of_view] {
        assert_eq!(password(&view.get("prod/db").await.expect("hit")), "theirs");
    }
    assert_eq!(cache.stats().get_secret_value_calls, 2, "hits, no call");
    assert_eq!(cache.roles(), [READER]);
    // `invalidate` through a view drops the view's entry only.
    reader.invalidate("prod/db");
    cache.get("prod/db").await.expect("ours, a hit");
    assert_eq!(cache.stats().get_secret_value_calls, 2);
    reader.get("prod/db").await.expect("theirs, fetched again");
    assert_eq!(cache.stats().get_secret_value_calls, 3);
}

#[tokio::test(start_paused = true)]
async fn a_roles_secrets_are_cached_for_their_ttl_and_coalesced() {
    let (secrets, cache) = two_accounts();
    let reader = cache.as_role(READER).expect("a view");
    let reads = join_all((0..8).map(|_| reader.get("prod/db"))).await;
    assert!(reads.iter().all(Result::is_ok));
    assert_eq!(
        secrets.role(READER).calls(),
        1,
        "one flight for eight readers"
    );
    tokio::time::advance(SecretCacheBuilder::DEFAULT_TTL).await;
    reader
        .get("prod/db")
        .await
        .expect("served while refreshing");
    settle().await;
    assert_eq!(secrets.role(READER).calls(), 2, "refreshed after its TTL");
    assert_eq!(
        secrets.calls(),
        0,
        "nothing asked of the cache's own account"
    );
}

#[tokio::test(start_paused = true)]
async fn a_roles_value_is_served_stale_while_its_source_fails_and_the_failure_is_its_own() {
    let (secrets, cache) = two_accounts();
    let reader = cache.as_role(READER).expect("a view");
    reader.get("prod/db").await.expect("theirs");
    cache.get("prod/db").await.expect("ours");
    secrets
        .role(READER)
        .fail(None, crate::MemoryFault::Unavailable);
    tokio::time::advance(SecretCacheBuilder::DEFAULT_TTL).await;
    let served = reader
        .get("prod/db")
        .await
        .expect("served while refreshing");
    assert_eq!(password(&served), "theirs");
    settle().await;
    assert_eq!(cache.stats().failures, 1, "the refresh failed");
    tokio::time::advance(SecretCacheBuilder::DEFAULT_MAX_STALENESS).await;
    let err = reader.get("prod/db").await.expect_err("past max_staleness");
    assert!(matches!(err, Error::Stale { .. }), "{err:?}");
    assert_eq!(password(&cache.get("prod/db").await.expect("ours")), "ours");
}

#[test]
fn past_the_bound_a_new_role_is_a_config_error_naming_it() {
    let cache = SecretCache::new(MemorySource::new());
    let role = |n: usize| format!("arn:aws:iam::{n:012}:role/r");
    for n in 0..SecretCache::MAX_ROLES {
        cache.as_role(&role(n)).expect("within the bound");
    }
    let err = cache.as_role(&role(99)).expect_err("past the bound");
    assert!(
        matches!(&err, Error::Config { message } if message.contains("20 roles already")),
        "{err}"
    );
    cache
        .as_role(&role(3))
        .expect("a role held already is still served");
    assert_eq!(cache.roles().len(), SecretCache::MAX_ROLES);
}

#[test]
fn a_malformed_role_or_a_source_without_roles_is_a_config_error() {
    let cache = SecretCache::new(MemorySource::new());
    let err = cache
        .as_role("arn:aws:iam::9999:role/r")
        .expect_err("short account");
    assert!(err.to_string().contains("not 12 digits"), "{err}");
    let bare = SecretCache::new(client(RuleMode::MatchAny, &[]));
    let err = bare.as_role(READER).expect_err("a bare client");
    assert!(
        matches!(&err, Error::Config { message } if message.contains("builder_from_conf")),
        "{err}"
    );
    assert!(bare.roles().is_empty(), "nothing held for a refused role");
}

#[tokio::test]
async fn mounted_files_refuse_roles() {
    let dir = std::env::temp_dir().join(format!("asm-roles-{}", std::process::id()));
    let cache = SecretCache::new(crate::FileSource::new(&dir).events(false));
    let err = cache
        .as_role(READER)
        .expect_err("files carry their own role");
    assert!(
        matches!(&err, Error::Config { message } if message.contains("cannot read secrets as role")),
        "{err}"
    );
}

/// Our `prod/db`, the reader's, and the auditor's token, in one struct.
#[derive(crate::AwsSecrets, Debug)]
#[aws_secrets(crate = "crate", name = "prod/db")]
struct Across {
    #[aws_secrets(key = "password")]
    ours: SecretString,
    #[aws_secrets(key = "password", role = "arn:aws:iam::999999999999:role/reader")]
    theirs: SecretString,
    #[aws_secrets(
        name = "audit/token",
        role = "arn:aws:iam::888888888888:role/team/auditor"
    )]
    audit: SecretString,
}

/// Every field read as the role of the struct, but one read as the cache's view.
#[derive(crate::AwsSecrets, Debug)]
#[aws_secrets(crate = "crate", role = "arn:aws:iam::${READ_ACCOUNT}:role/reader")]
struct AllAsOne {
    #[aws_secrets(name = "prod/db", key = "password")]
    password: SecretString,
}

#[tokio::test(start_paused = true)]
async fn a_structs_fields_read_as_their_roles() {
    let (secrets, cache) = two_accounts();
    secrets.role(AUDITOR).text("audit/token", "audited");
    let across = Across::load(&cache).await.expect("load");
    assert_eq!(across.ours.expose_secret(), "ours");
    assert_eq!(across.theirs.expose_secret(), "theirs");
    assert_eq!(across.audit.expose_secret(), "audited");
    assert_eq!(cache.roles(), [AUDITOR, READER]);
    assert_eq!(Across::ROLES, [READER, AUDITOR]);
    let calls = cache.stats().api_calls();
    Across::load(&cache).await.expect("warm");
    assert_eq!(
        cache.stats().api_calls(),
        calls,
        "a warm load reads memory only"
    );
    // A view's `get` shares the struct's entry.
    cache
        .as_role(READER)
        .expect("view")
        .get("prod/db")
        .await
        .expect("hit");
    assert_eq!(cache.stats().api_calls(), calls);
    // The role of a struct may vary by deployment; an ARN it resolves to is checked.
    let vars = Vars::new().set("READ_ACCOUNT", "999999999999");
    let one = AllAsOne::load_with(&cache, vars)
        .await
        .expect("as the reader");
    assert_eq!(one.password.expose_secret(), "theirs");
    let err = AllAsOne::load_with(&cache, Vars::new().set("READ_ACCOUNT", "9999"))
        .await
        .expect_err("not an ARN");
    assert!(
        matches!(&err, Error::Config { message } if message.contains("AllAsOne.password")),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_struct_loaded_through_a_view_reads_as_its_role() {
    #[derive(crate::AwsSecrets)]
    #[aws_secrets(crate = "crate", name = "prod/db")]
    struct Plain {
        password: SecretString,
    }
    let (_secrets, cache) = two_accounts();
    let reader = cache.as_role(READER).expect("view");
    let theirs = Plain::load(&reader).await.expect("theirs");
    assert_eq!(theirs.password.expose_secret(), "theirs");
    let ours = Plain::load(&cache).await.expect("ours");
    assert_eq!(ours.password.expose_secret(), "ours");
}

#[tokio::test(start_paused = true)]
async fn a_live_handle_follows_rotations_in_every_principal() {
    let (secrets, cache) = two_accounts();
    secrets.role(AUDITOR).text("audit/token", "a1");
    let mut live = Across::watch(&cache).await.expect("watch");
    secrets
        .role(READER)
        .json("prod/db", &serde_json::json!({"password": "theirs-2"}));
    secrets.role(AUDITOR).text("audit/token", "a2");
    let rotated = tokio::time::timeout(Duration::from_secs(3_600), async {
        loop {
            let now = live.changed().await.expect("the task runs");
            if now.theirs.expose_secret() == "theirs-2" && now.audit.expose_secret() == "a2" {
                return now;
            }
        }
    })
    .await
    .expect("both rotations adopted within a TTL");
    assert_eq!(rotated.ours.expose_secret(), "ours");
    // `refresh_now` reaches each secret in its own principal.
    secrets.json("prod/db", &serde_json::json!({"password": "ours-2"}));
    live.refresh_now().await.expect("re-read");
    let now = live.changed().await.expect("rebuilt");
    assert_eq!(now.ours.expose_secret(), "ours-2");
    assert_eq!(now.theirs.expose_secret(), "theirs-2");
}

/// Only secrets read as roles: the caller's policy assumes them and reads nothing itself.
#[derive(crate::AwsSecrets)]
#[aws_secrets(
    crate = "crate",
    name = "prod/db",
    role = "arn:aws:iam::999999999999:role/reader"
)]
struct OnlyTheirs {
    #[aws_secrets(key = "password")]
    _password: SecretString,
}

#[tokio::test(start_paused = true)]
async fn iam_policies_are_one_per_principal() {
    let (secrets, cache) = two_accounts();
    secrets.role(AUDITOR).text("audit/token", "audited");
    // Before any load, a name read as a role is completed with the role's account.
    let before = OnlyTheirs::iam_policies(&cache).expect("policies");
    let theirs = "arn:aws:secretsmanager:us-east-1:999999999999:secret:prod/db";
    assert_eq!(
        before.role(READER).map(|p| p.resources().to_vec()),
        Some(vec![format!("{theirs}-??????")])
    );
    assert!(before.caller().resources().is_empty());
    assert_eq!(before.caller().assumes(), [READER]);
    let caller: serde_json::Value = serde_json::from_str(&before.caller().to_json()).expect("json");
    assert_eq!(
        caller["Statement"].as_array().map(Vec::len),
        Some(1),
        "{caller}"
    );
    assert_eq!(caller["Statement"][0]["Action"][0], "sts:AssumeRole");
    assert_eq!(caller["Statement"][0]["Resource"][0], READER);
    // After a load, each principal's exact ARNs.
    Across::load(&cache).await.expect("load");
    let policies = Across::iam_policies(&cache).expect("policies");
    let ours = "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-memory";
    assert_eq!(policies.caller().resources(), [ours]);
    assert_eq!(policies.caller().assumes(), [AUDITOR, READER]);
    assert_eq!(
        policies.role(READER).map(|p| p.resources().to_vec()),
        Some(vec![format!("{theirs}-memory")])
    );
    let audit = "arn:aws:secretsmanager:us-east-1:888888888888:secret:audit/token-memory";
    assert_eq!(
        policies.role(AUDITOR).map(|p| p.resources().to_vec()),
        Some(vec![audit.to_owned()])
    );
    assert!(
        policies
            .role(AUDITOR)
            .is_some_and(|p| p.assumes().is_empty())
    );
    let roles: Vec<&str> = policies.roles().map(|(role, _)| role).collect();
    assert_eq!(roles, [AUDITOR, READER]);
    // `iam_policy` is the caller's; through a view, the role's.
    assert_eq!(
        &Across::iam_policy(&cache).expect("caller"),
        policies.caller()
    );
    let reader = cache.as_role(READER).expect("view");
    let as_reader = OnlyTheirs::iam_policy(&reader).expect("the reader's");
    assert_eq!(Some(&as_reader), policies.role(READER));
    let shown = policies.to_string();
    assert!(shown.contains(&format!("# role {READER}")), "{shown}");
    let all: serde_json::Value = serde_json::from_str(&policies.to_json()).expect("json");
    assert_eq!(all["roles"][AUDITOR]["Statement"][0]["Resource"][0], audit);
}
