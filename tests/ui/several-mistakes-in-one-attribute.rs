use asm_runtime::{AwsSecrets, SecretString};

// A misspelt key does not hide the other mistakes of its attribute: the name behind the typo
// is still checked, and so are the TTL and the rotation interval.
#[derive(AwsSecrets)]
struct Db {
    #[aws_secrets(nam = "prod db", ttl = "1h", rotation = "30m")]
    password: SecretString,
}

fn main() {}
