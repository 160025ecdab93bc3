use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(name = "prod/db", role = "arn:aws:iam::123456789012:user/reader")]
struct Db {
    password: SecretString,
}

fn main() {}
