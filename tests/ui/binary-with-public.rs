use asm_runtime::{AwsSecrets, SecretSlice};

#[derive(AwsSecrets)]
struct Tls {
    #[aws_secrets(name = "prod/tls", binary, public)]
    key: SecretSlice<u8>,
}

fn main() {}
