//! [`LiveReader`]: one thread's or task's reader of a [`Live`] handle, for the hottest loops.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use arc_swap::{ArcSwap, Cache};

use super::{Live, Published, Snapshot, Task};

/// Reads a [`Live`] handle's latest snapshot from one thread or task: the cheapest read there
/// is, for a loop that reads on every iteration (a worker, a connection's message loop).
///
/// The reader keeps the snapshot it last read; [`read`](Self::read) only compares it with the
/// published one (a load of a pointer that readers never write) and takes the new one after a
/// rotation. It touches no reference count and no lock, so readers on any number of cores
/// share no written cache line. It needs `&mut self`: one reader per thread or task; a value
/// shared by many tasks is read with [`Live::read`].
///
/// A reader holds the snapshot it last read until its next read or until it is dropped: a
/// reader left idle keeps a rotated-out value in memory. Like a [`Live`] handle, it keeps the
/// refresh task running; after [`Live::shutdown`] it reads the last snapshot for ever.
///
/// # Examples
/// ```no_run
/// # use asm_runtime::{AwsSecrets, SecretCache, SecretString};
/// use asm_runtime::SecretEq;
/// # #[derive(AwsSecrets)]
/// # struct Api { #[aws_secrets(name = "prod/api", key = "key")] key: SecretString }
/// # async fn f(cache: SecretCache, messages: Vec<String>) -> Result<(), asm_runtime::Error> {
/// let live = Api::watch(&cache).await?;
/// let mut reader = live.reader();
/// tokio::spawn(async move {
///     for message in messages {
///         let authorised = reader.read().key.secret_eq(&message);
/// #       let _ = authorised;
///     }
/// });
/// # Ok(()) }
/// ```
pub struct LiveReader<T> {
    snapshot: Cache<Snapshots<T>, Arc<Snapshot<T>>>,
    _task: Arc<Task>,
}

/// A handle's published snapshots, as the `ArcSwap` a [`Cache`] follows.
struct Snapshots<T>(Arc<Published<T>>);

impl<T> Deref for Snapshots<T> {
    type Target = ArcSwap<Snapshot<T>>;

    fn deref(&self) -> &Self::Target {
        &self.0.snapshot
    }
}

impl<T> Live<T> {
    /// A reader of this handle's snapshots for one thread or task; see [`LiveReader`].
    pub fn reader(&self) -> LiveReader<T> {
        LiveReader {
            snapshot: Cache::new(Snapshots(Arc::clone(&self.published))),
            _task: Arc::clone(&self.task),
        }
    }
}

impl<T> LiveReader<T> {
    /// The latest snapshot, borrowed from this reader until its next read.
    #[inline]
    pub fn read(&mut self) -> &T {
        &self.snapshot.load().value
    }
}

impl<T> fmt::Debug for LiveReader<T> {
    /// No value: reading one needs `&mut self`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LiveReader").finish_non_exhaustive()
    }
}
