use asm_runtime::{AwsSecrets, SecretSlice, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(name = "prod/tls")]
struct Tls {
    passphrase: SecretString,
    #[aws_secrets(binary)]
    key: SecretSlice<u8>,
}

fn main() {}
