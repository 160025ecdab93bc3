//! The [`AwsSecrets`] trait that `#[derive(AwsSecrets)]` implements, and the load plan behind it.

mod plans;

use std::cell::Cell;
use std::collections::HashMap;
use std::future::Future;
use std::ptr;
use std::sync::Arc;
use std::time::Duration;

use foldhash::fast::RandomState;

use crate::cache::Request;
use crate::iam::IamPolicy;
use crate::{Error, Live, Secret, SecretCache, Vars, Version};

pub(crate) use plans::Plans;

/// A settings struct whose fields come from Secrets Manager.
///
/// Implemented by `#[derive(AwsSecrets)]`; the hidden methods are the derive's contract with
/// this crate and are not meant to be called or implemented by hand.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `AwsSecrets`",
    label = "a `nested` field's type must itself `#[derive(AwsSecrets)]`",
    note = "to read this field from a secret instead, give it `name = \"…\"` or `arn = \"…\"`"
)]
pub trait AwsSecrets: Sized + Send + Sync + 'static {
    /// Every secret id the struct reads, as written in its attributes (`${VAR}` placeholders
    /// unresolved), nested structs included; an id read by several fields may repeat.
    const SECRET_IDS: &'static [&'static str];

    #[doc(hidden)]
    fn __declare(plan: &mut Plan) -> Result<(), Error>;

    #[doc(hidden)]
    fn __assemble(source: &Source<'_>) -> Result<Self, Error>;

    /// Loads the struct once through `cache`, resolving `${VAR}` placeholders from the process
    /// environment. Each distinct (secret, version) is fetched once however many fields read it;
    /// misses go out together (in one batch with `.batch(true)`). A field without a version
    /// reads the cache's default version ([`SecretCacheBuilder::version`](crate::SecretCacheBuilder::version),
    /// `AWSCURRENT` unless set), as [`SecretCache::get`] and [`SecretCache::refresh_now`] do.
    ///
    /// A warm load reads memory only: the plan (which secrets, which keys) is computed once per
    /// type and per distinct placeholder values, each JSON secret is parsed once per fetched
    /// version, and only the variables the struct's ids name are read from the environment.
    /// For a value read on every request, [`watch`](Self::watch) and [`Live::read`] cost less.
    ///
    /// # Errors
    /// The first failure of any secret or field, typed (see [`Error`]).
    fn load(cache: &SecretCache) -> impl Future<Output = Result<Self, Error>> + Send {
        Self::load_with(cache, Vars::from_env())
    }

    /// [`load`](Self::load) with explicit placeholder values.
    ///
    /// # Errors
    /// As [`load`](Self::load).
    fn load_with(
        cache: &SecretCache,
        vars: Vars,
    ) -> impl Future<Output = Result<Self, Error>> + Send {
        async move {
            // Warm: the plan borrowed where it is kept, every secret a hit.
            let warm = cache.with_plan::<Self, _>(&vars, |plan| {
                let secrets = cache.hits(plan.requests())?;
                Some(secrets.and_then(|secrets| Self::__assemble(&Source::new(plan, secrets))))
            })?;
            if let Some(loaded) = warm {
                return loaded;
            }
            let plan = cache.plan::<Self>(&vars)?;
            // Boxed: the cold path's state stays out of every warm load's future.
            let secrets = Box::pin(cache.get_many(plan.requests())).await?;
            Self::__assemble(&Source::new(&plan, secrets))
        }
    }

    /// Loads the struct like [`load`](Self::load), then keeps it current: the returned handle
    /// owns a task that refreshes the secrets before they expire and rebuilds the struct when
    /// one rotates (see [`Live`]).
    ///
    /// # Errors
    /// As [`load`](Self::load); later failures are reported by [`Live::last_error`].
    fn watch(cache: &SecretCache) -> impl Future<Output = Result<Live<Self>, Error>> + Send {
        Self::watch_with(cache, Vars::from_env())
    }

    /// [`watch`](Self::watch) with explicit placeholder values.
    ///
    /// # Errors
    /// As [`load`](Self::load).
    fn watch_with(
        cache: &SecretCache,
        vars: Vars,
    ) -> impl Future<Output = Result<Live<Self>, Error>> + Send {
        let cache = cache.clone();
        async move {
            let plan = cache.plan::<Self>(&vars)?;
            Live::start(cache, plan).await
        }
    }

    /// A least-privilege IAM policy for exactly the secrets this struct reads, placeholders
    /// resolved from the environment. Secrets `cache` has loaded are granted under the ARN the
    /// service returned; names not loaded yet are completed with the cache's region and the
    /// account of a loaded name of the struct (see [`IamPolicy`]): load a struct that names its
    /// secrets by `name` first.
    ///
    /// # Errors
    /// [`Error::UnresolvedPlaceholder`], or [`Error::Config`] when a name's account is unknown
    /// (nothing named by `name` has been loaded through `cache`).
    fn iam_policy(cache: &SecretCache) -> Result<IamPolicy, Error> {
        Self::iam_policy_with(cache, Vars::from_env())
    }

    /// [`iam_policy`](Self::iam_policy) with explicit placeholder values.
    ///
    /// # Errors
    /// As [`iam_policy`](Self::iam_policy).
    fn iam_policy_with(cache: &SecretCache, vars: Vars) -> Result<IamPolicy, Error> {
        let plan = cache.plan::<Self>(&vars)?;
        IamPolicy::for_ids(cache, plan.requests().iter().map(|r| &*r.id))
    }
}

/// One secret a struct reads, as the derive describes it.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct SecretRef {
    /// The id template (name or ARN, may contain `${VAR}`).
    pub id: &'static str,
    /// Which version.
    pub version: VersionRef,
    /// The TTL the struct declares, if any: it replaces the cache's for this secret (when
    /// structs declare several, the shortest wins).
    pub ttl: Option<Duration>,
    /// The rotation interval the struct declares, if any: the TTL in force is checked against
    /// it at load, under the cache's rotation guardrail.
    pub rotation: Option<Duration>,
    /// `Struct.field`, for errors.
    pub field: &'static str,
}

/// A version as written in an attribute.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VersionRef {
    /// The cache's default version (`AWSCURRENT` unless the cache sets another).
    Current,
    /// `version_stage = "…"`.
    Stage(&'static str),
    /// `version_id = "…"`.
    Id(&'static str),
}

impl VersionRef {
    fn to_version(self, default: &Version) -> Version {
        match self {
            Self::Current => default.clone(),
            Self::Stage(s) => Version::stage(s),
            Self::Id(s) => Version::id(s),
        }
    }
}

/// One field read from a secret: the secret, and the JSON key (none for the whole secret).
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct FieldRef {
    /// The secret.
    pub secret: SecretRef,
    /// The JSON key, or `None` for the whole secret.
    pub key: Option<&'static str>,
}

/// Resolved requests of one struct: each distinct (id, version) once, with the shortest TTL,
/// and which of them each declared secret reads. Built once per type, cache and placeholder
/// values (see [`Plans`]).
#[doc(hidden)]
#[derive(Debug)]
pub struct Plan {
    requests: Vec<Request>,
    /// The request each declared (id template, version) reads.
    slots: HashMap<(&'static str, VersionRef), usize, RandomState>,
    /// What `VersionRef::Current` means: the cache's default version.
    default_version: Version,
    /// The cache's `max_staleness`, which no declared TTL may exceed.
    max_ttl: Duration,
    vars: Vars,
    resolved: HashMap<&'static str, Arc<str>, RandomState>,
}

/// What a plan takes from its cache's settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PlanDefaults<'a> {
    /// What a field without `version_stage`/`version_id` reads.
    pub(crate) version: &'a Version,
    /// The longest TTL a struct or field may declare: the cache's `max_staleness`.
    pub(crate) max_ttl: Duration,
}

impl Plan {
    pub(crate) fn of<T: AwsSecrets>(vars: Vars, defaults: PlanDefaults<'_>) -> Result<Self, Error> {
        let mut plan = Self {
            requests: Vec::new(),
            slots: HashMap::default(),
            default_version: defaults.version.clone(),
            max_ttl: defaults.max_ttl,
            vars,
            resolved: HashMap::default(),
        };
        T::__declare(&mut plan)?;
        plan.resolved = HashMap::default();
        Ok(plan)
    }

    /// Adds one secret read (the derive calls this once per distinct secret, version and TTL
    /// of a struct; repeats are merged, keeping the shortest TTL).
    ///
    /// # Errors
    /// [`Error::UnresolvedPlaceholder`]; [`Error::Config`] for a declared TTL above the
    /// cache's `max_staleness` (the rule `SecretCacheBuilder::build` applies to the cache's).
    pub fn secret(&mut self, secret: &SecretRef) -> Result<(), Error> {
        if let Some(ttl) = secret.ttl.filter(|ttl| *ttl > self.max_ttl) {
            let whose = format!(
                "the ttl of field `{}` (secret `{}`)",
                secret.field, secret.id
            );
            return Err(Error::ttl_above_max_staleness(&whose, ttl, self.max_ttl));
        }
        let id = self.resolve(secret)?;
        let version = secret.version.to_version(&self.default_version);
        let at = match (self.requests.iter()).position(|r| r.id == id && r.version == version) {
            Some(at) => {
                let request = &mut self.requests[at];
                request.ttl = min_ttl(request.ttl, secret.ttl);
                request.rotation = min_ttl(request.rotation, secret.rotation);
                at
            }
            None => {
                self.requests.push(Request {
                    id,
                    version,
                    ttl: secret.ttl,
                    rotation: secret.rotation,
                });
                self.requests.len() - 1
            }
        };
        self.slots.insert((secret.id, secret.version), at);
        Ok(())
    }

    fn resolve(&mut self, secret: &SecretRef) -> Result<Arc<str>, Error> {
        if let Some(id) = self.resolved.get(secret.id) {
            return Ok(Arc::clone(id));
        }
        let id: Arc<str> = self.vars.resolve(secret.id, secret.field)?.into();
        self.resolved.insert(secret.id, Arc::clone(&id));
        Ok(id)
    }

    /// Each distinct (id, version) the struct reads, in declaration order.
    pub(crate) fn requests(&self) -> &[Request] {
        &self.requests
    }
}

fn min_ttl(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The fetched secrets of one plan, from which the derive builds fields.
#[doc(hidden)]
#[derive(Debug)]
pub struct Source<'p> {
    plan: &'p Plan,
    secrets: Vec<Arc<Secret>>,
    /// The last field's secret and where it was found: fields of one struct mostly read one
    /// secret, named by one string, so most lookups compare a pointer instead of hashing.
    last: Cell<Option<(&'static str, VersionRef, usize)>>,
}

impl<'p> Source<'p> {
    pub(crate) fn new(plan: &'p Plan, secrets: Vec<Arc<Secret>>) -> Self {
        Self {
            plan,
            secrets,
            last: Cell::new(None),
        }
    }

    /// The fetched secret a field reads.
    pub(crate) fn secret(&self, secret: &SecretRef) -> Result<&Arc<Secret>, Error> {
        let at = match self.last.get() {
            Some((id, version, at)) if ptr::eq(id, secret.id) && version == secret.version => {
                Some(at)
            }
            _ => self.plan.slots.get(&(secret.id, secret.version)).copied(),
        };
        if let Some(at) = at {
            self.last.set(Some((secret.id, secret.version, at)));
        }
        at.and_then(|at| self.secrets.get(at))
            .ok_or_else(|| Error::Config {
                message: format!("field `{}` was not declared by its struct", secret.field),
            })
    }
}

#[cfg(test)]
mod tests;
