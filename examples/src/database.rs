//! The service example's database: a table on a throw-away PostgreSQL cluster, a login role
//! for each rotation strategy, and the secrets that hold their credentials.

use asm_testkit::{Postgres, SUPERUSER, random_token};
use aws_sdk_secretsmanager::Client;
use serde_json::json;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, Executor, PgConnection};

use crate::rotation_function::{Strategy, quote_identifier, quote_literal};
use crate::{Result, Seed, write};

/// Where a strategy's service reads its credentials from.
#[derive(Clone, Debug)]
pub struct Deployment {
    /// The `APP_ENV` that resolves `OrdersDb`'s secret id.
    pub app_env: &'static str,
    /// The secret: `APP_ENV/orders-db`.
    pub secret_id: String,
    /// The role the secret logs in as at first.
    pub role: &'static str,
}

impl Deployment {
    /// The deployment of `strategy`: each has its own secret and role.
    pub fn of(strategy: Strategy) -> Self {
        let (app_env, role) = match strategy {
            Strategy::SingleUser => ("single-user", "orders_single"),
            Strategy::AlternatingUsers => ("alternating", "orders_alt"),
        };
        Self {
            app_env,
            secret_id: format!("{app_env}/orders-db"),
            role,
        }
    }

    /// The superuser secret the alternating strategy's `setSecret` logs in with.
    pub fn master_secret_id(&self) -> String {
        format!("{}/orders-db-master", self.app_env)
    }
}

/// The superuser's connect options.
pub fn superuser(postgres: &Postgres) -> PgConnectOptions {
    PgConnectOptions::new_without_pgpass()
        .host(postgres.host())
        .port(postgres.port())
        .database("postgres")
        .username(SUPERUSER)
        .password(postgres.superuser_password())
}

/// Creates the `orders` table (one row, id 1), `deployment`'s role with a random password and
/// `SELECT` on it, and its secrets on the Secrets Manager behind `client` (the role's, and the
/// superuser's, which the role's names in `masterarn`).
///
/// # Errors
/// The database or the Secrets Manager refused.
pub async fn provision(
    postgres: &Postgres,
    client: &Client,
    deployment: &Deployment,
) -> Result<()> {
    let password = random_token(32);
    let role = quote_identifier(deployment.role);
    let mut admin = PgConnection::connect_with(&superuser(postgres)).await?;
    for statement in [
        "CREATE TABLE IF NOT EXISTS orders (id int PRIMARY KEY, item text NOT NULL, quantity int NOT NULL)".to_owned(),
        "INSERT INTO orders VALUES (1, 'widget', 3) ON CONFLICT DO NOTHING".to_owned(),
        format!("CREATE ROLE {role} WITH LOGIN PASSWORD {}", quote_literal(&password)),
        format!("GRANT SELECT ON orders TO {role}"),
    ] {
        admin.execute(statement.as_str()).await?;
    }
    admin.close().await?;
    let login = |username: &str, password: &str| {
        json!({
            "engine": "postgres",
            "host": postgres.host(),
            "port": postgres.port(),
            "dbname": "postgres",
            "username": username,
            "password": password,
        })
    };
    let master_id = deployment.master_secret_id();
    let master = login(SUPERUSER, postgres.superuser_password()).to_string();
    write(client, &Seed::text(&master_id, &master)).await?;
    let mut app = login(deployment.role, &password);
    app["masterarn"] = master_id.into();
    write(client, &Seed::text(&deployment.secret_id, &app.to_string())).await?;
    Ok(())
}
