use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
struct Settings {
    #[aws_secrets(parameter = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf")]
    host: SecretString,
}

fn main() {}
