//! What an error says when it is about a Parameter Store parameter: the same variants as for a
//! secret (so the cache tells transient from persistent failures the same way), with the fix
//! Parameter Store needs.

use std::fmt;

use super::Error;
use crate::Version;
use crate::parameter::is_parameter;

impl Error {
    /// The message of an error about a parameter, where it differs from a secret's; `None`
    /// for any other error.
    pub(super) fn fmt_parameter(&self, f: &mut fmt::Formatter<'_>) -> Option<fmt::Result> {
        let id = self.secret_id().filter(|id| is_parameter(id))?;
        let name = id.strip_prefix(crate::parameter::PREFIX).unwrap_or(id);
        Some(match self {
            Self::AccessDenied { action, .. } => write!(
                f,
                "access denied: `{action}` on parameter `{id}`; grant the role `{action}` on \
                 exactly this parameter's ARN (and `kms:Decrypt` on its key for a \
                 SecureString under a customer-managed key; for \
                 `/aws/reference/secretsmanager/…`, `secretsmanager:GetSecretValue` on the \
                 secret); `AwsSecrets::iam_policy` prints the statements"
            ),
            Self::NotFound { .. } => write!(
                f,
                "parameter `{id}` not found; check its name (case matters, and a hierarchical \
                 name starts with `/`), the region the client uses, and the account of the \
                 credentials (`aws ssm get-parameter --name {name}`)"
            ),
            Self::VersionNotFound { version, .. } => {
                let what = match version {
                    Version::Id(number) => format!("version {number}"),
                    Version::Stage(label) => format!("label `{label}`"),
                };
                write!(
                    f,
                    "parameter `{id}` has no {what}; check the selector (the parameter's \
                     versions and labels: `aws ssm get-parameter-history --name {name}`), and \
                     if the parameter itself is missing, its name, region and account"
                )
            }
            Self::Decryption { .. } => write!(
                f,
                "parameter `{id}` is a SecureString that could not be decrypted; allow this \
                 role `kms:Decrypt` on its KMS key (the key policy and the role's policy), and \
                 check that the key is enabled"
            ),
            Self::InvalidRequest { code, .. } => write!(
                f,
                "Parameter Store refused the request for `{id}` ({code}); check the name and \
                 the version or label asked for"
            ),
            Self::Throttled { action, .. } => write!(
                f,
                "`{action}` throttled while reading `{id}`; Parameter Store allows 40 calls/s \
                 per account and region by default (shared by `GetParameter` and \
                 `GetParameters`): is every reader sharing one cache, is the TTL in the \
                 minutes, or does the account need higher throughput?"
            ),
            Self::Service { code, .. } => write!(
                f,
                "Parameter Store failed reading `{id}` ({code}); this is usually transient and \
                 retried with backoff"
            ),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::error::{Operation, from_code};
    use crate::{Error, Version};

    #[test]
    fn parameter_errors_name_the_parameter_and_the_fix() {
        let id = "ssm:/prod/db-host";
        let op = Operation::GetParameter;
        let cases = [
            (
                from_code("AccessDeniedException", id, op),
                "`ssm:GetParameter` on parameter",
            ),
            (
                from_code("ParameterNotFound", id, op),
                "aws ssm get-parameter --name /prod/db-host",
            ),
            (
                from_code("ParameterVersionNotFound", id, op).for_version(&Version::id("3")),
                "has no version 3",
            ),
            (
                from_code("ParameterNotFound", id, op).for_version(&Version::stage("blue")),
                "has no label `blue`",
            ),
            (
                from_code("InvalidKeyId", id, op),
                "`kms:Decrypt` on its KMS key",
            ),
            (from_code("ThrottlingException", id, op), "40 calls/s"),
            (
                from_code("InternalServerError", id, op),
                "Parameter Store failed",
            ),
        ];
        for (err, expected) in cases {
            assert!(err.to_string().contains(expected), "{err}");
        }
        let secret = from_code(
            "ResourceNotFoundException",
            "prod/db",
            Operation::GetSecretValue,
        );
        assert!(secret.to_string().starts_with("secret `prod/db` not found"));
        assert!(!from_code("ParameterNotFound", id, op).is_transient());
        assert!(matches!(
            from_code("ParameterVersionNotFound", id, op).for_version(&Version::id("3")),
            Error::VersionNotFound { .. }
        ));
    }
}
