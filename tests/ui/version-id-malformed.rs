use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(name = "prod/db", version_id = "v2")]
struct Db {
    password: SecretString,
}

fn main() {}
