//! Canary runs over every error of the file source: each mounted file holds the canary, and
//! every error it can give (missing file, link outside the mount, not a file, too large, split
//! key file not UTF-8, other version, and the mapping errors of a struct read from a file; the
//! same for a mounted parameter) is
//! checked clean on every surface, with every log line captured at TRACE; a torn rotation under
//! a live handle too.

use std::time::Duration;

use asm_runtime::{
    AwsSecrets, Error, FileSource, MountProblem, SecretCache, SecretString, Vars, Version,
};
use asm_testkit::DriverDir;

use super::check;
use crate::support::{CANARY, Capture, assert_clean};

#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "prod/db")]
struct Db {
    #[allow(dead_code, reason = "read by the loader only")]
    password: SecretString,
}

#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "prod/db")]
struct PortOnly {
    #[allow(dead_code, reason = "read by the loader only")]
    #[aws_secrets(public)]
    password: u16,
}

#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "prod/db")]
struct MissingKey {
    #[allow(dead_code, reason = "read by the loader only")]
    api_key: SecretString,
}

#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "text")]
struct FromText {
    #[allow(dead_code, reason = "read by the loader only")]
    #[aws_secrets(key = "password")]
    password: SecretString,
}

#[derive(AwsSecrets, Debug)]
struct ParameterPort {
    #[allow(dead_code, reason = "read by the loader only")]
    #[aws_secrets(parameter = "/prod/port", public)]
    port: u16,
}

fn mount_err(problem: MountProblem) -> impl Fn(&Error) -> bool {
    move |e| matches!(e, Error::Mount { problem: p, .. } if *p == problem)
}

fn db_json() -> String {
    format!(r#"{{"password":"{CANARY}"}}"#)
}

#[tokio::test]
async fn leak_file_source_errors() {
    let (capture, _guard) = Capture::start();
    let outside = DriverDir::new(&[("elsewhere", CANARY.as_bytes())]).expect("mount");
    let big = CANARY.repeat(64 * 1024 / CANARY.len() + 1);
    let not_utf8 = [CANARY.as_bytes(), &[0xff, 0xfe]].concat();
    let json = db_json();
    let dir = DriverDir::new(&[
        ("prod_db", json.as_bytes()),
        ("text", CANARY.as_bytes()),
        ("big", big.as_bytes()),
        ("split.password", &not_utf8),
        ("_prod_port", CANARY.as_bytes()),
    ])
    .expect("mount");
    dir.plant_link("escape", &outside.path().join("elsewhere"))
        .expect("link");
    std::fs::create_dir(
        dir.path()
            .join(dir.generation().expect("..data"))
            .join("adir"),
    )
    .expect("a directory");
    let cache = SecretCache::new(FileSource::new(dir.path()));
    let get = async |id: &str| cache.get(id).await.expect_err(id);
    check(
        "missing file",
        &get("absent").await,
        mount_err(MountProblem::Missing),
    );
    check(
        "link outside",
        &get("escape").await,
        mount_err(MountProblem::OutsideMount),
    );
    check(
        "not a file",
        &get("adir").await,
        mount_err(MountProblem::NotAFile),
    );
    check("too large", &get("big").await, |e| {
        matches!(e, Error::TooLarge { .. })
    });
    check(
        "split not UTF-8",
        &get("split").await,
        mount_err(MountProblem::Unreadable),
    );
    let other = cache
        .get_version("prod/db", &Version::stage("AWSPREVIOUS"))
        .await;
    check(
        "other version",
        &other.expect_err("not mounted"),
        mount_err(MountProblem::OtherVersion),
    );
    let err = FromText::load_with(&cache, Vars::new())
        .await
        .expect_err("not JSON");
    check("not JSON", &err, |e| matches!(e, Error::NotJson { .. }));
    let err = PortOnly::load_with(&cache, Vars::new())
        .await
        .expect_err("wrong type");
    check("wrong type", &err, |e| matches!(e, Error::WrongType { .. }));
    let err = MissingKey::load_with(&cache, Vars::new())
        .await
        .expect_err("missing key");
    check("missing key", &err, |e| {
        matches!(e, Error::MissingKey { .. })
    });
    // Parameters mounted as ASCP's `objectType: ssmparameter` (`_prod_port` holds the canary).
    let err = ParameterPort::load_with(&cache, Vars::new())
        .await
        .expect_err("wrong type");
    check("parameter wrong type", &err, |e| {
        matches!(e, Error::WrongType { .. })
    });
    check(
        "parameter missing",
        &get("ssm:/prod/absent").await,
        mount_err(MountProblem::Missing),
    );
    let version = cache.get_version("ssm:/prod/port", &Version::id("2")).await;
    check(
        "parameter other version",
        &version.expect_err("not mounted"),
        mount_err(MountProblem::OtherVersion),
    );
    let bad = cache.get_version("ssm:/prod/port", &Version::id("x")).await;
    check("parameter bad version", &bad.expect_err("refused"), |e| {
        matches!(e, Error::Config { .. })
    });
    let db = cache.get("prod/db").await.expect("readable");
    assert_clean("secret Debug", &format!("{db:?} {db:#?}"));
    assert_clean("cache Debug", &format!("{cache:?}"));
    capture.assert_all_clean("file source errors");
}

#[tokio::test]
async fn leak_file_source_torn_rotation_under_a_live_handle() {
    let (capture, _guard) = Capture::start();
    let json = db_json();
    let mut dir = DriverDir::new(&[("prod_db", json.as_bytes())]).expect("mount");
    let cache = SecretCache::new(FileSource::new(dir.path()));
    let live = Db::watch_with(&cache, Vars::new()).await.expect("watching");
    let half = &json.as_bytes()[..json.len() - 3];
    dir.rotate(&[("prod_db", half)])
        .expect("half-written rotation");
    let mut reported = None;
    for _ in 0..300 {
        reported = live.last_error();
        if reported.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let err = reported.expect("the torn rotation is reported");
    check("torn rotation", &err, |e| {
        matches!(e, Error::NotJson { .. })
    });
    assert_clean("live Debug", &format!("{live:?}"));
    capture.assert_all_clean("torn rotation");
}
