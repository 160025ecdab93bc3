use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(name = "prod/db", role = "arn:aws:sts::123456789012:assumed-role/reader/session")]
struct Db {
    password: SecretString,
}

fn main() {}
