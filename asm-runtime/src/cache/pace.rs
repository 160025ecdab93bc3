//! Pacing under throttling: how one cache shares an account's request quota with every other
//! process of the fleet, with no coordination but the service's `ThrottlingException`.
//!
//! Each action (`GetSecretValue`, `DescribeSecret`, `BatchGetSecretValue`) has its own
//! [`Pacer`], since each has its own quota. A pacer is in one of three modes:
//!
//! - **Slow start** (a new cache): one call in flight, then one more for each answer, as TCP
//!   opens its window: 1, 2, 4, 8 calls. A process does not know whether it is one of ten or
//!   of ten thousand starting in the same second; a first load of ten secrets costs four round
//!   trips instead of one, and a fleet starting past the quota learns it from its first calls
//!   instead of sending all of them. After [`OPEN_AT`] answers it is open.
//! - **Open**: nothing is limited. Taking a turn is one atomic load, and finishing one reads
//!   the mode again: a healthy cache pays nothing else.
//! - **Paced** (after a throttling answer): one call at a time, each a jittered gap after the
//!   last answer. A throttling answer to a call sent after the last change multiplies the gap
//!   by [`GROW`] (from [`FIRST_GAP`] up to [`MAX_GAP`]); an answer that is not throttling shrinks it by
//!   [`SHRINK`], and below [`OPEN_GAP`] the pacer opens again. Throttled calls are not retried by the SDK
//!   (its retries would go out in step, three for each call): the cache owns them, and a
//!   first load waits its turn for up to `startup_patience` instead of failing.
//!
//! Why this shape: the AWS SDK's adaptive retry mode (a client-side token bucket whose rate
//! follows CUBIC after each throttle) measures its own sending rate, which is meaningless for a
//! process that makes ten calls at start-up and a few an hour after; its floor (0.5 calls/s)
//! is also too high when 60,000 starting pods each need a share of 10,000 calls/s. The SRE
//! book's adaptive throttling rejects requests locally in proportion to recent rejections: it
//! sheds load by failing, the opposite of a first load that must wait. gRPC's retry throttling
//! stops retries once failures outnumber successes: it bounds the storm but lets loads fail. What
//! carries over from all of them, and from the Builders' Library on retries, is a per-client
//! multiplicative decrease on throttling with jittered waits, so that N clients converge on
//! about quota/N each; the slow start bounds what a client sends before it has learnt anything.

use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::backoff::unit_random;
use crate::error::Operation;

/// The first gap after a throttling answer (jittered into `[gap/2, 3 gap/2]`).
pub(crate) const FIRST_GAP: Duration = Duration::from_secs(2);
/// The longest gap between two calls of a paced action: longer gaps starve the processes that
/// reach them (a ready p99 of 200 s instead of 120 s in FLEET.md's 2x-quota rollout).
pub(crate) const MAX_GAP: Duration = Duration::from_secs(12);
/// What a throttling answer multiplies a paced gap by: 2 s, 8 s, then the cap. Each step up
/// the ladder costs a throttled call, and a process that starts into a saturated service
/// climbs it first: growing by 4 rather than 2 cut the throttled calls of FLEET.md's 2x-quota
/// rollout by a fifth (calls 1.51x -> 1.42x the reads), with its ready p99 and the 1 s burst's
/// unchanged.
pub(crate) const GROW: f64 = 4.0;
/// What an answer that is not throttling multiplies a paced gap by: the gap grows fast on a
/// throttle and shrinks slowly, so that the fleet settles where few calls are throttled.
pub(crate) const SHRINK: f64 = 0.85;
/// A paced action whose gap shrinks below this is open again.
pub(crate) const OPEN_GAP: Duration = Duration::from_millis(100);
/// A slow start with this many calls allowed in flight is open.
pub(crate) const OPEN_AT: u32 = 8;

const OPEN: u8 = 0;
const LIMITED: u8 = 1;

/// The pacers of one cache, one per action, or none when pacing is off.
#[derive(Debug)]
pub(crate) struct Pacers {
    by_action: Option<[Pacer; 4]>,
}

impl Pacers {
    /// A new cache's pacers (in slow start), or none.
    pub(crate) fn new(on: bool) -> Self {
        Self {
            by_action: on.then(|| {
                [
                    Operation::GetSecretValue,
                    Operation::BatchGetSecretValue,
                    Operation::DescribeSecret,
                    Operation::GetParameter,
                ]
                .map(Pacer::new)
            }),
        }
    }

    /// The pacer of `op` (of the action whose quota it shares), when pacing is on.
    pub(crate) fn of(&self, op: Operation) -> Option<&Pacer> {
        let pacers = self.by_action.as_ref()?;
        let op = op.quota();
        pacers.iter().find(|p| p.op == op)
    }
}

/// What the mutex guards: the window, the calls in flight, the gap.
#[derive(Debug)]
struct State {
    /// Calls allowed in flight: grows by one per answer in slow start, 1 while paced.
    window: u32,
    in_flight: u32,
    /// Paced: the gap after an answer before the next call (zero in slow start).
    gap: Duration,
    /// No call goes out before this instant.
    next: Instant,
    /// When the gap last changed: throttling answers to calls sent before it were already
    /// counted (one decrease per round of calls, as TCP does).
    changed: Instant,
}

/// One action's pacing.
#[derive(Debug)]
pub(crate) struct Pacer {
    op: Operation,
    mode: AtomicU8,
    state: Mutex<State>,
    wake: Notify,
}

/// A call's place in line; ended by [`Turn::finish`] or, if the call is abandoned, on drop.
#[must_use]
pub(crate) struct Turn<'a> {
    pacer: Option<&'a Pacer>,
    /// Whether the call holds a place in the window (not when the pacer was open).
    held: bool,
    /// When the call went out.
    sent: Instant,
}

impl Pacer {
    fn new(op: Operation) -> Self {
        let now = Instant::now();
        Self {
            op,
            mode: AtomicU8::new(LIMITED),
            state: Mutex::new(State {
                window: 1,
                in_flight: 0,
                gap: Duration::ZERO,
                next: now,
                changed: now,
            }),
            wake: Notify::new(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether calls go out unlimited.
    pub(crate) fn is_open(&self) -> bool {
        self.mode.load(Relaxed) == OPEN
    }

    /// Waits for this call's turn: at once when open; otherwise until the window has room and
    /// the gap after the last answer has passed.
    pub(crate) async fn turn(&self) -> Turn<'_> {
        loop {
            if self.is_open() {
                return Turn::unheld(Some(self));
            }
            let woken = self.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            let wait_until = {
                let mut state = self.state();
                let now = Instant::now();
                if self.is_open() {
                    return Turn::unheld(Some(self));
                }
                if state.in_flight < state.window && state.next <= now {
                    state.in_flight += 1;
                    return Turn {
                        pacer: Some(self),
                        held: true,
                        sent: now,
                    };
                }
                (state.in_flight < state.window).then_some(state.next)
            };
            match wait_until {
                Some(at) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = &mut woken => {}
                    }
                }
                None => woken.await,
            }
        }
    }

    /// Records an answer to a call sent at `sent`: throttling or not.
    fn answered(&self, sent: Instant, throttled: bool) {
        let now = Instant::now();
        let mut state = self.state();
        if throttled {
            let was_open = self.is_open() || state.gap.is_zero();
            if was_open || sent >= state.changed {
                state.gap = if was_open {
                    FIRST_GAP
                } else {
                    state.gap.mul_f64(GROW).min(MAX_GAP)
                };
                state.changed = now;
            }
            state.window = 1;
            state.next = now + jittered(state.gap);
            if was_open {
                tracing::info!(
                    action = self.op.iam_action(),
                    "throttled by the service: pacing this action's calls (one at a time, \
                     jittered waits from 2 s to 12 s) until its answers are no longer throttled"
                );
            }
            self.mode.store(LIMITED, Relaxed);
        } else if state.gap.is_zero() {
            // Slow start: one more call in flight per answer.
            state.window += 1;
            if state.window >= OPEN_AT {
                self.mode.store(OPEN, Relaxed);
            }
        } else {
            state.gap = state.gap.mul_f64(SHRINK);
            state.changed = now;
            if state.gap < OPEN_GAP {
                state.gap = Duration::ZERO;
                state.window = OPEN_AT;
                self.mode.store(OPEN, Relaxed);
                tracing::debug!(
                    action = self.op.iam_action(),
                    "answers no longer throttled: calls unpaced"
                );
            } else {
                state.next = now + jittered(state.gap);
            }
        }
    }

    /// Frees one place in flight and wakes the waiters.
    fn release(&self) {
        let mut state = self.state();
        state.in_flight = state.in_flight.saturating_sub(1);
        drop(state);
        self.wake.notify_waiters();
    }

    /// Whether the action is paced after a throttling answer (not open, not in slow start).
    pub(crate) fn is_throttled(&self) -> bool {
        !self.is_open() && !self.state().gap.is_zero()
    }

    /// When the next call may go out at the earliest (now when open).
    pub(crate) fn next_turn(&self) -> Instant {
        if self.is_open() {
            return Instant::now();
        }
        self.state().next.max(Instant::now())
    }
}

/// `gap` drawn uniformly from `[gap/2, 3 gap/2]`: callers throttled in the same second do not
/// come back in the same second.
fn jittered(gap: Duration) -> Duration {
    gap.mul_f64(0.5 + unit_random())
}

impl<'a> Turn<'a> {
    /// A turn that holds no place: pacing off (`None`), or the pacer open.
    pub(crate) fn unheld(pacer: Option<&'a Pacer>) -> Self {
        Self {
            pacer,
            held: false,
            sent: Instant::now(),
        }
    }

    /// Records the call's answer (`throttled` or not) and frees its place. An answer to a call
    /// sent while open costs nothing unless it was throttled.
    pub(crate) fn finish(mut self, throttled: bool) {
        let Some(pacer) = self.pacer.take() else {
            return;
        };
        if self.held {
            pacer.answered(self.sent, throttled);
            pacer.release();
        } else if throttled {
            pacer.answered(self.sent, true);
            pacer.wake.notify_waiters();
        }
    }
}

impl Drop for Turn<'_> {
    /// An abandoned call (its round passed its deadline) frees its place unrecorded.
    fn drop(&mut self) {
        if let Some(pacer) = self.pacer.take()
            && self.held
        {
            pacer.release();
        }
    }
}

#[cfg(test)]
mod tests;
