//! FIPS and dual-stack endpoints: `AWS_USE_FIPS_ENDPOINT`, `AWS_USE_DUALSTACK_ENDPOINT` and
//! their profile keys reach the client `SecretCache::from_env()` builds. Checked without
//! leaving the machine: the child process's client goes through a loopback HTTPS proxy
//! (`HTTPS_PROXY`, which the SDK honours), and the proxy records the host of the client's
//! `CONNECT`, then closes the connection.
//!
//! Secrets Manager's regular endpoints in the `aws` partition answer over IPv6 already (its
//! endpoint rules resolve dual-stack to the same `amazonaws.com` host there); the setting shows
//! in the China partition, where FIPS with dual-stack has a host of its own.

use std::sync::{Arc, Mutex, PoisonError};

use asm_runtime::SecretCache;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;

use crate::deadlines::run_child;

/// A loopback proxy that records the target of each `CONNECT` and answers none.
struct RecordingProxy {
    url: String,
    targets: Arc<Mutex<Vec<String>>>,
}

impl RecordingProxy {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let targets = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&targets);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let mut line = String::new();
                if BufReader::new(stream).read_line(&mut line).await.is_ok() {
                    // `CONNECT host:443 HTTP/1.1`
                    let target = line.split_whitespace().nth(1).unwrap_or_default();
                    seen.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(target.to_owned());
                }
            }
        });
        Self { url, targets }
    }

    fn targets(&self) -> Vec<String> {
        self.targets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The environment of a child that reads through `proxy` with `extra` set (its region among
/// them), with static credentials and no endpoint override.
fn through(proxy: &RecordingProxy, extra: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_CONFIG_FILE", "/nonexistent".to_owned()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("HTTPS_PROXY", proxy.url.clone()),
        ("NO_PROXY", String::new()),
    ];
    env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    env
}

/// The hosts the client of a child run with `extra` asked the proxy for.
async fn hosts_asked(extra: &[(&'static str, &str)]) -> Vec<String> {
    let proxy = RecordingProxy::start().await;
    run_child("endpoints::read_once_child", &through(&proxy, extra)).await;
    proxy.targets()
}

#[tokio::test]
async fn fips_and_dual_stack_reach_the_environments_client() {
    const EAST: (&str, &str) = ("AWS_REGION", "us-east-1");
    const CHINA: (&str, &str) = ("AWS_REGION", "cn-north-1");
    const FIPS: (&str, &str) = ("AWS_USE_FIPS_ENDPOINT", "true");
    const DUAL: (&str, &str) = ("AWS_USE_DUALSTACK_ENDPOINT", "true");
    let cases: [(&[(&'static str, &str)], &str); 6] = [
        (&[EAST], "secretsmanager.us-east-1.amazonaws.com:443"),
        (
            &[EAST, FIPS],
            "secretsmanager-fips.us-east-1.amazonaws.com:443",
        ),
        (&[EAST, DUAL], "secretsmanager.us-east-1.amazonaws.com:443"),
        (&[CHINA], "secretsmanager.cn-north-1.amazonaws.com.cn:443"),
        (
            &[CHINA, FIPS],
            "secretsmanager-fips.cn-north-1.amazonaws.com.cn:443",
        ),
        (
            &[CHINA, FIPS, DUAL],
            "secretsmanager-fips.cn-north-1.api.amazonwebservices.com.cn:443",
        ),
    ];
    for (extra, host) in cases {
        let asked = hosts_asked(extra).await;
        assert!(
            !asked.is_empty() && asked.iter().all(|h| h == host),
            "{extra:?}: asked {asked:?}, expected {host}"
        );
    }
}

#[tokio::test]
async fn the_profiles_keys_reach_the_environments_client() {
    let dir = std::env::temp_dir().join(format!("asm-fips-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config = dir.join("config");
    std::fs::write(
        &config,
        "[default]\nregion = cn-north-1\nuse_fips_endpoint = true\nuse_dualstack_endpoint = true\n",
    )
    .expect("profile");
    let asked = hosts_asked(&[("AWS_CONFIG_FILE", config.to_str().expect("utf-8"))]).await;
    let _ = std::fs::remove_dir_all(&dir);
    let host = "secretsmanager-fips.cn-north-1.api.amazonwebservices.com.cn:443";
    assert!(
        !asked.is_empty() && asked.iter().all(|h| h == host),
        "asked {asked:?}"
    );
}

#[tokio::test]
#[ignore = "a child process of the endpoint tests, which set its environment"]
async fn read_once_child() {
    let cache = SecretCache::from_env().await.expect("AWS_REGION is set");
    let err = cache
        .get("prod/db")
        .await
        .expect_err("the proxy answers nothing");
    println!("read through the proxy: {err}");
}
