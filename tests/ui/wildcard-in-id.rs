use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/*")]
struct Db {
    password: SecretString,
}

fn main() {}
