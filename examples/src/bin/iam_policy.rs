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

    step("before loading: the region and account come from the cache and the ARN");
    // `-??????` matches the six characters Secrets Manager appends to a name, so this
    // grants exactly these two secrets before their full ARNs are known.
    println!("{}", Payments::iam_policy(cache)?);

    step("after loading: the exact ARNs the cache read");
    let payments = Payments::load(cache).await?;
    println!(
        "   loaded: signing key {} bytes, database password {} bytes",
        payments.signing_key.expose_secret().len(),
        payments.db_password.expose_secret().len()
    );
    println!("{}", Payments::iam_policy(cache)?);

    step("with BatchGetSecretValue, so cold loads of several secrets take one call");
    // IAM cannot scope this action to secrets; each one still needs GetSecretValue.
    println!("{}", Payments::iam_policy(cache)?.with_batch());
    Ok(())
}
