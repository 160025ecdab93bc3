#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod arn;
mod cache;
mod compare;
mod error;
mod field;
mod global;
mod iam;
mod json;
mod live;
mod loader;
mod parameter;
mod partition;
mod plan;
mod role_arn;
mod secret;
mod source;
mod ssm_name;
#[cfg(test)]
mod testing;
mod vars;
mod version;

#[cfg(test)]
mod proptests;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

/// The fuzz targets' entry points (`fuzz/`): only in builds with `--cfg fuzzing`.
#[cfg(fuzzing)]
#[doc(hidden)]
#[path = "fuzz.rs"]
pub mod __fuzz;

#[cfg(feature = "metrics")]
pub use cache::MetricsExporter;
pub use cache::{
    Health, LiveHealth, LiveState, Readiness, RotationGuardrail, SecretCache, SecretCacheBuilder,
    SecretHealth, SecretState, Stats,
};
pub use compare::SecretEq;
pub use error::{Error, MountProblem, TransportKind};
pub use field::SecretField;
pub use global::global;
pub use iam::{IamPolicies, IamPolicy};
pub use live::{Live, LiveReader, LiveRef};
pub use loader::AwsSecrets;
pub use parameter::PREFIX as PARAMETER_PREFIX;
pub use secret::{Secret, SecretValue};
#[cfg(feature = "files")]
pub use source::FileSource;
pub use source::SecretSource;
/// An in-memory way to the agent, for the fleet simulator only (see its docs).
#[doc(hidden)]
#[cfg(feature = "testing")]
pub use source::agent::AgentTransport;
pub use source::agent::{AgentSource, TOKEN_VARIABLES as AGENT_TOKEN_VARIABLES};
#[cfg(feature = "testing")]
pub use source::memory::{MemoryFault, MemorySource};
pub use vars::Vars;
pub use version::Version;

pub use secrecy::{ExposeSecret, SecretSlice, SecretString};

/// The `serde` crate a `public` field's type implements `Deserialize` of, re-exported so that
/// a service can derive it without matching versions by hand
/// (`#[serde(crate = "asm_runtime::serde")]`).
pub use serde;
/// The `serde_json` crate, re-exported for `MemorySource::json` (feature `testing`) fixtures:
/// `asm_runtime::serde_json::json!({"password": "…"})`.
pub use serde_json;

/// The `aws-config` crate the cache loads its configuration with, re-exported so that an
/// `SdkConfig` passed to [`SecretCache::from_conf`] is always of the version the cache was
/// built against.
pub use aws_config;
/// The `aws-sdk-secretsmanager` crate the cache calls, re-exported so that a `Client` passed
/// to [`SecretCache::new`] or [`SecretCache::builder`] is always of the cache's version.
pub use aws_sdk_secretsmanager;
/// The `aws-sdk-ssm` crate parameters are read with (feature `ssm`), re-exported so that a
/// `Client` passed to [`SecretCacheBuilder::parameter_client`] is of the cache's version.
#[cfg(feature = "ssm")]
pub use aws_sdk_ssm;

/// Derives [`AwsSecrets`](trait@AwsSecrets) for a settings struct; the attribute reference
/// follows.
#[cfg(feature = "derive")]
pub use asm_derive::AwsSecrets;
