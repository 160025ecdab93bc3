//! The scenarios, each a function generic over the source's [`Fixture`]. Every scenario uses
//! secret names of its own (`conf/<scenario>…`), so none sees another's values, and every
//! error it meets is checked for the canary.

use std::time::Duration;

use asm_runtime::{
    AwsSecrets, Error, ExposeSecret, SecretCache, SecretSlice, SecretString, TransportKind, Version,
};
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep, timeout};

use super::{Fixture, Scenario, Settings};

/// A canary: stored in the secrets, never in an error, a `Debug` or a log line.
const CANARY: &str = "Qz7!xK9#wL2%vT8-conformance";

/// Runs `scenario` on `f`.
pub(super) async fn run<F: Fixture>(scenario: Scenario, f: &F) {
    match scenario {
        Scenario::ReadByName => read_by_name(f).await,
        Scenario::ReadByArn => read_by_arn(f).await,
        Scenario::ArnOfANameRead => arn_of_a_name_read(f).await,
        Scenario::JsonKeys => json_keys(f).await,
        Scenario::NotJson => not_json(f).await,
        Scenario::DerivedStruct => derived_struct(f).await,
        Scenario::DerivedMissingKey => derived_missing_key(f).await,
        Scenario::Binary => binary(f).await,
        Scenario::PreviousStage => previous_stage(f).await,
        Scenario::OlderVersionById => older_version_by_id(f).await,
        Scenario::CurrentVersionById => current_version_by_id(f).await,
        Scenario::MissingSecret => missing_secret(f).await,
        Scenario::MissingVersion => missing_version(f).await,
        Scenario::RememberedFailure => remembered_failure(f).await,
        Scenario::RotationAfterTtl => rotation_after_ttl(f).await,
        Scenario::LiveHandleWakes => live_handle_wakes(f).await,
        Scenario::RefreshNow => refresh_now(f).await,
        Scenario::Invalidate => invalidate(f).await,
        Scenario::Deadline => deadline(f).await,
        Scenario::SingleFlight => single_flight(f).await,
        Scenario::TooLarge => too_large(f).await,
        Scenario::ErrorsCarryNoValue => errors_carry_no_value(f).await,
        Scenario::ParameterRead => parameter_read(f).await,
        Scenario::ParameterMissing => parameter_missing(f).await,
        Scenario::ParameterReference => parameter_reference(f).await,
    }
}

/// A JSON login whose password carries the canary and `tag`.
fn login(tag: &str) -> String {
    format!(r#"{{"username":"app","password":"{CANARY}-{tag}","port":5432}}"#)
}

/// The password [`login`] stored for `tag`.
fn password(tag: &str) -> String {
    format!("{CANARY}-{tag}")
}

/// The `password` key of `secret`.
fn password_of(secret: &asm_runtime::Secret) -> String {
    let key = secret.json_key("password");
    key.expect("a password key").expose_secret().to_owned()
}

/// Asserts that no part of the canary is in `shown` (`what` says whose output it is).
#[track_caller]
fn assert_clean(what: &str, shown: &str) {
    for window in CANARY.as_bytes().windows(8) {
        let fragment = std::str::from_utf8(window).unwrap_or_default();
        assert!(
            !shown.contains(fragment),
            "{what} shows part of the value ({fragment}): {shown}"
        );
    }
}

/// Asserts that neither `Display` nor `Debug` of `err` shows any part of the canary.
#[track_caller]
fn assert_error_clean(err: &Error) {
    assert_clean("an error", &format!("{err} {err:?}"));
}

/// Reads by name: the value, its name, stage and version; the second read is a hit without a
/// call; `Debug` of the secret and the cache shows no value.
async fn read_by_name<F: Fixture>(f: &F) {
    let name = "conf/read-by-name";
    f.put(name, &login("name")).await;
    let cache = f.cache(Settings::default());
    let secret = cache.get(name).await.expect("read by name");
    assert_eq!(secret.name(), name);
    assert!(secret.version_stages().any(|s| s == Version::CURRENT_STAGE));
    assert!(!secret.version_id().is_empty(), "a version id");
    assert_eq!(
        secret.string().expect("text").expose_secret(),
        &login("name")
    );
    let again = cache.get(name).await.expect("hit");
    assert_eq!(again.version_id(), secret.version_id());
    let stats = cache.stats();
    assert_eq!(
        (stats.misses, stats.hits, stats.get_secret_value_calls),
        (1, 1, 1),
        "{stats:?}"
    );
    assert_clean(
        "Debug of a secret and the cache",
        &format!("{secret:?} {cache:?}"),
    );
}

/// Reads by ARN: the same secret, its ARN and name.
async fn read_by_arn<F: Fixture>(f: &F) {
    let name = "conf/read-by-arn";
    f.put(name, &login("arn")).await;
    let arn = f.arn(name).await;
    let cache = f.cache(Settings::default());
    let secret = cache.get(&arn).await.expect("read by ARN");
    assert_eq!((secret.arn(), secret.name()), (arn.as_str(), name));
    assert_eq!(password_of(&secret), password("arn"));
}

/// A read by name learns the secret's ARN: the secret reports it, `known_arn` gives it, and a
/// read by that ARN is a hit.
async fn arn_of_a_name_read<F: Fixture>(f: &F) {
    let name = "conf/arn-of-a-name-read";
    f.put(name, &login("known")).await;
    let arn = f.arn(name).await;
    let cache = f.cache(Settings::default());
    let secret = cache.get(name).await.expect("read by name");
    assert_eq!(secret.arn(), arn);
    assert_eq!(cache.known_arn(name).as_deref(), Some(arn.as_str()));
    cache.get(&arn).await.expect("by ARN");
    let stats = cache.stats();
    assert_eq!(
        (stats.get_secret_value_calls, stats.hits),
        (1, 1),
        "one entry, by name and ARN: {stats:?}"
    );
}

/// `json_key`: strings as they are, numbers and booleans as their JSON text; a missing key is
/// `MissingKey` naming it; an object is `WrongType`.
async fn json_keys<F: Fixture>(f: &F) {
    let name = "conf/json-keys";
    let value = format!(
        r#"{{"password":"{CANARY}","port":5432,"ratio":0.25,"tls":true,"nested":{{"k":"{CANARY}"}}}}"#
    );
    f.put(name, &value).await;
    let cache = f.cache(Settings::default());
    let secret = cache.get(name).await.expect("read");
    let key = |k: &str| secret.json_key(k).map(|v| v.expose_secret().to_owned());
    assert_eq!(key("password").expect("string"), CANARY);
    assert_eq!(key("port").expect("number"), "5432");
    assert_eq!(key("ratio").expect("float"), "0.25");
    assert_eq!(key("tls").expect("boolean"), "true");
    let missing = key("user").expect_err("no such key");
    assert!(
        matches!(&missing, Error::MissingKey { key, field: None, .. } if key == "user"),
        "{missing:?}"
    );
    assert!(missing.to_string().contains("`user`"), "{missing}");
    let object = key("nested").expect_err("an object is not a scalar");
    assert!(
        matches!(&object, Error::WrongType { key: Some(k), found: "object", .. } if k == "nested"),
        "{object:?}"
    );
    for err in [&missing, &object] {
        assert!(!err.is_transient(), "{err:?}");
        assert_error_clean(err);
    }
}

/// A text secret that is not JSON: its text is there; a key of it is `NotJson`.
async fn not_json<F: Fixture>(f: &F) {
    let name = "conf/not-json";
    let value = format!("plain {CANARY} text");
    f.put(name, &value).await;
    let cache = f.cache(Settings::default());
    let secret = cache.get(name).await.expect("read");
    assert_eq!(secret.string().expect("text").expose_secret(), &value);
    assert_eq!(secret.value().kind(), "SecretString");
    let err = secret.json_key("password").expect_err("not JSON");
    assert!(
        matches!(&err, Error::NotJson { secret_id } if secret_id == name),
        "{err:?}"
    );
    assert_error_clean(&err);
}

#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "conf/derived-struct")]
struct Login {
    username: SecretString,
    password: SecretString,
    #[aws_secrets(public)]
    port: u16,
    /// Absent from the secret: `None`.
    replica: Option<SecretString>,
}

/// A derived struct loads key by key: secrets, a public number, an absent optional key.
async fn derived_struct<F: Fixture>(f: &F) {
    f.put("conf/derived-struct", &login("derived")).await;
    let cache = f.cache(Settings::default());
    let db = Login::load(&cache).await.expect("loaded");
    assert_eq!(db.username.expose_secret(), "app");
    assert_eq!(db.password.expose_secret(), password("derived"));
    assert_eq!(db.port, 5432);
    assert!(db.replica.is_none());
    assert_clean("Debug of a derived struct", &format!("{db:?}"));
}

#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "conf/derived-missing-key")]
struct WithToken {
    #[allow(dead_code, reason = "never loaded: its key is missing")]
    password: SecretString,
    #[allow(dead_code, reason = "never loaded: its key is missing")]
    #[aws_secrets(key = "api_token")]
    token: SecretString,
}

/// A derived struct whose key is missing: `MissingKey` naming the key and the field, not the
/// value.
async fn derived_missing_key<F: Fixture>(f: &F) {
    f.put("conf/derived-missing-key", &login("missing-key"))
        .await;
    let cache = f.cache(Settings::default());
    let err = WithToken::load(&cache).await.expect_err("no api_token key");
    assert!(
        matches!(
            &err,
            Error::MissingKey { secret_id, key, field: Some(field) }
                if secret_id == "conf/derived-missing-key" && key == "api_token"
                    && field == "WithToken.token"
        ),
        "{err:?}"
    );
    let shown = err.to_string();
    assert!(
        shown.contains("`api_token`") && shown.contains("`WithToken.token`"),
        "{shown}"
    );
    assert!(!err.is_transient());
    assert_error_clean(&err);
}

/// The bytes of the binary secret: not UTF-8, the canary inside.
fn binary_value() -> Vec<u8> {
    let mut bytes = vec![0xff, 0x00, 0x9f];
    bytes.extend_from_slice(CANARY.as_bytes());
    bytes
}

#[derive(AwsSecrets, Debug)]
struct Key {
    #[aws_secrets(name = "conf/binary", binary)]
    key: SecretSlice<u8>,
}

/// A binary secret: its bytes through `binary()` and a derived `binary` field; asking it for
/// text or a key is `WrongType`.
async fn binary<F: Fixture>(f: &F) {
    f.put_binary("conf/binary", &binary_value()).await;
    let cache = f.cache(Settings::default());
    let secret = cache.get("conf/binary").await.expect("read");
    assert_eq!(secret.value().kind(), "SecretBinary");
    assert_eq!(
        secret.binary().expect("bytes").expose_secret(),
        binary_value().as_slice()
    );
    let text = secret.string().expect_err("not text");
    assert!(
        matches!(
            &text,
            Error::WrongType {
                expected: "SecretString",
                found: "SecretBinary",
                ..
            }
        ),
        "{text:?}"
    );
    let key = secret.json_key("k").expect_err("no keys in bytes");
    assert!(matches!(&key, Error::WrongType { .. }), "{key:?}");
    let loaded = Key::load(&cache).await.expect("derived binary field");
    assert_eq!(loaded.key.expose_secret(), binary_value().as_slice());
    for err in [&text, &key] {
        assert_error_clean(err);
    }
    assert_clean(
        "Debug of a binary secret",
        &format!("{secret:?} {loaded:?}"),
    );
}

/// Stores version 1, reads it, stores version 2; returns version 1's id.
async fn two_versions<F: Fixture>(f: &F, name: &str) -> String {
    f.put(name, &login("v1")).await;
    let first = f.cache(Settings::default());
    let v1 = first.get(name).await.expect("version 1");
    assert_eq!(password_of(&v1), password("v1"));
    f.put(name, &login("v2")).await;
    // A node agent may serve version 1 for its own TTL.
    sleep(f.extra_staleness()).await;
    v1.version_id().to_owned()
}

/// After a rotation, `AWSPREVIOUS` is the old version (its id and value), `AWSCURRENT` the
/// new.
async fn previous_stage<F: Fixture>(f: &F) {
    let name = "conf/previous-stage";
    let v1 = two_versions(f, name).await;
    let cache = f.cache(Settings::default());
    let current = cache.get(name).await.expect("current");
    assert_eq!(password_of(&current), password("v2"));
    assert_ne!(current.version_id(), v1);
    let previous = Version::stage("AWSPREVIOUS");
    let previous = cache.get_version(name, &previous).await.expect("previous");
    assert_eq!(password_of(&previous), password("v1"));
    assert_eq!(previous.version_id(), v1);
    assert!(previous.version_stages().any(|s| s == "AWSPREVIOUS"));
}

/// An older version read by its id: its value, its id.
async fn older_version_by_id<F: Fixture>(f: &F) {
    let name = "conf/older-version-by-id";
    let v1 = two_versions(f, name).await;
    let cache = f.cache(Settings::default());
    let old = cache
        .get_version(name, &Version::id(v1.as_str()))
        .await
        .expect("version 1 by id");
    assert_eq!(
        (old.version_id(), password_of(&old)),
        (v1.as_str(), password("v1"))
    );
    let current = cache.get(name).await.expect("current");
    assert_eq!(password_of(&current), password("v2"));
}

/// The current version read by its id: the same value and id as by stage.
async fn current_version_by_id<F: Fixture>(f: &F) {
    let name = "conf/current-version-by-id";
    f.put(name, &login("current")).await;
    let cache = f.cache(Settings::default());
    let current = cache.get(name).await.expect("current");
    let id = Version::id(current.version_id());
    let by_id = cache.get_version(name, &id).await.expect("by id");
    assert_eq!(by_id.version_id(), current.version_id());
    assert_eq!(password_of(&by_id), password("current"));
}

/// A secret that does not exist: the source's typed "not found", persistent, naming the id.
async fn missing_secret<F: Fixture>(f: &F) {
    let name = "conf/missing-secret";
    let cache = f.cache(Settings::default());
    let err = cache.get(name).await.expect_err("no such secret");
    assert!(F::is_not_found(&err, name), "{err:?}");
    assert!(!err.is_transient(), "{err:?}");
    assert_eq!(err.secret_id(), Some(name));
    assert_error_clean(&err);
}

/// An existing secret without the stage or version id asked for: the source's typed "no such
/// version", persistent.
async fn missing_version<F: Fixture>(f: &F) {
    let name = "conf/missing-version";
    f.put(name, &login("version")).await;
    let cache = f.cache(Settings::default());
    cache.get(name).await.expect("the secret exists");
    for version in [
        Version::stage("NOSUCHSTAGE"),
        Version::id("00000000-0000-4000-8000-000000000000"),
    ] {
        let err = cache.get_version(name, &version).await.expect_err("absent");
        assert!(
            F::is_version_not_found(&err, name, &version),
            "{version}: {err:?}"
        );
        assert!(!err.is_transient(), "{err:?}");
        assert_error_clean(&err);
    }
}

/// A missing secret read five times: one call, four answers from memory, the same error.
async fn remembered_failure<F: Fixture>(f: &F) {
    let name = "conf/remembered-failure";
    let cache = f.cache(Settings::default());
    let first = cache.get(name).await.expect_err("no such secret");
    for _ in 0..4 {
        let again = cache.get(name).await.expect_err("remembered");
        assert_eq!(again.to_string(), first.to_string());
    }
    let stats = cache.stats();
    assert_eq!(
        (
            stats.get_secret_value_calls + stats.batch_get_secret_value_calls,
            stats.failures_remembered,
            stats.persistent_failures,
        ),
        (1, 4, 1),
        "{stats:?}"
    );
}

/// A rotation is served from memory within the TTL and adopted after it (plus the source's
/// own staleness): one rotation counted.
async fn rotation_after_ttl<F: Fixture>(f: &F) {
    let name = "conf/rotation-after-ttl";
    let ttl = Duration::from_secs(1);
    f.put(name, &login("v1")).await;
    let cache = f.cache(Settings {
        ttl,
        ..Settings::default()
    });
    // Version 1 is fetched after this instant: no refresh of it is due before `ttl` from here.
    let loading = Instant::now();
    let v1 = cache.get(name).await.expect("version 1");
    f.put(name, &login("v2")).await;
    let rotated = Instant::now();
    let held = cache.get(name).await.expect("within the TTL");
    assert_eq!(held.version_id(), v1.version_id(), "served from memory");
    let bound = ttl + f.extra_staleness() + Duration::from_secs(3);
    loop {
        let secret = cache.get(name).await.expect("read");
        if password_of(&secret) == password("v2") {
            assert_ne!(secret.version_id(), v1.version_id());
            break;
        }
        assert!(rotated.elapsed() < bound, "not adopted within {bound:?}");
        sleep(Duration::from_millis(50)).await;
    }
    assert!(loading.elapsed() >= ttl, "adopted before the TTL");
    assert_eq!(cache.stats().rotations, 1, "{:?}", cache.stats());
}

#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "conf/live-handle-wakes")]
struct LiveLogin {
    password: SecretString,
}

/// A live handle wakes `changed()` on a rotation, within the TTL plus the source's own
/// staleness, with the new value.
async fn live_handle_wakes<F: Fixture>(f: &F) {
    let name = "conf/live-handle-wakes";
    let ttl = Duration::from_secs(1);
    f.put(name, &login("v1")).await;
    let cache = f.cache(Settings {
        ttl,
        ..Settings::default()
    });
    let mut live = LiveLogin::watch(&cache).await.expect("watch");
    assert_eq!(live.current().password.expose_secret(), password("v1"));
    f.put(name, &login("v2")).await;
    let bound = ttl + f.extra_staleness() + Duration::from_secs(3);
    let next = timeout(bound, live.changed())
        .await
        .unwrap_or_else(|_| panic!("changed() did not wake within {bound:?}"))
        .expect("the refresh task runs");
    assert_eq!(next.password.expose_secret(), password("v2"));
    assert_eq!(live.current().password.expose_secret(), password("v2"));
    assert!(live.last_error().is_none(), "{:?}", live.last_error());
}

/// `refresh_now` reads a rotation at once, with a TTL of ten minutes (and through a node
/// agent's cache); later reads see it.
async fn refresh_now<F: Fixture>(f: &F) {
    let name = "conf/refresh-now";
    f.put(name, &login("v1")).await;
    let cache = f.cache(Settings::default());
    let v1 = cache.get(name).await.expect("version 1");
    f.put(name, &login("v2")).await;
    let held = cache.get(name).await.expect("hit");
    assert_eq!(held.version_id(), v1.version_id(), "within the TTL");
    let started = Instant::now();
    let fresh = cache.refresh_now(name).await.expect("re-read");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(password_of(&fresh), password("v2"));
    assert_ne!(fresh.version_id(), v1.version_id());
    let after = cache.get(name).await.expect("read");
    assert_eq!(after.version_id(), fresh.version_id());
    assert_eq!(cache.stats().rotations, 1, "{:?}", cache.stats());
}

/// `invalidate` drops a value (the next read calls the source and sees a rotation) and a
/// remembered failure (a secret created since is read at once).
async fn invalidate<F: Fixture>(f: &F) {
    let name = "conf/invalidate";
    f.put(name, &login("v1")).await;
    let cache = f.cache(Settings::default());
    cache.get(name).await.expect("version 1");
    f.put(name, &login("v2")).await;
    sleep(f.extra_staleness()).await;
    cache.invalidate(name);
    let fresh = cache.get(name).await.expect("read again");
    assert_eq!(password_of(&fresh), password("v2"));
    assert_eq!(
        cache.stats().get_secret_value_calls,
        2,
        "{:?}",
        cache.stats()
    );

    let later = "conf/invalidate-later";
    let err = cache.get(later).await.expect_err("not there yet");
    assert!(F::is_not_found(&err, later), "{err:?}");
    f.put(later, &login("later")).await;
    cache
        .get(later)
        .await
        .expect_err("the failure is remembered");
    cache.invalidate(later);
    let found = cache.get(later).await.expect("read after invalidate");
    assert_eq!(password_of(&found), password("later"));
}

/// A source that never answers: the read fails with the cache's timeout, transient, at the
/// call deadline (not before, not long after).
async fn deadline<F: Fixture>(f: &F) {
    let name = "conf/deadline";
    let call_timeout = Duration::from_secs(1);
    let settings = Settings {
        call_timeout,
        ..Settings::default()
    };
    let hanging = f
        .hanging(name, settings)
        .await
        .expect("a fixture that cannot hang skips `deadline` in `cannot`");
    let started = Instant::now();
    let err = hanging.cache.get(name).await.expect_err("no answer");
    let took = started.elapsed();
    assert!(
        matches!(&err, Error::Transport { kind: TransportKind::Timeout, secret_id, .. } if secret_id == name),
        "{err:?}"
    );
    assert!(err.is_transient(), "{err:?}");
    let margin = Duration::from_millis(1_500);
    assert!(
        took >= call_timeout.mul_f64(0.9) && took <= call_timeout + margin,
        "answered after {took:?}, the call deadline is {call_timeout:?}"
    );
    assert_error_clean(&err);
}

/// Sixteen concurrent first reads of one secret share one call.
async fn single_flight<F: Fixture>(f: &F) {
    let name = "conf/single-flight";
    f.put(name, &login("flight")).await;
    let cache = f.cache(Settings::default());
    let readers = 16;
    let mut reads = JoinSet::new();
    for _ in 0..readers {
        let cache = SecretCache::clone(&cache);
        reads.spawn(async move { cache.get(name).await.map(|s| s.version_id().to_owned()) });
    }
    let mut versions = Vec::new();
    while let Some(read) = reads.join_next().await {
        versions.push(read.expect("reader ran").expect("read"));
    }
    assert_eq!(versions.len(), readers);
    assert!(versions.iter().all(|v| *v == versions[0]), "{versions:?}");
    let stats = cache.stats();
    assert_eq!(
        stats.get_secret_value_calls + stats.batch_get_secret_value_calls,
        1,
        "{readers} concurrent first reads: {stats:?}"
    );
    assert_eq!(stats.misses + stats.hits, 16, "{stats:?}");
}

/// A value over 64 KiB is refused with `TooLarge` (its size, never its content); exactly
/// 64 KiB is read.
async fn too_large<F: Fixture>(f: &F) {
    let limit = 64 * 1024;
    let mut big = CANARY.repeat(limit / CANARY.len() + 1);
    big.truncate(limit + 1);
    f.put("conf/too-large", &big).await;
    f.put("conf/too-large-exact", &big[..limit]).await;
    let cache = f.cache(Settings::default());
    let err = cache.get("conf/too-large").await.expect_err("over 64 KiB");
    assert!(
        matches!(&err, Error::TooLarge { bytes, secret_id } if *bytes == limit + 1 && secret_id == "conf/too-large"),
        "{err:?}"
    );
    assert!(!err.is_transient(), "{err:?}");
    assert_error_clean(&err);
    let exact = cache
        .get("conf/too-large-exact")
        .await
        .expect("64 KiB exactly");
    assert_eq!(exact.string().expect("text").expose_secret().len(), limit);
}

#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "conf/errors-carry-no-value")]
struct Mistyped {
    /// Holds the canary, a string: not a `u16`.
    #[allow(dead_code, reason = "never loaded: its value has the wrong type")]
    #[aws_secrets(public, key = "password")]
    port: u16,
}

#[derive(AwsSecrets, Debug)]
struct WholeAsJson {
    /// The whole secret is text, not JSON: no key can be read.
    #[allow(dead_code, reason = "never loaded: the secret is not JSON")]
    #[aws_secrets(name = "conf/errors-carry-no-value-text", key = "password")]
    password: SecretString,
}

/// Every error a value can cause (a key of the wrong type, of text that is not JSON, a
/// missing key, a derived field of the wrong type, a missing version) carries no part of it,
/// in `Display` or `Debug`; nor does `Debug` of the cache, its secrets or a live handle.
async fn errors_carry_no_value<F: Fixture>(f: &F) {
    let name = "conf/errors-carry-no-value";
    let text = "conf/errors-carry-no-value-text";
    f.put(
        name,
        &format!(r#"{{"password":"{CANARY}","deep":["{CANARY}"]}}"#),
    )
    .await;
    f.put(text, &format!("{CANARY} {CANARY}")).await;
    let cache = f.cache(Settings::default());
    let secret = cache.get(name).await.expect("read");
    let mut errors = vec![
        secret.json_key("deep").expect_err("an array"),
        secret.json_key("absent").expect_err("no such key"),
        Mistyped::load(&cache)
            .await
            .expect_err("a string is no u16"),
        WholeAsJson::load(&cache).await.expect_err("not JSON"),
        cache
            .get_version(name, &Version::stage("NOSUCHSTAGE"))
            .await
            .expect_err("no such stage"),
    ];
    errors.push(
        cache
            .get(text)
            .await
            .expect("text")
            .json_key("k")
            .expect_err("not JSON"),
    );
    assert!(
        matches!(&errors[2], Error::WrongType { field: Some(field), .. } if field == "Mistyped.port"),
        "{:?}",
        errors[2]
    );
    for err in &errors {
        assert_error_clean(err);
    }
    assert_clean(
        "Debug of the cache and a secret",
        &format!("{cache:?} {secret:?}"),
    );
}

/// Stores a parameter, or fails the scenario: only a source that stores them runs it.
async fn put_parameter<F: Fixture>(f: &F, name: &str, value: &str) {
    assert!(
        f.put_parameter(name, value).await,
        "{} stores no parameters",
        F::SOURCE
    );
}

/// The text of `secret`.
fn text_of(secret: &asm_runtime::Secret) -> String {
    secret.string().expect("text").expose_secret().to_owned()
}

/// A parameter read by name, then by its ARN (the same entry, one call); a new version adopted
/// after the TTL as a rotation; the older version by its number.
async fn parameter_read<F: Fixture>(f: &F) {
    let (name, id) = ("/conf/parameter-read", "ssm:/conf/parameter-read");
    put_parameter(f, name, &password("p1")).await;
    let ttl = Duration::from_secs(1);
    let cache = f.cache(Settings {
        ttl,
        ..Settings::default()
    });
    let first = cache.get(id).await.expect("the parameter");
    assert_eq!(text_of(&first), password("p1"));
    assert_eq!((first.name(), first.version_id()), (name, "1"));
    assert!(
        first.arn().ends_with(":parameter/conf/parameter-read"),
        "{}",
        first.arn()
    );
    let by_arn = cache.get(first.arn()).await.expect("by ARN");
    assert!(std::sync::Arc::ptr_eq(&first, &by_arn), "one entry");
    let stats = cache.stats();
    assert_eq!(
        (stats.get_parameter_calls, stats.get_secret_value_calls),
        (1, 0)
    );
    put_parameter(f, name, &password("p2")).await;
    let rotated = Instant::now();
    let bound = ttl + f.extra_staleness() + Duration::from_secs(3);
    while text_of(&cache.get(id).await.expect("read")) != password("p2") {
        assert!(rotated.elapsed() < bound, "not adopted within {bound:?}");
        sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(cache.get(id).await.expect("read").version_id(), "2");
    assert_eq!(cache.stats().rotations, 1, "{:?}", cache.stats());
    let older = cache
        .get_version(id, &Version::id("1"))
        .await
        .expect("version 1");
    assert_eq!(text_of(&older), password("p1"));
}

/// No such parameter, no such version of one: typed, persistent, naming the id; the missing
/// parameter read again is answered from memory.
async fn parameter_missing<F: Fixture>(f: &F) {
    let id = "ssm:/conf/parameter-missing";
    let cache = f.cache(Settings::default());
    for _ in 0..2 {
        let err = cache.get(id).await.expect_err("no such parameter");
        assert!(F::is_not_found(&err, id), "{err:?}");
        assert!(!err.is_transient(), "{err:?}");
        assert_error_clean(&err);
    }
    assert_eq!(cache.stats().get_parameter_calls, 1, "{:?}", cache.stats());
    let (name, id) = ("/conf/parameter-versions", "ssm:/conf/parameter-versions");
    put_parameter(f, name, &password("v1")).await;
    let version = Version::id("9");
    let err = cache
        .get_version(id, &version)
        .await
        .expect_err("no version 9");
    assert!(F::is_version_not_found(&err, id, &version), "{err:?}");
    assert_error_clean(&err);
}

/// `/aws/reference/secretsmanager/NAME`: a secret read through Parameter Store, its version the
/// secret's (Parameter Store answers version 0 for every read of a reference), so a new secret
/// version is a rotation that wakes live handles.
async fn parameter_reference<F: Fixture>(f: &F) {
    f.put("conf/parameter-reference", &login("ref")).await;
    let ttl = Duration::from_secs(1);
    let cache = f.cache(Settings {
        ttl,
        ..Settings::default()
    });
    let id = "ssm:/aws/reference/secretsmanager/conf/parameter-reference";
    let secret = cache.get(id).await.expect("the referenced secret");
    assert_eq!(password_of(&secret), password("ref"));
    assert_ne!(
        secret.version_id(),
        "0",
        "the secret's version, not the reference's"
    );
    let mut live = ReferencedLogin::watch(&cache).await.expect("watch");
    f.put("conf/parameter-reference", &login("ref2")).await;
    let bound = ttl + f.extra_staleness() + Duration::from_secs(3);
    let next = timeout(bound, live.changed())
        .await
        .unwrap_or_else(|_| panic!("changed() did not wake within {bound:?}"))
        .expect("the refresh task runs");
    assert_eq!(next.password.expose_secret(), password("ref2"));
    let rotated = cache.get(id).await.expect("read");
    assert_ne!(rotated.version_id(), secret.version_id());
    assert_eq!(cache.stats().rotations, 1, "{:?}", cache.stats());
}

#[derive(AwsSecrets, Debug)]
#[aws_secrets(parameter = "/aws/reference/secretsmanager/conf/parameter-reference")]
struct ReferencedLogin {
    password: SecretString,
}
