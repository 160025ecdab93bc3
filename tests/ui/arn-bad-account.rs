use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(arn = "arn:aws:secretsmanager:us-east-1:1234-5678-9012:secret:prod/db")]
struct Db {
    password: SecretString,
}

fn main() {}
