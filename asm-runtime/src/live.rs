//! [`Live`]: a derived struct kept fresh by a background task, rebuilt whole on rotation.

use std::fmt;
use std::future::pending;
use std::marker::PhantomData;
use std::ops::Deref;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use arc_swap::{ArcSwap, ArcSwapOption, Guard};
use futures_util::future::join_all;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};

use crate::cache::{Entry, Health, LiveHealth, LiveState, Loaded, SecretHealth, Watched};
use crate::plan::{Fetched, Plan, Request};
use crate::{Error, Secret, SecretCache, TransportKind};

/// Builds the struct from its fetched secrets (the derive's `AwsSecrets::__assemble`).
pub(crate) type Assemble<T> = fn(&Fetched<'_>) -> Result<T, Error>;

mod reader;

pub use reader::LiveReader;

/// A settings struct that stays current: a background task renews its secrets before they
/// expire and rebuilds the struct when any of them rotates.
///
/// - [`read`](Self::read) borrows the latest snapshot: lock-free, never waits on the network,
///   and writes no memory another thread reads, so reads of one handle scale with cores.
///   [`current`](Self::current) returns it as an owned `Arc`.
/// - Every snapshot is consistent: all fields are built together from one version of each
///   secret, the version its stage (usually `AWSCURRENT`) points at when it was refreshed.
/// - [`changed`](Self::changed) wakes when a rotated secret has been adopted.
/// - Refresh failures keep the last good snapshot and are readable from
///   [`last_error`](Self::last_error); past `max_staleness`, [`try_current`](Self::try_current)
///   says so.
/// - Dropping the last clone of the handle and the last [`LiveReader`], or
///   [`shutdown`](Self::shutdown), stops the task: no refresh starts afterwards (one already
///   sent completes).
///
/// Built by [`AwsSecrets::watch`](crate::AwsSecrets::watch).
///
/// # Examples
/// ```no_run
/// # use asm_runtime::{AwsSecrets, ExposeSecret, SecretCache, SecretString};
/// # #[derive(AwsSecrets)]
/// # struct Db { #[aws_secrets(name = "prod/db", key = "password")] password: SecretString }
/// # async fn f(cache: SecretCache) -> Result<(), asm_runtime::Error> {
/// let mut live = Db::watch(&cache).await?;
/// let db = live.current(); // Arc<Db>
/// # let _ = db.password.expose_secret();
/// while let Some(db) = live.changed().await {
///     // rebuild the connection pool with db.password
/// #   let _ = db;
/// }
/// # Ok(()) }
/// ```
pub struct Live<T> {
    published: Arc<Published<T>>,
    changes: watch::Receiver<u64>,
    task: Arc<Task>,
    /// The cache and the struct's requests, for [`refresh_now`](Self::refresh_now).
    cache: SecretCache,
    requests: Arc<[Request]>,
}

/// What the task publishes and handles read.
struct Published<T> {
    snapshot: ArcSwap<Snapshot<T>>,
    last_error: ArcSwapOption<Error>,
}

/// One consistent build of the struct, and the secrets it was built from.
struct Snapshot<T> {
    value: Arc<T>,
    /// The secret behind each planned request, in plan order.
    secrets: Vec<Arc<Secret>>,
    /// How old the snapshot's least recently confirmed secret is (none for a struct that
    /// reads no secret).
    freshness: Option<Freshness>,
}

impl<T: Send + Sync + 'static> Watched for Published<T> {
    fn health(&self, now: Instant) -> LiveHealth {
        let snapshot = self.snapshot.load();
        let last_error = self.last_error.load_full().map(|e| (*e).clone());
        let state = match (snapshot.freshness.as_ref()).filter(|f| now >= f.stale_at) {
            Some(stale) => LiveState::Stale {
                error: stale.stale(now, last_error),
            },
            None => match last_error {
                Some(last_error) => LiveState::Behind { last_error },
                None => LiveState::Current,
            },
        };
        LiveHealth {
            settings: std::any::type_name::<T>(),
            state,
        }
    }
}

/// The secret confirmed longest ago, when, and when that becomes too old to serve.
#[derive(Clone)]
struct Freshness {
    oldest: Arc<Entry>,
    confirmed: Instant,
    stale_at: Instant,
}

impl PartialEq for Freshness {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.oldest, &other.oldest)
            && self.confirmed == other.confirmed
            && self.stale_at == other.stale_at
    }
}

impl Freshness {
    /// [`Error::Stale`] for the oldest secret, with that secret's own last failure: its last
    /// refresh's, or else the struct's last one when that names it (a rotated value the struct
    /// could not be built from).
    fn stale(&self, now: Instant, struct_last: Option<Error>) -> Error {
        let secret_id = self.oldest.id.to_string();
        let state = self.oldest.state.load();
        let own = state.as_ref().and_then(|l| l.last_error.clone());
        let about_it = struct_last.filter(|e| e.secret_id() == Some(&*secret_id));
        let last_failure = own.or(about_it).unwrap_or_else(|| Error::Transport {
            secret_id: secret_id.clone(),
            kind: TransportKind::Other,
            detail: Some("no refresh has run (is the live task stopped?)".into()),
        });
        Error::Stale {
            secret_id,
            age: now - self.confirmed,
            last_failure: Box::new(last_failure),
        }
    }
}

/// The refresh task; aborted when the last handle or reader is dropped.
struct Task(JoinHandle<()>);

impl Drop for Task {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T: Send + Sync + 'static> Live<T> {
    /// Loads the struct once (failing fast like [`AwsSecrets::load`](crate::AwsSecrets::load)),
    /// then starts its task.
    pub(crate) async fn start(
        cache: SecretCache,
        plan: Arc<Plan>,
        assemble: Assemble<T>,
    ) -> Result<Self, Error> {
        let requests = plan.requests().to_vec();
        // Subscribed before loading, so a rotation adopted meanwhile is not missed.
        let rotations = cache.changes();
        let source_changes = cache.source_changes();
        cache.get_many(&requests).await?;
        let entries = cache.entries(&requests)?;
        let loaded = held_or_invalidated(&entries)?;
        let snapshot = build(assemble, &plan, &entries, &loaded)?;
        let published = Arc::new(Published {
            snapshot: ArcSwap::from_pointee(snapshot),
            last_error: ArcSwapOption::empty(),
        });
        let watched: Arc<dyn Watched> = Arc::clone(&published) as _;
        cache.register_handle(Arc::downgrade(&watched));
        let (tx, changes) = watch::channel(0);
        let refresher = Refresher {
            cache: cache.clone(),
            plan,
            assemble,
            requests: requests.clone(),
            published: Arc::clone(&published),
            changes: tx,
            rotations,
            source_changes,
        };
        Ok(Self {
            published,
            changes,
            task: Arc::new(Task(tokio::spawn(refresher.run()))),
            cache,
            requests: requests.into(),
        })
    }
}

impl<T> Live<T> {
    /// Borrows the latest snapshot: the read for a hot path (a value used per request).
    ///
    /// Lock-free, and it writes no shared memory: no reference count is touched, so threads
    /// reading one handle do not contend on a cache line. Hold the borrow briefly (for one
    /// request); a thread holding several at once pays a reference count for the extra ones,
    /// and a snapshot replaced meanwhile is freed only when its last borrow ends. To keep a
    /// snapshot, take [`current`](Self::current).
    ///
    /// # Examples
    /// ```no_run
    /// # use asm_runtime::{AwsSecrets, SecretCache, SecretString};
    /// use asm_runtime::SecretEq;
    /// # #[derive(AwsSecrets)]
    /// # struct Api { #[aws_secrets(name = "prod/api", key = "key")] key: SecretString }
    /// # async fn f(cache: SecretCache) -> Result<(), asm_runtime::Error> {
    /// let live = Api::watch(&cache).await?;
    /// // per request (a constant-time comparison: `==` would leak the key's prefix):
    /// let authorised = live.read().key.secret_eq("presented key");
    /// # let _ = authorised;
    /// # Ok(()) }
    /// ```
    pub fn read(&self) -> LiveRef<'_, T> {
        LiveRef {
            snapshot: self.published.snapshot.load(),
            live: PhantomData,
        }
    }

    /// The latest snapshot, as an owned `Arc` (one reference-count increment, a write to a
    /// cache line every reader of this handle shares; prefer [`read`](Self::read) per
    /// request). Lock-free; never waits.
    pub fn current(&self) -> Arc<T> {
        Arc::clone(&self.published.snapshot.load().value)
    }

    /// The latest snapshot, or [`Error::Stale`] when one of its secrets has not been confirmed
    /// by the service for longer than `max_staleness`.
    ///
    /// # Errors
    /// [`Error::Stale`] naming the secret confirmed longest ago, carrying that secret's own
    /// last refresh failure (not another secret's: see [`last_error`](Self::last_error) for
    /// the struct's most recent one).
    pub fn try_current(&self) -> Result<Arc<T>, Error> {
        let snapshot = self.published.snapshot.load();
        let now = Instant::now();
        match snapshot.freshness.as_ref().filter(|f| now >= f.stale_at) {
            Some(stale) => Err(stale.stale(now, self.last_error())),
            None => Ok(Arc::clone(&snapshot.value)),
        }
    }

    /// Waits for the next snapshot built from a rotated secret and returns it; `None` once the
    /// task has stopped. A snapshot published since this handle last looked is returned at once.
    pub async fn changed(&mut self) -> Option<Arc<T>> {
        self.changes.changed().await.ok()?;
        Some(self.current())
    }

    /// Whether the struct is being served from values whose refresh failed: per secret, the
    /// failure of its latest attempt, if that attempt failed (a refresh's, or a reload's after
    /// an invalidation), or the failure to rebuild the struct from a rotated secret (say, it
    /// lost a key); the most recent of those; `None` once every secret's latest attempt
    /// succeeded. Meanwhile the last good snapshot is served. When the source answers again
    /// after an outage, the secrets still backing off are tried at once, so this clears with
    /// the first round that finds the source back, not at each secret's backoff instant.
    pub fn last_error(&self) -> Option<Error> {
        self.published.last_error.load_full().map(|e| (*e).clone())
    }

    /// Re-reads every secret of the struct from the service now, e.g. after a database
    /// rejected the password of the current snapshot, whatever the secrets' ids (`${VAR}`
    /// placeholders are resolved already).
    ///
    /// Like [`SecretCache::refresh_now`], for each secret: coalesced with a fetch in flight,
    /// and within `refresh_now_interval` of the last forced refresh, its answer is reused. A
    /// rotation found is adopted by the cache, and the task publishes the rebuilt snapshot as
    /// for any rotation: [`changed`](Self::changed) wakes with it.
    ///
    /// # Errors
    /// The first secret's failure, typed; the last good snapshot is still served.
    pub async fn refresh_now(&self) -> Result<(), Error> {
        let entries = self.cache.entries(&self.requests)?;
        let results = join_all(entries.iter().map(|e| self.cache.refresh_entry_now(e))).await;
        results
            .into_iter()
            .find_map(Result::err)
            .map_or(Ok(()), Err)
    }

    /// Whether this handle can serve, for a readiness probe of what one settings struct
    /// needs: the state of each of its secrets in the cache (see
    /// [`SecretCache::health`](crate::SecretCache::health)) and of the handle itself:
    /// [`Current`](LiveState::Current), [`Behind`](LiveState::Behind) (its last round failed:
    /// it serves its last good snapshot) or [`Stale`](LiveState::Stale) (past
    /// `max_staleness`: [`try_current`](Self::try_current) fails). No call to the source.
    ///
    /// # Examples
    /// ```no_run
    /// # use asm_runtime::{AwsSecrets, SecretCache, SecretString};
    /// # #[derive(AwsSecrets)]
    /// # struct Db { #[aws_secrets(name = "prod/db", key = "password")] password: SecretString }
    /// # async fn f(cache: SecretCache) -> Result<(), asm_runtime::Error> {
    /// let live = Db::watch(&cache).await?;
    /// // GET /healthz
    /// let health = live.health();
    /// let status = if health.is_ready() { 200 } else { 503 };
    /// # let _ = status;
    /// # Ok(()) }
    /// ```
    pub fn health(&self) -> Health
    where
        T: Send + Sync + 'static,
    {
        let now = Instant::now();
        // The views of the struct's roles exist since `watch` loaded it: this cannot fail.
        let entries = self.cache.entries(&self.requests).unwrap_or_default();
        let mut secrets: Vec<SecretHealth> = (entries.iter())
            .map(|entry| SecretHealth::of(entry, now))
            .collect();
        secrets.sort_by(|a, b| a.secret_id.cmp(&b.secret_id));
        Health {
            secrets,
            live: vec![self.published.health(now)],
        }
    }

    /// Stops the task, for this handle, its clones and its readers, and waits until it has
    /// stopped. No refresh starts afterwards; one already under way (a version check, then the
    /// fetch of a new version) completes. [`current`](Self::current) and the readers keep
    /// returning the last snapshot.
    pub async fn shutdown(mut self) {
        self.task.0.abort();
        while self.changes.changed().await.is_ok() {}
    }
}

/// A borrowed snapshot of a [`Live`] handle, from [`Live::read`]; dereferences to `T`.
pub struct LiveRef<'a, T> {
    snapshot: Guard<Arc<Snapshot<T>>>,
    live: PhantomData<&'a Live<T>>,
}

impl<T> Deref for LiveRef<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.snapshot.value
    }
}

impl<T: fmt::Debug> fmt::Debug for LiveRef<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T> Clone for Live<T> {
    /// Another handle on the same task and snapshots; it has seen the current snapshot.
    fn clone(&self) -> Self {
        let mut changes = self.changes.clone();
        changes.mark_unchanged();
        Self {
            published: Arc::clone(&self.published),
            changes,
            task: Arc::clone(&self.task),
            cache: self.cache.clone(),
            requests: Arc::clone(&self.requests),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Live<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let snapshot = self.published.snapshot.load();
        f.debug_struct("Live")
            .field("current", &snapshot.value)
            .field("last_error", &self.last_error())
            .finish_non_exhaustive()
    }
}

/// The task's state: what to refresh and where to publish.
struct Refresher<T> {
    cache: SecretCache,
    plan: Arc<Plan>,
    assemble: Assemble<T>,
    requests: Vec<Request>,
    published: Arc<Published<T>>,
    changes: watch::Sender<u64>,
    rotations: watch::Receiver<u64>,
    /// The source's own signal (a mounted directory swapped): every round then re-reads all
    /// the struct's secrets together, so a snapshot is built from one read of the source.
    source_changes: Option<watch::Receiver<u64>>,
}

/// What a wake-up of the live task did.
enum Wake {
    /// Refreshed the due entries (all of them, for a source with its own change signal); the
    /// failures.
    Attempted(Vec<Error>),
    /// Made no call: inside the task's backoff, but every entry recovered meanwhile (a
    /// `refresh_now`, another reader's load), which ends the backoff.
    Recovered,
    /// Made no call: woken by another secret's change during the task's backoff.
    Skipped,
}

/// The task's own backoff, for entries still due after a round: an entry whose load failed
/// after an `invalidate` has no backoff instant of its own.
struct TaskBackoff {
    /// Rounds in a row that left an entry due.
    stuck: u32,
    /// No round before this instant.
    not_before: Instant,
}

impl TaskBackoff {
    fn reset(&mut self, now: Instant) {
        self.stuck = 0;
        self.not_before = now;
    }

    /// After a round: backs off while an entry is still due, resets otherwise.
    fn after_round(&mut self, cache: &SecretCache, entries: &[Arc<Entry>], now: Instant) {
        if entries.iter().any(|e| e.due_at(now) <= now) {
            self.stuck = self.stuck.saturating_add(1);
            self.not_before = now + cache.backoff(self.stuck);
        } else {
            self.reset(now);
        }
    }
}

impl<T: Send + Sync + 'static> Refresher<T> {
    /// The struct's entries, each in the principal it reads as. The views were all made by
    /// the first load and live as long as the cache, so this cannot fail; if it did, the
    /// failure is what readers see, and the task refreshes nothing.
    fn entries(&self) -> Vec<Arc<Entry>> {
        self.cache.entries(&self.requests).unwrap_or_else(|err| {
            tracing::error!(error = %err, "the live task cannot find its secrets' entries");
            self.published.last_error.store(Some(Arc::new(err)));
            Vec::new()
        })
    }

    async fn run(mut self) {
        let mut backoff = TaskBackoff {
            stuck: 0,
            not_before: Instant::now(),
        };
        loop {
            if !self.wait(backoff.not_before).await {
                return; // the cache is gone (not while this task holds it)
            }
            let entries = self.entries();
            let wake = if Instant::now() >= backoff.not_before {
                let errors = self.refresh(&entries).await;
                backoff.after_round(&self.cache, &entries, Instant::now());
                Wake::Attempted(errors)
            } else if entries.iter().all(|e| e.is_healthy()) {
                backoff.reset(Instant::now());
                Wake::Recovered
            } else {
                Wake::Skipped
            };
            self.publish(&entries, wake);
        }
    }

    /// Refreshes the due entries (all of them, for a source with its own change signal). When
    /// one of them was backing off from a transient failure and now succeeded (an outage
    /// ended), the others still backing off are refreshed at once rather than at their own
    /// backoff instants, so [`Live::last_error`] does not go on reporting an outage that is
    /// over. (A transient failure of one secret alone, while the others answer, keeps its
    /// backoff.) Returns the failures.
    async fn refresh(&self, entries: &[Arc<Entry>]) -> Vec<Error> {
        if self.source_changes.is_some() {
            return self.cache.refresh_all(entries).await;
        }
        let started = Instant::now();
        let (retried, waiting): (Vec<Arc<Entry>>, Vec<Arc<Entry>>) = (entries.iter())
            .filter(|e| e.backing_off_transiently())
            .cloned()
            .partition(|e| e.due_at(started) <= started);
        let mut errors = self.cache.refresh_due(entries).await;
        if !waiting.is_empty() && retried.iter().any(|e| e.confirmed_since(started)) {
            errors.extend(self.cache.refresh_all(&waiting).await);
        }
        errors
    }

    /// Waits until an entry is due (not before `not_before`), the cache adopts a rotation or
    /// drops an entry, or the source signals a change; `false` when the cache is gone.
    async fn wait(&mut self, not_before: Instant) -> bool {
        let entries = self.entries();
        let due = entries
            .iter()
            .map(|e| e.due_at(not_before).max(not_before))
            .min();
        tokio::select! {
            () = sleep_or_park(due) => true,
            changed = self.rotations.changed() => changed.is_ok(),
            () = source_changed(self.source_changes.as_mut()) => true,
        }
    }

    /// Publishes what a wake-up found: a rebuilt snapshot or fresher deadlines, and the
    /// failure readers see. A skipped round still publishes a rotation adopted elsewhere, but
    /// keeps the failure being backed off from.
    fn publish(&self, entries: &[Arc<Entry>], wake: Wake) {
        let (mut errors, report) = match wake {
            Wake::Attempted(errors) => (errors, true),
            Wake::Recovered => (Vec::new(), true),
            Wake::Skipped => (Vec::new(), false),
        };
        // A source with its own signal reads a round's secrets together (one generation of a
        // mounted directory): after a partial failure they may come from two, so the last good
        // snapshot stays until a round reads them all.
        let partial = self.source_changes.is_some() && !errors.is_empty();
        if !partial && let Err(err) = self.republish(entries) {
            tracing::error!(
                settings = std::any::type_name::<T>(),
                error = %err,
                "not rebuilt from a rotated secret; serving the last good snapshot"
            );
            errors.push(err);
        }
        if report || !errors.is_empty() {
            self.record(entries, errors.pop());
        }
    }

    /// Publishes a new snapshot when a secret's version changed, or fresher deadlines when
    /// only confirmations changed.
    fn republish(&self, entries: &[Arc<Entry>]) -> Result<(), Error> {
        let Some(loaded) = held(entries) else {
            return Ok(());
        };
        let current = self.published.snapshot.load();
        let same_versions = loaded
            .iter()
            .zip(&current.secrets)
            .all(|(l, s)| l.secret.version_id() == s.version_id());
        if !same_versions {
            let snapshot = build(self.assemble, &self.plan, entries, &loaded)?;
            self.published.snapshot.store(Arc::new(snapshot));
            self.changes.send_modify(|n| *n += 1);
            tracing::info!(
                settings = std::any::type_name::<T>(),
                "rebuilt from a rotated secret"
            );
        } else {
            let freshness = freshness(entries, &loaded);
            if freshness != current.freshness {
                self.published.snapshot.store(Arc::new(Snapshot {
                    value: Arc::clone(&current.value),
                    secrets: current.secrets.clone(),
                    freshness,
                }));
            }
        }
        Ok(())
    }

    /// Keeps `error` readable, or the failure an entry has not recovered from (a refresh's, or
    /// a reload's after an invalidation); clears it once every secret holds a refreshed value.
    fn record(&self, entries: &[Arc<Entry>], error: Option<Error>) {
        let error = error.or_else(|| entries.iter().find_map(|e| e.last_failure()));
        self.published.last_error.store(error.map(Arc::new));
    }
}

/// Sleeps until `at`, or forever when there is nothing to wait for.
async fn sleep_or_park(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => pending().await,
    }
}

/// Returns when the source signals a change; never when it has no signal (or dropped it).
async fn source_changed(signal: Option<&mut watch::Receiver<u64>>) {
    let Some(signal) = signal else {
        return pending().await;
    };
    if signal.changed().await.is_err() {
        pending().await
    }
}

/// Every entry's value, if each holds one.
fn held(entries: &[Arc<Entry>]) -> Option<Vec<Arc<Loaded>>> {
    entries.iter().map(|e| e.state.load_full()).collect()
}

/// Builds a snapshot from one value of each entry; a panic in the fields' code is an error.
fn build<T>(
    assemble: Assemble<T>,
    plan: &Arc<Plan>,
    entries: &[Arc<Entry>],
    loaded: &[Arc<Loaded>],
) -> Result<Snapshot<T>, Error> {
    let secrets: Vec<Arc<Secret>> = loaded.iter().map(|l| Arc::clone(&l.secret)).collect();
    let fetched = Fetched::new(plan, secrets.clone());
    // A field's own code may panic; the task must outlive it. The payload is dropped unread:
    // it may quote a value.
    let value =
        catch_unwind(AssertUnwindSafe(|| assemble(&fetched))).map_err(|_| Error::Panicked {
            settings: std::any::type_name::<T>(),
        })??;
    Ok(Snapshot {
        value: Arc::new(value),
        secrets,
        freshness: freshness(entries, loaded),
    })
}

/// The freshness of the entry confirmed longest ago.
fn freshness(entries: &[Arc<Entry>], loaded: &[Arc<Loaded>]) -> Option<Freshness> {
    entries
        .iter()
        .zip(loaded)
        .min_by_key(|(_, l)| l.confirmed)
        .map(|(e, l)| Freshness {
            oldest: Arc::clone(e),
            confirmed: l.confirmed,
            stale_at: l.stale_at,
        })
}

/// Every entry's value, or [`Error::Invalidated`] naming an entry that holds none: an
/// `invalidate` raced the load and dropped it between loading and reading it.
fn held_or_invalidated(entries: &[Arc<Entry>]) -> Result<Vec<Arc<Loaded>>, Error> {
    held(entries).ok_or_else(|| Error::Invalidated {
        secret_id: entries
            .iter()
            .find(|e| e.state.load().is_none())
            .map(|e| e.id.to_string())
            .unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests;
