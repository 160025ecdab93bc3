use asm_runtime::{AwsSecrets, SecretSlice};

#[derive(AwsSecrets)]
struct Tls {
    #[aws_secrets(name = "prod/tls", binary)]
    key: SecretSlice<u8>,
    #[aws_secrets(name = "prod/tls-chain", public)]
    chain: Option<SecretSlice<u8>>,
}

fn main() {}
