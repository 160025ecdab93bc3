//! The reliability suite (issue 5): the library's promises, held by tests that can fail.
//!
//! - `leaks`: a canary secret driven through every error path and a traced
//!   load/refresh/rotate run; no error, `Debug`, log line or panic message carries it, or any
//!   4-character fragment of it.
//! - `faults`: throttling storms, 5xx bursts, timeouts, the endpoint gone for minutes (mocked,
//!   and a real `moto_server` stopped and restarted on its port).
//! - `concurrency`: readers, refreshers, invalidators and a rotator at once on a
//!   multi-thread runtime: no deadlock, no torn snapshot, single flight.
//! - `deadlines`: a loopback listener that never answers, keep-alive connections that go
//!   silent, a missing secret read 200 times: every call ends by its deadline, failures are
//!   remembered.
//! - `failover`: a blackholed primary (a loopback listener, a region taken down in front of
//!   moto) and the secret's replica on moto: loads and refreshes answered from the replica
//!   within the stated bound, not-found never failed over.
//! - `guardrail`: the rotation guardrail's `Warn` finding logged once, not at every load.
//! - `mapping`: property tests of JSON-to-field mapping on arbitrary documents.
//! - `pacing`: 50 caches against a stand-in that throttles beyond 20 requests a second.
//! - `roles`: a role per secret against STS faults (denied, throttled, silent), and the leak
//!   check of their errors.
//!
//! One binary for all of it: every test binary links the AWS SDK.

#![allow(clippy::unwrap_used)]
// Panicking on a known `Err` is how the panic-message surface is tested.
#![allow(clippy::unnecessary_literal_unwrap)]

mod concurrency;
mod deadlines;
mod endpoints;
mod failover;
mod faults;
mod guardrail;
mod leaks;
mod mapping;
mod pacing;
mod roles;
mod support;
