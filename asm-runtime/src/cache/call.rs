//! Every call the cache makes to its source has a deadline the cache enforces itself, whatever
//! client it was handed (the SDK source also sets a per-attempt limit on each call, so a
//! silent connection is dropped and the retry goes out on a fresh one).

use std::future::Future;

use super::Shared;
use crate::Error;
use crate::error::Operation;
use crate::source::Description;

impl Shared {
    /// Counts and runs one call of `op` about `secret_id`; past the call deadline it is
    /// abandoned (its connection dropped) and reported as a transient timeout.
    ///
    /// The deadline wraps the whole call, so it holds for any source and any client.
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
            .unwrap_or_else(|_| Err(Error::timed_out(secret_id)))
    }
}

impl Shared {
    /// Asks the source which versions `id` has, under the call deadline; `None` when the
    /// source cannot tell.
    pub(crate) async fn describe(&self, id: &str) -> Option<Result<Description, Error>> {
        let asked = self.source.describe(id)?;
        Some(self.call(Operation::DescribeSecret, id, asked).await)
    }
}
