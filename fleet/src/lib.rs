//! A fleet simulator for asm: thousands of real `SecretCache`s (each over its own real SDK
//! client) in one process, in paused tokio time, against an in-process Secrets Manager and
//! Parameter Store that enforce the account's per-action quotas. Only the transport is
//! simulated. See FLEET.md.

pub mod agent;
pub mod headline;
pub mod pod;
pub mod quota;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod service;
