use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(name = "prod/db", role = "arn:aws:iam::12345678901:role/reader")]
struct Db {
    password: SecretString,
}

fn main() {}
