//! Secrets mounted as files (`FileSource`) in a directory written exactly as the Secrets Store
//! CSI driver writes it (`..data` → `..2026_11_26_…` generation, per-file links, rotation by a
//! new generation and an atomic rename of `..data`), read by the same structs and live handles
//! as the API.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use asm_runtime::{
    AwsSecrets, Error, ExposeSecret, FileSource, MountProblem, SecretCache, SecretSlice,
    SecretString, Version,
};
use asm_testkit::DriverDir;
use tokio::time::{Instant, timeout};

const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/api-AbCdEf";

#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "prod/db")]
struct Db {
    username: SecretString,
    password: SecretString,
    #[aws_secrets(public)]
    port: u16,
}

#[derive(AwsSecrets, Debug)]
struct App {
    #[aws_secrets(nested)]
    db: Db,
    #[aws_secrets(arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/api-AbCdEf")]
    api_key: SecretString,
    #[aws_secrets(name = "prod/tls", binary)]
    tls_key: SecretSlice<u8>,
}

fn db_json(n: u32) -> Vec<u8> {
    format!(r#"{{"username":"user-{n}","password":"pass-{n}","port":5432}}"#).into_bytes()
}

/// Generation `n` of the mount: every secret carries `n`.
fn generation(n: u32) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("prod_db", db_json(n)),
        ("prod_api", format!("key-{n}").into_bytes()),
        (
            "prod_tls",
            vec![0xff, 0x00, u8::try_from(n % 256).unwrap_or(0)],
        ),
    ]
}

fn files<'a>(generation: &'a [(&'static str, Vec<u8>)]) -> Vec<(&'static str, &'a [u8])> {
    generation.iter().map(|(n, c)| (*n, c.as_slice())).collect()
}

fn mount(n: u32) -> DriverDir {
    DriverDir::new(&files(&generation(n))).expect("temporary mount")
}

fn cache(source: FileSource) -> SecretCache {
    SecretCache::builder(source)
        .ttl(Duration::from_secs(3600))
        .build()
        .expect("valid settings")
}

/// Events only: polling too slow to matter.
fn events_only(dir: &DriverDir) -> FileSource {
    FileSource::new(dir.path()).poll_interval(Duration::from_secs(3600))
}

/// Asserts `err` is the mount problem `problem`.
fn assert_mount(err: &Error, problem: MountProblem) {
    assert!(
        matches!(err, Error::Mount { problem: p, .. } if *p == problem),
        "{err:?}"
    );
}

/// Asserts every field of `app` carries generation `n`.
fn assert_generation(app: &App, n: u32) {
    assert_eq!(app.db.username.expose_secret(), format!("user-{n}"));
    assert_eq!(app.db.password.expose_secret(), format!("pass-{n}"));
    assert_eq!(app.api_key.expose_secret(), format!("key-{n}"));
    assert_eq!(
        app.tls_key.expose_secret()[2],
        u8::try_from(n % 256).unwrap_or(0)
    );
}

#[tokio::test]
async fn a_struct_loads_from_the_drivers_layout() {
    let dir = mount(1);
    let cache = cache(FileSource::new(dir.path()));
    let app = App::load(&cache).await.expect("loaded");
    assert_generation(&app, 1);
    assert_eq!(app.db.port, 5432);
    let db = cache.get("prod/db").await.expect("read");
    assert_eq!(db.version_id(), dir.generation().expect("..data"));
    assert!(db.version_id().starts_with("..20"), "{}", db.version_id());
    let api = cache.get(ARN).await.expect("read");
    assert_eq!((api.name(), api.arn()), ("prod/api", ARN));
    // Three secrets, one generation: the load read them in one batch.
    let stats = cache.stats();
    assert_eq!(stats.batch_get_secret_value_calls, 1, "{stats:?}");
    assert_eq!(stats.describe_secret_calls, 0, "{stats:?}");
}

#[tokio::test]
async fn split_key_files_read_as_one_json_object() {
    let dir = DriverDir::new(&[
        ("prod_db.username", b"app"),
        ("prod_db.password", b"s3cret 007"),
        ("prod_db.port", b"5432"),
    ])
    .expect("mount");
    let cache = cache(FileSource::new(dir.path()));
    let db = Db::load(&cache).await.expect("loaded from the split files");
    assert_eq!(db.username.expose_secret(), "app");
    assert_eq!(db.password.expose_secret(), "s3cret 007");
    assert_eq!(db.port, 5432);
}

#[tokio::test]
async fn text_that_is_not_json_and_bytes_that_are_not_utf8() {
    let dir = DriverDir::new(&[
        ("plain", b"just text"),
        ("raw", &[0xde, 0xad, 0xbe, 0xef]),
        ("pem", b"-----BEGIN KEY-----"),
    ])
    .expect("mount");
    let cache = cache(FileSource::new(dir.path()).binary("pem"));
    let plain = cache.get("plain").await.expect("read");
    assert_eq!(plain.string().expect("text").expose_secret(), "just text");
    assert!(matches!(plain.json_key("k"), Err(Error::NotJson { .. })));
    let raw = cache.get("raw").await.expect("read");
    assert_eq!(
        raw.binary().expect("bytes").expose_secret(),
        &[0xde, 0xad, 0xbe, 0xef]
    );
    let pem = cache.get("pem").await.expect("read");
    assert_eq!(
        pem.value().kind(),
        "SecretBinary",
        "named binary by the builder"
    );
}

#[tokio::test]
async fn safety_limits_give_typed_errors() {
    let outside = DriverDir::new(&[("elsewhere", b"not in the mount")]).expect("mount");
    let big = vec![b'x'; 64 * 1024 + 1];
    let dir = DriverDir::new(&[("big", &big), ("exact", &big[1..])]).expect("mount");
    dir.plant_link("escape", &outside.path().join("elsewhere"))
        .expect("link");
    let cache = cache(FileSource::new(dir.path()).alias("dots", "..data"));
    let err = cache.get("escape").await.expect_err("outside the mount");
    assert_mount(&err, MountProblem::OutsideMount);
    let err = cache.get("big").await.expect_err("over 64 KiB");
    assert!(
        matches!(err, Error::TooLarge { bytes: 65_537, .. }),
        "{err:?}"
    );
    cache.get("exact").await.expect("64 KiB exactly is allowed");
    let err = cache.get("dots").await.expect_err("the writer's own names");
    assert_mount(&err, MountProblem::OutsideMount);
    let err = cache.get("absent").await.expect_err("no such file");
    assert_mount(&err, MountProblem::Missing);
    let err = cache
        .get_version("exact", &Version::stage("AWSPREVIOUS"))
        .await
        .expect_err("only the current version is mounted");
    assert_mount(&err, MountProblem::OtherVersion);
    let missing = SecretCache::new(FileSource::new(dir.path().join("nope")));
    let err = missing.get("any").await.expect_err("no mount");
    assert_mount(&err, MountProblem::Missing);
}

/// Rotates to generation 2 and returns how long `changed()` took to wake.
async fn adoption_time(dir: &mut DriverDir, source: FileSource) -> Duration {
    let cache = cache(source);
    let mut live = App::watch(&cache).await.expect("watching");
    assert_generation(&live.current(), 1);
    let swapped = Instant::now();
    dir.rotate(&files(&generation(2))).expect("rotated");
    let app = timeout(Duration::from_secs(10), live.changed())
        .await
        .expect("adopted within 10 s")
        .expect("task running");
    let took = swapped.elapsed();
    assert_generation(&app, 2);
    assert_eq!(cache.stats().rotations, 3, "each secret changed once");
    took
}

#[derive(AwsSecrets, Debug)]
struct Orders {
    #[aws_secrets(name = "prod/db", key = "password")]
    password: SecretString,
    #[aws_secrets(parameter = "/prod/orders/db-host", public)]
    host: String,
    #[aws_secrets(parameter = "flags", public)]
    flags: String,
}

/// Parameters mounted by ASCP (`objectType: ssmparameter`): `/prod/orders/db-host` in
/// `_prod_orders_db-host` (the leading `/` translated too), a flat name as is, read by one
/// struct with a secret; a swap rotates the parameter and wakes the live handle; its ARN reads
/// the same file; another version than the mounted one is `OtherVersion`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parameters_are_read_from_their_mounted_files() {
    let layout = |n: u32| {
        vec![
            ("prod_db", db_json(n)),
            (
                "_prod_orders_db-host",
                format!("db-{n}.internal").into_bytes(),
            ),
            ("flags", b"blue,green".to_vec()),
        ]
    };
    let mut dir = DriverDir::new(&files(&layout(1))).expect("temporary mount");
    let source = events_only(&dir);
    assert_eq!(
        source.file_name("ssm:/prod/orders/db-host"),
        "_prod_orders_db-host"
    );
    let cache = cache(source);
    let mut live = Orders::watch(&cache).await.expect("loaded from the files");
    assert_eq!(
        (live.current().host.as_str(), live.current().flags.as_str()),
        ("db-1.internal", "blue,green")
    );
    dir.rotate(&files(&layout(2))).expect("swapped");
    let next = timeout(Duration::from_secs(5), live.changed())
        .await
        .expect("the swap wakes the handle")
        .expect("the refresh task runs");
    assert_eq!(next.host, "db-2.internal");
    assert_eq!(next.password.expose_secret(), "pass-2");
    let arn = "arn:aws:ssm:us-east-1:123456789012:parameter/prod/orders/db-host";
    let by_arn = cache.get(arn).await.expect("the same file, by ARN");
    let text = by_arn.string().expect("text");
    assert_eq!(
        (text.expose_secret(), by_arn.name()),
        ("db-2.internal", "/prod/orders/db-host")
    );
    let id = "ssm:/prod/orders/db-host";
    let err = (cache.get_version(id, &Version::id("3")).await).expect_err("only the latest");
    assert_mount(&err, MountProblem::OtherVersion);
    assert!(cache.stats().get_parameter_calls > 0, "{:?}", cache.stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_swap_wakes_changed_through_directory_events() {
    let mut dir = mount(1);
    let source = events_only(&dir);
    let took = adoption_time(&mut dir, source).await;
    println!("events: swap to changed() in {took:?}");
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_follows_a_swap_without_events() {
    let mut dir = mount(1);
    let poll = Duration::from_millis(200);
    let source = FileSource::new(dir.path())
        .events(false)
        .poll_interval(poll);
    let took = adoption_time(&mut dir, source).await;
    println!("polling every {poll:?}: swap to changed() in {took:?}");
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_rotation_keeps_the_last_good_snapshot() {
    let mut dir = mount(1);
    let cache = cache(events_only(&dir));
    let mut live = App::watch(&cache).await.expect("watching");
    let wait_for_error = async |live: &asm_runtime::Live<App>| {
        for _ in 0..200 {
            if let Some(err) = live.last_error() {
                return err;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no error reported");
    };
    // A generation missing a file (the swap raced its writer).
    let mut torn = generation(2);
    torn.retain(|(name, _)| *name != "prod_api");
    dir.rotate(&files(&torn)).expect("torn rotation");
    let err = wait_for_error(&live).await;
    assert_mount(&err, MountProblem::Missing);
    assert_generation(&live.current(), 1);
    // A half-written JSON file.
    let mut half = generation(3);
    half[0].1.truncate(20);
    dir.rotate(&files(&half)).expect("half-written rotation");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let err = wait_for_error(&live).await;
    assert!(matches!(err, Error::NotJson { .. }), "{err:?}");
    assert_generation(&live.current(), 1);
    // The next whole generation is adopted, and the error cleared.
    dir.rotate(&files(&generation(4))).expect("rotation");
    let app = timeout(Duration::from_secs(10), live.changed())
        .await
        .expect("adopted")
        .expect("running");
    assert_generation(&app, 4);
    // The task records the round's outcome just after publishing the snapshot.
    for _ in 0..100 {
        if live.last_error().is_none() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("error not cleared: {:?}", live.last_error());
}

/// Holds the measure "reads of `current()` during 1,000 swaps never see a torn or mixed
/// snapshot": a reader thread checks every snapshot while the driver swaps 1,000 times.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn current_never_mixes_two_generations_over_1000_swaps() {
    let mut dir = mount(0);
    let source = FileSource::new(dir.path()).poll_interval(Duration::from_millis(50));
    let cache = cache(source);
    let live = App::watch(&cache).await.expect("watching");
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (live, done) = (live.clone(), Arc::clone(&done));
        std::thread::spawn(move || {
            let (mut reads, mut seen) = (0u64, std::collections::BTreeSet::new());
            while !done.load(Ordering::Relaxed) {
                let app = live.current();
                let n: u32 = app.db.username.expose_secret()[5..].parse().expect("n");
                assert_generation(&app, n);
                seen.insert(n);
                reads += 1;
            }
            (reads, seen.len())
        })
    };
    let swaps = 1_000;
    for n in 1..=swaps {
        dir.rotate(&files(&generation(n))).expect("rotated");
        if n % 50 == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let last = async {
        while live.current().db.username.expose_secret() != format!("user-{swaps}") {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    timeout(Duration::from_secs(10), last)
        .await
        .expect("the last generation adopted");
    done.store(true, Ordering::Relaxed);
    let (reads, distinct) = reader.join().expect("no mixed snapshot");
    println!("{swaps} swaps: {reads} reads of current(), {distinct} generations seen, none mixed");
    assert!(distinct > 1, "the reader saw rotations");
}

#[tokio::test(start_paused = true)]
async fn refresh_now_rereads_and_staleness_counts_from_the_last_good_read() {
    let mut dir = mount(1);
    let cache = SecretCache::builder(events_only(&dir))
        .ttl(Duration::from_secs(60))
        .max_staleness(Duration::from_secs(120))
        .build()
        .expect("settings");
    let first = cache.get("prod/db").await.expect("read");
    dir.rotate(&files(&generation(2))).expect("rotated");
    let cached = cache.get("prod/db").await.expect("hit");
    assert_eq!(cached.version_id(), first.version_id(), "within the TTL");
    let reread = cache.refresh_now("prod/db").await.expect("re-read");
    assert_eq!(
        reread.json_key("password").expect("key").expose_secret(),
        "pass-2"
    );
    assert_eq!(cache.stats().rotations, 1);
    // The file disappears: the last good value is served until max_staleness after its read.
    dir.rotate(&files(&generation(3)[1..])).expect("torn");
    tokio::time::advance(Duration::from_secs(61)).await;
    let served = cache
        .get("prod/db")
        .await
        .expect("stale but within max_staleness");
    assert_eq!(served.version_id(), reread.version_id());
    tokio::time::sleep(Duration::from_secs(1)).await;
    tokio::time::advance(Duration::from_secs(60)).await;
    let err = cache.get("prod/db").await.expect_err("past max_staleness");
    let Error::Stale {
        last_failure, age, ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert!(age >= Duration::from_secs(120), "{age:?}");
    assert_mount(&last_failure, MountProblem::Missing);
}

/// `ASM_SECRETS_DIR` selects the file source in `SecretCache::from_env` (checked in a child
/// process, which this test starts with the variable set).
#[test]
fn from_env_reads_the_directory_named_by_asm_secrets_dir() {
    let dir = mount(7);
    let out = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--ignored",
            "--exact",
            "mounted::from_env_child",
            "--nocapture",
        ])
        .env(FileSource::ENV_DIR, dir.path())
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .output()
        .expect("child ran");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("1 passed"), "{stdout}");
}

#[tokio::test]
#[ignore = "run by from_env_reads_the_directory_named_by_asm_secrets_dir, with ASM_SECRETS_DIR set"]
async fn from_env_child() {
    assert!(
        std::env::var_os(FileSource::ENV_DIR).is_some(),
        "run by its parent test"
    );
    let cache = SecretCache::from_env()
        .await
        .expect("no region needed for files");
    assert!(cache.client().is_none());
    let db = Db::load(&cache).await.expect("loaded from the mount");
    assert_eq!(db.password.expose_secret(), "pass-7");
}

#[derive(AwsSecrets, Debug)]
struct ApiOnly {
    #[allow(dead_code, reason = "the test prints the policy only")]
    #[aws_secrets(arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/api-AbCdEf")]
    api_key: SecretString,
}

/// The CSI driver's role needs what the API source needs: `iam_policy` over a file-source
/// cache prints `GetSecretValue` and `DescribeSecret` on the exact ARN.
#[test]
fn iam_policy_prints_what_the_drivers_role_needs() {
    let dir = mount(1);
    let cache = SecretCache::new(FileSource::new(dir.path()));
    let policy = ApiOnly::iam_policy(&cache).expect("an ARN needs no region");
    assert_eq!(policy.resources(), [ARN]);
    let json = policy.to_json();
    for action in [
        "secretsmanager:GetSecretValue",
        "secretsmanager:DescribeSecret",
    ] {
        assert!(json.contains(action), "{json}");
    }
}

/// A swap that leaves a struct's own files as they were keeps their version ids, and does not
/// wake its handle: version ids name the generation a file's contents first appeared in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_swap_that_changes_other_files_does_not_wake_the_handle() {
    let mut dir = mount(1);
    let cache = cache(events_only(&dir));
    let mut live = Db::watch(&cache).await.expect("watching");
    let before = cache
        .get("prod/db")
        .await
        .expect("read")
        .version_id()
        .to_owned();
    let mut next = generation(1);
    next[1].1 = b"key-2".to_vec();
    dir.rotate(&files(&next)).expect("rotated another file");
    let api = async {
        loop {
            let api = cache.refresh_now(ARN).await.expect("re-read");
            if api.string().expect("text").expose_secret() == "key-2" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    timeout(Duration::from_secs(5), api)
        .await
        .expect("the other file's rotation is seen");
    assert!(
        timeout(Duration::from_millis(300), live.changed())
            .await
            .is_err(),
        "woken by another secret's rotation"
    );
    let after = cache.refresh_now("prod/db").await.expect("re-read");
    assert_eq!(after.version_id(), before, "same contents, same version");
}

/// A plain directory (no `..data`: a hostPath, a Docker secret) is versioned by inode and
/// modification time, and polling notices a file replaced in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_directory_is_followed_by_polling() {
    let dir = std::env::temp_dir().join(format!("asm-plain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let write = |n: u32| {
        std::fs::write(dir.join("prod_db.tmp"), db_json(n)).expect("write");
        std::fs::rename(dir.join("prod_db.tmp"), dir.join("prod_db")).expect("rename");
    };
    write(1);
    let source = FileSource::new(&dir)
        .events(false)
        .poll_interval(Duration::from_millis(100));
    let cache = cache(source);
    let mut live = Db::watch(&cache).await.expect("watching");
    let first = cache
        .get("prod/db")
        .await
        .expect("read")
        .version_id()
        .to_owned();
    assert!(!first.is_empty() && !first.starts_with(".."), "{first}");
    write(2);
    let db = timeout(Duration::from_secs(5), live.changed())
        .await
        .expect("noticed by polling")
        .expect("running");
    assert_eq!(db.password.expose_secret(), "pass-2");
    let _ = std::fs::remove_dir_all(&dir);
}
