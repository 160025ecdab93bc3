use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(name = "prod/db", role = "arn:aws:secretsmanager::123456789012:role/reader")]
struct Db {
    password: SecretString,
}

fn main() {}
