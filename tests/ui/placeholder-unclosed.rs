use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(name = "${APP_ENV/db")]
struct Db {
    password: SecretString,
}

fn main() {}
