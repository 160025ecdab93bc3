use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(name = "prod/db")]
struct Db {
    #[aws_secrets()]
    password: SecretString,
}

fn main() {}
