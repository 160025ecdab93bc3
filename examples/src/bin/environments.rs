//! One binary, a secret per deployment: `${APP_ENV}` in a secret id is resolved at load time,
//! from the process environment or from explicit [`Vars`].
//!
//! `cargo run -p asm-examples --bin environments` (try `APP_ENV=prod` in front)

use asm_examples::{Backend, Seed, step};
use asm_runtime::{AwsSecrets, Error, ExposeSecret, SecretString, Vars};

/// The same struct reads `staging/db` or `prod/db`.
#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "${APP_ENV}/db")]
struct Db {
    password: SecretString,
    #[aws_secrets(public)]
    host: String,
}

#[tokio::main]
async fn main() -> asm_examples::Result<()> {
    let backend = Backend::connect(&[
        Seed::text(
            "staging/db",
            r#"{"password":"staging-password","host":"db.staging.internal"}"#,
        ),
        Seed::text(
            "prod/db",
            r#"{"password":"a-longer-prod-password","host":"db.prod.internal"}"#,
        ),
    ])
    .await?;
    let cache = backend.cache();

    step("APP_ENV from the process environment (`Db::load`)");
    match Db::load(cache).await {
        Ok(db) => println!("   host {}", db.host),
        // Set APP_ENV, or pass it explicitly as below.
        Err(e @ Error::UnresolvedPlaceholder { .. }) => println!("   APP_ENV is unset: {e}"),
        Err(e) => return Err(e.into()),
    }

    for env in ["staging", "prod"] {
        step(&format!(
            "APP_ENV={env} passed explicitly (`Db::load_with`)"
        ));
        let db = Db::load_with(cache, Vars::new().set("APP_ENV", env)).await?;
        println!(
            "   host {}, password {} bytes",
            db.host,
            db.password.expose_secret().len()
        );
    }

    step("explicit values win over the environment (`Vars::from_env().set(..)`)");
    let vars = Vars::from_env().set("APP_ENV", "staging");
    println!("   resolves to {}", vars.resolve(Db::SECRET_IDS[0], "db")?);
    Ok(())
}
