use asm_runtime::AwsSecrets;

#[derive(AwsSecrets)]
struct Nothing;

fn main() {}
