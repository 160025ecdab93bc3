//! Every call the cache makes to its source has a deadline the cache enforces itself, whatever
//! client it was handed (the SDK source also sets a per-attempt limit on each call, so a
//! silent connection is dropped and the retry goes out on a fresh one).

use std::future::Future;

use futures_util::future::BoxFuture;
use tokio::time::Instant;
use tracing::Instrument;

use super::Core;
use super::pace::{Pacer, Turn};
use super::telemetry::{self, CallTo};
use crate::error::Operation;
use crate::source::Description;
use crate::{Error, TransportKind};

/// How long a throttled call may wait its turn and go out again: a first load has the cache's
/// `startup_patience`; a refresh has none (it serves the value in hand and backs off).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Patience {
    /// Answer the first throttling error.
    None,
    /// Wait for turns until the `startup_patience` from the first attempt has passed.
    FirstLoad,
}

impl Core {
    /// Counts and runs one call of `op` about `secret_id`, in its turn (see `pace`); past the
    /// call deadline it is abandoned (its connection dropped) and reported as a transient
    /// timeout. A throttled first load goes out again in its next turn while its patience
    /// lasts. Through a role whose `sts:AssumeRole` was denied, the remembered denial is the
    /// answer, and nothing is sent (see `roles`).
    ///
    /// The deadline wraps each attempt of the whole call, so it holds for any source and any
    /// client.
    pub(crate) async fn call<T, F>(
        &self,
        op: Operation,
        secret_id: &str,
        patience: Patience,
        mut send: impl FnMut() -> F,
    ) -> Result<T, Error>
    where
        F: Future<Output = Result<T, Error>>,
    {
        if let Some(denied) = self.role_denied(secret_id) {
            return Err(denied);
        }
        let pacer = self.pacers.of(op);
        // The primary's share of the call deadline when failover regions may answer too.
        let deadline = self.failover.primary_deadline_of(op);
        // A first load goes out again, in its turns, until its patience is spent. Any call
        // waits at least half a call deadline for a turn (its round has room for that); past
        // it, the call is not sent and is answered as throttled (a refresh backs off).
        let now = Instant::now();
        let retry_until = match patience {
            Patience::FirstLoad => now + self.settings.startup_patience,
            Patience::None => now,
        };
        let give_up = retry_until.max(now + deadline / 2);
        let mut attempt = 0;
        loop {
            let turn = match pacer {
                Some(pacer) => match tokio::time::timeout_at(give_up, pacer.turn()).await {
                    Ok(turn) => turn,
                    Err(_) => return Err(not_sent(secret_id, op)),
                },
                None => Turn::unheld(None),
            };
            self.counters.call(op);
            attempt += 1;
            let to = CallTo::Primary(self.source.region());
            let span = telemetry::call_span(self.source.kind(), op, secret_id, attempt, to);
            let started = Instant::now();
            let result = tokio::time::timeout(deadline, send().instrument(span.clone()))
                .await
                .unwrap_or_else(|_| Err(Error::timed_out(secret_id)));
            self.remember_role_denial(&result);
            let throttled = matches!(result, Err(Error::Throttled { .. }));
            turn.finish(throttled);
            self.call_done(op, to, &span, started, result.as_ref().err());
            let wait_more = throttled && pacer.is_some_and(|pacer| pacer.next_turn() < retry_until);
            if !wait_more {
                return result;
            }
        }
    }
}

/// The error of a call not sent because its action is paced and its turn would come too late:
/// the service throttled the calls before it.
fn not_sent(secret_id: &str, op: Operation) -> Error {
    Error::Throttled {
        secret_id: secret_id.to_owned(),
        action: op.iam_action(),
    }
}

impl Core {
    /// Asks the source which versions `id` has, under the call deadline (failing over as
    /// `failover` says); `None` when the source cannot tell.
    pub(crate) async fn describe(
        &self,
        id: &str,
        patience: Patience,
    ) -> Option<Result<Description, Error>> {
        let first = self.source.describe(id)?;
        let op = Operation::DescribeSecret;
        Some(
            self.call_with_failover(op, id, patience, first, |source| source.describe(id))
                .await,
        )
    }
}

/// The sends of a call the source can be asked for again: `first`, then `again()` for each
/// further attempt (a throttled first load waiting its turn).
pub(crate) fn resend<'a, T: 'a>(
    first: BoxFuture<'a, Result<T, Error>>,
    mut again: impl FnMut() -> Option<BoxFuture<'a, Result<T, Error>>>,
    secret_id: &'a str,
) -> impl FnMut() -> BoxFuture<'a, Result<T, Error>> {
    let mut first = Some(first);
    move || match first.take().or_else(&mut again) {
        Some(asked) => asked,
        // A source answers the same way each time; this one stopped offering the call.
        None => Box::pin(async move {
            Err(Error::Transport {
                secret_id: secret_id.to_owned(),
                kind: TransportKind::Other,
                detail: Some("the source no longer offers this call".into()),
            })
        }),
    }
}

/// `call` for a first load: past the round's `deadline` it is abandoned and answered with a
/// timeout, so that a first load ends by its call deadline however its calls queued (behind a
/// batch that got no answer, behind the slow start's first calls), unless the service is
/// throttling `op`: a throttled first load waits its turns for `startup_patience`.
pub(super) async fn by_deadline<T>(
    core: &Core,
    op: Operation,
    secret_id: &str,
    deadline: Instant,
    call: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    let mut call = std::pin::pin!(call);
    if Instant::now() < deadline
        && let Ok(result) = tokio::time::timeout_at(deadline, &mut call).await
    {
        return result;
    }
    if core.pacers.of(op).is_some_and(Pacer::is_throttled) {
        return call.await;
    }
    Err(Error::timed_out(secret_id))
}
