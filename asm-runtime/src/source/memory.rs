//! [`MemorySource`]: secrets held in memory, for testing a service built on this library
//! without Secrets Manager: fill it, rotate it, make it fail, under paused time if you like.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tokio::time::Instant;
use zeroize::Zeroizing;

use super::{Backend, Description, Parts, SecretSource, sealed};
use crate::error::{Operation, from_code};
use crate::parameter::{self, is_parameter};
use crate::{Error, Secret, TransportKind, Version};

/// Secrets held in memory, served to a [`SecretCache`](crate::SecretCache) the way Secrets
/// Manager serves them: versions with ids and staging labels, `AWSCURRENT` moving on rotation,
/// `DescribeSecret` for version checks, and failures on demand. Everything the cache does
/// (TTL, single flight, stale-if-error, backoff, live handles, `Stats`) runs for real.
///
/// Clones share the same secrets: keep one to rotate or break what the cache reads.
///
/// # Examples
/// ```
/// # async fn f() -> Result<(), asm_runtime::Error> {
/// use asm_runtime::{ExposeSecret, MemorySource, SecretCache};
/// let secrets = MemorySource::new();
/// secrets.json("prod/db", &serde_json::json!({"password": "first"}));
/// let cache = SecretCache::new(secrets.clone());
/// let password = cache.get("prod/db").await?.json_key("password")?;
/// assert_eq!(password.expose_secret(), "first");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MemorySource {
    state: Arc<Mutex<State>>,
    calls: Arc<AtomicU64>,
    /// `arn:aws:secretsmanager:us-east-1:ACCOUNT:secret:`, the ARNs of its secrets: account
    /// 111122223333, or a role's own account.
    prefix: Arc<str>,
}

impl Default for MemorySource {
    fn default() -> Self {
        Self::in_account("111122223333")
    }
}

#[derive(Default)]
struct State {
    secrets: HashMap<String, Stored>,
    failures: Vec<Outage>,
    /// What reads as each role see (`MemorySource::role`).
    roles: HashMap<String, MemorySource>,
}

/// One secret: its versions, oldest first.
struct Stored {
    versions: Vec<StoredVersion>,
    next: u64,
}

struct StoredVersion {
    id: String,
    stages: Vec<String>,
    value: Value,
}

enum Value {
    Text(Zeroizing<String>),
    Binary(Zeroizing<Vec<u8>>),
}

/// A failure to answer with, for one secret or all, until cleared or until `until`.
struct Outage {
    secret: Option<String>,
    failure: MemoryFault,
    until: Option<Instant>,
}

/// A way for a [`MemorySource`] call to fail, as Secrets Manager or the network would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MemoryFault {
    /// `ThrottlingException` (transient).
    Throttled,
    /// `AccessDeniedException` (persistent: the cache remembers it).
    AccessDenied,
    /// `ResourceNotFoundException` (persistent).
    NotFound,
    /// `DecryptionFailure` (persistent).
    Decryption,
    /// A 5xx `InternalServiceError` (transient).
    Unavailable,
    /// The connection is refused (transient).
    Refused,
    /// No answer at all: the call waits until the cache's `call_timeout`.
    Hang,
}

impl MemorySource {
    /// An empty source.
    pub fn new() -> Self {
        Self::default()
    }

    fn in_account(account: &str) -> Self {
        Self {
            state: Arc::default(),
            calls: Arc::default(),
            prefix: format!("arn:aws:secretsmanager:us-east-1:{account}:secret:").into(),
        }
    }

    /// The secrets a cache's view of `role` reads
    /// ([`SecretCache::as_role`](crate::SecretCache::as_role), or a struct's `role = "…"`):
    /// another `MemorySource`, made on first use and shared by every clone of this one, whose
    /// ARNs are in the role's account. Fill it, rotate it and make it fail as any other, so a
    /// service that reads through roles is tested without STS.
    ///
    /// # Examples
    /// ```
    /// # async fn f() -> Result<(), asm_runtime::Error> {
    /// use asm_runtime::{ExposeSecret, MemorySource, SecretCache};
    /// let secrets = MemorySource::new();
    /// let reader = "arn:aws:iam::999999999999:role/reader";
    /// secrets.role(reader).text("prod/db", "theirs");
    /// secrets.text("prod/db", "ours");
    /// let cache = SecretCache::new(secrets.clone());
    /// let theirs = cache.as_role(reader)?.get("prod/db").await?;
    /// assert_eq!(theirs.string()?.expose_secret(), "theirs");
    /// # Ok(()) }
    /// ```
    pub fn role(&self, role: &str) -> MemorySource {
        let account = role.split(':').nth(4).unwrap_or_default();
        self.state()
            .roles
            .entry(role.to_owned())
            .or_insert_with(|| Self::in_account(account))
            .clone()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores `value` as the new `AWSCURRENT` version of `name` (creating the secret, or
    /// rotating it: the old current version becomes `AWSPREVIOUS`). Returns the version id.
    pub fn text(&self, name: &str, value: &str) -> String {
        self.rotate(name, Value::Text(Zeroizing::new(value.to_owned())))
    }

    /// Stores `value`, serialized, as the new `AWSCURRENT` version of `name`; see
    /// [`text`](Self::text).
    pub fn json(&self, name: &str, value: &serde_json::Value) -> String {
        self.rotate(name, Value::Text(Zeroizing::new(value.to_string())))
    }

    /// Stores binary `value` as the new `AWSCURRENT` version of `name`; see
    /// [`text`](Self::text).
    pub fn binary(&self, name: &str, value: &[u8]) -> String {
        self.rotate(name, Value::Binary(Zeroizing::new(value.to_vec())))
    }

    fn rotate(&self, name: &str, value: Value) -> String {
        let mut state = self.state();
        let stored = state.secrets.entry(name.to_owned()).or_insert(Stored {
            versions: Vec::new(),
            next: 1,
        });
        let id = format!("v{}", stored.next);
        stored.next += 1;
        move_stage(stored, "AWSPREVIOUS", None);
        for version in &mut stored.versions {
            for stage in &mut version.stages {
                if stage == Version::CURRENT_STAGE {
                    "AWSPREVIOUS".clone_into(stage);
                }
            }
        }
        stored.versions.push(StoredVersion {
            id: id.clone(),
            stages: vec![Version::CURRENT_STAGE.to_owned()],
            value,
        });
        id
    }

    /// Stores a text version of `name` with id `version_id` carrying `stages` (each moved here
    /// from any other version), as a rotation function's `createSecret` does with
    /// `AWSPENDING`. [`set_stage`](Self::set_stage) then finishes the rotation.
    pub fn stage_text(&self, name: &str, version_id: &str, value: &str, stages: &[&str]) {
        let mut state = self.state();
        let stored = state.secrets.entry(name.to_owned()).or_insert(Stored {
            versions: Vec::new(),
            next: 1,
        });
        for stage in stages {
            move_stage(stored, stage, None);
        }
        stored.versions.retain(|v| v.id != version_id);
        stored.versions.push(StoredVersion {
            id: version_id.to_owned(),
            stages: stages.iter().map(|s| (*s).to_owned()).collect(),
            value: Value::Text(Zeroizing::new(value.to_owned())),
        });
    }

    /// Moves `stage` of `name` to `version_id` (`AWSCURRENT`: the old current version becomes
    /// `AWSPREVIOUS`), as `UpdateSecretVersionStage` does.
    pub fn set_stage(&self, name: &str, stage: &str, version_id: &str) {
        let mut state = self.state();
        if let Some(stored) = state.secrets.get_mut(name) {
            if stage == Version::CURRENT_STAGE {
                move_stage(stored, "AWSPREVIOUS", None);
                let current = stored
                    .versions
                    .iter()
                    .find(|v| v.stages.iter().any(|s| s == stage))
                    .map(|v| v.id.clone());
                if let Some(current) = current.filter(|c| c != version_id) {
                    move_stage(stored, "AWSPREVIOUS", Some(&current));
                }
            }
            move_stage(stored, stage, Some(version_id));
        }
    }

    /// Stores `value` as the next version of the Parameter Store parameter `name`
    /// (`/prod/orders/db-host`, or `db-host`), as `PutParameter --overwrite` does: versions are
    /// numbered from 1, and a read of `ssm:NAME` (or of the parameter's ARN) without a
    /// version gets the latest, so a new version is a rotation. Any type (`String`,
    /// `StringList`, `SecureString`) reads back as its text. Returns the version number.
    ///
    /// # Examples
    /// ```
    /// # async fn f() -> Result<(), asm_runtime::Error> {
    /// use asm_runtime::{ExposeSecret, MemorySource, SecretCache, Version};
    /// let store = MemorySource::new();
    /// store.parameter("/prod/orders/db-host", "db-1.internal");
    /// store.parameter("/prod/orders/db-host", "db-2.internal");
    /// let cache = SecretCache::new(store.clone());
    /// let host = cache.get("ssm:/prod/orders/db-host").await?;
    /// assert_eq!(host.string()?.expose_secret(), "db-2.internal");
    /// assert_eq!(host.version_id(), "2");
    /// let first = cache.get_version("ssm:/prod/orders/db-host", &Version::id("1")).await?;
    /// assert_eq!(first.string()?.expose_secret(), "db-1.internal");
    /// # Ok(()) }
    /// ```
    pub fn parameter(&self, name: &str, value: &str) -> u64 {
        let mut state = self.state();
        let stored =
            (state.secrets.entry(format!("{}{name}", parameter::PREFIX))).or_insert(Stored {
                versions: Vec::new(),
                next: 1,
            });
        let number = stored.next;
        stored.next += 1;
        move_stage(stored, Version::CURRENT_STAGE, None);
        stored.versions.push(StoredVersion {
            id: number.to_string(),
            stages: vec![Version::CURRENT_STAGE.to_owned()],
            value: Value::Text(Zeroizing::new(value.to_owned())),
        });
        number
    }

    /// Moves `label` of the parameter `name` to its version `version`, as
    /// `LabelParameterVersion` does: `name:label` (`Version::stage(label)`) then reads it.
    pub fn label_parameter(&self, name: &str, version: u64, label: &str) {
        let key = format!("{}{name}", parameter::PREFIX);
        if let Some(stored) = self.state().secrets.get_mut(&key) {
            move_stage(stored, label, Some(&version.to_string()));
        }
    }

    /// Deletes `name`: reads get `NotFound`.
    pub fn delete(&self, name: &str) {
        self.state().secrets.remove(name);
    }

    /// Makes every call about `name` (every call, for `None`) fail with `failure` until
    /// [`clear_failures`](Self::clear_failures).
    pub fn fail(&self, name: Option<&str>, failure: MemoryFault) {
        self.push_outage(name, failure, None);
    }

    /// As [`fail`](Self::fail), for `duration` from now (tokio time: pausable).
    pub fn fail_for(&self, name: Option<&str>, failure: MemoryFault, duration: Duration) {
        self.push_outage(name, failure, Some(Instant::now() + duration));
    }

    fn push_outage(&self, name: Option<&str>, failure: MemoryFault, until: Option<Instant>) {
        self.state().failures.push(Outage {
            secret: name.map(str::to_owned),
            failure,
            until,
        });
    }

    /// Ends every failure set with [`fail`](Self::fail) or [`fail_for`](Self::fail_for).
    pub fn clear_failures(&self) {
        self.state().failures.clear();
    }

    /// Calls made so far (`GetSecretValue` and `DescribeSecret` alike).
    pub fn calls(&self) -> u64 {
        self.calls.load(Relaxed)
    }

    /// The failure in force for `id`, if any.
    fn failure(&self, id: &str) -> Option<MemoryFault> {
        let now = Instant::now();
        let mut state = self.state();
        state
            .failures
            .retain(|o| o.until.is_none_or(|until| now < until));
        state
            .failures
            .iter()
            .rev()
            .find(|o| o.secret.as_deref().is_none_or(|s| s == id))
            .map(|o| o.failure)
    }

    /// Counts a call, then answers `f(state)` unless a failure is in force.
    async fn answer<T>(
        &self,
        id: &str,
        op: Operation,
        f: impl FnOnce(&State) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.calls.fetch_add(1, Relaxed);
        if let Some(failure) = self.failure(id) {
            return Err(failure.error(id, op).await);
        }
        f(&self.state())
    }
}

/// Takes `stage` off every version of `stored`, then puts it on `to` (if given).
fn move_stage(stored: &mut Stored, stage: &str, to: Option<&str>) {
    for version in &mut stored.versions {
        version.stages.retain(|s| s != stage);
        if Some(version.id.as_str()) == to {
            version.stages.push(stage.to_owned());
        }
    }
}

impl MemoryFault {
    async fn error(self, id: &str, op: Operation) -> Error {
        let code = match self {
            Self::Throttled => "ThrottlingException",
            Self::AccessDenied => "AccessDeniedException",
            Self::NotFound => "ResourceNotFoundException",
            Self::Decryption => "DecryptionFailure",
            Self::Unavailable => "InternalServiceError",
            Self::Refused => {
                return Error::Transport {
                    secret_id: id.to_owned(),
                    kind: TransportKind::Connection,
                    detail: Some("connection refused (MemorySource)".into()),
                };
            }
            Self::Hang => std::future::pending().await,
        };
        from_code(code, id, op)
    }
}

impl State {
    fn find(&self, id: &str, name: &str) -> Result<&Stored, Error> {
        self.secrets
            .get(id)
            .or_else(|| self.secrets.get(name))
            .ok_or_else(|| Error::NotFound {
                secret_id: id.to_owned(),
            })
    }
}

impl MemorySource {
    /// The secret name inside one of this source's ARNs, or `id` itself; for a parameter,
    /// `ssm:NAME` (what it is stored under, whether read by name or by its ARN; another
    /// account's or region's ARN stays as is, and is found nowhere).
    fn name_of<'a>(&self, id: &'a str) -> Cow<'a, str> {
        if let Some(Ok(parameter)) = parameter::parse(id) {
            let account = self.prefix.split(':').nth(4).unwrap_or_default();
            if parameter
                .arn
                .is_some_and(|arn| arn.account != account || arn.region != "us-east-1")
            {
                return Cow::Borrowed(id);
            }
            // `/aws/reference/secretsmanager/NAME` is the secret `NAME`, as Parameter Store
            // answers it.
            if let Some(secret) = parameter.referenced_secret() {
                return Cow::Owned(secret.to_owned());
            }
            return Cow::Owned(format!(
                "{}{}",
                parameter::PREFIX,
                parameter::name(&parameter)
            ));
        }
        let name = id.strip_prefix(&*self.prefix);
        Cow::Borrowed(
            name.and_then(|rest| rest.strip_suffix("-memory"))
                .unwrap_or(id),
        )
    }

    /// The name and ARN an answer for `key` (a name from [`name_of`](Self::name_of)) carries.
    fn name_and_arn(&self, key: &str) -> (String, String) {
        match key.strip_prefix(parameter::PREFIX) {
            Some(name) => {
                // AWS's public parameters' ARNs name no account.
                let public = name.starts_with(crate::ssm_name::PUBLIC);
                let account = (self.prefix.split(':').nth(4))
                    .filter(|_| !public)
                    .unwrap_or_default();
                let path = name.trim_start_matches('/');
                let arn = format!("arn:aws:ssm:us-east-1:{account}:parameter/{path}");
                (name.to_owned(), arn)
            }
            None => (key.to_owned(), format!("{}{key}-memory", self.prefix)),
        }
    }
}

impl Backend for MemorySource {
    fn kind(&self) -> &'static str {
        "memory"
    }

    fn get<'a>(
        &'a self,
        id: &'a str,
        version: &'a Version,
        _refresh: bool,
    ) -> BoxFuture<'a, Result<Secret, Error>> {
        let name = self.name_of(id);
        self.answer(id, Operation::get(id), move |state| {
            let stored = state.find(id, &name)?;
            let found = stored.versions.iter().find(|v| match version {
                Version::Stage(stage) => v.stages.iter().any(|s| s == &**stage),
                Version::Id(version_id) => v.id == **version_id,
            });
            let Some(found) = found else {
                return Err(from_code(
                    "ResourceNotFoundException",
                    id,
                    Operation::get(id),
                ));
            };
            let (string, binary) = match &found.value {
                Value::Text(text) => (Some(String::clone(text)), None),
                Value::Binary(bytes) => (None, Some(Vec::clone(bytes))),
            };
            let (name, arn) = self.name_and_arn(&name);
            Parts {
                arn: Some(arn),
                name: Some(name),
                version_id: Some(found.id.clone()),
                version_stages: (!is_parameter(id)).then(|| found.stages.clone()),
                string,
                binary,
            }
            .into_secret(id)
        })
        .boxed()
    }

    /// Secrets only: Parameter Store has no `DescribeSecret`.
    fn describe<'a>(&'a self, id: &'a str) -> Option<BoxFuture<'a, Result<Description, Error>>> {
        if is_parameter(id) {
            return None;
        }
        let name = self.name_of(id);
        let described = self.answer(id, Operation::DescribeSecret, move |state| {
            let stored = state.find(id, &name)?;
            Ok(Description {
                versions: (stored.versions.iter())
                    .map(|v| (v.id.clone(), v.stages.clone()))
                    .collect(),
                rotation: None,
                deleted: false,
            })
        });
        Some(described.boxed())
    }

    fn region(&self) -> Option<&str> {
        Some("us-east-1")
    }

    fn serves_parameters(&self) -> bool {
        true
    }

    fn refuses(&self, id: &str, version: &Version) -> Option<Error> {
        super::parameter_refused(id, version)
    }

    fn assume(&self, role: &Arc<str>) -> Result<Arc<dyn Backend>, Error> {
        Ok(Arc::new(self.role(role)))
    }
}

impl SecretSource for MemorySource {}

impl sealed::Sealed for MemorySource {
    fn into_source(self, _: sealed::Terms) -> sealed::Building {
        sealed::Building(Arc::new(self))
    }
}

impl fmt::Debug for MemorySource {
    /// Names and version ids only, never a value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        let mut secrets: Vec<(&str, Vec<&str>)> = (state.secrets.iter())
            .map(|(name, s)| {
                (
                    name.as_str(),
                    s.versions.iter().map(|v| v.id.as_str()).collect(),
                )
            })
            .collect();
        secrets.sort_unstable();
        f.debug_struct("MemorySource")
            .field("secrets", &secrets)
            .field("failures", &state.failures.len())
            .field("calls", &self.calls())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;
    use crate::{SecretCache, SecretCacheBuilder};

    fn text_of(secret: &Secret) -> String {
        secret
            .string()
            .map(|s| s.expose_secret().to_owned())
            .unwrap_or_default()
    }

    #[tokio::test(start_paused = true)]
    async fn a_staged_rotation_moves_current_and_previous_as_the_service_does() {
        let secrets = MemorySource::new();
        let first = secrets.text("db", "one");
        let cache = SecretCache::new(secrets.clone());
        secrets.stage_text("db", "pending-2", "two", &["AWSPENDING"]);
        let current = cache.refresh_now("db").await.expect("current");
        assert_eq!(
            (current.version_id(), text_of(&current).as_str()),
            (first.as_str(), "one")
        );
        let pending = cache
            .get_version("db", &Version::stage("AWSPENDING"))
            .await
            .expect("pending");
        assert_eq!(text_of(&pending), "two");
        secrets.set_stage("db", "AWSCURRENT", "pending-2");
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(text_of(&cache.refresh_now("db").await.expect("new")), "two");
        let previous = cache
            .get_version("db", &Version::stage("AWSPREVIOUS"))
            .await
            .expect("old");
        assert_eq!(text_of(&previous), "one");
        assert_eq!(cache.stats().api_calls(), secrets.calls());
    }

    #[tokio::test(start_paused = true)]
    async fn faults_are_typed_and_a_hang_ends_at_the_call_deadline() {
        let secrets = MemorySource::new();
        secrets.text("db", "one");
        let cache = SecretCache::new(secrets.clone());
        secrets.fail(Some("db"), MemoryFault::AccessDenied);
        let denied = cache.get("db").await.expect_err("denied");
        assert!(matches!(denied, Error::AccessDenied { .. }), "{denied:?}");
        secrets.clear_failures();
        cache.invalidate("db");
        secrets.fail(None, MemoryFault::Hang);
        let started = Instant::now();
        let hung = cache.get("db").await.expect_err("no answer");
        assert!(
            matches!(
                hung,
                Error::Transport {
                    kind: TransportKind::Timeout,
                    ..
                }
            ),
            "{hung:?}"
        );
        assert_eq!(started.elapsed(), SecretCacheBuilder::DEFAULT_CALL_TIMEOUT);
        secrets.clear_failures();
        assert_eq!(text_of(&cache.get("db").await.expect("back")), "one");
        assert!(!format!("{secrets:?}").contains("one"), "no value in Debug");
    }
}
