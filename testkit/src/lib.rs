//! The test kit of asm: real services on loopback, started per test and stopped on drop, for
//! the test suites (`asm-tests`) and the runnable examples (`asm-examples`).
//!
//! | item | what it starts, and how |
//! |---|---|
//! | [`Moto`] | `moto_server` (a local Secrets Manager API) as a child process on a free port of `127.0.0.1`, with an SDK client and helpers to create, rotate and stage secrets |
//! | [`Agent`] | the AWS Secrets Manager Agent (`aws_secretsmanager_agent`) as a child process on a free loopback port, in front of a given endpoint, with a fresh token and a throw-away configuration file |
//! | [`Postgres`] | a throw-away PostgreSQL cluster (`initdb` and `pg_ctl` in a temporary directory) on a free loopback port |
//! | [`DriverDir`] | a temporary directory laid out as the Secrets Store CSI driver writes it (`..data` linking to a timestamped generation, swapped atomically on rotation) |
//! | [`Endpoint`] | a loopback endpoint served by a task of the current tokio runtime: silent (accepts, never answers), going silent, or throttling |
//! | [`CountingProxy`] | a loopback TCP proxy counting the Secrets Manager actions that pass through it |
//! | [`RegionalOutage`] | a loopback proxy in front of moto that never answers the requests signed for the regions it is told are down, and counts requests by region |
//! | [`FakeAws`] | STS and Secrets Manager played by an SDK HTTP client (no process): `AssumeRole` granted, denied, throttled or hanging as scripted, secrets answered per account of the signing credentials |
//!
//! Nothing here skips: when `moto_server`, the agent or PostgreSQL is missing or does not
//! start, the constructor panics saying how to install it (`scripts/test.sh` installs all
//! three).

#![warn(missing_docs)]

mod postgres;

pub use postgres::{Postgres, SUPERUSER};

mod agent;
mod endpoint;
mod fake_aws;
mod http;
mod mount;
mod outage;
mod proxy;

pub use agent::{AGENT_BINARY, Agent};
pub use endpoint::Endpoint;
pub use fake_aws::{BASE_ACCOUNT, FakeAws, StsAnswer};
pub use mount::DriverDir;
pub use outage::RegionalOutage;
pub use proxy::CountingProxy;

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use asm_runtime::SecretCache;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_secretsmanager::primitives::Blob;
use aws_sdk_secretsmanager::types::ReplicaRegionType;

/// A running `moto_server`, stopped when dropped.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    /// Starts `moto_server` on a free port of 127.0.0.1 and waits until it accepts connections.
    ///
    /// # Panics
    /// When `moto_server` is not installed or does not listen within 30 s.
    pub fn start() -> Self {
        let port = free_port();
        let child = spawn(port);
        let mut moto = Self { child, port };
        moto.wait_until_listening(Duration::from_secs(30));
        moto
    }

    /// Stops the server (the endpoint is gone: connections are refused) until
    /// [`restart`](Self::restart). Its secrets are lost: moto keeps them in memory.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let started = Instant::now();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "port {} still accepts connections after moto_server was stopped",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the server again on the same port, empty, and waits until it listens.
    ///
    /// # Panics
    /// When it cannot start or does not listen within 30 s: a fault test never skips.
    pub fn restart(&mut self) {
        self.stop();
        self.child = spawn(self.port);
        self.wait_until_listening(Duration::from_secs(30));
    }

    /// The loopback port the server listens on (the same across restarts).
    pub fn port(&self) -> u16 {
        self.port
    }

    fn wait_until_listening(&mut self, limit: Duration) {
        wait_until_listening(&mut self.child, "moto_server", self.port, limit);
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The server's socket address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// An SDK client for this server: region `us-east-1`, static test credentials, no retries.
    pub fn client(&self) -> Client {
        self.client_via(&self.endpoint())
    }

    /// As [`client`](Self::client), sending its requests to `endpoint` (a proxy in front of
    /// this server).
    pub fn client_via(&self, endpoint: &str) -> Client {
        self.client_in_via("us-east-1", endpoint)
    }

    /// As [`client`](Self::client), in `region` (moto keeps each region's secrets apart, and
    /// serves a replica in the region it was replicated to).
    pub fn client_in(&self, region: &str) -> Client {
        self.client_in_via(region, &self.endpoint())
    }

    fn client_in_via(&self, region: &str, endpoint: &str) -> Client {
        let config = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .endpoint_url(endpoint)
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .retry_config(aws_sdk_secretsmanager::config::retry::RetryConfig::disabled())
            .build();
        Client::from_conf(config)
    }

    /// An `SdkConfig` for this server (region `us-east-1`, static test credentials, no
    /// retries), for every service moto plays: Secrets Manager, and STS for roles
    /// (`SecretCache::builder_from_conf`).
    pub fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(self.endpoint())
            .credentials_provider(
                aws_sdk_secretsmanager::config::SharedCredentialsProvider::new(Credentials::new(
                    "testing", "testing", None, None, "moto",
                )),
            )
            .retry_config(aws_sdk_secretsmanager::config::retry::RetryConfig::disabled())
            .time_source(aws_smithy_async::time::SystemTimeSource::new())
            .build()
    }

    /// [`sdk_config`](Self::sdk_config) acting as `role` (moto's STS grants any `AssumeRole`:
    /// its credentials act in the role's account), for any service's client.
    pub async fn sdk_config_as(&self, role: &str) -> aws_config::SdkConfig {
        let config = self.sdk_config();
        let provider = aws_config::sts::AssumeRoleProvider::builder(role)
            .configure(&config)
            .session_name("asm-testkit")
            .build()
            .await;
        (config.to_builder())
            .credentials_provider(
                aws_sdk_secretsmanager::config::SharedCredentialsProvider::new(provider),
            )
            .build()
    }

    /// A client acting as `role`, to create that account's secrets.
    pub async fn client_as(&self, role: &str) -> Client {
        Client::new(&self.sdk_config_as(role).await)
    }

    /// Creates a string secret in the account of `role`; returns its ARN.
    ///
    /// # Panics
    /// When the server refuses.
    pub async fn create_as(&self, role: &str, name: &str, value: &str) -> String {
        let out = self
            .client_as(role)
            .await
            .create_secret()
            .name(name)
            .secret_string(value)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create_secret {name} as {role}: {e:?}"));
        out.arn.unwrap_or_default()
    }

    /// A cache with default settings over [`client`](Self::client).
    pub fn cache(&self) -> SecretCache {
        SecretCache::new(self.client())
    }

    /// Creates a string secret; returns its ARN.
    ///
    /// # Panics
    /// When the server refuses.
    pub async fn create(&self, name: &str, value: &str) -> String {
        let out = self
            .client()
            .create_secret()
            .name(name)
            .secret_string(value)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create_secret {name}: {e:?}"));
        out.arn.unwrap_or_default()
    }

    /// Creates a string secret in us-east-1 replicated to each of `regions`
    /// (`AddReplicaRegions`); returns its primary ARN. A replica is read in its region under
    /// the same name, or the ARN with its region swapped, and follows the primary's new
    /// versions.
    ///
    /// # Panics
    /// When the server refuses.
    pub async fn create_replicated(&self, name: &str, value: &str, regions: &[&str]) -> String {
        let replicas = regions
            .iter()
            .map(|r| ReplicaRegionType::builder().region(*r).build());
        let out = self
            .client()
            .create_secret()
            .name(name)
            .secret_string(value)
            .set_add_replica_regions(Some(replicas.collect()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("create_secret {name} (replicated): {e:?}"));
        out.arn.unwrap_or_default()
    }

    /// Creates a binary secret; returns its ARN.
    ///
    /// # Panics
    /// When the server refuses.
    pub async fn create_binary(&self, name: &str, value: &[u8]) -> String {
        let out = self
            .client()
            .create_secret()
            .name(name)
            .secret_binary(Blob::new(value))
            .send()
            .await
            .unwrap_or_else(|e| panic!("create_secret {name}: {e:?}"));
        out.arn.unwrap_or_default()
    }

    /// Rotates by hand: puts a new `AWSCURRENT` version; returns its version id.
    ///
    /// # Panics
    /// When the server refuses.
    pub async fn put(&self, name: &str, value: &str) -> String {
        let out = self
            .client()
            .put_secret_value()
            .secret_id(name)
            .secret_string(value)
            .send()
            .await
            .unwrap_or_else(|e| panic!("put_secret_value {name}: {e:?}"));
        out.version_id.unwrap_or_default()
    }

    /// Rotates the way a rotation function does: stages a new version as `AWSPENDING`, then
    /// moves `AWSCURRENT` to it with `UpdateSecretVersionStage`; returns the new version id.
    ///
    /// # Panics
    /// When the server refuses.
    pub async fn rotate_staged(&self, name: &str, value: &str) -> String {
        let client = self.client();
        let described = client
            .describe_secret()
            .secret_id(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("describe_secret {name}: {e:?}"));
        let current = described
            .version_ids_to_stages
            .unwrap_or_default()
            .into_iter()
            .find(|(_, stages)| stages.iter().any(|s| s == "AWSCURRENT"))
            .map(|(id, _)| id)
            .unwrap_or_else(|| panic!("{name} has no AWSCURRENT version"));
        let pending = client
            .put_secret_value()
            .secret_id(name)
            .secret_string(value)
            .version_stages("AWSPENDING")
            .send()
            .await
            .unwrap_or_else(|e| panic!("put_secret_value {name}: {e:?}"))
            .version_id
            .unwrap_or_default();
        client
            .update_secret_version_stage()
            .secret_id(name)
            .version_stage("AWSCURRENT")
            .move_to_version_id(&pending)
            .remove_from_version_id(current)
            .send()
            .await
            .unwrap_or_else(|e| panic!("update_secret_version_stage {name}: {e:?}"));
        pending
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(port: u16) -> Child {
    let mut command = Command::new("moto_server");
    command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
    spawn_quiet(
        &mut command,
        "`pip install 'moto[server]'` (`.ci/run` does this)",
    )
}

/// Starts `command` with its standard streams closed.
///
/// # Panics
/// When it cannot start, saying how to install it (`install`): a test never skips.
pub(crate) fn spawn_quiet(command: &mut Command, install: &str) -> Child {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            let program = command.get_program().to_string_lossy();
            panic!("cannot start `{program}` ({e}): install it with {install}")
        })
}

/// `len` random characters of `[A-Za-z0-9]`, for test passwords and rotation tokens (seeded
/// from the standard library's per-process random hasher keys: not for production secrets).
pub fn random_token(len: usize) -> String {
    use std::hash::{BuildHasher, Hasher};
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let state = std::collections::hash_map::RandomState::new();
    (0..len)
        .map(|i| {
            let mut hasher = state.build_hasher();
            hasher.write_usize(i);
            let n = hasher.finish() % ALPHABET.len() as u64;
            char::from(ALPHABET[usize::try_from(n).unwrap_or_default()])
        })
        .collect()
}

/// Waits until `child` (called `what`) accepts connections on loopback `port`.
///
/// # Panics
/// When it exits first or does not listen within `limit`: a test never skips.
pub(crate) fn wait_until_listening(child: &mut Child, what: &str, port: u16, limit: Duration) {
    let started = Instant::now();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited before listening on port {port} ({status})");
        }
        assert!(
            started.elapsed() < limit,
            "{what} did not listen on 127.0.0.1:{port} within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A tokio listener on a free loopback port, and its address.
///
/// # Panics
/// When loopback cannot be bound.
pub(crate) async fn loopback_listener() -> (tokio::net::TcpListener, SocketAddr) {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap_or_else(|e| panic!("no loopback listener: {e}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("no local address: {e}"));
    (listener, addr)
}

pub(crate) fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap_or_else(|e| panic!("no free loopback port: {e}"));
    listener
        .local_addr()
        .unwrap_or_else(|e| panic!("no local address: {e}"))
        .port()
}
