//! The mounted-file reader over a directory built from the input (files, links, directories,
//! a `..data` link, ids, aliases): no read reaches outside the mount (a file there holds a
//! canary that no secret may hold); a secret read once reads again at its version id, with the
//! same value, and a batch's read from one generation gives that value too; no error shows a
//! file's contents (every file inside holds another canary).
#![no_main]

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use arbitrary::Arbitrary;
use asm_runtime::__fuzz::read_mount;
use asm_runtime::{ExposeSecret, FileSource, Secret, SecretValue};
use libfuzzer_sys::fuzz_target;

const OUTSIDE: &str = "OUTSIDE-CANARY-5e1f";
const INSIDE: &str = "INSIDE-CANARY-a93c";

#[derive(Debug, Arbitrary)]
enum Kind<'a> {
    File(&'a [u8]),
    /// A file of this many KiB of one byte (past the 64 KiB limit from 65).
    Large(u8, u8),
    Link(&'a str),
    /// A link to the file outside the mount, or to the directory holding it.
    LinkOutside(bool),
    Dir,
}

#[derive(Debug, Arbitrary)]
enum Id<'a> {
    /// The name of the n-th entry.
    Entry(u8),
    /// An ARN naming the n-th entry, with or without a suffix.
    Arn(u8, bool),
    Raw(&'a str),
}

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    entries: Vec<(&'a str, Kind<'a>)>,
    /// `..data`: the generation's directory name, or any link target.
    data: Option<(&'a str, bool)>,
    ids: Vec<Id<'a>>,
    aliases: Vec<(&'a str, &'a str)>,
    binary: Vec<&'a str>,
    translation: Option<char>,
}

static RUN: AtomicU64 = AtomicU64::new(0);

fuzz_target!(|input: Input<'_>| {
    let base = std::env::temp_dir().join(format!("asm-fuzz-{}", std::process::id()));
    let root = base.join(RUN.fetch_add(1, Ordering::Relaxed).to_string());
    let (mount, outside) = (root.join("mount"), root.join("outside"));
    fs::create_dir_all(&mount).expect("mount");
    fs::create_dir_all(&outside).expect("outside");
    fs::write(outside.join("secret"), OUTSIDE).expect("outside file");
    let names = build(&input, &mount, &outside);
    let ids: Vec<String> = input.ids.iter().map(|id| id_of(id, &names)).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut source = FileSource::new(&mount);
    for (id, file) in &input.aliases {
        source = source.alias(*id, *file);
    }
    for id in &input.binary {
        source = source.binary(*id);
    }
    if let Some(c) = input.translation {
        source = source.path_translation(c);
    }
    for [alone, again, batch] in read_mount(source, &ids) {
        let alone = alone.expect("always read");
        for read in [
            &alone,
            again.as_ref().unwrap_or(&alone),
            batch.as_ref().expect("read"),
        ] {
            match read {
                Ok(secret) => assert!(
                    !value(secret)
                        .windows(OUTSIDE.len())
                        .any(|w| w == OUTSIDE.as_bytes())
                ),
                Err(err) => {
                    let shown = format!("{err} {err:?} {err:#?}");
                    assert!(
                        !shown.contains(INSIDE) && !shown.contains(OUTSIDE),
                        "{shown}"
                    );
                }
            }
        }
        if let Ok(first) = &alone {
            let again = again
                .expect("read again")
                .expect("the same version reads again");
            assert_eq!(again.version_id(), first.version_id());
            assert!(
                value(&again) == value(first),
                "the same value at the same version"
            );
            if let Some(Ok(batch)) = &batch {
                assert!(value(batch) == value(first), "a batch reads the same value");
            }
        }
    }
    let _ = fs::remove_dir_all(&root);
});

/// Writes the entries; returns the names written (files, links, directories).
fn build<'a>(input: &Input<'a>, mount: &Path, outside: &Path) -> Vec<&'a str> {
    let generation = match input.data {
        Some((target, true)) if usable(target) => {
            let _ = fs::create_dir(mount.join(target));
            let _ = symlink(target, mount.join("..data"));
            Some(target)
        }
        Some((target, _)) => {
            let _ = symlink(target, mount.join("..data"));
            None
        }
        None => None,
    };
    let dir = generation.map_or_else(|| mount.to_owned(), |g| mount.join(g));
    let mut names = Vec::new();
    for (name, kind) in input.entries.iter().take(16) {
        if !usable(name) {
            continue;
        }
        let path = dir.join(name);
        let made = match kind {
            Kind::File(bytes) => fs::write(&path, [bytes, INSIDE.as_bytes()].concat()),
            Kind::Large(byte, kib) => {
                let mut bytes = vec![*byte; usize::from(*kib) * 1024];
                bytes.extend_from_slice(INSIDE.as_bytes());
                fs::write(&path, bytes)
            }
            Kind::Link(target) if !target.contains('\0') => symlink(target, &path),
            Kind::Link(_) => continue,
            Kind::LinkOutside(to_file) => {
                let target: PathBuf = if *to_file {
                    outside.join("secret")
                } else {
                    outside.to_owned()
                };
                symlink(target, &path)
            }
            Kind::Dir => fs::create_dir(&path),
        };
        if made.is_ok() {
            // As the driver lays a generation out: a link per file through `..data`.
            if generation.is_some() {
                let _ = symlink(Path::new("..data").join(name), mount.join(name));
            }
            names.push(*name);
        }
    }
    names
}

/// A name that is one path component of its own.
fn usable(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 100
        && !matches!(name, "." | ".." | "..data")
        && !name.contains(['/', '\0'])
        && !name.contains("CANARY")
}

fn id_of(id: &Id<'_>, names: &[&str]) -> String {
    let entry = |n: &u8| {
        names
            .get(usize::from(*n) % names.len().max(1))
            .copied()
            .unwrap_or("db")
    };
    match id {
        Id::Entry(n) => entry(n).to_owned(),
        Id::Arn(n, suffix) => {
            let tail = if *suffix { "-AbCdEf" } else { "" };
            format!(
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:{}{tail}",
                entry(n)
            )
        }
        Id::Raw(raw) => (*raw).to_owned(),
    }
}

fn value(secret: &Secret) -> &[u8] {
    match secret.value() {
        SecretValue::String(text) => text.expose_secret().as_bytes(),
        SecretValue::Binary(bytes) => bytes.expose_secret(),
    }
}
