//! `${VAR}` placeholders in the region, account and name parts; ids listed as written.
#![deny(warnings)]
#![allow(dead_code)]

use asm_runtime::{AwsSecrets, SecretString};

#[derive(AwsSecrets)]
struct Ids {
    #[aws_secrets(arn = "arn:aws:secretsmanager:${AWS_REGION}:${ACCOUNT_ID}:secret:${APP_ENV}/db-AbCdEf", key = "password")]
    db_password: SecretString,
    #[aws_secrets(arn = "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:${APP_ENV}/api")]
    api_token: SecretString,
    #[aws_secrets(name = "${TEAM}/${APP_ENV}/stripe+live=1@eu_1.key", key = "api_key")]
    stripe: SecretString,
}

fn main() {
    assert_eq!(
        Ids::SECRET_IDS,
        &[
            "arn:aws:secretsmanager:${AWS_REGION}:${ACCOUNT_ID}:secret:${APP_ENV}/db-AbCdEf",
            "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:${APP_ENV}/api",
            "${TEAM}/${APP_ENV}/stripe+live=1@eu_1.key",
        ]
    );
}
