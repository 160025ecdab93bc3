//! The four sources under test, each behind the suite's [`Fixture`]: how to store, rotate and
//! break a secret there, and which scenarios it cannot express.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use asm_runtime::{
    AgentSource, Error, FileSource, MemoryFault, MemorySource, MountProblem, SecretCache,
    SecretCacheBuilder, SecretSource, SecretString, Version,
};
use asm_testkit::{Agent, DriverDir, Endpoint, Moto};
use aws_sdk_secretsmanager::primitives::Blob;

use super::{Fixture, Hanging, Scenario, Settings};

/// The cache every fixture builds: `settings`, no jitter, values served for 10 min while
/// refreshes fail.
fn cache(source: impl SecretSource, settings: Settings) -> SecretCache {
    builder(source, settings).build().expect("valid settings")
}

/// [`cache`]'s builder.
fn builder(source: impl SecretSource, settings: Settings) -> SecretCacheBuilder {
    SecretCache::builder(source)
        .ttl(settings.ttl)
        .call_timeout(settings.call_timeout)
        .attempt_timeout(SecretCacheBuilder::DEFAULT_ATTEMPT_TIMEOUT.min(settings.call_timeout))
        .max_staleness(Duration::from_secs(600))
        .jitter(false)
}

/// Why the agent and the mount run no parameter scenario.
const NO_PARAMETERS_BY_AGENT: &str = "the Secrets Manager Agent 2.1 serves no parameters: a \
     read of one is `Error::Config` (`integration/agent.rs::an_agent_cache_reads_no_parameters`)";

/// The Secrets Manager API through the SDK, on a local `moto_server`.
pub(super) struct Sdk {
    moto: Moto,
}

impl Sdk {
    pub(super) fn start() -> Self {
        Self {
            moto: Moto::start(),
        }
    }

    /// An SSM client for the same server.
    fn ssm(&self) -> aws_sdk_ssm::Client {
        aws_sdk_ssm::Client::new(&self.moto.sdk_config())
    }

    async fn exists(&self, name: &str) -> bool {
        let described = self.moto.client().describe_secret().secret_id(name).send();
        described.await.is_ok()
    }
}

impl Fixture for Sdk {
    const SOURCE: &'static str = "sdk";

    fn cannot(_: Scenario) -> Option<&'static str> {
        None
    }

    async fn put(&self, name: &str, value: &str) {
        if self.exists(name).await {
            self.moto.put(name, value).await;
        } else {
            self.moto.create(name, value).await;
        }
    }

    async fn put_binary(&self, name: &str, value: &[u8]) {
        if !self.exists(name).await {
            self.moto.create_binary(name, value).await;
            return;
        }
        let put = self.moto.client().put_secret_value().secret_id(name);
        put.secret_binary(Blob::new(value))
            .send()
            .await
            .unwrap_or_else(|e| panic!("put_secret_value {name}: {e:?}"));
    }

    async fn put_parameter(&self, name: &str, value: &str) -> bool {
        let put = (self.ssm().put_parameter().name(name).value(value))
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .overwrite(true);
        put.send()
            .await
            .unwrap_or_else(|e| panic!("put_parameter {name}: {e:?}"));
        true
    }

    async fn arn(&self, name: &str) -> String {
        let described = self.moto.client().describe_secret().secret_id(name).send();
        let described = described
            .await
            .unwrap_or_else(|e| panic!("describe_secret {name}: {e:?}"));
        described.arn.unwrap_or_default()
    }

    fn cache(&self, settings: Settings) -> SecretCache {
        let builder = builder(self.moto.client(), settings).parameter_client(self.ssm());
        builder.build().expect("valid settings")
    }

    async fn hanging(&self, _name: &str, settings: Settings) -> Option<Hanging> {
        let silent = Endpoint::silent().await;
        let cache = cache(self.moto.client_via(&silent.url()), settings);
        Some(Hanging {
            cache,
            _endpoint: Some(silent),
        })
    }
}

/// The agent's own TTL in the suite: a value can be this much older than the cache's TTL.
const AGENT_TTL: Duration = Duration::from_secs(1);

/// The real AWS Secrets Manager Agent in front of a local `moto_server`, read by `AgentSource`.
pub(super) struct ViaAgent {
    sdk: Sdk,
    agent: Agent,
}

impl ViaAgent {
    pub(super) fn start() -> Self {
        let sdk = Sdk::start();
        let ttl = u32::try_from(AGENT_TTL.as_secs()).unwrap_or(u32::MAX);
        let agent = Agent::start(&sdk.moto.endpoint(), ttl);
        Self { sdk, agent }
    }
}

impl Fixture for ViaAgent {
    const SOURCE: &'static str = "agent";

    fn cannot(scenario: Scenario) -> Option<&'static str> {
        match scenario {
            Scenario::ParameterRead | Scenario::ParameterMissing | Scenario::ParameterReference => {
                Some(NO_PARAMETERS_BY_AGENT)
            }
            _ => None,
        }
    }

    async fn put(&self, name: &str, value: &str) {
        self.sdk.put(name, value).await;
    }

    async fn put_parameter(&self, name: &str, value: &str) -> bool {
        self.sdk.put_parameter(name, value).await
    }

    async fn put_binary(&self, name: &str, value: &[u8]) {
        self.sdk.put_binary(name, value).await;
    }

    async fn arn(&self, name: &str) -> String {
        self.sdk.arn(name).await
    }

    fn cache(&self, settings: Settings) -> SecretCache {
        let source = AgentSource::new()
            .endpoint(&self.agent.endpoint())
            .expect("a loopback URL")
            .token(SecretString::from(self.agent.token()));
        cache(source, settings)
    }

    async fn hanging(&self, _name: &str, settings: Settings) -> Option<Hanging> {
        let silent = Endpoint::silent().await;
        let source = AgentSource::new()
            .endpoint(&silent.url())
            .expect("a loopback URL")
            .token(SecretString::from(self.agent.token()));
        Some(Hanging {
            cache: cache(source, settings),
            _endpoint: Some(silent),
        })
    }

    /// The agent's TTL, counted from its own fetch (which a scenario's `put` follows), and a
    /// quarter second for its clock.
    fn extra_staleness(&self) -> Duration {
        AGENT_TTL + Duration::from_millis(250)
    }
}

/// `MemorySource` (feature `testing`).
pub(super) struct InMemory(MemorySource);

impl InMemory {
    pub(super) fn new() -> Self {
        Self(MemorySource::new())
    }
}

/// The ARNs `MemorySource` gives its secrets (account 111122223333, suffix `-memory`).
const MEMORY_ARN_PREFIX: &str = "arn:aws:secretsmanager:us-east-1:111122223333:secret:";

impl Fixture for InMemory {
    const SOURCE: &'static str = "memory";

    fn cannot(_: Scenario) -> Option<&'static str> {
        None
    }

    async fn put(&self, name: &str, value: &str) {
        self.0.text(name, value);
    }

    async fn put_binary(&self, name: &str, value: &[u8]) {
        self.0.binary(name, value);
    }

    async fn put_parameter(&self, name: &str, value: &str) -> bool {
        self.0.parameter(name, value);
        true
    }

    async fn arn(&self, name: &str) -> String {
        format!("{MEMORY_ARN_PREFIX}{name}-memory")
    }

    fn cache(&self, settings: Settings) -> SecretCache {
        cache(self.0.clone(), settings)
    }

    async fn hanging(&self, name: &str, settings: Settings) -> Option<Hanging> {
        self.0.fail(Some(name), MemoryFault::Hang);
        Some(Hanging {
            cache: cache(self.0.clone(), settings),
            _endpoint: None,
        })
    }
}

/// `FileSource` (feature `files`) over a directory written as the Secrets Store CSI driver
/// writes it: every `put` writes a new generation holding every file and swaps `..data`.
pub(super) struct Mounted {
    dir: Mutex<DriverDir>,
    /// The mount's files (name → contents), rewritten whole on each `put`.
    files: Mutex<BTreeMap<String, Vec<u8>>>,
    /// The ids stored with `put_binary`: read as `SecretBinary` (`FileSource::binary`).
    binary: Mutex<BTreeSet<String>>,
}

/// The account and suffix of the ARNs the file fixture reads by: a mount has no ARN of its
/// own; `FileSource` maps an ARN to the file of the name inside it.
const FILES_ARN_PREFIX: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:";

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Mounted {
    pub(super) fn new() -> Self {
        Self {
            dir: Mutex::new(DriverDir::new(&[]).expect("temporary mount")),
            files: Mutex::default(),
            binary: Mutex::default(),
        }
    }

    /// Writes `contents` as the file of `name` in a new generation of the whole mount.
    fn write(&self, name: &str, contents: &[u8]) {
        let mut files = lock(&self.files);
        files.insert(FileSource::new("").file_name(name), contents.to_vec());
        let generation: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(file, bytes)| (file.as_str(), bytes.as_slice()))
            .collect();
        lock(&self.dir).rotate(&generation).expect("rotated");
    }
}

impl Fixture for Mounted {
    const SOURCE: &'static str = "files";

    fn cannot(scenario: Scenario) -> Option<&'static str> {
        match scenario {
            Scenario::ArnOfANameRead => Some(
                "a mounted file has no ARN: a secret read by name reports none, so a read by \
                 ARN cannot find its entry",
            ),
            Scenario::PreviousStage | Scenario::OlderVersionById => {
                Some("only the current version is mounted (the driver writes AWSCURRENT only)")
            }
            Scenario::Deadline => Some("a read of a mounted file cannot hang: no network call"),
            Scenario::ParameterRead => Some(
                "a mounted parameter has no ARN and only its latest version is mounted \
                 (`integration/mounted.rs::parameters_are_read_from_their_mounted_files` holds \
                 the rest: its file, a rotation, an ARN id)",
            ),
            Scenario::ParameterReference => Some(
                "a reference is mounted as a parameter of its own (`objectName: \
                 /aws/reference/secretsmanager/NAME`); mount the secret itself instead",
            ),
            _ => None,
        }
    }

    async fn put(&self, name: &str, value: &str) {
        self.write(name, value.as_bytes());
    }

    async fn put_binary(&self, name: &str, value: &[u8]) {
        lock(&self.binary).insert(name.to_owned());
        self.write(name, value);
    }

    /// Writes the parameter's file as ASCP names it (`/conf/p` is `_conf_p`).
    async fn put_parameter(&self, name: &str, value: &str) -> bool {
        self.write(&format!("ssm:{name}"), value.as_bytes());
        true
    }

    async fn arn(&self, name: &str) -> String {
        format!("{FILES_ARN_PREFIX}{name}-AbCdEf")
    }

    fn cache(&self, settings: Settings) -> SecretCache {
        let mut source = FileSource::new(lock(&self.dir).path());
        for id in lock(&self.binary).iter() {
            source = source.binary(id.as_str());
        }
        cache(source, settings)
    }

    async fn hanging(&self, _name: &str, _settings: Settings) -> Option<Hanging> {
        None
    }

    /// A file that is not there: `Error::Mount` with `MountProblem::Missing`.
    fn is_not_found(err: &Error, id: &str) -> bool {
        matches!(err, Error::Mount { secret_id, problem: MountProblem::Missing, .. } if secret_id == id)
    }

    /// Another version than the current one: `Error::Mount` with `MountProblem::OtherVersion`.
    fn is_version_not_found(err: &Error, id: &str, _version: &Version) -> bool {
        matches!(err, Error::Mount { secret_id, problem: MountProblem::OtherVersion, .. } if secret_id == id)
    }
}
