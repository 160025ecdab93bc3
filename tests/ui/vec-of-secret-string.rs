use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(name = "prod/api")]
struct Api {
    tokens: Vec<SecretString>,
}

fn main() {}
