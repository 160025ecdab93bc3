//! A lazily built process-wide cache, for Lambda handlers and small services.

use tokio::sync::OnceCell;

use crate::{Error, SecretCache};

static GLOBAL: OnceCell<SecretCache> = OnceCell::const_new();

/// The process-wide cache, built on first use by [`SecretCache::from_env`].
///
/// The counterpart of a module-level client and dict in a Python service, without the
/// races: concurrent first callers build one cache between them, and a failed build is
/// retried by the next caller rather than remembered. In a Lambda function, warm invocations
/// reuse it, so secrets are fetched once per TTL rather than once per invocation.
///
/// # Errors
/// The [`SecretCache::from_env`] error of this attempt.
///
/// # Examples
/// ```no_run
/// # async fn handler() -> Result<(), asm_runtime::Error> {
/// let cache = asm_runtime::global().await?;
/// let api_key = cache.get("prod/stripe").await?;
/// # Ok(()) }
/// ```
pub async fn global() -> Result<&'static SecretCache, Error> {
    GLOBAL.get_or_try_init(SecretCache::from_env).await
}
