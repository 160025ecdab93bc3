//! [`Replica`]: a source reading the replicas, in another region, of the secrets the cache's
//! primary source reads. Secrets Manager replicates a secret under its name, its ARN suffix and
//! its account; only the region changes. So a name is asked as it is, and an ARN (full or
//! partial) with its region field swapped.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use super::{Backend, Description};
use crate::arn::Arn;
use crate::{Error, Secret, TransportKind, Version};

/// A source in a failover region, asked for the ids the primary is asked for.
pub(crate) struct Replica {
    region: Box<str>,
    source: Arc<dyn Backend>,
}

impl Replica {
    /// `source`, which reads from `region`.
    pub(crate) fn new(region: &str, source: Arc<dyn Backend>) -> Self {
        Self {
            region: region.into(),
            source,
        }
    }

    /// This replica's source reading as `role` (see [`Backend::assume`]).
    ///
    /// # Errors
    /// As [`Backend::assume`]: this region's source cannot read as a role.
    pub(crate) fn reading_as(&self, role: &Arc<str>) -> Result<Self, Error> {
        Ok(Self {
            region: self.region.clone(),
            source: self.source.assume(role)?,
        })
    }

    /// `id` as this region knows it: a name unchanged, an ARN in this region.
    pub(crate) fn id<'a>(&self, id: &'a str) -> Cow<'a, str> {
        match Arn::parse(id) {
            Some(arn) => Cow::Owned(arn.in_region(&self.region)),
            None => Cow::Borrowed(id),
        }
    }
}

impl Backend for Replica {
    /// The region's source's kind (`sdk`): a replica is the same source elsewhere.
    fn kind(&self) -> &'static str {
        self.source.kind()
    }

    fn get<'a>(
        &'a self,
        id: &'a str,
        version: &'a Version,
        refresh: bool,
    ) -> BoxFuture<'a, Result<Secret, Error>> {
        let id = self.id(id);
        async move { self.source.get(&id, version, refresh).await }.boxed()
    }

    fn describe<'a>(&'a self, id: &'a str) -> Option<BoxFuture<'a, Result<Description, Error>>> {
        let id = self.id(id);
        Some(
            async move {
                match self.source.describe(&id) {
                    Some(described) => described.await,
                    // Replicas are SDK clients, which all describe; a source that cannot is
                    // answered as a failed call, and the primary's failure is reported.
                    None => Err(Error::Transport {
                        secret_id: id.to_string(),
                        kind: TransportKind::Other,
                        detail: Some("this region's source has no DescribeSecret".into()),
                    }),
                }
            }
            .boxed(),
        )
    }

    fn region(&self) -> Option<&str> {
        Some(&self.region)
    }
}

impl fmt::Debug for Replica {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Replica")
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}
