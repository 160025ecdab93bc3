use asm_runtime::AwsSecrets;

struct ApiKey(String);

#[derive(AwsSecrets)]
#[aws_secrets(name = "prod/stripe")]
struct Stripe {
    api_key: ApiKey,
}

fn main() {}
