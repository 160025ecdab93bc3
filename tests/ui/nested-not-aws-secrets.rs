use asm_runtime::{AwsSecrets, SecretString};

struct Plain {
    password: SecretString,
}

#[derive(AwsSecrets)]
struct App {
    #[aws_secrets(nested)]
    db: Plain,
}

fn main() {}
