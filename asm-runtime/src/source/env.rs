//! The source the environment chooses (`SecretCache::builder_from_env`): mounted files, the
//! Secrets Manager Agent, or the SDK over the default AWS configuration chain.

use aws_sdk_secretsmanager::Client;

use super::sdk_call::attempt_timeouts;
use super::{Configured, Unbuilt, behavior_version, client_for};
use crate::Error;

/// With the feature `files`, `ASM_SECRETS_DIR` set to a directory: a `FileSource` over it (no
/// AWS configuration is read then); else with `ASM_SECRETS_AGENT` set: the agent; else an SDK
/// client from the default configuration chain, loaded with the pinned behavior version, whose
/// connect and read timeouts are the cache's attempt deadline once it is built.
///
/// # Errors
/// [`Error::Config`] when no region is configured, or for an `ASM_SECRETS_AGENT` value that is
/// not an agent's address on loopback.
pub(crate) async fn from_env() -> Result<Unbuilt, Error> {
    #[cfg(feature = "files")]
    if let Some(dir) = std::env::var_os(crate::FileSource::ENV_DIR).filter(|d| !d.is_empty()) {
        return Ok(Unbuilt::new(crate::FileSource::new(dir)));
    }
    if let Some(agent) = crate::AgentSource::from_env()? {
        return Ok(Unbuilt::new(agent));
    }
    let config = aws_config::defaults(behavior_version()).load().await;
    client_for(&config)?;
    Ok(Unbuilt(Box::new(move |terms| {
        let conf = aws_sdk_secretsmanager::config::Builder::from(&config)
            .timeout_config(attempt_timeouts(terms))
            .build();
        Unbuilt::new(Configured::new(Client::from_conf(conf), config)).build(terms)
    })))
}
