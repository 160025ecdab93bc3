use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
struct Db {
    #[aws_secrets(name = "")]
    password: SecretString,
}

fn main() {}
