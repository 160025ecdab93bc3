//! The [`AwsSecrets`] trait that `#[derive(AwsSecrets)]` implements, and the load plan behind it.

use std::any::TypeId;
use std::future::Future;

use crate::iam::{IamPolicies, IamPolicy};
use crate::plan::{Declaration, Fetched, Plan};
use crate::{Error, Live, SecretCache, Vars};

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

    /// Every role ARN the struct reads as (`role = "…"`), as written in its attributes
    /// (`${VAR}` placeholders unresolved), nested structs included; may repeat. Empty for a
    /// struct that reads everything as the cache it is loaded through.
    const ROLES: &'static [&'static str] = &[];

    #[doc(hidden)]
    fn __declare(plan: &mut Plan) -> Result<(), Error>;

    #[doc(hidden)]
    fn __assemble(fetched: &Fetched<'_>) -> Result<Self, Error>;

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
            let warm = cache.with_plan(&declaration::<Self>(), &vars, |plan| {
                let secrets = cache.hits(plan.requests())?;
                Some(secrets.and_then(|secrets| Self::__assemble(&Fetched::new(plan, secrets))))
            })?;
            if let Some(loaded) = warm {
                return loaded;
            }
            let plan = cache.plan(&declaration::<Self>(), &vars)?;
            // Boxed: the cold path's state stays out of every warm load's future.
            let secrets = Box::pin(cache.get_many(plan.requests())).await?;
            Self::__assemble(&Fetched::new(&plan, secrets))
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
            let plan = cache.plan(&declaration::<Self>(), &vars)?;
            Live::start(cache, plan, Self::__assemble).await
        }
    }

    /// A least-privilege IAM policy for exactly the secrets this struct reads as the principal
    /// `cache` reads as (its own credentials, or the role of a view), placeholders resolved
    /// from the environment. For a struct whose fields name roles, this is the caller's policy
    /// (with `sts:AssumeRole` on those roles); [`iam_policies`](Self::iam_policies) gives
    /// every principal's. Secrets `cache` has loaded are granted under the ARN the
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
        let policies = Self::iam_policies_with(cache, vars)?;
        let policy = match cache.role() {
            Some(role) => policies.role(role).cloned(),
            None => Some(policies.caller().clone()),
        };
        Ok(policy.unwrap_or_else(|| policies.caller().clone()))
    }

    /// One least-privilege policy per principal the struct reads as, placeholders resolved
    /// from the environment: the cache's own credentials' (its secrets, and `sts:AssumeRole`
    /// on exactly the roles its fields name) and each role's (exactly the secrets read as
    /// it). Names read as a role are completed with the role's account before they are
    /// loaded. See [`IamPolicies`].
    ///
    /// # Errors
    /// As [`iam_policy`](Self::iam_policy); [`Error::Config`] for a role the cache cannot read
    /// as (see [`SecretCache::as_role`]).
    fn iam_policies(cache: &SecretCache) -> Result<IamPolicies, Error> {
        Self::iam_policies_with(cache, Vars::from_env())
    }

    /// [`iam_policies`](Self::iam_policies) with explicit placeholder values.
    ///
    /// # Errors
    /// As [`iam_policies`](Self::iam_policies).
    fn iam_policies_with(cache: &SecretCache, vars: Vars) -> Result<IamPolicies, Error> {
        let plan = cache.plan(&declaration::<Self>(), &vars)?;
        cache.iam_policies(plan.requests())
    }
}

/// What a plan needs of `T`: its type, its ids, how it declares its reads.
fn declaration<T: AwsSecrets>() -> Declaration {
    Declaration {
        ty: TypeId::of::<T>(),
        name: std::any::type_name::<T>(),
        ids: T::SECRET_IDS,
        roles: T::ROLES,
        declare: T::__declare,
    }
}

#[cfg(test)]
mod tests;
