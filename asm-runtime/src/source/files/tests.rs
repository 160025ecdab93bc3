use secrecy::ExposeSecret;

use super::*;

#[test]
fn ids_map_to_file_names_as_the_driver_names_files() {
    let source = FileSource::new("/mnt").alias("prod/stripe", "stripe-key");
    assert_eq!(source.file_name("prod/db"), "prod_db");
    assert_eq!(
        source.file_name("arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf"),
        "prod_db"
    );
    assert_eq!(
        source.file_name("arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db"),
        "prod_db",
        "an ARN without the suffix keeps its whole name"
    );
    assert_eq!(source.file_name("prod/stripe"), "stripe-key");
    assert_eq!(source.path_translation('-').file_name("a/b/c"), "a-b-c");
}

#[test]
fn only_plain_integers_become_numbers() {
    for yes in ["0", "5432", "-17", "123456789012345678"] {
        assert!(is_integer(yes), "{yes}");
    }
    for no in [
        "",
        "-",
        "007",
        "1e5",
        "1.0",
        "+1",
        " 1",
        "1234567890123456789",
        "hunter2",
    ] {
        assert!(!is_integer(no), "{no}");
    }
}

/// A mount directory in the driver's layout (`..data` → a generation directory, one link per
/// file through `..data`), removed when dropped. Unlike the driver, a swap keeps the old
/// generation, as a reader that pinned it may still see it.
struct Mount(PathBuf);

impl Mount {
    fn new(test: &str) -> Self {
        let root = std::env::temp_dir().join(format!("asm-files-{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&root).expect("temporary directory");
        Self(root)
    }

    /// Writes `files` as the generation `name` and swaps `..data` to it (an atomic rename).
    fn swap_to(&self, name: &str, files: &[(&str, &[u8])]) {
        let generation = self.0.join(name);
        fs::create_dir(&generation).expect("generation directory");
        for (file, contents) in files {
            fs::write(generation.join(file), contents).expect("file");
            let link = self.0.join(file);
            if fs::symlink_metadata(&link).is_err() {
                std::os::unix::fs::symlink(Path::new(DATA_LINK).join(file), link).expect("link");
            }
        }
        let tmp = self.0.join("..data_tmp");
        std::os::unix::fs::symlink(name, &tmp).expect("..data_tmp");
        fs::rename(&tmp, self.0.join(DATA_LINK)).expect("swap");
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The source a cache would hold over `config`, polling too rarely to matter here.
fn files(config: FileSource) -> Files {
    let signal = Arc::new(watch::Sender::new(0));
    let following = follow::follow(&config.dir, false, Duration::from_secs(3600), &signal);
    Files {
        config,
        seen: Mutex::default(),
        digests: RandomState::new(),
        signal,
        _following: following,
    }
}

#[test]
fn split_key_files_are_read_from_the_pinned_generation() {
    let mount = Mount::new("pinned");
    mount.swap_to(
        "..2026_11_26_10_00_00.000000001",
        &[
            ("prod_db.username", b"user-1"),
            ("prod_db.password", b"pass-1"),
        ],
    );
    let files = files(FileSource::new(&mount.0));
    let pinned = files.generation("prod/db").expect("..data");
    // The driver rotates between the pin and the read.
    mount.swap_to(
        "..2026_11_26_10_00_01.000000002",
        &[
            ("prod_db.username", b"user-2"),
            ("prod_db.password", b"pass-2"),
        ],
    );
    let secret = files
        .read(&pinned, "prod/db", &Version::current())
        .expect("read from the pinned generation");
    for (key, wanted) in [("username", "user-1"), ("password", "pass-1")] {
        let value = secret.json_key(key).expect("split key");
        assert_eq!(value.expose_secret(), wanted, "{key}");
    }
    assert_eq!(secret.version_id(), "..2026_11_26_10_00_00.000000001");
}

#[test]
fn a_zero_poll_interval_is_raised_to_the_floor() {
    for asked in [
        Duration::ZERO,
        Duration::from_millis(1),
        Duration::from_millis(99),
    ] {
        let source = FileSource::new("/mnt").poll_interval(asked);
        assert_eq!(
            source.poll_interval,
            FileSource::MIN_POLL_INTERVAL,
            "{asked:?}"
        );
    }
    let source = FileSource::new("/mnt").poll_interval(Duration::from_millis(250));
    assert_eq!(source.poll_interval, Duration::from_millis(250));
    assert_eq!(
        FileSource::new("/mnt").poll_interval,
        FileSource::DEFAULT_POLL_INTERVAL
    );
}

#[test]
fn a_file_over_64_kib_is_too_large_with_its_size_the_limit_and_what_to_check() {
    const CANARY: &str = "Zx9!canary#Qw4";
    let big = CANARY.repeat(200 * 1024 / CANARY.len());
    let split_part = CANARY.repeat(40 * 1024 / CANARY.len());
    let mount = Mount::new("too-large");
    mount.swap_to(
        "..2026_11_26_10_00_00.000000001",
        &[
            ("big", big.as_bytes()),
            ("split.a", split_part.as_bytes()),
            ("split.b", split_part.as_bytes()),
        ],
    );
    let files = files(FileSource::new(&mount.0));
    let err = files
        .get_now("big", &Version::current())
        .expect_err("over 64 KiB");
    assert!(
        matches!(&err, Error::TooLarge { secret_id, bytes } if secret_id == "big" && *bytes == big.len()),
        "{err:?}"
    );
    let shown = err.to_string();
    for said in [
        &format!("{} bytes", big.len()),
        "64 KiB",
        "FileSource::file_name",
        "objectAlias",
    ] {
        assert!(shown.contains(said), "says {said}: {shown}");
    }
    // Split key files over the limit together: the same error.
    let split = files
        .get_now("split", &Version::current())
        .expect_err("over 64 KiB together");
    assert!(
        matches!(&split, Error::TooLarge { bytes, .. } if *bytes > MAX_SECRET_BYTES),
        "{split:?}"
    );
    for err in [&err, &split] {
        for text in [err.to_string(), format!("{err:?}"), format!("{err:#?}")] {
            assert!(!text.contains("canary"), "no contents: {text}");
        }
    }
}
