//! Secrets and parameters in one struct: names, ARNs, placeholders, versions, labels and a
//! reference to a secret through Parameter Store.

use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(name = "prod/orders-db")]
struct Orders {
    password: SecretString,
    #[aws_secrets(parameter = "/prod/orders/db-host", public)]
    host: String,
    #[aws_secrets(parameter = "/${APP_ENV}/orders/db-port", public)]
    port: u16,
    #[aws_secrets(parameter = "arn:aws:ssm:us-east-1:123456789012:parameter/prod/orders/api-key:3")]
    api_key: SecretString,
    #[aws_secrets(parameter = "feature-flags:blue", public)]
    flags: String,
    #[aws_secrets(parameter = "/aws/reference/secretsmanager/prod/stripe")]
    stripe: SecretString,
}

fn main() {
    assert_eq!(
        Orders::SECRET_IDS,
        [
            "prod/orders-db",
            "ssm:/prod/orders/db-host",
            "ssm:/${APP_ENV}/orders/db-port",
            "arn:aws:ssm:us-east-1:123456789012:parameter/prod/orders/api-key",
            "ssm:feature-flags",
            "ssm:/aws/reference/secretsmanager/prod/stripe",
        ]
    );
}
