use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
struct Settings {
    #[aws_secrets(parameter = "/AWS/orders/db-host")]
    host: SecretString,
}

fn main() {}
