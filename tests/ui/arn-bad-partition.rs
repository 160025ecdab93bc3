use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(arn = "arn:amazon:secretsmanager:us-east-1:123456789012:secret:prod/db")]
struct Db {
    password: SecretString,
}

fn main() {}
