use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
struct Settings {
    #[aws_secrets(parameter = "/aws/reference/secretsmanager/")]
    host: SecretString,
}

fn main() {}
