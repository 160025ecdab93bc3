use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(name = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf")]
struct Db {
    password: SecretString,
}

fn main() {}
