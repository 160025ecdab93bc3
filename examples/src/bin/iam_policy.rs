//! Prints the least-privilege IAM policy for exactly the secrets a struct reads, ready for
//! `aws iam put-role-policy`.
//!
//! `cargo run -p asm-examples --bin iam_policy`

use asm_examples::{Backend, Seed, step};
use asm_runtime::{AwsSecrets, ExposeSecret, SecretString};

/// Two secrets: one named by ARN, one by name.
#[derive(AwsSecrets, Debug)]
struct Payments {
    #[aws_secrets(
        arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:payments/signing-key"
    )]
    signing_key: SecretString,
    #[aws_secrets(name = "payments/db", key = "password")]
    db_password: SecretString,
}

#[tokio::main]
async fn main() -> asm_examples::Result<()> {
    let backend = Backend::connect(&[
        Seed::text("payments/signing-key", "a-signing-key"),
        Seed::text("payments/db", r#"{"password":"payments-password"}"#),
    ])
    .await?;
    let cache = backend.cache();

    step("before loading: a name's account is not known yet");
    // Only the service can say which account the caller's own secrets are in (the ARN in
    // the struct may be another account's), so a struct naming secrets by `name` is loaded
    // first.
    match Payments::iam_policy(cache) {
        Err(err) => println!("   {err}"),
        Ok(policy) => println!("{policy}"),
    }

    step("after loading: the exact ARNs the cache read");
    let payments = Payments::load(cache).await?;
    println!(
        "   loaded: signing key {} bytes, database password {} bytes",
        payments.signing_key.expose_secret().len(),
        payments.db_password.expose_secret().len()
    );
    // One statement, exact ARNs: the cache does not batch by default. A cache built with
    // `.batch(true)` adds a second, BatchGetSecretValue on `*` (IAM cannot scope that action).
    println!("{}", Payments::iam_policy(cache)?);
    Ok(())
}
