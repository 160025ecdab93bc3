use asm_runtime::AwsSecrets;

#[derive(AwsSecrets)]
struct Tls {
    #[aws_secrets(name = "prod/tls", binary)]
    key: Vec<u8>,
}

fn main() {}
