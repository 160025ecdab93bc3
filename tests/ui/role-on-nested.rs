use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(name = "prod/db")]
struct Db {
    password: SecretString,
}

#[derive(AwsSecrets)]
struct App {
    #[aws_secrets(nested, role = "arn:aws:iam::123456789012:role/reader")]
    db: Db,
}

fn main() {}
