use asm_runtime::{AwsSecrets, SecretSlice};

#[derive(AwsSecrets)]
#[aws_secrets(name = "prod/tls")]
struct Tls {
    key: SecretSlice<u8>,
}

fn main() {}
