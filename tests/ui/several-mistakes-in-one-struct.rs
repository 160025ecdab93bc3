use asm_runtime::{AwsSecrets, SecretString};

// Every independent mistake of a struct at once: a bad ARN, a field without a source that is
// also `public` on a masked type, a plain type that would expose a secret, a TTL not below
// the rotation interval, and a misspelt flag (which alone stays one error: `pubic` is not
// also "`String` would hold a secret value in the clear").
#[derive(AwsSecrets)]
struct Service {
    #[aws_secrets(arn = "arn:aws:secretsmanager:us-east-1:12345:secret:prod/db-AbCdEf")]
    db: SecretString,
    #[aws_secrets(public)]
    api_key: SecretString,
    #[aws_secrets(name = "prod/api")]
    token: String,
    #[aws_secrets(name = "prod/host", pubic)]
    host: String,
    #[aws_secrets(name = "prod/signing", ttl = "1h", rotation = "30m")]
    signing_key: SecretString,
}

fn main() {}
