use asm_runtime::{Error, Secret, SecretField};

struct Token(String);

impl SecretField for Token {
    const EXPECTED: &'static str = "Token";

    fn from_secret(_: &Secret, _: &str) -> Result<Self, Error> {
        Ok(Token(String::new()))
    }

    fn from_json(_: Option<asm_runtime::__private::JsonValue<'_>>) -> Result<Self, asm_runtime::__private::FieldError> {
        Ok(Token(String::new()))
    }
}

fn main() {}
