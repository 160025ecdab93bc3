use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
struct Settings {
    #[aws_secrets(parameter = "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/db-host")]
    host: SecretString,
}

fn main() {}
