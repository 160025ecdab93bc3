//! Least-privilege IAM policies for exactly the secrets a struct reads.

use std::fmt;

use crate::{Error, SecretCache};

/// An IAM policy document granting `secretsmanager:GetSecretValue` on exact secret ARNs, and
/// `secretsmanager:DescribeSecret` on the same ARNs when the cache uses it (version checks or
/// the rotation guardrail, both on by default).
///
/// Ids become resources this way:
/// - a full ARN (ending in the six-character suffix Secrets Manager adds) is used as it is;
/// - a name, or an ARN without the suffix, becomes the ARN the cache fetched it under when
///   it has been loaded, and otherwise `arn:…:secret:NAME-??????`, which matches that one
///   secret and no other (the form AWS documents for this case); a name needs the cache's
///   region and an account, taken from another ARN of the same struct.
///
/// No secret resource is ever `*`. `BatchGetSecretValue`, which the cache uses to load many
/// secrets in one call, is left out by default: IAM cannot scope it to resources, so granting
/// it takes `Resource: "*"` (harmless, as the batch still needs `GetSecretValue` on each
/// secret, but not least privilege). Without it the cache falls back to one `GetSecretValue`
/// per secret after one denied call. [`with_batch`](Self::with_batch) adds it.
///
/// # Examples
/// ```
/// # fn f(policy: asm_runtime::IamPolicy) {
/// println!("{policy}"); // pretty JSON, ready for `aws iam put-role-policy`
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamPolicy {
    resources: Vec<String>,
    describe: bool,
    batch: bool,
}

impl IamPolicy {
    pub(crate) fn for_ids<'a>(
        cache: &SecretCache,
        ids: impl Iterator<Item = &'a str>,
    ) -> Result<Self, Error> {
        let ids: Vec<&str> = ids.collect();
        let account = ids
            .iter()
            .find_map(|id| parse_arn(id).map(|arn| arn.account.to_owned()));
        let mut resources = ids
            .iter()
            .map(|id| resource(cache, id, account.as_deref()))
            .collect::<Result<Vec<_>, _>>()?;
        resources.sort();
        resources.dedup();
        Ok(Self {
            resources,
            describe: cache.uses_describe(),
            batch: false,
        })
    }

    /// The secret ARNs (or suffix patterns) granted, sorted.
    pub fn resources(&self) -> &[String] {
        &self.resources
    }

    /// Adds a statement allowing `secretsmanager:BatchGetSecretValue` (on `*`, the only
    /// resource IAM accepts for it), so cold loads of several secrets take one call.
    #[must_use]
    pub fn with_batch(mut self) -> Self {
        self.batch = true;
        self
    }

    /// The policy document as pretty JSON.
    pub fn to_json(&self) -> String {
        let mut actions = vec!["secretsmanager:GetSecretValue"];
        if self.describe {
            actions.push("secretsmanager:DescribeSecret");
        }
        let mut statements = vec![serde_json::json!({
            "Sid": "ReadExactSecrets",
            "Effect": "Allow",
            "Action": actions,
            "Resource": self.resources,
        })];
        if self.batch {
            statements.push(serde_json::json!({
                "Sid": "BatchReadsStillNeedGetSecretValueOnEachSecret",
                "Effect": "Allow",
                "Action": ["secretsmanager:BatchGetSecretValue"],
                "Resource": "*",
            }));
        }
        let document = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": statements,
        });
        serde_json::to_string_pretty(&document).unwrap_or_default()
    }
}

impl fmt::Display for IamPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}

struct Arn<'a> {
    prefix: &'a str,
    account: &'a str,
    name: &'a str,
}

/// Splits `arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME`.
fn parse_arn(id: &str) -> Option<Arn<'_>> {
    let mut parts = id.splitn(7, ':');
    let fields: [&str; 7] = std::array::from_fn(|_| parts.next().unwrap_or_default());
    let [arn, _, service, _, account, kind, name] = fields;
    (arn == "arn" && service == "secretsmanager" && kind == "secret" && !name.is_empty()).then(
        || Arn {
            prefix: &id[..id.len() - name.len()],
            account,
            name,
        },
    )
}

/// Whether a secret name ends in the `-XXXXXX` suffix of a full ARN.
fn has_suffix(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.len() > 7
        && bytes[bytes.len() - 7] == b'-'
        && bytes[bytes.len() - 6..]
            .iter()
            .all(u8::is_ascii_alphanumeric)
}

fn resource(cache: &SecretCache, id: &str, account: Option<&str>) -> Result<String, Error> {
    if let Some(arn) = parse_arn(id) {
        if has_suffix(arn.name) {
            return Ok(id.to_owned());
        }
        return Ok(cache
            .known_arn(id)
            .unwrap_or_else(|| format!("{}{}-??????", arn.prefix, arn.name)));
    }
    if let Some(known) = cache.known_arn(id) {
        return Ok(known);
    }
    let region = cache.region().ok_or_else(|| Error::Config {
        message: format!("no region to build the ARN of `{id}`: configure the client's region"),
    })?;
    let account = account.ok_or_else(|| Error::Config {
        message: format!(
            "the account of `{id}` is unknown: load the struct through this cache first, or name one of its secrets by ARN"
        ),
    })?;
    Ok(format!(
        "arn:{}:secretsmanager:{region}:{account}:secret:{id}-??????",
        partition(region)
    ))
}

fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_arns_are_recognised_by_their_suffix() {
        assert!(has_suffix("prod/db-AbCdEf"));
        assert!(!has_suffix("prod/db"));
        assert!(!has_suffix("db-Ab"));
    }

    #[test]
    fn arn_parts() {
        let arn =
            parse_arn("arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db").expect("arn");
        assert_eq!((arn.account, arn.name), ("123456789012", "prod/db"));
        assert_eq!(
            arn.prefix,
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:"
        );
        assert!(parse_arn("prod/db").is_none());
    }

    #[test]
    fn batch_is_a_separate_opt_in_statement() {
        let policy = IamPolicy {
            resources: vec!["arn:aws:secretsmanager:us-east-1:123456789012:secret:a-AbCdEf".into()],
            describe: false,
            batch: false,
        };
        let parse = |p: &IamPolicy| serde_json::from_str::<serde_json::Value>(&p.to_json()).ok();
        let plain = parse(&policy).expect("json");
        assert_eq!(plain["Statement"].as_array().map(Vec::len), Some(1));
        assert_eq!(
            plain["Statement"][0]["Resource"][0],
            policy.resources[0].as_str()
        );
        let batched = parse(&policy.clone().with_batch()).expect("json");
        assert_eq!(batched["Statement"].as_array().map(Vec::len), Some(2));
        assert_eq!(
            batched["Statement"][1]["Action"][0],
            "secretsmanager:BatchGetSecretValue"
        );
    }

    #[test]
    fn partitions_follow_the_region() {
        assert_eq!(partition("cn-north-1"), "aws-cn");
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition("eu-west-1"), "aws");
    }
}
