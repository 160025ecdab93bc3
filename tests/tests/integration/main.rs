//! Integration tests against a local Secrets Manager (`moto_server` on loopback), the AWS
//! Secrets Manager Agent in front of it, mounted files and the in-memory source; `sources` is
//! the conformance suite every source passes.

mod agent;
mod cache;
mod derive;
mod identity;
mod live;
mod mounted;
mod roles;
mod sources;
