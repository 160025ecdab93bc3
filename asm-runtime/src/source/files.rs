//! Secrets mounted as files, laid out as the Secrets Store CSI driver (AWS provider, ASCP) and
//! Kubernetes secret volumes (External Secrets Operator) lay them out: the files of one
//! generation in a timestamped directory `..2026_11_26_10_00_00.123456789`, the link `..data`
//! naming it, and one link per file through `..data`. A rotation writes a new generation and
//! renames a new link over `..data`; every read here resolves `..data` once and reads all its
//! files from that one directory.

mod follow;

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs::{self, File};
use std::hash::{BuildHasher, RandomState};
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, UNIX_EPOCH};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, ready};
use tokio::sync::watch;
use zeroize::Zeroizing;

use super::{Backend, BatchResult, MAX_SECRET_BYTES, Parts, SecretSource, sealed};
use crate::{Error, MountProblem, Secret, Version, parameter};

/// The link the atomic writer swaps on each rotation.
const DATA_LINK: &str = "..data";

/// Secrets read from files in a mounted directory, for a [`SecretCache`](crate::SecretCache)
/// on Kubernetes where the Secrets Store CSI driver (ASCP) or an External Secrets Operator
/// volume writes the secrets; the cache's semantics are those of the API (typed errors,
/// `Stats`, `max_staleness` from the last good read, `refresh_now` re-reads the file).
///
/// **Which file.** A secret id maps to the file named by [`alias`](Self::alias) if one was
/// given (ASCP's `objectAlias`), or else to the secret's name with `/` replaced by the path
/// translation character (ASCP's `pathTranslation`, default `_`): `prod/db` reads `prod_db`.
/// For an ARN, the name inside it, without the six-character suffix Secrets Manager adds:
/// `arn:…:secret:prod/db-AbCdEf` reads `prod_db` too. [`file_name`](Self::file_name) applies
/// the rule.
///
/// **Parameters** (ASCP's `objectType: ssmparameter`) follow the same rule on the parameter's
/// name: `ssm:/prod/orders/db-host`, or its ARN, reads `_prod_orders_db-host` (ASCP translates
/// the leading `/` too); `alias("ssm:/prod/orders/db-host", "db-host")` for an `objectAlias`.
/// Only the latest version is mounted (ASCP's `objectVersion`/`objectVersionLabel` choose it
/// at mount time), so a selector is [`MountProblem::OtherVersion`].
///
/// **What it holds.** A file that is valid UTF-8 is a `SecretString` (JSON keys map as from the
/// API; text that is not a JSON object gives [`Error::NotJson`] when a key is read); a file that
/// is not UTF-8, or one named with [`binary`](Self::binary), is a `SecretBinary`
/// (`SecretSlice<u8>`). Where the secret's own file is absent, files named `FILE.KEY` (ASCP
/// `jmesPath` entries with `objectAlias: prod_db.password`, or keys of a Kubernetes secret)
/// are read as one JSON object of those keys: each file's text a string, or a number when it
/// is an integer (`5432`); such files must be UTF-8.
///
/// **Safety.** A path or link resolving outside the mount directory is refused
/// ([`MountProblem::OutsideMount`]); a file over 64 KiB is refused ([`Error::TooLarge`]); no
/// error, `Debug` or log line carries any part of a file's contents.
///
/// **Rotation.** Version ids are the name of the generation in which a file's contents were
/// first seen (its `..data` target, or the file's inode and modification time in a directory
/// without `..data`), never anything derived from the contents. The directory is watched
/// (inotify, via `notify`) and polled (every [`poll_interval`](Self::poll_interval), for file
/// systems without events): a live handle re-reads its secrets, all from one generation, as
/// soon as either notices a change, and wakes [`Live::changed`](crate::Live::changed) when one
/// of them changed. Plain [`SecretCache::get`](crate::SecretCache::get) reads follow the TTL.
///
/// Only the current version is mounted: asking for another stage or version id gives
/// [`MountProblem::OtherVersion`]. Each cache built over a `FileSource` runs one polling thread
/// (and one inotify watch), which ends within one poll interval of the cache being dropped.
///
/// # Examples
/// ```no_run
/// # fn f() -> Result<(), asm_runtime::Error> {
/// use asm_runtime::{FileSource, SecretCache};
/// let source = FileSource::new("/mnt/secrets-store").alias("prod/stripe", "stripe-key");
/// let cache = SecretCache::builder(source).build()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct FileSource {
    dir: PathBuf,
    path_translation: char,
    aliases: HashMap<String, String>,
    binary: HashSet<String>,
    events: bool,
    poll_interval: Duration,
}

impl FileSource {
    /// The environment variable naming a mount directory: when it is set,
    /// [`SecretCache::from_env`](crate::SecretCache::from_env) reads from a `FileSource` over
    /// that directory instead of the API.
    pub const ENV_DIR: &'static str = "ASM_SECRETS_DIR";
    /// How often the directory is polled besides its events (default 2 s): one `readlink`.
    pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(2);
    /// The shortest poll interval: [`poll_interval`](Self::poll_interval) raises a shorter one
    /// (zero included) to this, as the polling thread would otherwise spin.
    pub const MIN_POLL_INTERVAL: Duration = Duration::from_millis(100);

    /// Secrets in the files of `dir` (the volume's `mountPath`), with ASCP's defaults.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            path_translation: '_',
            aliases: HashMap::new(),
            binary: HashSet::new(),
            events: true,
            poll_interval: Self::DEFAULT_POLL_INTERVAL,
        }
    }

    /// Reads the secret `id` (as a struct names it) from the file `file` (ASCP's `objectAlias`).
    pub fn alias(mut self, id: impl Into<String>, file: impl Into<String>) -> Self {
        self.aliases.insert(id.into(), file.into());
        self
    }

    /// The character `/` in a secret name becomes in its file name (ASCP's `pathTranslation`,
    /// default `_`).
    pub fn path_translation(mut self, replacement: char) -> Self {
        self.path_translation = replacement;
        self
    }

    /// Reads the secret `id` as `SecretBinary` even where its bytes are valid UTF-8.
    pub fn binary(mut self, id: impl Into<String>) -> Self {
        self.binary.insert(id.into());
        self
    }

    /// Whether to watch the directory's events (default on); polling runs either way.
    pub fn events(mut self, on: bool) -> Self {
        self.events = on;
        self
    }

    /// How often the directory is polled for a swap (default
    /// [`DEFAULT_POLL_INTERVAL`](Self::DEFAULT_POLL_INTERVAL)); an interval below
    /// [`MIN_POLL_INTERVAL`](Self::MIN_POLL_INTERVAL) (100 ms), zero included, is raised to it.
    pub fn poll_interval(mut self, every: Duration) -> Self {
        self.poll_interval = every.max(Self::MIN_POLL_INTERVAL);
        self
    }

    /// The file the secret (or parameter) `id` is read from (the rule in the type's
    /// documentation).
    pub fn file_name(&self, id: &str) -> String {
        if let Some(alias) = self.aliases.get(id) {
            return alias.clone();
        }
        object_name(id).replace('/', self.path_translation.encode_utf8(&mut [0; 4]))
    }
}

/// The name ASCP's `objectName` holds for `id`: a parameter's name (`/prod/db-host`, also for
/// its ARN: ASCP mounts parameters by name), else the secret's name ([`secret_name`]).
fn object_name(id: &str) -> Cow<'_, str> {
    match parameter::parse(id) {
        Some(Ok(parsed)) => Cow::Owned(parameter::name(&parsed)),
        _ => Cow::Borrowed(secret_name(id)),
    }
}

/// The secret name in `id`: the id itself, or for an ARN the name after `:secret:` without the
/// `-` and six characters Secrets Manager appends.
fn secret_name(id: &str) -> &str {
    let Some((_, name)) = id
        .strip_prefix("arn:")
        .and_then(|a| a.split_once(":secret:"))
    else {
        return id;
    };
    let cut = name.len().saturating_sub(7);
    match name.get(cut..).and_then(|tail| tail.strip_prefix('-')) {
        Some(suffix) if cut > 0 && suffix.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            &name[..cut]
        }
        _ => name,
    }
}

impl SecretSource for FileSource {}

impl sealed::Sealed for FileSource {
    fn into_source(self, _: sealed::Terms) -> sealed::Building {
        let signal = Arc::new(watch::Sender::new(0));
        let following = follow::follow(&self.dir, self.events, self.poll_interval, &signal);
        sealed::Building(Arc::new(Files {
            config: self,
            seen: Mutex::default(),
            digests: RandomState::new(),
            signal,
            _following: following,
        }))
    }
}

/// The source the cache calls.
struct Files {
    config: FileSource,
    /// Per file: the version id its contents were first seen under, and a digest of them
    /// (keyed per process, never shown) to tell whether they changed.
    seen: Mutex<HashMap<String, (Arc<str>, u64)>>,
    digests: RandomState,
    /// Bumped by the directory's events and by polling.
    signal: Arc<watch::Sender<u64>>,
    _following: follow::Following,
}

impl fmt::Debug for Files {
    /// The configuration only: the digests of contents are never shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Files")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A file's bytes (zeroized on drop), and its stamp.
type Contents = (Zeroizing<Vec<u8>>, Stamp);

/// One generation of the mount: where its files are, and its name.
struct Generation {
    /// The mount directory, canonical: nothing read may resolve outside it.
    root: PathBuf,
    dir: PathBuf,
    /// The `..data` target, when the directory has one.
    name: Option<String>,
}

impl Files {
    fn error(&self, id: &str, path: &Path, problem: MountProblem) -> Error {
        Error::Mount {
            secret_id: id.to_owned(),
            path: path.display().to_string(),
            problem,
        }
    }

    /// The generation `..data` names now (the directory itself when there is no `..data`).
    fn generation(&self, id: &str) -> Result<Generation, Error> {
        let dir = &self.config.dir;
        let root = fs::canonicalize(dir).map_err(|e| self.error(id, dir, io_problem(&e)))?;
        let link = root.join(DATA_LINK);
        match fs::read_link(&link) {
            Ok(target) => {
                let name = single_component(&target)
                    .ok_or_else(|| self.error(id, &link, MountProblem::OutsideMount))?;
                Ok(Generation {
                    dir: root.join(name),
                    name: Some(name.to_owned()),
                    root,
                })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Generation {
                dir: root.clone(),
                name: None,
                root,
            }),
            Err(e) => Err(self.error(id, &link, io_problem(&e))),
        }
    }

    fn get_now(&self, id: &str, version: &Version) -> Result<Secret, Error> {
        let generation = self.generation(id)?;
        self.read(&generation, id, version)
    }

    /// Reads `id` from `generation`: its file, or its split key files.
    fn read(&self, generation: &Generation, id: &str, version: &Version) -> Result<Secret, Error> {
        let file = self.config.file_name(id);
        let path = generation.dir.join(&file);
        if single_component(Path::new(&file)).is_none() || file.starts_with("..") {
            return Err(self.error(id, &path, MountProblem::OutsideMount));
        }
        let (mut bytes, stamp) = match self.read_file(generation, id, &path) {
            Err(Error::Mount {
                problem: MountProblem::Missing,
                ..
            }) => self
                .read_split(generation, id, &file)?
                .ok_or_else(|| self.error(id, &path, MountProblem::Missing))?,
            read => read?,
        };
        let version_id = self.version_id(&file, &bytes, generation.name.as_deref(), stamp);
        let wanted = match version {
            Version::Stage(_) => version.is_current(),
            Version::Id(wanted) => **wanted == *version_id,
        };
        if !wanted {
            return Err(self.error(id, &path, MountProblem::OtherVersion));
        }
        let bytes = std::mem::take(&mut *bytes);
        let (string, binary) = match String::from_utf8(bytes) {
            Ok(text) if !self.config.binary.contains(id) => (Some(text), None),
            Ok(text) => (None, Some(text.into_bytes())),
            Err(not_text) => (None, Some(not_text.into_bytes())),
        };
        Parts {
            arn: id.starts_with("arn:").then(|| id.to_owned()),
            name: Some(object_name(id).into_owned()),
            version_id: Some(version_id.to_string()),
            version_stages: Some(vec![Version::CURRENT_STAGE.to_owned()]),
            string,
            binary,
        }
        .into_secret(id)
    }

    /// The version id of `file` holding `bytes`: the one its contents were first seen under.
    fn version_id(
        &self,
        file: &str,
        bytes: &[u8],
        generation: Option<&str>,
        stamp: Stamp,
    ) -> Arc<str> {
        let digest = self.digests.hash_one(bytes);
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = seen
            .entry(file.to_owned())
            .or_insert_with(|| (Arc::from(""), 0));
        if entry.1 != digest || entry.0.is_empty() {
            let mut name = generation.map_or_else(|| stamp.to_string(), str::to_owned);
            if *entry.0 == *name {
                // Rewritten in place within one timestamp: still a new version.
                name.push('~');
            }
            *entry = (name.into(), digest);
        }
        Arc::clone(&entry.0)
    }

    /// A regular file inside the mount, at most 64 KiB, in memory that is zeroized on drop.
    fn read_file(&self, generation: &Generation, id: &str, path: &Path) -> Result<Contents, Error> {
        let problem = |e: io::Error| self.error(id, path, io_problem(&e));
        let real = fs::canonicalize(path).map_err(problem)?;
        if !real.starts_with(&generation.root) {
            return Err(self.error(id, path, MountProblem::OutsideMount));
        }
        let mut file = File::open(&real).map_err(problem)?;
        let meta = file.metadata().map_err(problem)?;
        if !meta.is_file() {
            return Err(self.error(id, path, MountProblem::NotAFile));
        }
        let too_large = |bytes| Error::TooLarge {
            secret_id: id.to_owned(),
            bytes,
        };
        let len = usize::try_from(meta.len()).unwrap_or(usize::MAX);
        if len > MAX_SECRET_BYTES {
            return Err(too_large(len));
        }
        let mut bytes = Zeroizing::new(Vec::with_capacity(len + 1));
        let limit = (MAX_SECRET_BYTES + 1) as u64;
        (&mut file)
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(problem)?;
        if bytes.len() > MAX_SECRET_BYTES {
            return Err(too_large(bytes.len()));
        }
        Ok((bytes, Stamp::of(&meta)))
    }

    /// The files `FILE.KEY` of `generation` as one JSON object, if there are any.
    fn read_split(
        &self,
        generation: &Generation,
        id: &str,
        file: &str,
    ) -> Result<Option<Contents>, Error> {
        let prefix = format!("{file}.");
        let listing = fs::read_dir(&generation.dir)
            .map_err(|e| self.error(id, &generation.dir, io_problem(&e)))?;
        let mut keys: Vec<String> = listing
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter(|name| name.len() > prefix.len() && name.starts_with(&prefix))
            .collect();
        if keys.is_empty() {
            return Ok(None);
        }
        keys.sort();
        let mut json = Zeroizing::new(b"{".to_vec());
        let mut newest = Stamp::default();
        for (n, name) in keys.iter().enumerate() {
            let path = generation.dir.join(name);
            let (bytes, stamp) = self.read_file(generation, id, &path)?;
            newest = newest.max(stamp);
            let text = std::str::from_utf8(&bytes)
                .map_err(|_| self.error(id, &path, MountProblem::Unreadable))?;
            let key = &name[prefix.len()..];
            // Room first, so the vector never reallocates (which would free a copy of the
            // values so far without zeroizing it): an escaped character takes 6 bytes at most.
            reserve_zeroizing(&mut json, 6 * (key.len() + text.len()) + 6);
            if n > 0 {
                json.push(b',');
            }
            json_string(&mut json, key);
            json.push(b':');
            if is_integer(text) {
                json.extend_from_slice(text.as_bytes());
            } else {
                json_string(&mut json, text);
            }
        }
        json.push(b'}');
        if json.len() > MAX_SECRET_BYTES {
            return Err(Error::TooLarge {
                secret_id: id.to_owned(),
                bytes: json.len(),
            });
        }
        Ok(Some((json, newest)))
    }
}

/// Reads each of `ids` from `source`'s directory without following it (the fuzz targets'
/// entry): on its own at the current version, again at the version id that read gave (when
/// it gave one), and from one generation shared by all `ids`, as a batch reads.
#[cfg(fuzzing)]
pub(crate) fn read_once(
    source: FileSource,
    ids: &[&str],
) -> Vec<[Option<Result<Secret, Error>>; 3]> {
    let files = Files {
        config: source,
        seen: Mutex::default(),
        digests: RandomState::new(),
        signal: Arc::new(watch::Sender::new(0)),
        _following: follow::nothing(),
    };
    let current = Version::current();
    let generation = files.generation("(batch)");
    ids.iter()
        .map(|id| {
            let alone = files.get_now(id, &current);
            let again = (alone.as_ref().ok())
                .map(|secret| files.get_now(id, &Version::id(secret.version_id())));
            let batch = match &generation {
                Ok(generation) => files.read(generation, id, &current),
                Err(_) => files.get_now(id, &current),
            };
            [Some(alone), again, Some(batch)]
        })
        .collect()
}

/// Makes room for `additional` bytes in `buffer` without leaving a copy behind: when the
/// vector must grow, its contents move to a new allocation and the old one is zeroized.
fn reserve_zeroizing(buffer: &mut Zeroizing<Vec<u8>>, additional: usize) {
    if buffer.capacity() - buffer.len() >= additional {
        return;
    }
    let mut grown = Zeroizing::new(Vec::with_capacity(
        (buffer.len() + additional).max(2 * buffer.capacity()),
    ));
    grown.extend_from_slice(buffer);
    // The old allocation is zeroized as `Zeroizing` drops it.
    *buffer = grown;
}

impl Backend for Files {
    fn kind(&self) -> &'static str {
        "files"
    }

    fn get<'a>(
        &'a self,
        id: &'a str,
        version: &'a Version,
        _refresh: bool,
    ) -> BoxFuture<'a, Result<Secret, Error>> {
        // Local files of at most 64 KiB (on the driver's tmpfs): read in place.
        ready(self.get_now(id, version)).boxed()
    }

    /// Every id from one generation: a struct's fields never mix two rotations.
    fn get_batch<'a>(&'a self, ids: &'a [Arc<str>]) -> Option<BoxFuture<'a, BatchResult>> {
        let answers = self.generation("(batch)").map(|generation| {
            let current = Version::current();
            ids.iter()
                .enumerate()
                .map(|(at, id)| (at, self.read(&generation, id, &current)))
                .collect()
        });
        Some(ready(answers).boxed())
    }

    fn batch_is_one_read(&self) -> bool {
        true
    }

    fn serves_parameters(&self) -> bool {
        true
    }

    fn refuses(&self, id: &str, version: &Version) -> Option<Error> {
        super::parameter_refused(id, version)
    }

    fn changes(&self) -> Option<watch::Receiver<u64>> {
        Some(self.signal.subscribe())
    }
}

/// When a file was last written, and which inode it is: a version in a directory without
/// `..data`, and what polling compares.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Stamp {
    modified_ns: u128,
    inode: u64,
    len: u64,
}

impl Stamp {
    fn of(meta: &fs::Metadata) -> Self {
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(meta);
        #[cfg(not(unix))]
        let inode = 0;
        Self {
            modified_ns: meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos()),
            inode,
            len: meta.len(),
        }
    }
}

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:x}-{:x}", self.inode, self.modified_ns)
    }
}

/// `path` as one plain name (no separator, not `.` or `..`).
fn single_component(path: &Path) -> Option<&str> {
    let mut components = path.components();
    match (components.next(), components.next()) {
        (Some(Component::Normal(name)), None) => name.to_str(),
        _ => None,
    }
}

fn io_problem(err: &io::Error) -> MountProblem {
    match err.kind() {
        io::ErrorKind::NotFound => MountProblem::Missing,
        _ => MountProblem::Unreadable,
    }
}

/// An integer as ASCP writes a JSON number it extracted: `-?(0|[1-9][0-9]*)`, at most 18
/// digits (so it keeps its text through a JSON round trip).
fn is_integer(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty()
        && digits.len() <= 18
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
}

/// Appends `text` as a JSON string.
fn json_string(out: &mut Vec<u8>, text: &str) {
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

#[cfg(test)]
mod tests;
