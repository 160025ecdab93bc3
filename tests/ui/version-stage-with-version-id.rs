use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(name = "prod/db")]
struct Db {
    #[aws_secrets(version_stage = "AWSPREVIOUS", version_id = "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111")]
    password: SecretString,
}

fn main() {}
