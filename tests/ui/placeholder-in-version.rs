use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(name = "prod/db", version_stage = "${STAGE}")]
struct Db {
    password: SecretString,
}

fn main() {}
