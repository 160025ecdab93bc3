use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(arn = "arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${APP_ENV} db")]
struct Db {
    password: SecretString,
}

fn main() {}
