//! [`IamPolicies`]: one policy per principal a struct reads as.

use std::fmt;

use super::IamPolicy;

/// The least-privilege policies of a struct that reads secrets as several principals: the
/// cache's own credentials (the *caller*), and each IAM role some of its fields name
/// (`role = "…"`).
///
/// - The caller's policy grants its own secrets, and `sts:AssumeRole` on exactly the roles
///   read as (attach it to the process's own role);
/// - each role's policy grants exactly the secrets read as that role (attach it to the role,
///   whose trust policy must trust the caller: see the README's "A role per secret").
///
/// A struct without roles has the caller's policy only, the one
/// [`AwsSecrets::iam_policy`](crate::AwsSecrets::iam_policy) returns.
///
/// # Examples
/// ```
/// # fn f(policies: asm_runtime::IamPolicies) {
/// println!("{}", policies.caller()); // for the process's role
/// for (role, policy) in policies.roles() {
///     println!("{role}:\n{policy}"); // for each role it assumes
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamPolicies {
    caller: IamPolicy,
    /// Each role and its policy, sorted by role.
    roles: Vec<(String, IamPolicy)>,
}

impl IamPolicies {
    /// `caller`'s policy (made to allow assuming every role of `roles`) and each role's.
    pub(crate) fn new(caller: IamPolicy, mut roles: Vec<(String, IamPolicy)>) -> Self {
        roles.sort_by(|a, b| a.0.cmp(&b.0));
        let caller = caller.assuming(roles.iter().map(|(role, _)| role.clone()));
        Self { caller, roles }
    }

    /// The policy of the cache's own credentials.
    pub fn caller(&self) -> &IamPolicy {
        &self.caller
    }

    /// The policy of `role`, if the struct reads as it.
    pub fn role(&self, role: &str) -> Option<&IamPolicy> {
        self.roles.iter().find(|(r, _)| r == role).map(|(_, p)| p)
    }

    /// Each role the struct reads as, and its policy, sorted by role.
    pub fn roles(&self) -> impl Iterator<Item = (&str, &IamPolicy)> {
        self.roles
            .iter()
            .map(|(role, policy)| (role.as_str(), policy))
    }

    /// Every policy as one JSON object: `{"caller": {…}, "roles": {"arn:…": {…}}}`.
    pub fn to_json(&self) -> String {
        let document = |policy: &IamPolicy| {
            serde_json::from_str::<serde_json::Value>(&policy.to_json()).unwrap_or_default()
        };
        let roles: serde_json::Map<String, serde_json::Value> = (self.roles.iter())
            .map(|(role, policy)| (role.clone(), document(policy)))
            .collect();
        let all = serde_json::json!({"caller": document(&self.caller), "roles": roles});
        serde_json::to_string_pretty(&all).unwrap_or_default()
    }
}

impl fmt::Display for IamPolicies {
    /// Each policy under a line saying whose it is.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "# the cache's own credentials (the process's role)")?;
        write!(f, "{}", self.caller)?;
        for (role, policy) in &self.roles {
            write!(f, "\n# role {role}\n{policy}")?;
        }
        Ok(())
    }
}
