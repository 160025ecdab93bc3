use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
struct Settings {
    #[aws_secrets(parameter = "arn:aws:ssm:us-east-1:123456789012:parameter//prod/db-host")]
    host: SecretString,
}

fn main() {}
