//! IAM role ARNs: a role ARN that passes is `arn:PARTITION:iam::ACCOUNT:role/…` with one of
//! the three partitions and a 12-digit account; anything else is a `Config` error.
#![no_main]

use asm_runtime::__fuzz::role_arn;
use asm_runtime::Error;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match role_arn(text) {
        Ok((partition, account)) => {
            assert!(matches!(
                partition.as_str(),
                "aws" | "aws-cn" | "aws-us-gov"
            ));
            assert!(account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()));
            let resource = format!("arn:{partition}:iam::{account}:role/");
            let path = text.strip_prefix(&resource).expect("the role's prefix");
            assert!(!path.is_empty() && !path.starts_with('/') && !path.ends_with('/'));
            assert!(text.len() <= 2048);
        }
        Err(err) => assert!(matches!(err, Error::Config { .. }), "{err:?}"),
    }
});
