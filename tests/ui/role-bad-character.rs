use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(name = "prod/db", role = "arn:aws:iam::123456789012:role/db reader")]
struct Db {
    password: SecretString,
}

fn main() {}
