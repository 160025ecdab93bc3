//! One conformance suite every source passes, in the manner of object_store's shared
//! `integration.rs`: each scenario is a function generic over a [`Fixture`] (how to store,
//! rotate and break a secret in one source), and each source's test runs every scenario. The
//! cache's semantics live in the cache, so every source must give the same values, versions,
//! rotations, typed errors, counters and deadlines, and no value in any error.
//!
//! The sources: `sdk` (the Secrets Manager API through an SDK client, on `moto_server`),
//! `agent` (the real AWS Secrets Manager Agent in front of moto, its own TTL 1 s, read by
//! `AgentSource`), `memory` (`MemorySource`) and `files` (`FileSource` over a directory written
//! as the Secrets Store CSI driver writes it). A scenario a source cannot express is skipped by
//! name, with its reason, printed as `SKIP <scenario> on <source>: <reason>`: never a silent
//! pass. A mount types two errors its own way, and its fixture says so: no such secret is
//! `Error::Mount` with `MountProblem::Missing`, no such version `MountProblem::OtherVersion`
//! (`NotFound` and `VersionNotFound` elsewhere). Each source's test runs every scenario, then
//! fails listing all that failed. `the_module_doc_shows_the_fixtures_table` checks this table
//! against the fixtures and prints it (`-- --nocapture`):
//!
//! | scenario | checks | sdk | agent | memory | files |
//! |---|---|---|---|---|---|
//! | read-by-name | value, name, stage, version id; the second read a hit, one call | run | run | run | run |
//! | read-by-arn | a read by ARN: the secret, its ARN and name | run | run | run | run |
//! | arn-of-a-name-read | a read by name learns the ARN: `known_arn`, a read by ARN hits | run | run | run | SKIP: a mounted file has no ARN: a secret read by name reports none, so a read by ARN cannot find its entry |
//! | json-keys | `json_key`: strings, numbers, booleans; `MissingKey`, `WrongType` | run | run | run | run |
//! | not-json | text that is not JSON: its text; a key of it is `NotJson` | run | run | run | run |
//! | derived-struct | `AwsSecrets::load`: secrets, a public `u16`, an absent `Option` | run | run | run | run |
//! | derived-missing-key | a derived field's key missing: `MissingKey` naming key and field | run | run | run | run |
//! | binary | bytes by `binary()` and a `binary` field; text or key: `WrongType` | run | run | run | run |
//! | previous-stage | after a rotation, `AWSPREVIOUS` is the old version (id and value) | run | run | run | SKIP: only the current version is mounted (the driver writes AWSCURRENT only) |
//! | older-version-by-id | an older version by its version id | run | run | run | SKIP: only the current version is mounted (the driver writes AWSCURRENT only) |
//! | current-version-by-id | the current version by its version id | run | run | run | run |
//! | missing-secret | no such secret: typed not-found, persistent, naming the id | run | run | run | run |
//! | missing-version | no such stage, no such version id: typed, persistent | run | run | run | run |
//! | remembered-failure | a missing secret read 5 times: 1 call, 4 answered from memory | run | run | run | run |
//! | rotation-after-ttl | a rotation served from memory within the TTL, adopted after it | run | run | run | run |
//! | live-handle-wakes | `watch`: `changed()` wakes with the rotated value | run | run | run | run |
//! | refresh-now | `refresh_now` reads a rotation at once (TTL 10 min) | run | run | run | run |
//! | invalidate | `invalidate` drops a value and a remembered failure | run | run | run | run |
//! | deadline | a source that never answers: `Transport`/`Timeout` at `call_timeout` | run | run | run | SKIP: a read of a mounted file cannot hang: no network call |
//! | single-flight | 16 concurrent first reads: one call | run | run | run | run |
//! | too-large | 64 KiB + 1 refused with `TooLarge`; 64 KiB read | run | run | run | run |
//! | errors-carry-no-value | no part of a value in errors (`Display`, `Debug`) or the cache's `Debug` | run | run | run | run |
//! | parameter-read | a parameter by name and ARN, one call; a new version adopted after the TTL; an older one by number | run | SKIP: the Secrets Manager Agent 2.1 serves no parameters: a read of one is `Error::Config` (`integration/agent.rs::an_agent_cache_reads_no_parameters`) | run | SKIP: a mounted parameter has no ARN and only its latest version is mounted (`integration/mounted.rs::parameters_are_read_from_their_mounted_files` holds the rest: its file, a rotation, an ARN id) |
//! | parameter-missing | no such parameter, no such version: typed, persistent, remembered, naming the id | run | SKIP: the Secrets Manager Agent 2.1 serves no parameters: a read of one is `Error::Config` (`integration/agent.rs::an_agent_cache_reads_no_parameters`) | run | run |
//! | parameter-reference | `/aws/reference/secretsmanager/NAME` reads the secret | run | SKIP: the Secrets Manager Agent 2.1 serves no parameters: a read of one is `Error::Config` (`integration/agent.rs::an_agent_cache_reads_no_parameters`) | run | SKIP: a reference is mounted as a parameter of its own (`objectName: /aws/reference/secretsmanager/NAME`); mount the secret itself instead |

mod fixtures;
mod scenarios;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use asm_runtime::{Error, SecretCache, Version};
use asm_testkit::Endpoint;
use tokio::time::{Instant, timeout};

use fixtures::{InMemory, Mounted, Sdk, ViaAgent};

/// One behaviour every source must show; see each scenario's function in `scenarios.rs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scenario {
    ReadByName,
    ReadByArn,
    ArnOfANameRead,
    JsonKeys,
    NotJson,
    DerivedStruct,
    DerivedMissingKey,
    Binary,
    PreviousStage,
    OlderVersionById,
    CurrentVersionById,
    MissingSecret,
    MissingVersion,
    RememberedFailure,
    RotationAfterTtl,
    LiveHandleWakes,
    RefreshNow,
    Invalidate,
    Deadline,
    SingleFlight,
    TooLarge,
    ErrorsCarryNoValue,
    ParameterRead,
    ParameterMissing,
    ParameterReference,
}

impl Scenario {
    /// Every scenario, in the order the suite runs them.
    const ALL: [Self; 25] = [
        Self::ReadByName,
        Self::ReadByArn,
        Self::ArnOfANameRead,
        Self::JsonKeys,
        Self::NotJson,
        Self::DerivedStruct,
        Self::DerivedMissingKey,
        Self::Binary,
        Self::PreviousStage,
        Self::OlderVersionById,
        Self::CurrentVersionById,
        Self::MissingSecret,
        Self::MissingVersion,
        Self::RememberedFailure,
        Self::RotationAfterTtl,
        Self::LiveHandleWakes,
        Self::RefreshNow,
        Self::Invalidate,
        Self::Deadline,
        Self::SingleFlight,
        Self::TooLarge,
        Self::ErrorsCarryNoValue,
        Self::ParameterRead,
        Self::ParameterMissing,
        Self::ParameterReference,
    ];

    /// The scenario's name in reports (kebab case).
    fn name(self) -> &'static str {
        match self {
            Self::ReadByName => "read-by-name",
            Self::ReadByArn => "read-by-arn",
            Self::ArnOfANameRead => "arn-of-a-name-read",
            Self::JsonKeys => "json-keys",
            Self::NotJson => "not-json",
            Self::DerivedStruct => "derived-struct",
            Self::DerivedMissingKey => "derived-missing-key",
            Self::Binary => "binary",
            Self::PreviousStage => "previous-stage",
            Self::OlderVersionById => "older-version-by-id",
            Self::CurrentVersionById => "current-version-by-id",
            Self::MissingSecret => "missing-secret",
            Self::MissingVersion => "missing-version",
            Self::RememberedFailure => "remembered-failure",
            Self::RotationAfterTtl => "rotation-after-ttl",
            Self::LiveHandleWakes => "live-handle-wakes",
            Self::RefreshNow => "refresh-now",
            Self::Invalidate => "invalidate",
            Self::Deadline => "deadline",
            Self::SingleFlight => "single-flight",
            Self::TooLarge => "too-large",
            Self::ErrorsCarryNoValue => "errors-carry-no-value",
            Self::ParameterRead => "parameter-read",
            Self::ParameterMissing => "parameter-missing",
            Self::ParameterReference => "parameter-reference",
        }
    }

    /// What the scenario checks, in a few words (the table's second column).
    fn checks(self) -> &'static str {
        match self {
            Self::ReadByName => "value, name, stage, version id; the second read a hit, one call",
            Self::ReadByArn => "a read by ARN: the secret, its ARN and name",
            Self::ArnOfANameRead => {
                "a read by name learns the ARN: `known_arn`, a read by ARN hits"
            }
            Self::JsonKeys => "`json_key`: strings, numbers, booleans; `MissingKey`, `WrongType`",
            Self::NotJson => "text that is not JSON: its text; a key of it is `NotJson`",
            Self::DerivedStruct => {
                "`AwsSecrets::load`: secrets, a public `u16`, an absent `Option`"
            }
            Self::DerivedMissingKey => {
                "a derived field's key missing: `MissingKey` naming key and field"
            }
            Self::Binary => "bytes by `binary()` and a `binary` field; text or key: `WrongType`",
            Self::PreviousStage => {
                "after a rotation, `AWSPREVIOUS` is the old version (id and value)"
            }
            Self::OlderVersionById => "an older version by its version id",
            Self::CurrentVersionById => "the current version by its version id",
            Self::MissingSecret => "no such secret: typed not-found, persistent, naming the id",
            Self::MissingVersion => "no such stage, no such version id: typed, persistent",
            Self::RememberedFailure => {
                "a missing secret read 5 times: 1 call, 4 answered from memory"
            }
            Self::RotationAfterTtl => {
                "a rotation served from memory within the TTL, adopted after it"
            }
            Self::LiveHandleWakes => "`watch`: `changed()` wakes with the rotated value",
            Self::RefreshNow => "`refresh_now` reads a rotation at once (TTL 10 min)",
            Self::Invalidate => "`invalidate` drops a value and a remembered failure",
            Self::Deadline => {
                "a source that never answers: `Transport`/`Timeout` at `call_timeout`"
            }
            Self::SingleFlight => "16 concurrent first reads: one call",
            Self::TooLarge => "64 KiB + 1 refused with `TooLarge`; 64 KiB read",
            Self::ErrorsCarryNoValue => {
                "no part of a value in errors (`Display`, `Debug`) or the cache's `Debug`"
            }
            Self::ParameterRead => {
                "a parameter by name and ARN, one call; a new version adopted after the TTL; an older one by number"
            }
            Self::ParameterMissing => {
                "no such parameter, no such version: typed, persistent, remembered, naming the id"
            }
            Self::ParameterReference => "`/aws/reference/secretsmanager/NAME` reads the secret",
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The cache settings a scenario asks a fixture for (no jitter, whatever the settings).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub(crate) ttl: Duration,
    pub(crate) call_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(600),
            call_timeout: Duration::from_secs(10),
        }
    }
}

/// A cache whose calls about one secret never get an answer, and what keeps it hanging.
pub(crate) struct Hanging {
    pub(crate) cache: SecretCache,
    /// The silent loopback endpoint the cache's source calls, if it calls one.
    pub(crate) _endpoint: Option<Endpoint>,
}

/// What the suite needs of a source under test.
pub(crate) trait Fixture: Send + Sync + 'static {
    /// The source's name in reports and in the table above.
    const SOURCE: &'static str;

    /// Why this source cannot express `scenario`, if it cannot: the scenario is skipped, by
    /// name, with this reason.
    fn cannot(scenario: Scenario) -> Option<&'static str>;

    /// Stores `value` as the new `AWSCURRENT` version of `name` (creating or rotating it).
    fn put(&self, name: &str, value: &str) -> impl Future<Output = ()> + Send;

    /// Stores binary `value` as the new `AWSCURRENT` version of `name`.
    fn put_binary(&self, name: &str, value: &[u8]) -> impl Future<Output = ()> + Send;

    /// Stores `value` as the next version of the parameter `name` (a `SecureString` where the
    /// source has types); `false` where the source serves no parameters (and says so in
    /// [`cannot`](Self::cannot)).
    fn put_parameter(&self, name: &str, value: &str) -> impl Future<Output = bool> + Send;

    /// The ARN that names the secret `name` in this source.
    fn arn(&self, name: &str) -> impl Future<Output = String> + Send;

    /// A new cache over the source.
    fn cache(&self, settings: Settings) -> SecretCache;

    /// A new cache whose calls about `name` are never answered (`None` where the source
    /// cannot hang, and says so in [`cannot`](Self::cannot)).
    fn hanging(
        &self,
        name: &str,
        settings: Settings,
    ) -> impl Future<Output = Option<Hanging>> + Send;

    /// How much older than the cache's TTL a value can be (a node agent's own TTL).
    fn extra_staleness(&self) -> Duration {
        Duration::ZERO
    }

    /// Whether `err` is this source's answer for a secret `id` that does not exist.
    fn is_not_found(err: &Error, id: &str) -> bool {
        matches!(err, Error::NotFound { secret_id } if secret_id == id)
    }

    /// Whether `err` is this source's answer for an existing secret `id` without `version`.
    fn is_version_not_found(err: &Error, id: &str, version: &Version) -> bool {
        matches!(
            err,
            Error::VersionNotFound { secret_id, version: v } if secret_id == id && v == version
        )
    }
}

/// The longest one scenario may take before it counts as hung.
const SCENARIO_LIMIT: Duration = Duration::from_secs(60);

/// Runs every scenario on `fixture`, each in its own task; skips (by name, with the reason)
/// what the fixture cannot express; fails listing every scenario that failed.
async fn conform<F: Fixture>(fixture: F) {
    let fixture = Arc::new(fixture);
    let source = F::SOURCE;
    let (mut passed, mut skipped, mut failed) = (0, 0, Vec::new());
    for scenario in Scenario::ALL {
        if let Some(reason) = F::cannot(scenario) {
            eprintln!("SKIP {scenario} on {source}: {reason}");
            skipped += 1;
            continue;
        }
        let started = Instant::now();
        let f = Arc::clone(&fixture);
        let run =
            tokio::spawn(
                async move { timeout(SCENARIO_LIMIT, scenarios::run(scenario, &*f)).await },
            );
        match run.await {
            Ok(Ok(())) => {
                passed += 1;
                eprintln!("ok {scenario} on {source} ({:?})", started.elapsed());
            }
            Ok(Err(_)) => failed.push(format!("{scenario}: not done within {SCENARIO_LIMIT:?}")),
            Err(e) => {
                let message = e.try_into_panic().map_or_else(
                    |e| e.to_string(),
                    |panic| match panic.downcast::<String>() {
                        Ok(text) => *text,
                        Err(panic) => panic
                            .downcast_ref::<&str>()
                            .map_or("(no message)", |s| s)
                            .to_owned(),
                    },
                );
                eprintln!("FAILED {scenario} on {source}: {message}");
                failed.push(format!("{scenario}: {message}"));
            }
        }
    }
    eprintln!(
        "conformance on {source}: {passed} passed, {skipped} skipped, {} failed",
        failed.len()
    );
    assert!(
        failed.is_empty(),
        "{} of {} scenarios failed on {source}:\n{}",
        failed.len(),
        passed + failed.len(),
        failed.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_source_conforms() {
    conform(Sdk::start()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_source_conforms() {
    conform(ViaAgent::start()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_source_conforms() {
    conform(InMemory::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_source_conforms() {
    conform(Mounted::new()).await;
}

/// The scenario × source table, from the fixtures' own `cannot`.
fn table() -> String {
    fn cell<F: Fixture>(scenario: Scenario) -> String {
        F::cannot(scenario).map_or_else(|| "run".to_owned(), |why| format!("SKIP: {why}"))
    }
    let mut table = format!(
        "| scenario | checks | {} | {} | {} | {} |\n|---|---|---|---|---|---|\n",
        Sdk::SOURCE,
        ViaAgent::SOURCE,
        InMemory::SOURCE,
        Mounted::SOURCE
    );
    for scenario in Scenario::ALL {
        table.push_str(&format!(
            "| {scenario} | {} | {} | {} | {} | {} |\n",
            scenario.checks(),
            cell::<Sdk>(scenario),
            cell::<ViaAgent>(scenario),
            cell::<InMemory>(scenario),
            cell::<Mounted>(scenario)
        ));
    }
    table
}

/// Prints the scenario × source table (`-- --nocapture`) and checks that the module's doc
/// shows the same one.
#[test]
fn the_module_doc_shows_the_fixtures_table() {
    let table = table();
    println!("{table}");
    let doc: String = include_str!("sources.rs")
        .lines()
        .filter_map(|line| line.strip_prefix("//! |"))
        .map(|row| format!("|{row}\n"))
        .collect();
    assert_eq!(
        doc, table,
        "the table in sources.rs's module doc is out of date: paste the one printed above"
    );
}
