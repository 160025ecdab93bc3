//! A Lambda-style handler on the process-wide cache, [`asm_runtime::global()`]: the first
//! invocation of an execution environment fetches the secret, warm invocations read memory.
//!
//! `cargo run -p asm-examples --bin lambda`
//!
//! `global()` builds its cache with `SecretCache::from_env()`, from the environment Lambda sets
//! (`AWS_REGION`, the function role's credentials). Run here without one, the example starts a
//! local Secrets Manager and runs itself again with `AWS_ENDPOINT_URL` pointing at it.
//!
//! Two ways to read secrets in Lambda, one handler:
//! - **in-process** (the default): the cache lives in the execution environment's static
//!   (`global()`), so warm invocations read memory and only cold starts call Secrets Manager.
//! - **through the AWS Parameters and Secrets Lambda extension**: with `ASM_SECRETS_AGENT=1`,
//!   `from_env()` reads through the extension on `localhost:2773`, authenticated with the
//!   `AWS_SESSION_TOKEN` Lambda sets. The extension is reachable only during invocations, not
//!   during init, which is why the cache is built lazily inside the handler. `scripts/test.sh`
//!   runs this example that way too, with the AWS Secrets Manager Agent standing in for the
//!   extension.

use asm_examples::{Backend, Seed, step};
use asm_runtime::{AwsSecrets, ExposeSecret, SecretString};

/// What the function reads: one key of one JSON secret.
#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "orders-fn/stripe", ttl = "5m")]
struct FnSecrets {
    api_key: SecretString,
}

/// The function's event and response, reduced to what the example needs.
#[derive(Debug)]
struct Order {
    id: u32,
    cents: u64,
}

/// The handler: everything expensive is behind `global()` and the cache, so a warm invocation
/// makes no API call.
async fn handler(order: Order) -> Result<String, asm_runtime::Error> {
    // Built once per execution environment, at the first invocation (the extension, when used,
    // is not reachable during init).
    let cache = asm_runtime::global().await?;
    let secrets = FnSecrets::load(cache).await?; // a memory read once warm
    let charged = charge(&order, secrets.api_key.expose_secret());
    Ok(format!("order {} charged: {charged}", order.id))
}

/// Stands in for the payment API call that takes the key.
fn charge(order: &Order, api_key: &str) -> bool {
    order.cents > 0 && !api_key.is_empty()
}

#[tokio::main]
async fn main() -> asm_examples::Result<()> {
    if asm_examples::rerun_with_local_endpoint()? {
        return Ok(());
    }
    // Creates the secret when the endpoint is local; the handler reads through `global()`.
    let _backend = Backend::connect(&[Seed::text(
        "orders-fn/stripe",
        r#"{"api_key":"sk_test_lambda"}"#,
    )])
    .await?;

    for (n, cents) in [(1, 1_250), (2, 990), (3, 4_000)] {
        step(&format!("invocation {n}"));
        let response = handler(Order {
            id: 1000 + n,
            cents,
        })
        .await?;
        let stats = asm_runtime::global().await?.stats();
        println!(
            "   {response}; API calls so far: {}, cache hits: {}",
            stats.api_calls(),
            stats.hits
        );
    }
    Ok(())
}
