//! Reading as an IAM role through the SDK: a copy of the cache's client whose credentials come
//! from STS `AssumeRole`, through aws-config's `AssumeRoleProvider`, sourced from the client's
//! own credentials. The client's identity cache keeps the role's credentials and renews them
//! before they expire; the provider is built on the first call, inside the call the cache
//! bounds, so the STS call counts against that call's deadline.

use std::fmt;
use std::sync::Arc;

use aws_config::SdkConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{self, ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_secretsmanager::Client;
use aws_smithy_async::time::SystemTimeSource;
use tokio::sync::OnceCell;

use crate::Error;
use crate::error::AssumeRoleFailure;

/// The session name the role's sessions carry (in CloudTrail: `assumed-role/NAME/asm-runtime`).
const SESSION_NAME: &str = "asm-runtime";

/// A client like `base` whose calls carry `role`'s credentials, assumed with the credentials
/// of `config`, the configuration `base` was built from (STS is called with it: its endpoint,
/// retries and timeouts).
///
/// # Errors
/// As [`credentials_of`].
pub(crate) fn client_as(
    base: &Client,
    config: Option<&SdkConfig>,
    role: &Arc<str>,
) -> Result<Client, Error> {
    let conf = base
        .config()
        .to_builder()
        .credentials_provider(credentials_of(config, role)?)
        .build();
    Ok(Client::from_conf(conf))
}

/// `role`'s credentials, assumed with those of `config` (any service's client built from
/// `config` can carry them).
///
/// # Errors
/// [`Error::Config`] without `config` (the SDK does not tell which credentials a bare client
/// holds), or when it has no credentials provider.
pub(crate) fn credentials_of(
    config: Option<&SdkConfig>,
    role: &Arc<str>,
) -> Result<SharedCredentialsProvider, Error> {
    let unknown = |what: &str| Error::Config {
        message: format!(
            "cannot read as role `{role}`: {what}; build the cache from the `SdkConfig` whose \
             credentials assume the role (`SecretCache::from_conf`, `builder_from_conf`, or \
             `from_env`)"
        ),
    };
    let sts = config.ok_or_else(|| {
        unknown("the cache was given a bare client, and the SDK does not tell which credentials it holds")
    })?;
    let own = sts
        .credentials_provider()
        .ok_or_else(|| unknown("its `SdkConfig` has no credentials provider"))?;
    // aws-config's provider needs a time source (it names sessions by the time): one built by
    // hand may have none.
    let sts = match sts.time_source() {
        Some(_) => sts.clone(),
        None => sts
            .to_builder()
            .time_source(SystemTimeSource::new())
            .build(),
    };
    Ok(SharedCredentialsProvider::new(RoleCredentials {
        role: Arc::clone(role),
        sts,
        own,
        provider: OnceCell::new(),
    }))
}

/// The credentials of one role: `AssumeRole` with the cache's own credentials, built on first
/// use; each failure tagged with the role (see [`AssumeRoleFailure`]).
struct RoleCredentials {
    role: Arc<str>,
    sts: SdkConfig,
    own: SharedCredentialsProvider,
    provider: OnceCell<AssumeRoleProvider>,
}

impl RoleCredentials {
    async fn credentials(&self) -> provider::Result {
        let provider = self
            .provider
            .get_or_init(|| {
                AssumeRoleProvider::builder(&*self.role)
                    .configure(&self.sts)
                    .session_name(SESSION_NAME)
                    .build_from_provider(self.own.clone())
            })
            .await;
        provider.provide_credentials().await.map_err(|err| {
            let failure = AssumeRoleFailure::new(&self.role, &err);
            tracing::debug!(role = &*self.role, error = %failure, "assuming the role failed");
            CredentialsError::provider_error(failure)
        })
    }
}

impl ProvideCredentials for RoleCredentials {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::new(self.credentials())
    }
}

impl fmt::Debug for RoleCredentials {
    /// The role only: the credentials are the SDK's to hold.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoleCredentials")
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}
