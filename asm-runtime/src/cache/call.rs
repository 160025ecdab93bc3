//! Every API call the cache makes has a deadline the cache enforces itself, whatever client it
//! was handed: a per-attempt limit given to the SDK (so a silent connection is dropped and the
//! retry goes out on a fresh one), and a per-call limit around the whole call.

use std::future::Future;
use std::time::Duration;

use aws_sdk_secretsmanager::config::Builder as ConfigBuilder;
use aws_smithy_types::timeout::TimeoutConfig;

use super::Shared;
use crate::error::Operation;
use crate::{Error, TransportKind};

impl Shared {
    /// The per-call override of the client's timeouts: each attempt and the whole operation
    /// are bounded, even on a client built without any timeout.
    pub(crate) fn call_config(&self) -> ConfigBuilder {
        ConfigBuilder::default().timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(self.settings.attempt_timeout)
                .operation_timeout(self.settings.call_timeout)
                .build(),
        )
    }

    /// Counts and runs one call of `op` about `secret_id`; past the call deadline it is
    /// abandoned (its connection dropped) and reported as a transient timeout.
    pub(crate) async fn call<T>(
        &self,
        op: Operation,
        secret_id: &str,
        send: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        self.counters.call(op);
        let deadline = self.settings.call_timeout;
        tokio::time::timeout(deadline, send)
            .await
            .unwrap_or_else(|_| Err(deadline_passed(secret_id, op, deadline)))
    }
}

/// The error of a call that did not answer within `deadline`.
pub(crate) fn deadline_passed(secret_id: &str, op: Operation, deadline: Duration) -> Error {
    Error::Transport {
        secret_id: secret_id.to_owned(),
        kind: TransportKind::Timeout,
        detail: Some(
            format!(
                "no answer to {} within the cache's call_timeout ({}ms)",
                op.name(),
                deadline.as_millis()
            )
            .into(),
        ),
    }
}
