//! Integration tests against a local Secrets Manager (`moto_server` on loopback).

mod cache;
mod derive;
mod live;
mod mounted;
