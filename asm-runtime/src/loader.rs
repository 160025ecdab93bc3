//! The [`AwsSecrets`] trait that `#[derive(AwsSecrets)]` implements, and the load plan behind it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::iam::IamPolicy;
use crate::{Error, Live, Secret, SecretCache, Vars, Version};

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
    fn __assemble(source: &Source) -> Result<Self, Error>;

    /// Loads the struct once through `cache`, resolving `${VAR}` placeholders from the process
    /// environment. Each distinct (secret, version) is fetched once however many fields read it;
    /// misses go out together (batched where they can be).
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
        let cache = cache.clone();
        async move {
            let plan = Plan::of::<Self>(vars)?;
            let secrets = cache.get_many(&plan.requests()).await?;
            Self::__assemble(&Source::new(Arc::new(plan), secrets))
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
        async move { Live::start(cache, Plan::of::<Self>(vars)?).await }
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
        let plan = Plan::of::<Self>(vars)?;
        IamPolicy::for_ids(cache, plan.ids.iter().map(|(id, _)| &**id))
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionRef {
    /// The cache's default (`AWSCURRENT`).
    Current,
    /// `version_stage = "…"`.
    Stage(&'static str),
    /// `version_id = "…"`.
    Id(&'static str),
}

impl VersionRef {
    fn to_version(self) -> Version {
        match self {
            Self::Current => Version::current(),
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

/// Resolved requests of one struct: each distinct (id, version) once, with the shortest TTL.
#[doc(hidden)]
#[derive(Debug)]
pub struct Plan {
    vars: Vars,
    resolved: HashMap<&'static str, Arc<str>>,
    ids: Vec<(Arc<str>, Version)>,
    ttls: Vec<Option<Duration>>,
    rotations: Vec<Option<Duration>>,
}

impl Plan {
    pub(crate) fn of<T: AwsSecrets>(vars: Vars) -> Result<Self, Error> {
        let mut plan = Self {
            vars,
            resolved: HashMap::new(),
            ids: Vec::new(),
            ttls: Vec::new(),
            rotations: Vec::new(),
        };
        T::__declare(&mut plan)?;
        Ok(plan)
    }

    /// Adds one secret read (the derive calls this once per distinct secret, version and TTL
    /// of a struct; repeats are merged, keeping the shortest TTL).
    ///
    /// # Errors
    /// [`Error::UnresolvedPlaceholder`].
    pub fn secret(&mut self, secret: &SecretRef) -> Result<(), Error> {
        let id = self.resolve(secret)?;
        let version = secret.version.to_version();
        match self.ids.iter().position(|(i, v)| *i == id && *v == version) {
            Some(at) => {
                self.ttls[at] = min_ttl(self.ttls[at], secret.ttl);
                self.rotations[at] = min_ttl(self.rotations[at], secret.rotation);
            }
            None => {
                self.ids.push((id, version));
                self.ttls.push(secret.ttl);
                self.rotations.push(secret.rotation);
            }
        }
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

    pub(crate) fn requests(&self) -> Vec<crate::cache::Request> {
        self.ids
            .iter()
            .zip(self.ttls.iter().zip(&self.rotations))
            .map(|((id, version), (ttl, rotation))| crate::cache::Request {
                id: Arc::clone(id),
                version: version.clone(),
                ttl: *ttl,
                rotation: *rotation,
            })
            .collect()
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
pub struct Source {
    plan: Arc<Plan>,
    secrets: Vec<Arc<Secret>>,
}

impl Source {
    pub(crate) fn new(plan: Arc<Plan>, secrets: Vec<Arc<Secret>>) -> Self {
        Self { plan, secrets }
    }

    /// The fetched secret a field reads.
    pub(crate) fn secret(&self, secret: &SecretRef) -> Result<&Arc<Secret>, Error> {
        let version = secret.version.to_version();
        self.plan
            .resolved
            .get(secret.id)
            .and_then(|id| {
                self.plan
                    .ids
                    .iter()
                    .position(|(i, v)| i == id && *v == version)
            })
            .and_then(|at| self.secrets.get(at))
            .ok_or_else(|| Error::Config {
                message: format!("field `{}` was not declared by its struct", secret.field),
            })
    }
}
