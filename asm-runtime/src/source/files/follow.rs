//! Following a mounted directory: its events where the platform has them (a swap of `..data`
//! shows as a rename in the directory, not as a change of the files read through it), and
//! polling for file systems without events.

use std::fmt;
use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::thread;
use std::time::Duration;

use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::watch;

use super::{DATA_LINK, Stamp};

/// Keeps the directory followed; dropping it stops the events, and the polling thread within
/// one interval.
pub(super) struct Following {
    _events: Option<RecommendedWatcher>,
}

impl fmt::Debug for Following {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Following")
            .field("events", &self._events.is_some())
            .finish()
    }
}

/// Bumps `signal` whenever `dir` changes, as its events (when `events`) or polling every
/// `poll` notice.
pub(super) fn follow(
    dir: &Path,
    events: bool,
    poll: Duration,
    signal: &Arc<watch::Sender<u64>>,
) -> Following {
    let watcher = if events {
        watch_events(dir, signal)
    } else {
        None
    };
    let (dir, weak) = (dir.to_owned(), Arc::downgrade(signal));
    // Taken now, before any read: a swap after it is noticed however late the thread starts.
    let first = fingerprint(&dir);
    let polling = thread::Builder::new()
        .name("asm-files-poll".into())
        .spawn(move || poll_until_dropped(&dir, poll, first, &weak));
    if let Err(err) = polling {
        tracing::warn!(error = %err, "could not start polling the secrets directory");
    }
    Following { _events: watcher }
}

/// Follows nothing: a [`Files`](super::Files) read once (the fuzz targets' reader).
#[cfg(fuzzing)]
pub(super) fn nothing() -> Following {
    Following { _events: None }
}

fn bump(signal: &watch::Sender<u64>) {
    signal.send_modify(|n| *n = n.wrapping_add(1));
}

/// The directory's events, or `None` (logged) where the platform refuses them (no inotify
/// watches left, a file system without events).
fn watch_events(dir: &Path, signal: &Arc<watch::Sender<u64>>) -> Option<RecommendedWatcher> {
    let signal = Arc::clone(signal);
    let watcher = notify::recommended_watcher(move |event: notify::Result<Event>| {
        if event.is_ok_and(|e| relevant(&e)) {
            bump(&signal);
        }
    })
    .and_then(|mut watcher| {
        watcher.watch(dir, RecursiveMode::NonRecursive)?;
        Ok(watcher)
    });
    match watcher {
        Ok(watcher) => Some(watcher),
        Err(err) => {
            tracing::warn!(
                dir = %dir.display(),
                error = %err,
                "no events for the secrets directory; following it by polling only"
            );
            None
        }
    }
}

/// A change of `..data` or of a plain file; not the writer's own `..2026_…` directories and
/// `..data_tmp` link, which come and go around each swap.
fn relevant(event: &Event) -> bool {
    !matches!(event.kind, EventKind::Access(_))
        && event.paths.iter().any(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name == DATA_LINK || !name.starts_with(".."))
        })
}

fn poll_until_dropped(dir: &Path, every: Duration, first: u64, signal: &Weak<watch::Sender<u64>>) {
    let mut last = first;
    loop {
        thread::sleep(every);
        let Some(signal) = signal.upgrade() else {
            return;
        };
        let now = fingerprint(dir);
        if now != last {
            last = now;
            bump(&signal);
        }
    }
}

/// What polling compares: the `..data` target, or else every entry's name, inode, size and
/// modification time.
fn fingerprint(dir: &Path) -> u64 {
    let mut hasher = DefaultHasher::new();
    if let Ok(target) = fs::read_link(dir.join(DATA_LINK)) {
        target.hash(&mut hasher);
        return hasher.finish();
    }
    let mut entries: Vec<(PathBuf, Stamp)> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let stamp = fs::metadata(&path).map(|m| Stamp::of(&m)).ok()?;
            Some((path, stamp))
        })
        .collect();
    entries.sort();
    entries.hash(&mut hasher);
    hasher.finish()
}
