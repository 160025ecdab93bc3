use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(nmae = "prod/db")]
struct Db {
    password: SecretString,
}

// The stub impl beside the error keeps code that uses the struct compiling.
const _: &[&str] = <Db as AwsSecrets>::SECRET_IDS;

fn _load(cache: &asm_runtime::SecretCache) -> impl std::future::Future<Output = Result<Db, asm_runtime::Error>> + '_ {
    Db::load(cache)
}

fn main() {}
