use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(name = "prod/db", region = "eu-west-1")]
struct Db {
    password: SecretString,
}

fn main() {}
