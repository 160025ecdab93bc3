//! Failover regions: when the primary region's call fails in a way another region may not (a
//! timeout, a refused connection, a 5xx, throttling that outlasted its pacing), the same secret
//! is read from its replica in each failover region in turn ([`Replica`] maps the id).
//!
//! - **What fails over.** Only those transient failures ([`fails_over`]). Not found, access
//!   denied, decryption and invalid requests are the secret's own state, which a replica would
//!   repeat (or, worse, contradict); missing credentials are the process's, shared by every
//!   region's client. `GetSecretValue` and `DescribeSecret` fail over. A batch does not: a
//!   throttled or failing batch falls back at once to one `GetSecretValue` per secret, which
//!   does; but a batch the primary did not answer (a timeout, a connection failure, a 5xx) was
//!   the primary's call for each of its secrets, which then go to the replicas directly
//!   ([`Core::batch_failed_over`]) rather than spend the rest of the deadline on the primary.
//! - **Order.** The primary is asked first at every call: a replica is asked only after the
//!   primary failed that very call. A healthy primary makes no replica call, and a primary
//!   that recovers answers the next refresh (no flapping between regions, no stickiness).
//! - **Deadlines.** With failover on, the primary's call gets half of `call_timeout` (its SDK
//!   attempts included); the replicas share the other half, each getting an even share of
//!   what is left when its turn comes (a replica that fails fast leaves its time to the next).
//!   A call with failover ends within `call_timeout`, as one without does. A throttled first
//!   load still waits its turns in the primary for `startup_patience` before failing over:
//!   throttling is the account's quota at work, not an outage.
//! - **Which answer.** A replica's value is its region's: [`Secret::arn`](crate::Secret::arn)
//!   names that region; the entry is filed under the primary's ARN (one secret, one entry).
//!   When every replica fails too, the primary's failure is the answer (transient: a value in
//!   hand is served, a first load retried), and each replica's failure is logged.
//! - **Visibility.** `Stats::failover_calls` and `Stats::replica_reads`; a warning for each
//!   answer from a replica (secret id, region, the primary's failure; never the value).
//!
//! The builder's two settings are `SecretCacheBuilder::failover_regions` and
//! `SecretCacheBuilder::failover_client`; [`Failover::build`] checks them.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use futures_util::future::BoxFuture;
use tokio::time::Instant;
use tracing::Instrument;

use super::Core;
use super::call::{Patience, resend};
use super::telemetry::{self, CallTo};
use crate::arn::Arn;
use crate::error::Operation;
use crate::source::sealed::{self, Sealed, Terms};
use crate::source::{Backend, Deadlines, Replica};
use crate::{Error, iam};

/// A failover region as the builder was given it.
pub(crate) enum Spec {
    /// The primary client's configuration with this region.
    Region(String),
    /// A client of the caller's, with its own region, endpoint and credentials.
    Client(Client),
}

impl fmt::Debug for Spec {
    /// The region only: a client's configuration is not the builder's to print.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Region(region) => write!(f, "{region:?}"),
            Self::Client(client) => {
                let region = client.config().region().map(|r| r.as_ref());
                write!(f, "Client({region:?})")
            }
        }
    }
}

/// The replicas a cache fails over to, and the primary's share of a call's deadline.
#[derive(Debug)]
pub(crate) struct Failover {
    /// In the order they are tried.
    replicas: Vec<Replica>,
    /// The primary source's region, when there are replicas.
    primary: Option<Box<str>>,
    /// `call_timeout`.
    call: Duration,
}

/// The terms the primary source and its replicas are built under, from the cache's
/// `deadlines` and whether it paces throttled calls: with failover on, the primary's calls (and
/// so its attempts) end by half the call deadline; a replica's by the other half.
pub(super) fn terms(deadlines: Deadlines, paces: bool, failing_over: bool) -> (Terms, Terms) {
    let unshared = deadlines;
    let terms = |deadlines: Deadlines| Terms {
        deadlines,
        unshared,
        cache_paces_throttling: paces,
    };
    if !failing_over {
        return (terms(deadlines), terms(deadlines));
    }
    let Deadlines { attempt, call } = deadlines;
    let share = |call: Duration| Deadlines {
        attempt: attempt.min(call),
        call,
    };
    let primary = primary_share(call);
    (terms(share(primary)), terms(share(call - primary)))
}

/// The primary's part of a call deadline when there are replicas: half.
fn primary_share(call: Duration) -> Duration {
    call / 2
}

impl Failover {
    /// No failover: the primary has the whole call deadline.
    pub(super) fn none(call: Duration) -> Self {
        Self {
            replicas: Vec::new(),
            primary: None,
            call,
        }
    }

    /// The replicas `specs` name, built under `terms`, after checking them against `primary`.
    pub(super) fn build(
        primary: &dyn Backend,
        specs: Vec<Spec>,
        terms: Terms,
        call: Duration,
    ) -> Result<Self, Error> {
        if specs.is_empty() {
            return Ok(Self::none(call));
        }
        if primary.client().is_none() {
            return Err(config(
                "failover regions need the Secrets Manager API as the cache's source (an SDK \
                 client): the Secrets Manager Agent reads the one region its own configuration \
                 names, and mounted files and `MemorySource` hold one copy of each secret; read \
                 through the SDK to fail over, or drop `failover_regions`"
                    .to_owned(),
            ));
        }
        let home = primary.region().ok_or_else(|| {
            config("failover regions need the primary client's region: set it".to_owned())
        })?;
        let mut replicas: Vec<Replica> = Vec::with_capacity(specs.len());
        for spec in specs {
            let (region, source) = match spec {
                Spec::Region(region) => {
                    check_region(&region, home, &replicas)?;
                    let source = primary.in_region(&region, terms);
                    (region, source)
                }
                Spec::Client(client) => {
                    let Some(region) = client.config().region().map(|r| r.to_string()) else {
                        return Err(config(
                            "a failover client has no region: build it with the region it reads"
                                .to_owned(),
                        ));
                    };
                    check_region(&region, home, &replicas)?;
                    let sealed::Building(source) = client.into_source(terms);
                    (region, Some(source))
                }
            };
            let Some(source) = source else {
                return Err(config(format!(
                    "the cache's source cannot read from the failover region `{region}`"
                )));
            };
            replicas.push(Replica::new(&region, source));
        }
        Ok(Self {
            replicas,
            primary: Some(home.into()),
            call,
        })
    }

    /// The replicas read as `role` (one client per role and region), for a view of the cache
    /// reading as it. A replica that cannot read as a role (a `failover_client` given as a bare
    /// client: the SDK does not say which credentials it holds) is left out, with a warning:
    /// the role's reads do not fail over to that region.
    pub(super) fn for_role(&self, role: &std::sync::Arc<str>) -> Self {
        let replicas = (self.replicas.iter())
            .filter_map(|replica| match replica.reading_as(role) {
                Ok(replica) => Some(replica),
                Err(err) => {
                    tracing::warn!(
                        role = &**role,
                        region = replica.region().unwrap_or_default(),
                        error = %err,
                        "this failover region does not serve the role: its reads do not fail over there"
                    );
                    None
                }
            })
            .collect();
        Self {
            replicas,
            primary: self.primary.clone(),
            call: self.call,
        }
    }

    /// How long the primary's call may take: all of the call deadline without replicas, its
    /// share with them.
    pub(super) fn primary_deadline(&self) -> Duration {
        if self.replicas.is_empty() {
            self.call
        } else {
            primary_share(self.call)
        }
    }

    /// How long the primary's call of `op` may take: its share of the call deadline where a
    /// failover region may answer `op` too, all of it otherwise (Parameter Store's actions:
    /// it has no replicas).
    pub(super) fn primary_deadline_of(&self, op: Operation) -> Duration {
        if op.has_replicas() {
            self.primary_deadline()
        } else {
            self.call
        }
    }

    /// The failover regions, in order.
    pub(super) fn regions(&self) -> impl Iterator<Item = &str> {
        self.replicas.iter().filter_map(|r| r.region())
    }

    /// `arn` as the primary region names it, when a failover region answered with it: a
    /// replica's answer is filed under its primary's ARN.
    pub(super) fn as_primary<'a>(&self, arn: &'a str) -> Cow<'a, str> {
        let (Some(primary), Some(parsed)) = (&self.primary, Arn::parse(arn)) else {
            return Cow::Borrowed(arn);
        };
        if self.regions().any(|r| r == parsed.region) {
            Cow::Owned(parsed.in_region(primary))
        } else {
            Cow::Borrowed(arn)
        }
    }
}

/// A region name is lower-case letters, digits and hyphens: `us-west-2`, `cn-north-1`.
fn check_region(region: &str, home: &str, replicas: &[Replica]) -> Result<(), Error> {
    let well_formed = !region.is_empty()
        && (region.bytes()).all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !well_formed {
        return Err(config(format!(
            "failover region `{region}` is not a region name (such as `us-west-2`)"
        )));
    }
    if region == home {
        return Err(config(format!(
            "failover region `{region}` is the primary region (the client's own): list the \
             regions the secrets are replicated to"
        )));
    }
    if replicas.iter().any(|r| r.region() == Some(region)) {
        return Err(config(format!("failover region `{region}` is given twice")));
    }
    if iam::partition(region) != iam::partition(home) {
        return Err(config(format!(
            "failover region `{region}` is in another partition than the primary region \
             `{home}`: Secrets Manager replicates a secret within its partition only"
        )));
    }
    Ok(())
}

fn config(message: String) -> Error {
    Error::Config { message }
}

/// Whether another region may answer what the primary could not: its call timed out, could not
/// connect or got no usable answer, the service failed (5xx), or throttling outlasted its
/// pacing.
pub(crate) fn fails_over(err: &Error) -> bool {
    matches!(
        err,
        Error::Transport { .. } | Error::Service { .. } | Error::Throttled { .. }
    )
}

impl Core {
    /// The failure of a batch that its secrets should be read from the replicas after, without
    /// another call to the primary: the batch was the primary's call for each of them, and the
    /// region did not answer (a timeout, a connection failure, a 5xx), named for `secret_id`.
    /// `None` without failover, and for a throttled batch: its quota is a hundredth of
    /// `GetSecretValue`'s, which the primary may still have room for.
    pub(crate) fn batch_failed_over(&self, err: &Error, secret_id: &str) -> Option<Error> {
        if self.failover.replicas.is_empty() {
            return None;
        }
        let secret_id = secret_id.to_owned();
        match err.clone() {
            Error::Transport { kind, detail, .. } => Some(Error::Transport {
                secret_id,
                kind,
                detail,
            }),
            Error::Service { code, .. } => Some(Error::Service { secret_id, code }),
            _ => None,
        }
    }
}

impl Core {
    /// One call of `op` about `id`: `first`, sent to the primary source under its deadline and
    /// pacing (see [`call`](Core::call)), then, when it failed, [`ask_replicas`](Self::ask_replicas).
    pub(crate) async fn call_with_failover<'a, T: 'a>(
        &'a self,
        op: Operation,
        id: &'a str,
        patience: Patience,
        first: BoxFuture<'a, Result<T, Error>>,
        ask: impl Fn(&'a dyn Backend) -> Option<BoxFuture<'a, Result<T, Error>>>,
    ) -> Result<T, Error> {
        let sends = resend(first, || ask(&*self.source), id);
        match self.call(op, id, patience, sends).await {
            Err(err) => self.ask_replicas(op, id, err, ask).await,
            done => done,
        }
    }

    /// After the primary failed with `err` a call of `op` about `id`: when another region may
    /// answer ([`fails_over`]), `ask` sent to each failover region in turn, within the other
    /// half of the call deadline. Answers the first success, or `err`.
    pub(crate) async fn ask_replicas<'a, T: 'a>(
        &'a self,
        op: Operation,
        id: &'a str,
        err: Error,
        ask: impl Fn(&'a dyn Backend) -> Option<BoxFuture<'a, Result<T, Error>>>,
    ) -> Result<T, Error> {
        let replicas = &self.failover.replicas;
        if replicas.is_empty() || !op.has_replicas() || !fails_over(&err) {
            return Err(err);
        }
        let end = Instant::now() + (self.failover.call - self.failover.primary_deadline());
        for (tried, replica) in replicas.iter().enumerate() {
            let left = end.saturating_duration_since(Instant::now());
            let Some(asked) = ask(replica).filter(|_| !left.is_zero()) else {
                continue;
            };
            let share = left / u32::try_from(replicas.len() - tried).unwrap_or(u32::MAX);
            let region = replica.region().unwrap_or_default();
            self.counters.call(op);
            self.counters.failover_call();
            let to = CallTo::Failover(region);
            let span = telemetry::call_span(replica.kind(), op, id, 1, to);
            let started = Instant::now();
            let answer = tokio::time::timeout(share, asked.instrument(span.clone()))
                .await
                .unwrap_or_else(|_| Err(Error::timed_out(&replica.id(id))));
            self.call_done(op, to, &span, started, answer.as_ref().err());
            match answer {
                Ok(value) => {
                    self.counters.replica_read();
                    tracing::warn!(
                        secret_id = id,
                        region,
                        action = op.iam_action(),
                        primary_error = %err,
                        "answered from a failover region after the primary region failed; \
                         the primary is asked first again at the next call"
                    );
                    return Ok(value);
                }
                Err(replica_err) => tracing::warn!(
                    secret_id = id,
                    region,
                    action = op.iam_action(),
                    error = %replica_err,
                    "the failover region failed too"
                ),
            }
        }
        Err(err)
    }
}
