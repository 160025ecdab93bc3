//! A role on the struct, a field's own role over it, a placeholder in a role, and the roles
//! of a nested struct, listed in `ROLES`.
#![deny(warnings)]
#![allow(dead_code)]

use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
#[aws_secrets(name = "prod/db", role = "arn:aws:iam::999999999999:role/team/reader")]
struct Db {
    password: SecretString,
    #[aws_secrets(key = "password", role = "arn:aws-cn:iam::${AUDIT_ACCOUNT}:role/audit-${ENV}")]
    audited: SecretString,
}

#[derive(AwsSecrets)]
struct App {
    #[aws_secrets(nested)]
    db: Db,
    #[aws_secrets(name = "prod/api")]
    api: SecretString,
}

#[derive(AwsSecrets)]
struct NoRole {
    #[aws_secrets(name = "prod/api")]
    api: SecretString,
}

fn main() {
    let roles = [
        "arn:aws:iam::999999999999:role/team/reader",
        "arn:aws-cn:iam::${AUDIT_ACCOUNT}:role/audit-${ENV}",
    ];
    assert_eq!(Db::ROLES, roles);
    assert_eq!(App::ROLES, roles);
    assert!(NoRole::ROLES.is_empty());
}
