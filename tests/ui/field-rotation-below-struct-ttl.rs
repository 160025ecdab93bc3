use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(ttl = "1h")]
struct App {
    #[aws_secrets(name = "prod/api-token", rotation = "30m")]
    token: SecretString,
}

fn main() {}
