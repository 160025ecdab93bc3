use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(arn = "arn:aws:secretsmanager:us_east_1:123456789012:secret:prod/db")]
struct Db {
    password: SecretString,
}

fn main() {}
