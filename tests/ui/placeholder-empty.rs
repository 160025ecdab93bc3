use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(name = "${}/db")]
struct Db {
    password: SecretString,
}

fn main() {}
