use asm_runtime::AwsSecrets;

#[derive(AwsSecrets, serde::Deserialize)]
#[aws_secrets(name = "prod/db")]
struct Db {
    #[aws_secrets(public)]
    #[serde(rename = "db_host")]
    host: String,
}

fn main() {}
