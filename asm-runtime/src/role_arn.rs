//! [`RoleArn`]: the one place the runtime knows the grammar of an IAM role's ARN,
//! `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME`, the same rule the derive checks at compile
//! time (there with `${VAR}` placeholders, here after they are resolved).

use crate::Error;

/// The longest role ARN IAM accepts.
const MAX_ARN: usize = 2048;
/// The longest role name IAM accepts.
const MAX_NAME: usize = 64;

/// A checked role ARN, borrowed from the text it was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RoleArn<'a> {
    /// One of [`PARTITIONS`](crate::partition::PARTITIONS).
    pub(crate) partition: &'a str,
    /// The 12-digit account the role belongs to: where its bare secret names resolve.
    pub(crate) account: &'a str,
}

impl<'a> RoleArn<'a> {
    /// Parses `text`, or says which part is wrong (as an [`Error::Config`]).
    pub(crate) fn parse(text: &'a str) -> Result<Self, Error> {
        check(text).map_err(|why| Error::Config {
            message: format!(
                "`{text}` is not an IAM role ARN: {why}; expected \
                 `arn:aws:iam::123456789012:role/NAME` (a partition such as `aws`, no region, \
                 a 12-digit account, an optional path)"
            ),
        })
    }
}

fn check(text: &str) -> Result<RoleArn<'_>, String> {
    if text.len() > MAX_ARN {
        return Err(format!(
            "it is {} characters long, over {MAX_ARN}",
            text.len()
        ));
    }
    let mut parts = text.splitn(6, ':');
    let mut next = || parts.next().unwrap_or_default();
    let (arn, partition, service, region, account, resource) =
        (next(), next(), next(), next(), next(), next());
    if arn != "arn" {
        return Err("it does not start with `arn:`".to_owned());
    }
    if !crate::partition::PARTITIONS.contains(&partition) {
        return Err(format!(
            "partition `{partition}` is not one of `{}`",
            crate::partition::PARTITIONS.join("`, `")
        ));
    }
    if service != "iam" {
        return Err(format!("service `{service}` is not `iam`"));
    }
    if !region.is_empty() {
        return Err(format!(
            "an IAM ARN has no region, and this one says `{region}`"
        ));
    }
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("account `{account}` is not 12 digits"));
    }
    let Some(path) = resource.strip_prefix("role/") else {
        return Err(format!("resource `{resource}` does not start with `role/`"));
    };
    if let Some(c) = path
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "_+=,.@-/".contains(*c)))
    {
        return Err(format!(
            "the role's path or name contains `{}`: IAM allows letters, digits and `_+=,.@-` \
             (and `/` between path parts)",
            c.escape_debug()
        ));
    }
    let name = path.rsplit('/').next().unwrap_or_default();
    if path.split('/').any(str::is_empty) {
        return Err("the role's path has an empty part, or its name is empty".to_owned());
    }
    if name.len() > MAX_NAME {
        return Err(format!(
            "the role's name is {} characters long, over {MAX_NAME}",
            name.len()
        ));
    }
    Ok(RoleArn { partition, account })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_roles_with_and_without_paths() {
        let role = RoleArn::parse("arn:aws:iam::999999999999:role/reader").expect("role");
        assert_eq!((role.partition, role.account), ("aws", "999999999999"));
        let nested = RoleArn::parse("arn:aws-us-gov:iam::123456789012:role/team/app/db-Reader+1");
        assert_eq!(nested.map(|r| r.partition).ok(), Some("aws-us-gov"));
        assert!(
            RoleArn::parse(&format!(
                "arn:aws:iam::123456789012:role/{}",
                "n".repeat(64)
            ))
            .is_ok()
        );
    }

    #[test]
    fn says_which_part_is_wrong() {
        for (bad, said) in [
            ("role/reader", "start with `arn:`"),
            ("arn:aws:sts::999999999999:role/reader", "service `sts`"),
            ("arn:awz:iam::999999999999:role/reader", "partition `awz`"),
            (
                "arn:aws:iam:us-east-1:999999999999:role/reader",
                "no region",
            ),
            ("arn:aws:iam::9999:role/reader", "account `9999`"),
            ("arn:aws:iam::999999999999:user/reader", "`role/`"),
            ("arn:aws:iam::999999999999:role/read*", "contains `*`"),
            ("arn:aws:iam::999999999999:role/", "empty"),
            ("arn:aws:iam::999999999999:role/a//b", "empty part"),
        ] {
            let err = RoleArn::parse(bad).expect_err(bad).to_string();
            assert!(err.contains(said), "{bad}: {err}");
        }
        let long = format!("arn:aws:iam::123456789012:role/{}", "n".repeat(65));
        assert!(
            RoleArn::parse(&long)
                .expect_err("long")
                .to_string()
                .contains("over 64")
        );
        let huge = format!("arn:aws:iam::123456789012:role/{}/n", "p".repeat(2048));
        assert!(
            RoleArn::parse(&huge)
                .expect_err("huge")
                .to_string()
                .contains("over 2048")
        );
    }
}
