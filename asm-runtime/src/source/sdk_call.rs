//! What every SDK call of the cache carries, whichever service it calls (Secrets Manager in
//! `sdk.rs`, Parameter Store in `ssm.rs`): the cache's deadlines as the call's timeouts, and
//! no SDK retry of a throttled call when the cache paces them.

use std::fmt;
use std::marker::PhantomData;

use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction};
use aws_smithy_types::timeout::TimeoutConfig;

use super::sealed;
use crate::error::is_throttling;

/// The per-call timeouts of every SDK call: each attempt and the whole operation bounded by
/// the cache's deadlines, whatever the client's own configuration.
pub(super) fn call_timeouts(terms: sealed::Terms) -> TimeoutConfig {
    TimeoutConfig::builder()
        .operation_attempt_timeout(terms.deadlines.attempt)
        .operation_timeout(terms.deadlines.call)
        .build()
}

/// The connect and read timeouts of a client the cache builds itself: its attempt deadline.
pub(super) fn attempt_timeouts(terms: sealed::Terms) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(terms.deadlines.attempt)
        .read_timeout(terms.deadlines.attempt)
        .build()
}

/// An operation's error type, whose service code tells throttling apart.
pub(crate) trait ThrottleCode:
    ProvideErrorMetadata + std::error::Error + Send + Sync + 'static
{
}
impl<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static> ThrottleCode for E {}

/// Forbids the SDK's retry of a throttled call of the operation whose error type is `E`: the
/// cache paces it (`cache/pace.rs`). Every other failure is retried as the client is set.
pub(super) struct NoThrottleRetries<E>(PhantomData<fn() -> E>);

impl<E> Default for NoThrottleRetries<E> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<E> fmt::Debug for NoThrottleRetries<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NoThrottleRetries")
    }
}

impl<E: ThrottleCode> ClassifyRetry for NoThrottleRetries<E> {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let code = match ctx.output_or_error() {
            Some(Err(err)) => err
                .as_operation_error()
                .and_then(|e| e.downcast_ref::<E>())
                .and_then(ProvideErrorMetadata::code),
            _ => None,
        };
        if code.is_some_and(is_throttling) {
            RetryAction::RetryForbidden
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "asm: the cache paces throttled calls"
    }
}
