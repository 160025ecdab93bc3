use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
struct Settings {
    #[aws_secrets(parameter = "/prod/orders/db-host", name = "prod/db")]
    host: SecretString,
}

fn main() {}
