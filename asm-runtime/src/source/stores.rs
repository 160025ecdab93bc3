//! One backend over both stores: ids of parameters (`crate::parameter`) go to the Parameter
//! Store backend, every other id to the secrets' source, so the cache above sees one source
//! and treats a parameter as one more (id, version).

use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use super::{Backend, BatchResult, Description, sealed};
use crate::parameter::is_parameter;
use crate::{Error, Secret, Version};

/// The secrets' source, and where parameters are read (`None`: nowhere, each read of one is
/// an [`Error::Config`] saying how to get one).
#[derive(Debug)]
pub(crate) struct Stores {
    secrets: Arc<dyn Backend>,
    parameters: Option<Arc<dyn Backend>>,
}

impl Stores {
    /// `secrets`, its parameters read through `parameters`; `secrets` alone when it serves
    /// parameters itself (memory) and no other source is given.
    pub(crate) fn over(
        secrets: Arc<dyn Backend>,
        parameters: Option<Arc<dyn Backend>>,
    ) -> Arc<dyn Backend> {
        if parameters.is_none() && secrets.serves_parameters() {
            return secrets;
        }
        Arc::new(Self {
            secrets,
            parameters,
        })
    }
}

/// The answer to a read of parameter `id` by a cache with no Parameter Store source.
fn no_parameter_source(id: &str, kind: &str) -> Error {
    Error::Config {
        message: format!(
            "parameter `{id}`: this cache's source ({kind}) serves no Parameter Store \
             parameters; build the cache with the feature `ssm` from an `SdkConfig` \
             (`SecretCache::from_env`, `from_conf`), or give it a client with \
             `SecretCacheBuilder::parameter_client` (the Secrets Manager Agent 2.1 serves \
             secrets only; a role's view reads parameters only through a client built from an \
             `SdkConfig`)"
        ),
    }
}

impl Backend for Stores {
    fn kind(&self) -> &'static str {
        self.secrets.kind()
    }

    fn get<'a>(
        &'a self,
        id: &'a str,
        version: &'a Version,
        refresh: bool,
    ) -> BoxFuture<'a, Result<Secret, Error>> {
        if let Some(refused) = self.refuses(id, version) {
            return futures_util::future::ready(Err(refused)).boxed();
        }
        match &self.parameters {
            Some(parameters) if is_parameter(id) => parameters.get(id, version, refresh),
            _ => self.secrets.get(id, version, refresh),
        }
    }

    fn refuses(&self, id: &str, version: &Version) -> Option<Error> {
        if !is_parameter(id) {
            return self.secrets.refuses(id, version);
        }
        if let Some(refused) = super::parameter_refused(id, version) {
            return Some(refused);
        }
        self.parameters
            .is_none()
            .then(|| no_parameter_source(id, self.kind()))
    }

    /// Parameters have none: the cache fetches them and compares version numbers.
    fn describe<'a>(&'a self, id: &'a str) -> Option<BoxFuture<'a, Result<Description, Error>>> {
        if is_parameter(id) {
            return None;
        }
        self.secrets.describe(id)
    }

    /// The secrets among `ids` in one batch of the secrets' source; parameters are left out
    /// (fetched one by one).
    fn get_batch<'a>(&'a self, ids: &'a [Arc<str>]) -> Option<BoxFuture<'a, BatchResult>> {
        if !ids.iter().any(|id| is_parameter(id)) {
            return self.secrets.get_batch(ids);
        }
        drop(self.secrets.get_batch(&[])?);
        let (at, secrets): (Vec<usize>, Vec<Arc<str>>) = (ids.iter().enumerate())
            .filter(|(_, id)| !is_parameter(id))
            .map(|(at, id)| (at, Arc::clone(id)))
            .unzip();
        Some(
            async move {
                let Some(batch) = self.secrets.get_batch(&secrets) else {
                    return Ok(Vec::new());
                };
                let answers = batch.await?.into_iter();
                Ok(answers
                    .filter_map(|(i, answer)| at.get(i).map(|&at| (at, answer)))
                    .collect())
            }
            .boxed(),
        )
    }

    fn get_parameters<'a>(&'a self, ids: &'a [Arc<str>]) -> Option<BoxFuture<'a, BatchResult>> {
        self.parameters.as_ref()?.get_parameters(ids)
    }

    fn batch_is_one_read(&self) -> bool {
        self.secrets.batch_is_one_read()
    }

    fn changes(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        self.secrets.changes()
    }

    fn region(&self) -> Option<&str> {
        self.secrets.region()
    }

    fn client(&self) -> Option<&aws_sdk_secretsmanager::Client> {
        self.secrets.client()
    }

    /// Secrets only (unless the source serves both): parameters are regional and have no
    /// replicas.
    fn in_region(&self, region: &str, terms: sealed::Terms) -> Option<Arc<dyn Backend>> {
        Some(Self::over(self.secrets.in_region(region, terms)?, None))
    }

    /// Both sources as `role`. Parameters are read as the role where their client was built
    /// from an `SdkConfig` (`from_env`, `from_conf`); through a client given as is
    /// (`parameter_client`) the role's view reads none, and says so at each read.
    fn assume(&self, role: &Arc<str>) -> Result<Arc<dyn Backend>, Error> {
        let parameters = (self.parameters.as_ref()).and_then(|p| match p.assume(role) {
            Ok(parameters) => Some(parameters),
            Err(err) => {
                tracing::warn!(role = &**role, error = %err, "this role's view reads no parameters");
                None
            }
        });
        Ok(Self::over(self.secrets.assume(role)?, parameters))
    }

    fn serves_parameters(&self) -> bool {
        true
    }
}
