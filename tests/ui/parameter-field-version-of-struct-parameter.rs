use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(parameter = "/prod/orders/settings")]
struct Settings {
    #[aws_secrets(version_stage = "AWSPREVIOUS")]
    host: SecretString,
}

fn main() {}
