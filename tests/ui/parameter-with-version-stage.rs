use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
struct Settings {
    #[aws_secrets(parameter = "/prod/orders/db-host", version_stage = "AWSPREVIOUS")]
    host: SecretString,
}

fn main() {}
