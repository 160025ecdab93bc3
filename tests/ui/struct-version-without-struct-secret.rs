use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(version_stage = "AWSPREVIOUS")]
struct Db {
    #[aws_secrets(name = "prod/db", key = "password")]
    password: SecretString,
}

fn main() {}
