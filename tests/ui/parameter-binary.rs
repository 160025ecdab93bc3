use asm_runtime::{AwsSecrets, SecretSlice};

#[derive(AwsSecrets)]
struct Settings {
    #[aws_secrets(parameter = "/prod/orders/tls-key", binary)]
    key: SecretSlice<u8>,
}

fn main() {}
