use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(name = "prod/db")]
struct Db {
    password: SecretString,
    #[aws_secrets(key = "password")]
    db_password: SecretString,
}

fn main() {}
