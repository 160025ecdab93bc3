//! Runnable examples of asm; see `src/bin/`. The whole story in one command:
//! `cargo run -p asm-examples --bin demo`.
//!
//! This library is what the examples share: where their secrets come from. [`Backend::connect`]
//! picks one of three sources, so every example runs unchanged on a laptop, in CI and against AWS:
//!
//! | environment | source | secrets |
//! |---|---|---|
//! | `ASM_DEMO_AWS=1` | real AWS through the default credential chain ([`SecretCache::from_env`]) | read, never written |
//! | `AWS_ENDPOINT_URL` or `AWS_ENDPOINT_URL_SECRETS_MANAGER` set | that endpoint through [`SecretCache::from_env`] | created first when the endpoint is on loopback |
//! | neither | a `moto_server` this process starts on a free loopback port | created first |
//! | neither, and `moto_server` not installed | an in-memory source ([`MemorySource`]), said in the first line | created first |
//!
//! The `service` example's parts live here too, so its tests can reach them: [`service`] (axum
//! and a sqlx pool that follows rotations), [`rotation_function`] (AWS's two rotation
//! strategies, step by step), [`database`] (its PostgreSQL roles and secrets), [`ops`] (its
//! `/metrics` and `/healthz`) and [`load`] (a loopback HTTP load generator).

pub mod database;
pub mod load;
pub mod ops;
#[cfg(test)]
mod ops_tests;
pub mod rotation_function;
pub mod service;
#[cfg(test)]
mod service_tests;

use std::error::Error;
use std::fmt;
use std::process::Command;

use asm_runtime::{MemorySource, SecretCache, aws_sdk_ssm};
use asm_testkit::Moto;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::DisplayErrorContext;
use aws_sdk_secretsmanager::primitives::Blob;

/// The result type of the examples' `main`.
pub type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

/// A secret an example reads, created on a local Secrets Manager before it runs.
#[derive(Clone, Copy)]
pub struct Seed<'a> {
    name: &'a str,
    value: SeedValue<'a>,
}

#[derive(Clone, Copy)]
enum SeedValue<'a> {
    Text(&'a str),
    Binary(&'a [u8]),
}

impl<'a> Seed<'a> {
    /// A `SecretString` secret (usually a JSON object).
    pub const fn text(name: &'a str, value: &'a str) -> Self {
        Self {
            name,
            value: SeedValue::Text(value),
        }
    }

    /// A `SecretBinary` secret.
    pub const fn binary(name: &'a str, value: &'a [u8]) -> Self {
        Self {
            name,
            value: SeedValue::Binary(value),
        }
    }
}

/// Redacted: seeds hold (test) secret values.
impl fmt::Debug for Seed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Seed")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Where an example's secrets live: a cache over the chosen source, and a way to write to it
/// when it is local. A `moto_server` this process started stops when the `Backend` is dropped.
#[derive(Debug)]
pub struct Backend {
    cache: SecretCache,
    writer: Option<Writer>,
}

#[derive(Debug)]
enum Writer {
    Started(Moto),
    Endpoint(Client),
    Memory(MemorySource),
}

impl Backend {
    /// Connects to the source the environment names (see the [crate docs](crate)) and, when it
    /// is local, creates `seeds` there (or puts them as new versions if they exist).
    ///
    /// # Errors
    /// The cache could not be built (no region), or a seed could not be written.
    ///
    /// # Panics
    /// When a local Secrets Manager is needed and `moto_server` cannot be started.
    pub async fn connect(seeds: &[Seed<'_>]) -> Result<Self> {
        let names = join(seeds.iter().map(|s| s.name));
        if std::env::var("ASM_DEMO_AWS").is_ok_and(|v| v == "1") {
            step("using real AWS through the default credential chain");
            let cache = SecretCache::from_env().await?;
            return Ok(Self {
                cache,
                writer: None,
            });
        }
        if let Some((variable, url)) = configured_endpoint() {
            step(&format!(
                "using the Secrets Manager at {url} ({variable}) through SecretCache::from_env"
            ));
            let cache = SecretCache::from_env().await?;
            let writer = match cache.client().cloned() {
                Some(client) if is_loopback(&url) => {
                    if !seeds.is_empty() {
                        step(&format!("creating {names} at {url}"));
                    }
                    for seed in seeds {
                        write(&client, seed).await?;
                    }
                    Some(Writer::Endpoint(client))
                }
                _ => None,
            };
            return Ok(Self { cache, writer });
        }
        if !moto_installed() {
            step(
                "moto_server is not installed (pip install 'moto[server]'): running on the \
                 in-memory source, asm_runtime::MemorySource",
            );
            let memory = MemorySource::new();
            for seed in seeds {
                match seed.value {
                    SeedValue::Text(text) => memory.text(seed.name, text),
                    SeedValue::Binary(bytes) => memory.binary(seed.name, bytes),
                };
            }
            return Ok(Self {
                cache: SecretCache::new(memory.clone()),
                writer: Some(Writer::Memory(memory)),
            });
        }
        step("starting a local Secrets Manager (moto_server) on 127.0.0.1");
        let moto = Moto::start();
        if !seeds.is_empty() {
            step(&format!("creating {names} at {}", moto.endpoint()));
        }
        for seed in seeds {
            write(&moto.client(), seed).await?;
        }
        let cache = SecretCache::builder(moto.client())
            .parameter_client(aws_sdk_ssm::Client::new(&moto.sdk_config()))
            .build()?;
        Ok(Self {
            cache,
            writer: Some(Writer::Started(moto)),
        })
    }

    /// The cache every read goes through.
    pub fn cache(&self) -> &SecretCache {
        &self.cache
    }

    /// Puts `value` as the next version of the Parameter Store parameter `name` (a `String`
    /// parameter) on a local backend, and returns its version number; `None` against real AWS,
    /// which is never written.
    ///
    /// # Errors
    /// The service refused the write.
    pub async fn put_parameter(&self, name: &str, value: &str) -> Result<Option<u64>> {
        let ssm = match &self.writer {
            None => return Ok(None),
            Some(Writer::Memory(memory)) => return Ok(Some(memory.parameter(name, value))),
            Some(Writer::Started(moto)) => aws_sdk_ssm::Client::new(&moto.sdk_config()),
            Some(Writer::Endpoint(_)) => aws_sdk_ssm::Client::new(
                &aws_config::load_defaults(SecretCache::behavior_version()).await,
            ),
        };
        let put = ssm.put_parameter().name(name).value(value).overwrite(true);
        let out = (put
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .send()
            .await)
            .map_err(|e| format!("put_parameter {name}: {}", DisplayErrorContext(&e)))?;
        Ok(u64::try_from(out.version).ok())
    }

    /// Rotates by hand on a local Secrets Manager: puts `value` as the new `AWSCURRENT` version
    /// of `name` and returns its version id; `None` against real AWS, which is never written.
    ///
    /// # Errors
    /// The service refused the write.
    pub async fn rotate(&self, name: &str, value: &str) -> Result<Option<String>> {
        let client = match &self.writer {
            None => return Ok(None),
            Some(Writer::Memory(memory)) => return Ok(Some(memory.text(name, value))),
            Some(Writer::Started(moto)) => moto.client(),
            Some(Writer::Endpoint(client)) => client.clone(),
        };
        let out = client
            .put_secret_value()
            .secret_id(name)
            .secret_string(value)
            .send()
            .await
            .map_err(|e| format!("put_secret_value {name}: {}", DisplayErrorContext(&e)))?;
        Ok(Some(out.version_id.unwrap_or_default()))
    }
}

/// For examples that read the environment themselves (`SecretCache::from_env`,
/// `asm_runtime::global()`): when neither `ASM_DEMO_AWS=1` nor an endpoint is configured,
/// starts `moto_server` and runs this program again with `AWS_ENDPOINT_URL`, `AWS_REGION` and
/// test credentials pointing at it, the way a Lambda runtime sets a function's environment.
///
/// Returns `true` when it did (the child has run and succeeded: the caller should return), and
/// `false` when the environment is already configured (the caller should go on).
///
/// # Errors
/// The child could not be started or failed.
///
/// # Panics
/// When `moto_server` cannot be started.
pub fn rerun_with_local_endpoint() -> Result<bool> {
    if std::env::var("ASM_DEMO_AWS").is_ok_and(|v| v == "1") || configured_endpoint().is_some() {
        return Ok(false);
    }
    step("starting a local Secrets Manager (moto_server) on 127.0.0.1");
    let moto = Moto::start();
    step(&format!(
        "running this example again with AWS_ENDPOINT_URL={}",
        moto.endpoint()
    ));
    let status = Command::new(std::env::current_exe()?)
        .args(std::env::args_os().skip(1))
        .env("AWS_ENDPOINT_URL", moto.endpoint())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .status()?;
    if status.success() {
        Ok(true)
    } else {
        Err(format!("the example failed against {} ({status})", moto.endpoint()).into())
    }
}

/// Whether `moto_server` is on the `PATH`.
fn moto_installed() -> bool {
    Command::new("moto_server")
        .arg("--help")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok()
}

/// Prints one step of an example's progress.
pub fn step(what: &str) {
    println!("==> {what}");
}

/// The endpoint the AWS configuration will use, and the variable that set it: the service's
/// own variable wins, as in aws-config.
fn configured_endpoint() -> Option<(&'static str, String)> {
    ["AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL"]
        .into_iter()
        .find_map(|var| {
            let url = std::env::var(var).ok().filter(|v| !v.is_empty())?;
            Some((var, url))
        })
}

/// Whether `url`'s host is this machine: only then do the examples write secrets to it.
fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Creates `seed`, or puts its value as a new version when it already exists (a second run
/// against the same endpoint).
pub(crate) async fn write(client: &Client, seed: &Seed<'_>) -> Result<()> {
    let create = client.create_secret().name(seed.name);
    let create = match seed.value {
        SeedValue::Text(text) => create.secret_string(text),
        SeedValue::Binary(bytes) => create.secret_binary(Blob::new(bytes)),
    };
    match create.send().await {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_exists_exception()) =>
        {
            let put = client.put_secret_value().secret_id(seed.name);
            let put = match seed.value {
                SeedValue::Text(text) => put.secret_string(text),
                SeedValue::Binary(bytes) => put.secret_binary(Blob::new(bytes)),
            };
            put.send().await.map(drop).map_err(|e| {
                format!(
                    "put_secret_value {}: {}",
                    seed.name,
                    DisplayErrorContext(&e)
                )
                .into()
            })
        }
        Err(e) => Err(format!("create_secret {}: {}", seed.name, DisplayErrorContext(&e)).into()),
    }
}

/// `a`, `a and b`, `a, b and c`.
fn join<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback("http://127.0.0.1:5000"));
        assert!(is_loopback("http://localhost:4566/"));
        assert!(is_loopback("http://[::1]:5000"));
        assert!(!is_loopback(
            "https://secretsmanager.us-east-1.amazonaws.com"
        ));
        assert!(!is_loopback(
            "https://vpce-0abc.secretsmanager.us-east-1.vpce.amazonaws.com"
        ));
    }

    #[test]
    fn names_read_as_a_list() {
        assert_eq!(join(["a"].into_iter()), "a");
        assert_eq!(join(["a", "b", "c"].into_iter()), "a, b and c");
    }
}
