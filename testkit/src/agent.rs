//! The AWS Secrets Manager Agent, started on a free loopback port in front of a local
//! `moto_server`, with a fresh token and a throw-away configuration file.

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::Duration;

use crate::free_port;

/// The agent's binary, as `cargo install --locked aws_secretsmanager_agent` names it.
pub const AGENT_BINARY: &str = "aws_secretsmanager_agent";

/// A running agent, stopped (and its configuration removed) when dropped.
#[derive(Debug)]
pub struct Agent {
    child: Child,
    port: u16,
    token: String,
    dir: PathBuf,
}

impl Agent {
    /// Starts the agent in front of the Secrets Manager at `endpoint` (a `moto_server`, or a
    /// proxy in front of one) with its cache TTL at `ttl_seconds`, and waits until it listens.
    ///
    /// # Panics
    /// When the agent is not installed (`scripts/test.sh` installs it) or does not listen
    /// within 30 s: these tests never skip.
    pub fn start(endpoint: &str, ttl_seconds: u32) -> Self {
        let port = free_port();
        let token = format!("token-{port}-{}", std::process::id());
        let dir = std::env::temp_dir().join(format!("asm-agent-{port}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("agent dir: {e}"));
        let config = dir.join("config.toml");
        std::fs::write(
            &config,
            format!(
                "log_level = \"info\"\nlog_to_file = false\nhttp_port = \"{port}\"\n\
                 ttl_seconds = \"{ttl_seconds}\"\nregion = \"us-east-1\"\n\
                 validate_credentials = false\n"
            ),
        )
        .unwrap_or_else(|e| panic!("agent config: {e}"));
        let binary = std::env::var("ASM_AGENT_BIN").unwrap_or_else(|_| AGENT_BINARY.to_owned());
        let mut command = Command::new(&binary);
        command
            .arg("--config")
            .arg(&config)
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_TOKEN", &token)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_CONTAINER_AUTHORIZATION_TOKEN")
            .current_dir(&dir);
        let child = crate::spawn_quiet(
            &mut command,
            "`cargo install --locked aws_secretsmanager_agent --version 2.1.0` \
             (`scripts/test.sh` does this)",
        );
        let mut agent = Self {
            child,
            port,
            token,
            dir,
        };
        agent.wait_until_listening(Duration::from_secs(30));
        agent
    }

    fn wait_until_listening(&mut self, limit: Duration) {
        crate::wait_until_listening(&mut self.child, "the agent", self.port, limit);
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The token the agent expects.
    pub fn token(&self) -> &str {
        &self.token
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
