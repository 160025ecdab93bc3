//! A role per secret: the cache's principals, its own credentials and the IAM roles it reads
//! as, each with a [`Core`] of its own.
//!
//! A cached value belongs to (principal, region, secret, version): a role's view has its own
//! source (the cache's source reading as the role: an SDK client with the role's STS
//! credentials, or the agent's `roleArn`), its own entries (capacity, eviction), its own home
//! (a bare name resolves in the role's account), its own pacers and its own memory of denials,
//! so the same name under two roles is two secrets and one role's throttling or denial does
//! not slow another's reads. It shares the settings, the counters ([`Stats`](super::Stats) is
//! the whole cache's) and the change signal live handles wait on.
//!
//! Views are made on first use, at most [`SecretCache::MAX_ROLES`] of them, and live as long
//! as the cache: a [`SecretCache`] handle holds its own principal's core and the table of all
//! of them (which the cores do not hold back: no reference cycle).
//!
//! An `sts:AssumeRole` denial ([`Error::RoleDenied`]) is remembered per role: until
//! `denial_retry` has passed, every call through the role is answered with it without being
//! sent; a `refresh_now` through the role tries again at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use arc_swap::ArcSwap;
use foldhash::fast::RandomState;
use tokio::time::Instant;

use super::map::EntryMap;
use super::pace::Pacers;
use super::{Core, Entry, SecretCache, Settings};
use crate::Error;
use crate::iam::{IamPolicies, IamPolicy};
use crate::plan::Request;
use crate::role_arn::RoleArn;
use crate::source::Backend;

/// Every principal of one cache: its own credentials' core, and one core per role read as.
pub(crate) struct Principals {
    own: Arc<Core>,
    roles: ArcSwap<HashMap<Arc<str>, Arc<Core>, RandomState>>,
    /// Serialises the making of views.
    write: Mutex<()>,
}

impl Principals {
    /// The cache's own principal, then every role's view made so far.
    pub(super) fn all(&self) -> Vec<Arc<Core>> {
        let roles = self.roles.load();
        std::iter::once(Arc::clone(&self.own))
            .chain(roles.values().cloned())
            .collect()
    }
}

/// The role a view reads as, and what it remembers of being denied it.
pub(crate) struct Role {
    pub(crate) arn: Arc<str>,
    denied: Mutex<Option<Denial>>,
}

/// An `sts:AssumeRole` denial, answered from memory until `until`.
struct Denial {
    until: Instant,
    error: Error,
}

impl Principals {
    pub(super) fn new(own: Arc<Core>) -> Self {
        Self {
            own,
            roles: ArcSwap::default(),
            write: Mutex::default(),
        }
    }

    /// The core reading as `role`, if it has been made.
    fn get(&self, role: &str) -> Option<Arc<Core>> {
        self.roles.load().get(role).cloned()
    }

    /// The core reading as `role`, made on first use.
    fn get_or_make(&self, role: &str) -> Result<Arc<Core>, Error> {
        if let Some(core) = self.get(role) {
            return Ok(core);
        }
        RoleArn::parse(role)?;
        let _writer = self.write.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(core) = self.get(role) {
            return Ok(core);
        }
        let held = self.roles.load();
        if held.len() >= SecretCache::MAX_ROLES {
            return Err(Error::Config {
                message: format!(
                    "cannot read as role `{role}`: this cache reads as {} roles already, its \
                     bound (each role holds an SDK client and its credentials, as the Secrets \
                     Manager Agent bounds its roles at 20); read fewer roles through one cache, \
                     or build another cache for the rest",
                    SecretCache::MAX_ROLES
                ),
            });
        }
        let arn: Arc<str> = role.into();
        let source = self.own.source.assume(&arn)?;
        let core = Arc::new(Core::reading_as(
            &self.own,
            source,
            Role::new(Arc::clone(&arn)),
        ));
        let mut roles = HashMap::clone(&held);
        roles.insert(arn, Arc::clone(&core));
        self.roles.store(Arc::new(roles));
        tracing::info!(role, roles = held.len() + 1, "reading as a new role");
        Ok(core)
    }

    /// The roles read as so far, sorted.
    pub(super) fn roles(&self) -> Vec<String> {
        let mut roles: Vec<String> = self.roles.load().keys().map(|r| r.to_string()).collect();
        roles.sort_unstable();
        roles
    }
}

impl Role {
    fn new(arn: Arc<str>) -> Self {
        Self {
            arn,
            denied: Mutex::default(),
        }
    }

    fn denied(&self) -> MutexGuard<'_, Option<Denial>> {
        self.denied.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Core {
    /// A core for `role` over `source` (the cache's source reading as it), sharing `own`'s
    /// settings, counters, change signal, live-handle registry and metrics export state.
    fn reading_as(own: &Core, source: Arc<dyn Backend>, role: Role) -> Self {
        let settings: Settings = own.settings.clone();
        Self {
            source,
            failover: own.failover.for_role(&role.arn),
            entries: EntryMap::new(settings.capacity),
            pacers: Pacers::new(settings.throttle_pacing),
            counters: Arc::clone(&own.counters),
            batch_denied_until: Default::default(),
            changes: Arc::clone(&own.changes),
            plans: crate::plan::Plans::default(),
            handles: Arc::clone(&own.handles),
            exported: Arc::clone(&own.exported),
            home: OnceLock::new(),
            role: Some(role),
            settings,
        }
    }

    /// The role this core reads as (`None`: the cache's own credentials).
    pub(super) fn role_arn(&self) -> Option<Arc<str>> {
        self.role.as_ref().map(|role| Arc::clone(&role.arn))
    }

    /// The remembered denial of this core's role, for a call about `secret_id`, while it lasts.
    pub(super) fn role_denied(&self, secret_id: &str) -> Option<Error> {
        let role = self.role.as_ref()?;
        let denied = role.denied();
        let denial = denied.as_ref().filter(|d| Instant::now() < d.until)?;
        Some(match &denial.error {
            Error::RoleDenied { role, .. } => Error::RoleDenied {
                secret_id: secret_id.to_owned(),
                role: role.clone(),
            },
            other => other.clone(),
        })
    }

    /// Remembers a role denial `result` carries, for `denial_retry`, warning once per period.
    pub(super) fn remember_role_denial<T>(&self, result: &Result<T, Error>) {
        let (Some(role), Err(error @ Error::RoleDenied { .. })) = (&self.role, result) else {
            return;
        };
        let now = Instant::now();
        let retry = self.settings.denial_retry;
        let mut denied = role.denied();
        if denied.as_ref().is_none_or(|d| now >= d.until) {
            tracing::warn!(
                role = &*role.arn,
                retry_in_s = retry.as_secs(),
                error = %error,
                "sts:AssumeRole denied; reads through this role get this error without a call \
                 until it is tried again"
            );
        }
        *denied = Some(Denial {
            until: now + retry,
            error: error.clone(),
        });
    }

    /// Forgets a remembered denial of this core's role: the next call tries again.
    pub(super) fn forget_role_denial(&self) {
        if let Some(role) = &self.role {
            *role.denied() = None;
        }
    }
}

impl SecretCache {
    /// A cache over `core`, the principal of its own credentials.
    pub(super) fn over(core: Core) -> Self {
        let core = Arc::new(core);
        Self {
            principals: Arc::new(Principals::new(Arc::clone(&core))),
            core,
        }
    }

    /// A handle on `core`, one of this cache's principals.
    fn on(&self, core: Arc<Core>) -> SecretCache {
        SecretCache {
            core,
            principals: Arc::clone(&self.principals),
        }
    }

    /// The view reading as `role`, made on first use (see `as_role`).
    pub(super) fn view(&self, role: &str) -> Result<SecretCache, Error> {
        if self.core.role.as_ref().is_some_and(|r| *r.arn == *role) {
            return Ok(self.clone());
        }
        Ok(self.on(self.principals.get_or_make(role)?))
    }

    /// The roles this cache reads as so far.
    pub(super) fn roles_held(&self) -> Vec<String> {
        self.principals.roles()
    }

    /// The view a request reads through: its own role's, or this one when it names none.
    pub(crate) fn view_for(&self, request: &Request) -> Result<SecretCache, Error> {
        match &request.role {
            Some(role) => self.view(role),
            None => Ok(self.clone()),
        }
    }

    /// The view a request reads through, if it exists already (no view is made: the warm
    /// path does not lock).
    fn known_view_for(&self, request: &Request) -> Option<SecretCache> {
        match &request.role {
            Some(role) if self.core.role.as_ref().is_none_or(|r| *r.arn != **role) => {
                self.principals.get(role).map(|core| self.on(core))
            }
            _ => Some(self.clone()),
        }
    }

    /// The view that holds `entry` (the principal it is read as).
    pub(crate) fn owner(&self, entry: &Entry) -> Result<SecretCache, Error> {
        match &entry.role {
            None => Ok(self.on(Arc::clone(&self.principals.own))),
            Some(role) => self.view(role),
        }
    }

    /// Whether `request` reads through this view.
    fn reads_here(&self, request: &Request) -> bool {
        match (&request.role, &self.core.role) {
            (None, _) => true,
            (Some(role), Some(me)) => me.arn == *role,
            (Some(_), None) => false,
        }
    }

    /// `requests` split by the view each reads through, made where missing: `None` when every
    /// request reads through this view (the common case: nothing allocated).
    pub(crate) fn by_view(&self, requests: &[Request]) -> Option<Result<Vec<ViewReads>, Error>> {
        if requests.iter().all(|r| self.reads_here(r)) {
            return None;
        }
        let views: Result<Vec<SecretCache>, Error> =
            requests.iter().map(|r| self.view_for(r)).collect();
        Some(views.map(|views| group(requests, views)))
    }

    /// [`by_view`](Self::by_view) without making any view (the warm path does not lock):
    /// `Some(None)` when a view is missing.
    pub(crate) fn by_known_view(&self, requests: &[Request]) -> Option<Option<Vec<ViewReads>>> {
        if requests.iter().all(|r| self.reads_here(r)) {
            return None;
        }
        let views: Option<Vec<SecretCache>> =
            requests.iter().map(|r| self.known_view_for(r)).collect();
        Some(views.map(|views| group(requests, views)))
    }
}

impl SecretCache {
    /// The policies of the principals `requests` read as, from this view: the caller's (the
    /// cache's own credentials: its secrets, and `sts:AssumeRole` on every role read as) and
    /// each role's.
    pub(crate) fn iam_policies(&self, requests: &[Request]) -> Result<IamPolicies, Error> {
        let groups = match self.by_view(requests) {
            Some(groups) => groups?,
            None => vec![ViewReads {
                view: self.clone(),
                requests: requests.to_vec(),
                at: Vec::new(),
            }],
        };
        let own = self.on(Arc::clone(&self.principals.own));
        let mut caller = IamPolicy::for_ids(&own, std::iter::empty())?;
        let mut roles = Vec::new();
        for group in &groups {
            let ids = group.requests.iter().map(|r| &*r.id);
            let policy = IamPolicy::for_ids(&group.view, ids)?;
            match group.view.role() {
                Some(role) => roles.push((role.to_owned(), policy)),
                None => caller = policy,
            }
        }
        Ok(IamPolicies::new(caller, roles))
    }
}

/// Groups `requests` by their `views` (one per request), in order of first appearance.
fn group(requests: &[Request], views: Vec<SecretCache>) -> Vec<ViewReads> {
    let mut groups: Vec<ViewReads> = Vec::new();
    for (at, (request, view)) in requests.iter().zip(views).enumerate() {
        let found = groups
            .iter()
            .position(|g| Arc::ptr_eq(&g.view.core, &view.core));
        let group = match found {
            Some(found) => found,
            None => {
                groups.push(ViewReads {
                    view,
                    requests: Vec::new(),
                    at: Vec::new(),
                });
                groups.len() - 1
            }
        };
        groups[group].requests.push(request.clone());
        groups[group].at.push(at);
    }
    groups
}

/// The requests of a struct one view reads, and where they sit among the struct's.
pub(crate) struct ViewReads {
    pub(crate) view: SecretCache,
    pub(crate) requests: Vec<Request>,
    pub(crate) at: Vec<usize>,
}
