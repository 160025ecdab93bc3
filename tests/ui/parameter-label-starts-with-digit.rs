use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
struct Settings {
    #[aws_secrets(parameter = "/prod/orders/db-host:2blue")]
    host: SecretString,
}

fn main() {}
