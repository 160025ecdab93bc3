use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
struct Settings {
    #[aws_secrets(parameter = "/prod//db-host")]
    host: SecretString,
}

fn main() {}
