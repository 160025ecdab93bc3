use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(arn = "arn:aws:ssm:us-east-1:123456789012:parameter/prod/db")]
struct Db {
    password: SecretString,
}

fn main() {}
