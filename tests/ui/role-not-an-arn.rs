use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(name = "prod/db", role = "reader")]
struct Db {
    password: SecretString,
}

fn main() {}
