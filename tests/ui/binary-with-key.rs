use asm_runtime::{AwsSecrets, SecretSlice};

#[derive(AwsSecrets)]
struct Tls {
    #[aws_secrets(name = "prod/tls", binary, key = "der")]
    key: SecretSlice<u8>,
}

fn main() {}
