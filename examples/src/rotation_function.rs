//! A rotation function for a PostgreSQL secret, step for step as AWS's rotation Lambdas run
//! (`SecretsManagerRDSPostgreSQLRotationSingleUser` and `…MultiUser`), driven by a test
//! instead of by Secrets Manager:
//!
//! 1. `createSecret`: a new password (and, alternating, the other user) written as
//!    `AWSPENDING` with `PutSecretValue`, its version id the rotation's token;
//! 2. `setSecret`: the database changed to match (`ALTER ROLE … PASSWORD`);
//! 3. `testSecret`: a login with the pending credentials;
//! 4. `finishSecret`: `AWSCURRENT` moved to the new version with `UpdateSecretVersionStage`.

use std::fmt;

use asm_runtime::SecretString;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::DisplayErrorContext;
use serde_json::{Map, Value};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, Executor, PgConnection};

/// The rotation function's result: its error can cross threads (it runs apart from the service,
/// as a Lambda does).
pub type Result<T, E = Box<dyn std::error::Error + Send + Sync>> = std::result::Result<T, E>;

/// How the database side of a rotation works.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// One role; its password is changed (`ALTER ROLE … PASSWORD`). Open connections keep
    /// working; new logins with the old password fail from `setSecret` on.
    SingleUser,
    /// Two roles, `name` and `name_clone`; each rotation changes the password of the one not
    /// in use and switches the secret's `username` to it, so the old login keeps working until
    /// the next rotation. `setSecret` logs in with the superuser secret named by `masterarn`.
    AlternatingUsers,
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::SingleUser => "single user",
            Self::AlternatingUsers => "alternating users",
        })
    }
}

/// The rotation function for one secret.
#[derive(Debug)]
pub struct RotationFunction {
    client: Client,
    secret_id: String,
    strategy: Strategy,
}

/// What a rotation made current.
pub struct Rotated {
    /// The new version's id (the rotation's token).
    pub version_id: String,
    /// The role the new version logs in as.
    pub username: String,
    /// The new password.
    pub password: SecretString,
}

/// Shows the version and role, never the password.
impl fmt::Debug for Rotated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rotated")
            .field("version_id", &self.version_id)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// A database secret's JSON fields, as the rotation function reads and writes them.
struct DbSecret(Map<String, Value>);

impl DbSecret {
    fn parse(text: &str, what: &str) -> Result<Self> {
        match serde_json::from_str(text) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            // serde_json's messages quote the input: never pass them on.
            _ => Err(format!("{what} is not a JSON object").into()),
        }
    }

    fn field(&self, key: &str) -> Result<&str> {
        self.0
            .get(key)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("the secret has no string {key:?}").into())
    }

    fn options(&self) -> Result<PgConnectOptions> {
        let port = self.0.get("port").and_then(Value::as_u64).unwrap_or(5432);
        Ok(PgConnectOptions::new_without_pgpass()
            .host(self.field("host")?)
            .port(u16::try_from(port)?)
            .database(self.field("dbname")?)
            .username(self.field("username")?)
            .password(self.field("password")?))
    }

    fn text(&self) -> String {
        Value::Object(self.0.clone()).to_string()
    }
}

impl RotationFunction {
    /// The function for `secret_id`, writing through `client`.
    pub fn new(client: Client, secret_id: &str, strategy: Strategy) -> Self {
        Self {
            client,
            secret_id: secret_id.to_owned(),
            strategy,
        }
    }

    /// Runs the four steps with a new token, as Secrets Manager does for one rotation.
    ///
    /// # Errors
    /// A step failed (its name and the service's or database's message).
    pub async fn rotate(&self) -> Result<Rotated> {
        let token = uuid_like();
        self.create_secret(&token).await?;
        self.set_secret(&token).await?;
        self.test_secret(&token).await?;
        self.finish_secret(&token).await?;
        let pending = self.version(Some(&token), None).await?;
        Ok(Rotated {
            version_id: token,
            username: pending.field("username")?.to_owned(),
            password: SecretString::from(pending.field("password")?.to_owned()),
        })
    }

    /// `createSecret`: writes the pending version, unless this token already has one.
    async fn create_secret(&self, token: &str) -> Result<()> {
        let mut pending = self.version(None, Some("AWSCURRENT")).await?;
        if self.version(Some(token), Some("AWSPENDING")).await.is_ok() {
            return Ok(());
        }
        if self.strategy == Strategy::AlternatingUsers {
            let current = pending.field("username")?;
            let other = match current.strip_suffix("_clone") {
                Some(base) => base.to_owned(),
                None => format!("{current}_clone"),
            };
            pending.0.insert("username".into(), other.into());
        }
        pending
            .0
            .insert("password".into(), asm_testkit::random_token(32).into());
        self.client
            .put_secret_value()
            .secret_id(&self.secret_id)
            .client_request_token(token)
            .secret_string(pending.text())
            .version_stages("AWSPENDING")
            .send()
            .await
            .map_err(|e| format!("createSecret: {}", DisplayErrorContext(&e)))?;
        Ok(())
    }

    /// `setSecret`: makes the database accept the pending credentials.
    async fn set_secret(&self, token: &str) -> Result<()> {
        let pending = self.version(Some(token), Some("AWSPENDING")).await?;
        if login(&pending.options()?).await.is_ok() {
            return Ok(()); // already set by an earlier attempt
        }
        let user = quote_identifier(pending.field("username")?);
        let password = quote_literal(pending.field("password")?);
        let (admin, statements) = match self.strategy {
            Strategy::SingleUser => {
                // The user changes its own password, logged in with the current one.
                let current = self.version(None, Some("AWSCURRENT")).await?;
                let alter = format!("ALTER USER {user} WITH PASSWORD {password}");
                (current, vec![alter])
            }
            Strategy::AlternatingUsers => {
                let current = self.version(None, Some("AWSCURRENT")).await?;
                let master = self.master(&current).await?;
                let mut conn = login(&master.options()?).await?;
                let exists = sqlx::query("SELECT 1 FROM pg_roles WHERE rolname = $1")
                    .bind(pending.field("username")?)
                    .fetch_optional(&mut conn)
                    .await?
                    .is_some();
                conn.close().await?;
                let statements = if exists {
                    vec![format!("ALTER USER {user} WITH PASSWORD {password}")]
                } else {
                    let granted = quote_identifier(current.field("username")?);
                    vec![
                        format!("CREATE ROLE {user} WITH LOGIN PASSWORD {password}"),
                        format!("GRANT {granted} TO {user}"),
                    ]
                };
                (master, statements)
            }
        };
        let mut conn = login(&admin.options()?).await?;
        for statement in statements {
            conn.execute(statement.as_str())
                .await
                .map_err(|e| format!("setSecret: {e}"))?;
        }
        conn.close().await?;
        Ok(())
    }

    /// `testSecret`: logs in with the pending credentials.
    async fn test_secret(&self, token: &str) -> Result<()> {
        let pending = self.version(Some(token), Some("AWSPENDING")).await?;
        let mut conn = login(&pending.options()?).await?;
        conn.execute("SELECT now()")
            .await
            .map_err(|e| format!("testSecret: {e}"))?;
        conn.close().await?;
        Ok(())
    }

    /// `finishSecret`: moves `AWSCURRENT` to the token's version.
    async fn finish_secret(&self, token: &str) -> Result<()> {
        let described = self
            .client
            .describe_secret()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(|e| format!("finishSecret: {}", DisplayErrorContext(&e)))?;
        let current = described
            .version_ids_to_stages
            .unwrap_or_default()
            .into_iter()
            .find(|(_, stages)| stages.iter().any(|s| s == "AWSCURRENT"))
            .map(|(id, _)| id);
        if current.as_deref() == Some(token) {
            return Ok(());
        }
        self.client
            .update_secret_version_stage()
            .secret_id(&self.secret_id)
            .version_stage("AWSCURRENT")
            .move_to_version_id(token)
            .set_remove_from_version_id(current)
            .send()
            .await
            .map_err(|e| format!("finishSecret: {}", DisplayErrorContext(&e)))?;
        Ok(())
    }

    /// The superuser secret that `current`'s `masterarn` names.
    async fn master(&self, current: &DbSecret) -> Result<DbSecret> {
        let text = self.value(current.field("masterarn")?, None, None).await?;
        DbSecret::parse(&text, "the master secret")
    }

    async fn version(&self, id: Option<&str>, stage: Option<&str>) -> Result<DbSecret> {
        let text = self.value(&self.secret_id, id, stage).await?;
        DbSecret::parse(&text, &self.secret_id)
    }

    async fn value(&self, secret: &str, id: Option<&str>, stage: Option<&str>) -> Result<String> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(secret)
            .set_version_id(id.map(str::to_owned))
            .set_version_stage(stage.map(str::to_owned))
            .send()
            .await
            .map_err(|e| format!("GetSecretValue {secret}: {}", DisplayErrorContext(&e)))?;
        out.secret_string
            .ok_or_else(|| format!("{secret} has no SecretString").into())
    }
}

async fn login(options: &PgConnectOptions) -> Result<PgConnection> {
    Ok(PgConnection::connect_with(options).await?)
}

/// `"name"`, with `"` doubled.
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `'text'`, with `'` doubled (`standard_conforming_strings` is on).
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A rotation token: 32 random characters, as Secrets Manager's (a UUID) are 36.
fn uuid_like() -> String {
    asm_testkit::random_token(32)
}
