//! Where values come from. The cache owns everything that makes this library what it is (TTL
//! and jitter, single flight, stale-if-error and `max_staleness`, backoff, deadlines,
//! remembered failures, live handles, `Stats`, typed errors); a source only answers "this
//! (secret, version)" and, where it can, "which version is current".
//!
//! This module depends on nothing in the cache: the cache hands a source its [`Deadlines`]
//! (and whether it paces throttled calls itself) when it is built, and calls it through
//! [`Backend`].
//!
//! # Adding a source
//! 1. One file here (`source/NAME.rs`): the public type users build (`NameSource`), with
//!    `impl SecretSource` and `impl sealed::Sealed` (turning it into an `Arc<dyn Backend>`
//!    under the [`sealed::Terms`] it is given), and the private type implementing
//!    [`Backend`]: `get` at least; `describe`, `get_batch` and `changes` where the source can,
//!    and `in_region` where it can read another region's replicas (failover regions; the
//!    cache refuses `failover_regions` over a source without it).
//!    Map every failure to a typed [`Error`] naming the secret, never its value; enforce
//!    [`MAX_SECRET_BYTES`] (through [`Parts::into_secret`]).
//! 2. One line in `lib.rs`: `pub use source::NAME::NameSource;` (behind a feature if it pulls
//!    a dependency), and a `mod` line above; if the environment can choose it, a branch in
//!    [`env::from_env`].
//! 3. Where the source can read as another IAM role, [`Backend::assume`] (the SDK assumes
//!    it through STS, the agent passes it on as `roleArn`); otherwise the default refuses
//!    with [`Error::Config`].
//! 4. One fixture in `tests/tests/integration/sources/fixtures.rs` and its column in the
//!    scenario table of `sources.rs`'s module doc (a test checks the two agree): the
//!    conformance suite every source passes, a scenario it cannot express skipped by name with
//!    the reason; and a canary case in the leak suite (`tests/tests/reliability/leaks`).

pub(crate) mod agent;
mod assume;
mod env;
#[cfg(feature = "files")]
pub(crate) mod files;
#[cfg(feature = "testing")]
pub(crate) mod memory;
mod replica;
mod sdk;
mod sdk_call;
#[cfg(feature = "ssm")]
pub(crate) mod ssm;
mod stores;

pub(crate) use env::from_env;
pub(crate) use replica::Replica;
pub(crate) use sdk::{Configured, behavior_version, client_for};
pub(crate) use stores::Stores;

#[cfg(feature = "files")]
pub use files::FileSource;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::future::BoxFuture;
use secrecy::{SecretSlice, SecretString};
use zeroize::Zeroize;

use crate::secret::SecretValue;
use crate::{Error, Secret, TransportKind, Version};

/// Secrets Manager's limit on a secret's size; every source enforces it.
pub(crate) const MAX_SECRET_BYTES: usize = 64 * 1024;

/// How long a source's calls may take, in the spirit of aws-smithy's `TimeoutConfig` but with
/// only what every source honours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Deadlines {
    /// One HTTP attempt: a connection that accepts and never answers is given up after it.
    pub(crate) attempt: Duration,
    /// One call, its retries included (the cache also enforces it around every call).
    pub(crate) call: Duration,
}

/// What the cache asks of a source. Object safe: the cache holds an `Arc<dyn Backend>`.
pub(crate) trait Backend: Send + Sync + fmt::Debug {
    /// What kind of source this is (`sdk`, `agent`, `files`, `memory`): the `asm.source`
    /// label of metrics and spans.
    fn kind(&self) -> &'static str {
        "other"
    }

    /// The value of `id` at `version`. `refresh`: bypass any cache of the source's own (the
    /// caller's `refresh_now`).
    fn get<'a>(
        &'a self,
        id: &'a str,
        version: &'a Version,
        refresh: bool,
    ) -> BoxFuture<'a, Result<Secret, Error>>;

    /// Which versions `id` has now, without the value; `None` when the source cannot tell
    /// (the cache then fetches to compare version ids, and skips the rotation guardrail).
    fn describe<'a>(&'a self, _id: &'a str) -> Option<BoxFuture<'a, Result<Description, Error>>> {
        None
    }

    /// The current values of up to 20 `ids` in one call, as `(index into ids, result)`; ids
    /// left out are fetched one by one. `None` when the source has no such call.
    fn get_batch<'a>(&'a self, _ids: &'a [Arc<str>]) -> Option<BoxFuture<'a, BatchResult>> {
        None
    }

    /// The error a read of `id` at `version` is answered with at once, without a call: an id
    /// or version the service would refuse, a store this source does not serve. `None`: call.
    fn refuses(&self, _id: &str, _version: &Version) -> Option<Error> {
        None
    }

    /// Parameter Store's `GetParameters`: the latest versions of up to ten parameter `ids`
    /// (`crate::parameter`) in one call, as `(index into ids, result)`; ids left out (not
    /// found, not matched to an answer) are fetched one by one, which names their error.
    /// `None` when the source has no such call.
    fn get_parameters<'a>(&'a self, _ids: &'a [Arc<str>]) -> Option<BoxFuture<'a, BatchResult>> {
        None
    }

    /// Whether [`get_batch`](Self::get_batch) is one consistent read of local state rather than
    /// an API call with a quota of its own (a mounted directory read from one generation): the
    /// cache then uses it whatever its `batch` setting says.
    fn batch_is_one_read(&self) -> bool {
        false
    }

    /// A signal the source sends when its values may have changed (a mounted directory was
    /// swapped); `None` when it has none. Live handles wait on it beside their timers, and on
    /// a change re-read all their secrets in one round, due or not.
    fn changes(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        None
    }

    /// Whether the source answers ids of Parameter Store parameters itself (see
    /// `crate::parameter`); the cache otherwise sends them to its parameter source, or answers
    /// that it has none.
    fn serves_parameters(&self) -> bool {
        false
    }

    /// The AWS region the source reads from, when it knows.
    fn region(&self) -> Option<&str> {
        None
    }

    /// The SDK client behind the source, if it is the SDK.
    fn client(&self) -> Option<&aws_sdk_secretsmanager::Client> {
        None
    }

    /// The same source reading from `region` instead (where the secrets' replicas are), built
    /// under `terms`; `None` when the source reads one place only (an agent, a directory,
    /// memory). Ids are asked as given: [`Replica`] maps them into the region.
    fn in_region(&self, _region: &str, _terms: sealed::Terms) -> Option<Arc<dyn Backend>> {
        None
    }

    /// The same source reading as `role` (an IAM role's ARN, checked already): every call of
    /// the source returned carries that role's credentials, sourced from this source's own.
    /// Called once per role by the cache, which bounds how many roles it holds; nothing is
    /// sent before the first call.
    ///
    /// # Errors
    /// [`Error::Config`] when the source cannot read as another role.
    fn assume(&self, role: &Arc<str>) -> Result<Arc<dyn Backend>, Error> {
        Err(Error::Config {
            message: format!(
                "this source cannot read secrets as role `{role}`: a role is assumed by the \
                 SDK source (through STS) or passed on by the Secrets Manager Agent 2.1 \
                 (`roleArn`)"
            ),
        })
    }
}

/// A batch's answers by index into the ids asked for.
/// An answer about `id` that is not what the call answers (`why`, never its contents).
pub(crate) fn malformed(id: &str, why: &'static str) -> Error {
    Error::Transport {
        secret_id: id.to_owned(),
        kind: TransportKind::MalformedResponse,
        detail: Some(why.into()),
    }
}

/// A parameter's [`refusal`](crate::parameter::refusal) as the error a read is answered
/// with, before any call (for [`Backend::refuses`]).
pub(crate) fn parameter_refused(id: &str, version: &Version) -> Option<Error> {
    crate::parameter::refusal(id, version).map(|message| Error::Config { message })
}

pub(crate) type BatchResult = Result<Vec<(usize, Result<Secret, Error>)>, Error>;

/// Something a [`SecretCache`](crate::SecretCache) can read secrets from: the Secrets Manager
/// API through an SDK client (`aws_sdk_secretsmanager::Client`), the Secrets Manager Agent or
/// Lambda extension ([`AgentSource`](crate::AgentSource)), files mounted on Kubernetes
/// (`FileSource`, feature `files`), or values held in memory for tests (`MemorySource`, feature
/// `testing`). Sealed: the cache's semantics are tested against each.
pub trait SecretSource: sealed::Sealed + Send + 'static {}

pub(crate) mod sealed {
    use std::sync::Arc;

    use super::{Backend, Deadlines};

    /// Turns a public source into what the cache calls, under the cache's terms.
    pub trait Sealed {
        /// The source as the cache holds it.
        fn into_source(self, terms: Terms) -> Building;
    }

    /// The terms a source is built under: the cache's deadlines (the primary's share of them
    /// when failover regions may answer too), and whether the cache paces throttled calls
    /// itself (a client must then not retry them).
    #[derive(Debug, Clone, Copy)]
    pub struct Terms {
        pub(crate) deadlines: Deadlines,
        /// The cache's deadlines whole, for calls no failover region shares (Parameter
        /// Store's: it has no replicas).
        #[cfg_attr(
            not(feature = "ssm"),
            expect(dead_code, reason = "read by the Parameter Store source only")
        )]
        pub(crate) unshared: Deadlines,
        pub(crate) cache_paces_throttling: bool,
    }

    /// A source as the cache holds it.
    #[derive(Debug)]
    pub struct Building(pub(crate) Arc<dyn Backend>);
}

/// A source waiting for the terms it is built under: the cache's settings are final only when
/// its builder builds.
pub(crate) struct Unbuilt(Box<dyn FnOnce(sealed::Terms) -> Arc<dyn Backend> + Send>);

impl Unbuilt {
    /// `source`, to be built under the terms given to [`build`](Self::build).
    pub(crate) fn new(source: impl SecretSource) -> Self {
        Self(Box::new(move |terms| source.into_source(terms).0))
    }

    /// The source, built under `terms`.
    pub(crate) fn build(self, terms: sealed::Terms) -> Arc<dyn Backend> {
        (self.0)(terms)
    }
}

impl fmt::Debug for Unbuilt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Unbuilt")
    }
}

/// What `DescribeSecret` (or a source's equal) says about one secret.
#[derive(Debug, Default)]
pub(crate) struct Description {
    /// Version ids and the stages each carries.
    pub(crate) versions: HashMap<String, Vec<String>>,
    /// How often the secret rotates, when rotation is on and its schedule has a fixed period.
    pub(crate) rotation: Option<Duration>,
    /// Whether the secret is scheduled for deletion.
    pub(crate) deleted: bool,
}

impl Description {
    /// The id of the version `version` names now, if the secret has one.
    pub(crate) fn version_id(&self, version: &Version) -> Option<&str> {
        match version {
            Version::Stage(stage) => self
                .versions
                .iter()
                .find(|(_, stages)| stages.iter().any(|s| s == &**stage))
                .map(|(id, _)| id.as_str()),
            Version::Id(id) => self.versions.get_key_value(&**id).map(|(k, _)| k.as_str()),
        }
    }
}

/// The fields of an answer in `GetSecretValue`'s shape, owned; turned into a [`Secret`] by
/// [`Parts::into_secret`].
#[derive(Default)]
pub(crate) struct Parts {
    pub(crate) arn: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) version_id: Option<String>,
    pub(crate) version_stages: Option<Vec<String>>,
    pub(crate) string: Option<String>,
    pub(crate) binary: Option<Vec<u8>>,
}

impl Parts {
    /// Moves the value into `secrecy` wrappers (copied at exact size, the source's buffer
    /// zeroized), after checking the 64 KiB limit.
    pub(crate) fn into_secret(self, id: &str) -> Result<Secret, Error> {
        let value = match (self.string, self.binary) {
            (Some(mut text), binary) => {
                if let Some(mut bytes) = binary {
                    bytes.zeroize();
                }
                let checked = check_size(id, text.len())
                    .map(|()| SecretValue::String(SecretString::from(text.as_str())));
                text.zeroize();
                checked?
            }
            (None, Some(mut bytes)) => {
                let checked =
                    check_size(id, bytes.len()).map(|()| SecretSlice::from(bytes.to_vec()));
                bytes.zeroize();
                SecretValue::Binary(checked?)
            }
            (None, None) => {
                return Err(malformed(
                    id,
                    "the response holds neither SecretString nor SecretBinary",
                ));
            }
        };
        Ok(Secret {
            name: self.name.unwrap_or_else(|| id.to_owned()).into(),
            arn: self.arn.unwrap_or_default().into(),
            version_id: self.version_id.unwrap_or_default().into(),
            version_stages: self
                .version_stages
                .unwrap_or_default()
                .into_iter()
                .map(String::into_boxed_str)
                .collect(),
            fetched_at: SystemTime::now(),
            value,
            json_index: std::sync::OnceLock::new(),
        })
    }
}

fn check_size(id: &str, bytes: usize) -> Result<(), Error> {
    if bytes > MAX_SECRET_BYTES {
        return Err(Error::TooLarge {
            secret_id: id.to_owned(),
            bytes,
        });
    }
    Ok(())
}

/// Which of `ids` (names, full ARNs, ARNs without the six-character suffix) an answer naming
/// `name` and `arn` is for. By ARN first: a bare name means a secret of the caller's own
/// account and region, so another account's secret of the same name, asked for by its ARN in
/// the same batch, never answers it.
pub(crate) fn answer_index(
    ids: &[Arc<str>],
    name: Option<&str>,
    arn: Option<&str>,
) -> Option<usize> {
    let arn = arn.and_then(crate::arn::Arn::parse);
    ids.iter()
        .position(|id| arn.is_some_and(|arn| arn.is_requested_as(id)))
        .or_else(|| {
            let name = name?;
            ids.iter()
                .position(|id| &**id == name && crate::arn::Arn::parse(id).is_none())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_answer_is_matched_by_arn_before_name() {
        let foreign = "arn:aws:secretsmanager:us-east-1:999999999999:secret:prod/db-XyZ123";
        let ours = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf";
        let ids: Vec<Arc<str>> = vec!["prod/db".into(), foreign.into()];
        assert_eq!(answer_index(&ids, Some("prod/db"), Some(foreign)), Some(1));
        assert_eq!(answer_index(&ids, Some("prod/db"), Some(ours)), Some(0));
        let partial: Vec<Arc<str>> =
            vec!["arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db".into()];
        assert_eq!(answer_index(&partial, Some("prod/db"), Some(ours)), Some(0));
        assert_eq!(answer_index(&partial, Some("prod/db"), Some(foreign)), None);
    }

    #[test]
    fn stages_and_ids_resolve_to_the_version_that_has_them() {
        let description = Description {
            versions: HashMap::from([
                ("v1".to_owned(), vec!["AWSPREVIOUS".to_owned()]),
                ("v2".to_owned(), vec!["AWSCURRENT".to_owned()]),
            ]),
            rotation: None,
            deleted: false,
        };
        assert_eq!(description.version_id(&Version::current()), Some("v2"));
        assert_eq!(
            description.version_id(&Version::stage("AWSPREVIOUS")),
            Some("v1")
        );
        assert_eq!(description.version_id(&Version::stage("AWSPENDING")), None);
        assert_eq!(description.version_id(&Version::id("v1")), Some("v1"));
        assert_eq!(description.version_id(&Version::id("v9")), None);
    }
}
