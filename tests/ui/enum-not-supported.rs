use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
enum Credentials {
    Password(SecretString),
    Token(SecretString),
}

fn main() {}
