use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
struct Settings {
    #[aws_secrets(parameter = "/prod/orders/*")]
    host: SecretString,
}

fn main() {}
