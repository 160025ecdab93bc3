use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
struct Db {
    #[aws_secrets(name = "prod/db", key = "username")]
    username: SecretString,
    password: SecretString,
}

fn main() {}
