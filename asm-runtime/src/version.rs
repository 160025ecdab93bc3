//! [`Version`]: which version of a secret a read asks for.

use std::fmt;
use std::sync::Arc;

/// Which version of a secret to read.
///
/// Secrets Manager labels versions with stages; `AWSCURRENT` (the default) moves to the new
/// version when a secret rotates, which is what lets a cached value follow a rotation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Version {
    /// The version carrying this staging label (`AWSCURRENT`, `AWSPREVIOUS`, `AWSPENDING`, …).
    Stage(Arc<str>),
    /// One exact version id; it never changes, so it is never refreshed for rotation.
    Id(Arc<str>),
}

impl Version {
    /// The staging label of the live version.
    pub const CURRENT_STAGE: &'static str = "AWSCURRENT";

    /// `AWSCURRENT`.
    pub fn current() -> Self {
        Self::Stage(Arc::from(Self::CURRENT_STAGE))
    }

    /// A version by staging label.
    pub fn stage(label: impl Into<Arc<str>>) -> Self {
        Self::Stage(label.into())
    }

    /// A version by id.
    pub fn id(version_id: impl Into<Arc<str>>) -> Self {
        Self::Id(version_id.into())
    }

    pub(crate) fn is_current(&self) -> bool {
        matches!(self, Self::Stage(s) if &**s == Self::CURRENT_STAGE)
    }
}

impl Default for Version {
    fn default() -> Self {
        Self::current()
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stage(s) => write!(f, "stage {s}"),
            Self::Id(s) => write!(f, "version {s}"),
        }
    }
}
