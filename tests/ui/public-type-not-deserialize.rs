use asm_runtime::{AwsSecrets, SecretString};

struct Host(String);

#[derive(AwsSecrets)]
#[aws_secrets(name = "prod/db")]
struct Db {
    password: SecretString,
    #[aws_secrets(public)]
    host: Host,
}

fn main() {}
