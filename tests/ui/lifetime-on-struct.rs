use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(name = "prod/db")]
struct Db<'a> {
    password: SecretString,
    #[aws_secrets(public)]
    host: &'a str,
}

fn main() {}
