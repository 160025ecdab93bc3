//! A derived struct's load plan: which (secret, version) pairs it reads, with which TTL, and
//! which of them each field reads; and the fetched secrets its fields are built from. Built
//! once per type and placeholder values ([`Plans`]); knows nothing of the cache.

mod plans;

use std::any::TypeId;
use std::cell::Cell;
use std::collections::HashMap;
use std::ptr;
use std::sync::Arc;
use std::time::Duration;

use foldhash::fast::RandomState;

use crate::{Error, Secret, Vars, Version};

pub(crate) use plans::Plans;

/// One (id, version) a plan asks the cache for, as which role, with the TTL its struct
/// declares and the rotation interval it says the secret has.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) id: Arc<str>,
    pub(crate) version: Version,
    /// The role the secret is read as; `None`: the principal of the cache it is loaded
    /// through.
    pub(crate) role: Option<Arc<str>>,
    pub(crate) ttl: Option<Duration>,
    pub(crate) rotation: Option<Duration>,
}

/// What a plan needs of a struct type (an `AwsSecrets` implementation): its type, the ids its
/// attributes name (placeholders unresolved), and how it declares its reads.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Declaration {
    pub(crate) ty: TypeId,
    /// The struct's type name, for errors.
    pub(crate) name: &'static str,
    pub(crate) ids: &'static [&'static str],
    /// The role ARNs its attributes name (placeholders unresolved).
    pub(crate) roles: &'static [&'static str],
    pub(crate) declare: fn(&mut Plan) -> Result<(), Error>,
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
    /// The role ARN template the secret is read as (`role = "…"`, may contain `${VAR}`), if
    /// the struct or field names one.
    pub role: Option<&'static str>,
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

/// Resolved requests of one struct: each distinct (id, version, role) once, with the shortest
/// TTL, and which of them each declared secret reads. Built once per type, cache and placeholder
/// values (see [`Plans`]).
#[doc(hidden)]
#[derive(Debug)]
pub struct Plan {
    requests: Vec<Request>,
    /// The request each declared (id template, version, role template) reads.
    slots: HashMap<Slot, usize, RandomState>,
    /// What `VersionRef::Current` means: the cache's default version.
    default_version: Version,
    /// The cache's `max_staleness`, which no declared TTL may exceed.
    max_ttl: Duration,
    vars: Vars,
    resolved: HashMap<&'static str, Arc<str>, RandomState>,
}

/// A declared read: (id template, version, role template).
type Slot = (&'static str, VersionRef, Option<&'static str>);

/// What a plan takes from its cache's settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PlanDefaults<'a> {
    /// What a field without `version_stage`/`version_id` reads.
    pub(crate) version: &'a Version,
    /// The longest TTL a struct or field may declare: the cache's `max_staleness`.
    pub(crate) max_ttl: Duration,
    /// The most (secret, version) pairs one struct may read: the cache's `capacity`, or its
    /// own loads would evict each other.
    pub(crate) max_reads: usize,
}

impl Plan {
    pub(crate) fn of(
        declaration: &Declaration,
        vars: Vars,
        defaults: PlanDefaults<'_>,
    ) -> Result<Self, Error> {
        let mut plan = Self {
            requests: Vec::new(),
            slots: HashMap::default(),
            default_version: defaults.version.clone(),
            max_ttl: defaults.max_ttl,
            vars,
            resolved: HashMap::default(),
        };
        (declaration.declare)(&mut plan)?;
        plan.resolved = HashMap::default();
        if plan.requests.len() > defaults.max_reads {
            return Err(Error::Config {
                message: format!(
                    "{} reads {} distinct secrets (or versions), above the cache's capacity of \
                     {}: one struct's secrets must fit in the cache beside each other; raise \
                     `SecretCacheBuilder::capacity`",
                    declaration.name,
                    plan.requests.len(),
                    defaults.max_reads
                ),
            });
        }
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
        let id = self.resolve(secret.id, secret.field)?;
        let role = match secret.role {
            Some(template) => Some(self.resolve_role(template, secret.field)?),
            None => None,
        };
        let version = match crate::parameter::parse(&id) {
            Some(Err(why)) => {
                return Err(Error::Config {
                    message: format!("the parameter of field `{}`: {why}", secret.field),
                });
            }
            // A parameter's default is its latest version, whatever the cache's default stage.
            Some(Ok(_)) if secret.version == VersionRef::Current => Version::current(),
            _ => secret.version.to_version(&self.default_version),
        };
        let same = |r: &Request| r.id == id && r.version == version && r.role == role;
        let at = match self.requests.iter().position(same) {
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
                    role,
                    ttl: secret.ttl,
                    rotation: secret.rotation,
                });
                self.requests.len() - 1
            }
        };
        self.slots
            .insert((secret.id, secret.version, secret.role), at);
        Ok(())
    }

    /// `template` with its placeholders resolved (once per template).
    fn resolve(&mut self, template: &'static str, field: &str) -> Result<Arc<str>, Error> {
        if let Some(id) = self.resolved.get(template) {
            return Ok(Arc::clone(id));
        }
        let id: Arc<str> = self.vars.resolve(template, field)?.into();
        self.resolved.insert(template, Arc::clone(&id));
        Ok(id)
    }

    /// The role ARN `template` names, resolved and checked (a placeholder's value may not
    /// make a role ARN).
    fn resolve_role(&mut self, template: &'static str, field: &str) -> Result<Arc<str>, Error> {
        let role = self.resolve(template, field)?;
        crate::role_arn::RoleArn::parse(&role).map_err(|err| Error::Config {
            message: format!("the role of field `{field}`: {err}"),
        })?;
        Ok(role)
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
pub struct Fetched<'p> {
    plan: &'p Plan,
    secrets: Vec<Arc<Secret>>,
    /// The last field's secret and where it was found: fields of one struct mostly read one
    /// secret, named by one string, so most lookups compare a pointer instead of hashing.
    last: Cell<Option<(Slot, usize)>>,
}

impl<'p> Fetched<'p> {
    pub(crate) fn new(plan: &'p Plan, secrets: Vec<Arc<Secret>>) -> Self {
        Self {
            plan,
            secrets,
            last: Cell::new(None),
        }
    }

    /// The fetched secret a field reads.
    pub(crate) fn secret(&self, secret: &SecretRef) -> Result<&Arc<Secret>, Error> {
        let slot = (secret.id, secret.version, secret.role);
        let at = match self.last.get() {
            Some(((id, version, role), at))
                if ptr::eq(id, secret.id) && version == secret.version && role == secret.role =>
            {
                Some(at)
            }
            _ => self.plan.slots.get(&slot).copied(),
        };
        if let Some(at) = at {
            self.last.set(Some((slot, at)));
        }
        at.and_then(|at| self.secrets.get(at))
            .ok_or_else(|| Error::Config {
                message: format!("field `{}` was not declared by its struct", secret.field),
            })
    }
}
