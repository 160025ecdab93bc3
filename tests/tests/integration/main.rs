//! Integration tests against a local Secrets Manager (`moto_server` on loopback), the AWS
//! Secrets Manager Agent in front of it, and the in-memory source.

mod cache;
mod derive;
mod live;
mod mounted;
mod sources;
