//! Least-privilege IAM policies for exactly the secrets a struct reads, one per principal it
//! reads as ([`IamPolicies`]).

mod principals;

pub use principals::IamPolicies;

use std::fmt;

use crate::Error;
use crate::arn::Arn;
use crate::parameter;

/// What a policy is built from: what the cache learnt of each id, and which calls it makes.
/// Implemented by the cache; this module knows nothing else of it.
pub(crate) trait Grantor {
    /// The ARN the service returned for `id`, once it has been read.
    fn known_arn(&self, id: &str) -> Option<String>;
    /// The region names resolve in, when known.
    fn region(&self) -> Option<&str>;
    /// Whether `DescribeSecret` is called (version checks or the rotation guardrail).
    fn uses_describe(&self) -> bool;
    /// Whether `BatchGetSecretValue` is called.
    fn batches(&self) -> bool;
    /// Whether Parameter Store's `GetParameters` is called.
    fn batches_parameters(&self) -> bool;
    /// The account bare names resolve in when the reads are made as a role: the role's.
    fn role_account(&self) -> Option<String> {
        None
    }
    /// The regions a failed call is sent on to, where the secrets' replicas are.
    fn failover_regions(&self) -> Vec<&str> {
        Vec::new()
    }
}

/// An IAM policy document granting `secretsmanager:GetSecretValue` on exact secret ARNs, and
/// `secretsmanager:DescribeSecret` on the same ARNs when the cache uses it (version checks or
/// the rotation guardrail, both on by default).
///
/// Ids become resources this way:
/// - a secret the cache has loaded: the ARN the service returned for it, always;
/// - before that, a complete ARN (its name ends in `-` and six letters or digits) as written,
///   and a partial ARN as `arn:…:secret:NAME-??????`, which matches that one secret and no
///   other. A partial ARN whose name itself ends in `-` and six characters (`…:secret:app-config`)
///   is read as complete: that is how Secrets Manager reads it too, so name such secrets by
///   `name` or by their full ARN;
/// - a name, before it is loaded, as `arn:…:secret:NAME-??????` in the cache's region and the
///   caller's account. The account is taken only from what the service said about the
///   caller's own secrets: the loaded ARN of a secret of the struct named by `name`. An ARN
///   written in the struct may belong to another account, so it is not used.
///
/// With failover regions (see
/// [`SecretCacheBuilder::failover_regions`](crate::SecretCacheBuilder::failover_regions)),
/// every resource is granted in the primary region and in each failover region: a replica's
/// ARN is its primary's with the region swapped (same account, name and suffix).
///
/// No secret resource is ever `*`. When the cache batches (off by default; see
/// [`SecretCacheBuilder::batch`](crate::SecretCacheBuilder::batch)), a second statement allows
/// `secretsmanager:BatchGetSecretValue` on `Resource: "*"`: IAM cannot scope that action to
/// secrets, and the batch still needs `GetSecretValue` on each secret, which the first
/// statement grants on exact ARNs only. Leaving it out would make every process's first load
/// log one denied call in CloudTrail.
///
/// Parameter Store parameters (`ssm:NAME` or a parameter's ARN, `parameter = "…"` in the
/// derive) get a statement of their own: `ssm:GetParameter` on each parameter's exact ARN
/// (`arn:…:ssm:REGION:ACCOUNT:parameter/NAME`, a hierarchical name's leading `/` dropped),
/// named as the service returned it once loaded, else built from the cache's region and the
/// caller's account as for a name. A `SecureString` under a customer-managed KMS key also
/// needs `kms:Decrypt` on that key, which no policy built from names can know (the statement's
/// `Sid` says so). A parameter `/aws/reference/secretsmanager/NAME` reads the Secrets Manager
/// secret `NAME`: the policy grants `secretsmanager:GetSecretValue` on that secret as well.
///
/// The policy of the cache's own credentials, for a struct that reads some secrets as IAM
/// roles (`role = "…"`), also allows `sts:AssumeRole` on exactly those roles; each role's own
/// policy is in [`IamPolicies`].
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
    /// Parameter ARNs (`ssm:GetParameter`), sorted.
    parameters: Vec<String>,
    describe: bool,
    batch: bool,
    /// Whether parameters are also read ten a call (`ssm:GetParameters`, on the same ARNs).
    parameter_batch: bool,
    /// Roles the principal assumes to read the rest (`sts:AssumeRole`), sorted.
    assume: Vec<String>,
}

impl IamPolicy {
    pub(crate) fn for_ids<'a>(
        cache: &impl Grantor,
        ids: impl Iterator<Item = &'a str>,
    ) -> Result<Self, Error> {
        let (parameter_ids, mut ids): (Vec<&str>, Vec<&str>) =
            ids.partition(|id| parameter::is_parameter(id));
        let account = caller_account(cache, &ids, &parameter_ids);
        let mut parameters = Vec::with_capacity(parameter_ids.len());
        for id in parameter_ids {
            let (arn, secret) = parameter_resource(cache, id, account.as_deref())?;
            parameters.push(arn);
            ids.extend(secret);
        }
        parameters.sort();
        parameters.dedup();
        let resources = ids
            .iter()
            .map(|id| resource(cache, id, account.as_deref()))
            .collect::<Result<Vec<_>, _>>()?;
        let mut resources = with_replicas(resources, cache.region(), &cache.failover_regions());
        resources.sort();
        resources.dedup();
        Ok(Self {
            resources,
            parameters,
            describe: cache.uses_describe(),
            batch: cache.batches(),
            parameter_batch: cache.batches_parameters(),
            assume: Vec::new(),
        })
    }

    /// This policy, also allowing `sts:AssumeRole` on exactly `roles`.
    pub(crate) fn assuming(mut self, roles: impl IntoIterator<Item = String>) -> Self {
        self.assume.extend(roles);
        self.assume.sort();
        self.assume.dedup();
        self
    }

    /// The roles the policy allows assuming (`sts:AssumeRole`), sorted: those a struct reads
    /// some secrets as.
    pub fn assumes(&self) -> &[String] {
        &self.assume
    }

    /// The secret ARNs (or suffix patterns) granted, sorted.
    pub fn resources(&self) -> &[String] {
        &self.resources
    }

    /// The parameter ARNs granted `ssm:GetParameter` (and `ssm:GetParameters` where the cache
    /// batches parameters, see [`allows_parameter_batch`](Self::allows_parameter_batch)), sorted.
    pub fn parameters(&self) -> &[String] {
        &self.parameters
    }

    /// Whether the policy allows `BatchGetSecretValue` (when the cache batches).
    pub fn allows_batch(&self) -> bool {
        self.batch
    }

    /// Whether the policy allows `ssm:GetParameters` on the parameters (when the cache batches
    /// them, the default).
    pub fn allows_parameter_batch(&self) -> bool {
        self.parameter_batch
    }

    /// The policy document as pretty JSON.
    pub fn to_json(&self) -> String {
        let mut actions = vec!["secretsmanager:GetSecretValue"];
        if self.describe {
            actions.push("secretsmanager:DescribeSecret");
        }
        let mut statements = Vec::new();
        // A principal that only assumes roles (or reads only parameters) reads no secret itself.
        if !self.resources.is_empty() || (self.assume.is_empty() && self.parameters.is_empty()) {
            statements.push(serde_json::json!({
                "Sid": "ReadExactSecrets",
                "Effect": "Allow",
                "Action": actions,
                "Resource": self.resources,
            }));
        }
        if !self.parameters.is_empty() {
            let mut actions = vec!["ssm:GetParameter"];
            if self.parameter_batch {
                actions.push("ssm:GetParameters");
            }
            statements.push(serde_json::json!({
                "Sid": "ReadExactParametersASecureStringUnderACustomerManagedKeyAlsoNeedsKmsDecryptOnIt",
                "Effect": "Allow",
                "Action": actions,
                "Resource": self.parameters,
            }));
        }
        if !self.assume.is_empty() {
            statements.push(serde_json::json!({
                "Sid": "AssumeExactRoles",
                "Effect": "Allow",
                "Action": ["sts:AssumeRole"],
                "Resource": self.assume,
            }));
        }
        if self.batch && !self.resources.is_empty() {
            statements.push(serde_json::json!({
                "Sid": "BatchGetSecretValueCannotBeScopedToSecretsAndNeedsGetSecretValueOnEach",
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

/// The caller's own account: a role's (where the reads are made as one), or the account of
/// the loaded ARN of a secret or parameter named by name (which the service looked up in the
/// caller's account).
fn caller_account(cache: &impl Grantor, ids: &[&str], parameters: &[&str]) -> Option<String> {
    if let Some(account) = cache.role_account() {
        return Some(account);
    }
    let secret_account = ids
        .iter()
        .filter(|id| Arn::parse(id).is_none())
        .filter_map(|id| cache.known_arn(id))
        .find_map(|known| Arn::parse(&known).map(|arn| arn.account.to_owned()));
    secret_account.or_else(|| {
        (parameters.iter())
            .filter(|id| id.starts_with(parameter::PREFIX))
            .filter_map(|id| cache.known_arn(id))
            .find_map(|known| {
                let parsed = parameter::parse(&known)?.ok()?;
                // AWS's public parameters belong to no account: they tell nothing of ours.
                (parsed.arn.map(|arn| arn.account.to_owned())).filter(|a| !a.is_empty())
            })
    })
}

/// The ARN granting `ssm:GetParameter` on the parameter `id`, and, for a reference to a
/// Secrets Manager secret, that secret's name (granted `GetSecretValue` like any other).
fn parameter_resource<'a>(
    cache: &impl Grantor,
    id: &'a str,
    account: Option<&str>,
) -> Result<(String, Option<&'a str>), Error> {
    let parsed = (parameter::parse(id))
        .unwrap_or_else(|| Err(format!("`{id}` is not a parameter")))
        .map_err(|message| Error::Config { message })?;
    let secret = parsed.referenced_secret();
    // A reference's answer carries the secret's ARN, not the parameter's.
    if let Some(known) = cache.known_arn(id).filter(|_| secret.is_none()) {
        return Ok((known, secret));
    }
    if parsed.arn.is_some() {
        let arn = id.strip_prefix(parameter::PREFIX).unwrap_or(id);
        return Ok((arn.to_owned(), secret));
    }
    let (region, account) = if parsed.is_public() {
        // AWS's public parameters belong to no account: their ARNs name none.
        (region_of(cache, id)?, "")
    } else {
        home(cache, id, account)?
    };
    let arn = format!(
        "arn:{}:ssm:{region}:{account}:parameter/{}",
        partition(region),
        parsed.path
    );
    Ok((arn, secret))
}

/// The region and account a name (of a secret or parameter) resolves in, or why they are
/// unknown.
fn home<'a>(
    cache: &'a impl Grantor,
    id: &str,
    account: Option<&'a str>,
) -> Result<(&'a str, &'a str), Error> {
    let region = region_of(cache, id)?;
    let account = account.ok_or_else(|| Error::Config {
        message: format!(
            "the account of `{id}` is unknown: load the struct through this cache first (the \
             policy then names the ARNs the service returned), or name its secrets by full ARN"
        ),
    })?;
    Ok((region, account))
}

/// The cache's region, or why the ARN of `id` cannot be built without it.
fn region_of<'a>(cache: &'a impl Grantor, id: &str) -> Result<&'a str, Error> {
    cache.region().ok_or_else(|| Error::Config {
        message: format!("no region to build the ARN of `{id}`: configure the client's region"),
    })
}

fn resource(cache: &impl Grantor, id: &str, account: Option<&str>) -> Result<String, Error> {
    if let Some(known) = cache.known_arn(id) {
        return Ok(known);
    }
    if let Some(arn) = Arn::parse(id) {
        return Ok(arn.resource_pattern());
    }
    let (region, account) = home(cache, id, account)?;
    Ok(format!(
        "arn:{}:secretsmanager:{region}:{account}:secret:{id}-??????",
        partition(region)
    ))
}

/// Each resource in its own region and in every failover region; and one a replica answered
/// with (a known ARN naming a failover region) in the primary region too.
fn with_replicas(resources: Vec<String>, primary: Option<&str>, failover: &[&str]) -> Vec<String> {
    if failover.is_empty() {
        return resources;
    }
    let mut all = Vec::with_capacity(resources.len() * (failover.len() + 1));
    for resource in resources {
        let Some(arn) = Arn::parse(&resource) else {
            all.push(resource);
            continue;
        };
        let from_replica = failover.contains(&arn.region);
        let home = primary.filter(|_| from_replica);
        all.extend(home.iter().chain(failover).map(|r| arn.in_region(r)));
        all.push(resource);
    }
    all
}

/// The partition a region belongs to.
pub(crate) fn partition(region: &str) -> &'static str {
    crate::partition::of_region(region)
}

#[cfg(test)]
mod tests {
    use super::*;

    use aws_sdk_secretsmanager::Client;
    use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
    use aws_smithy_mocks::{RuleMode, mock};

    use crate::SecretCache;
    use crate::testing::client;

    const OWN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:";
    const OTHER: &str = "arn:aws:secretsmanager:us-east-1:999999999999:secret:";

    /// A cache whose `GetSecretValue` answers with `full_arn`, whatever is asked.
    fn cache_answering(full_arn: &str, batch: bool) -> (SecretCache, aws_smithy_mocks::Rule) {
        let (arn, name) = (
            full_arn.to_owned(),
            full_arn[OWN.len()..full_arn.len() - 7].to_owned(),
        );
        let rule = mock!(Client::get_secret_value).then_output(move || {
            GetSecretValueOutput::builder()
                .arn(&arn)
                .name(&name)
                .version_id("v1")
                .secret_string("{}")
                .build()
        });
        let cache = SecretCache::builder(client(RuleMode::MatchAny, &[&rule]))
            .batch(batch)
            .build()
            .expect("cache");
        (cache, rule)
    }

    fn policy(cache: &impl Grantor, ids: &[&str]) -> Result<IamPolicy, Error> {
        IamPolicy::for_ids(cache, ids.iter().copied())
    }

    #[tokio::test]
    async fn a_loaded_arn_wins_over_an_ambiguous_partial_arn() {
        let real = format!("{OWN}prod/db-master-XyZ123");
        let (cache, _rule) = cache_answering(&real, true);
        // A partial ARN of `prod/db-master`: its name ends in `-` and six letters.
        let partial = format!("{OWN}prod/db-master");
        let before = policy(&cache, &[&partial]).expect("policy");
        assert_eq!(
            before.resources(),
            [partial.as_str()],
            "read as complete before loading, as Secrets Manager reads it"
        );
        cache.get(&partial).await.expect("load");
        let after = policy(&cache, &[&partial]).expect("policy");
        assert_eq!(after.resources(), [real], "the ARN the service returned");
    }

    #[tokio::test]
    async fn names_take_their_account_only_from_the_callers_loaded_secrets() {
        let (cache, _rule) = cache_answering(&format!("{OWN}prod/db-AbCdEf"), true);
        let cross_account = format!("{OTHER}shared/key-AbCdEf");
        let err = policy(&cache, &[&cross_account, "prod/db", "prod/cache"])
            .expect_err("an ARN of another account says nothing about the caller's");
        assert!(
            matches!(&err, Error::Config { message } if message.contains("load the struct")),
            "{err:?}"
        );
        cache.get("prod/db").await.expect("load");
        let loaded = policy(&cache, &[&cross_account, "prod/db", "prod/cache"]).expect("policy");
        assert_eq!(
            loaded.resources(),
            [
                format!("{OWN}prod/cache-??????"),
                format!("{OWN}prod/db-AbCdEf"),
                cross_account,
            ]
        );
    }

    #[tokio::test]
    async fn the_policy_allows_batches_exactly_when_the_cache_makes_them() {
        let json =
            |p: &IamPolicy| serde_json::from_str::<serde_json::Value>(&p.to_json()).expect("json");
        let id = format!("{OWN}a-AbCdEf");
        let (batching, _rule) = cache_answering(&id, true);
        let doc = json(&policy(&batching, &[&id]).expect("policy"));
        assert_eq!(doc["Statement"].as_array().map(Vec::len), Some(2));
        assert_eq!(
            doc["Statement"][1]["Action"][0], "secretsmanager:BatchGetSecretValue",
            "a cache that batches needs the batch action"
        );
        assert_eq!(doc["Statement"][0]["Resource"][0], id.as_str());
        let (single, _rule) = cache_answering(&id, false);
        let by_default = SecretCache::new(single.client().cloned().expect("an SDK cache"));
        for cache in [&single, &by_default] {
            let doc = json(&policy(cache, &[&id]).expect("policy"));
            assert_eq!(doc["Statement"].as_array().map(Vec::len), Some(1));
            assert!(
                !doc.to_string().contains("BatchGetSecretValue")
                    && !doc.to_string().contains("\"*\""),
                "the default cache does not batch: no `Resource: \"*\"`: {doc}"
            );
        }
    }

    #[test]
    fn partitions_follow_the_region() {
        assert_eq!(partition("cn-north-1"), "aws-cn");
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition("us-isob-east-1"), "aws-iso-b");
        assert_eq!(partition("eusc-de-east-1"), "aws-eusc");
        assert_eq!(partition("eu-west-1"), "aws");
    }
}
