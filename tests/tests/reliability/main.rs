//! The reliability suite (issue 5): the library's promises, held by tests that can fail.
//!
//! - `leaks`: a canary secret driven through every error path and a traced
//!   load/refresh/rotate run; no error, `Debug`, log line or panic message carries it, or any
//!   4-character fragment of it.
//! - `faults`: throttling storms, 5xx bursts, timeouts, the endpoint gone for minutes (mocked,
//!   and a real `moto_server` stopped and restarted on its port).
//! - `concurrency`: readers, refreshers, invalidators and a rotator at once on a
//!   multi-thread runtime: no deadlock, no torn snapshot, single flight.
//! - `mapping`: property tests of JSON-to-field mapping on arbitrary documents.
//!
//! One binary for all of it: every test binary links the AWS SDK.

#![allow(clippy::unwrap_used)]
// Panicking on a known `Err` is how the panic-message surface is tested.
#![allow(clippy::unnecessary_literal_unwrap)]

mod concurrency;
mod faults;
mod leaks;
mod mapping;
mod support;
