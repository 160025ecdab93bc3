//! The error catalogue: every failure is typed, says what to do, and carries no secret value.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

mod parameter;
mod sdk;

pub(crate) use sdk::{
    AssumeRoleFailure, Operation, from_code, from_sdk, is_throttling, names_missing_value,
    value_missing,
};

/// Everything that can go wrong reading a secret.
///
/// Each variant's `Display` names the secret (id, never value) and the fix. None of them holds
/// a secret value or a fragment of one: parser messages, which quote their input, are dropped,
/// and service responses are reduced to their error code.
///
/// `Debug` prints the variant's name and its `Display` (what happened and what to do), so
/// `fn main() -> Result<(), Error>` and `.unwrap()` show the fix too.
#[derive(Clone)]
#[non_exhaustive]
pub enum Error {
    /// The caller's IAM identity may not perform `action` on the secret.
    AccessDenied {
        /// The secret id or ARN asked for.
        secret_id: String,
        /// The IAM action that was denied, e.g. `secretsmanager:GetSecretValue`.
        action: &'static str,
    },
    /// No secret with this id exists in this account and region.
    NotFound {
        /// The secret id or ARN asked for.
        secret_id: String,
    },
    /// The secret has no version with this staging label or id (or, the service does not say
    /// which, no such secret exists). At `AWSCURRENT`, the secret exists but holds no value:
    /// it was created without one, or a rotation did not finish.
    VersionNotFound {
        /// The secret id or ARN asked for.
        secret_id: String,
        /// The version asked for.
        version: crate::Version,
    },
    /// The service throttled the request.
    Throttled {
        /// The secret id or ARN asked for.
        secret_id: String,
        /// The throttled API action.
        action: &'static str,
    },
    /// Secrets Manager could not decrypt the secret with its KMS key.
    Decryption {
        /// The secret id or ARN asked for.
        secret_id: String,
    },
    /// The service refused the request as invalid (a secret scheduled for deletion, a version
    /// stage or id that does not exist).
    InvalidRequest {
        /// The secret id or ARN asked for.
        secret_id: String,
        /// The service's error code.
        code: String,
    },
    /// The JSON secret has no such key.
    MissingKey {
        /// The secret id or ARN.
        secret_id: String,
        /// The missing key.
        key: String,
        /// The struct field that maps it, when loading a derived struct.
        field: Option<String>,
    },
    /// The secret's string is not a JSON object, but a key inside it was asked for.
    NotJson {
        /// The secret id or ARN.
        secret_id: String,
    },
    /// A value has another type than its field expects.
    WrongType {
        /// The secret id or ARN.
        secret_id: String,
        /// The JSON key, if one was read.
        key: Option<String>,
        /// The struct field, when loading a derived struct.
        field: Option<String>,
        /// The type the field expects.
        expected: &'static str,
        /// What was found: a JSON kind (`"string"`, `"object"`…) or `SecretString`/`SecretBinary`.
        found: &'static str,
    },
    /// The secret is larger than the service's 64 KiB limit: a malformed response, or a mounted
    /// file that is not the secret.
    TooLarge {
        /// The secret id or ARN.
        secret_id: String,
        /// Its size in bytes.
        bytes: usize,
    },
    /// A `${VAR}` placeholder in a secret id has no value.
    UnresolvedPlaceholder {
        /// The variable's name.
        variable: String,
        /// The field whose id uses it.
        field: String,
    },
    /// Refreshes kept failing and the cached value is older than `max_staleness`.
    ///
    /// `Display` includes the last failure (it says what to fix), so, by the convention of
    /// `std::error::Error`, `source()` does not return it as well: an `anyhow`/`eyre` chain
    /// shows it once. The failure itself is the `last_failure` field.
    Stale {
        /// The secret id or ARN.
        secret_id: String,
        /// How old the last good value is.
        age: Duration,
        /// The most recent refresh failure.
        last_failure: Box<Error>,
    },
    /// [`SecretCache::invalidate`](crate::SecretCache::invalidate) dropped the secret while a
    /// struct was being loaded from it, so the load has no value to build from. Loading again
    /// fetches it anew.
    Invalidated {
        /// The secret id or ARN that was invalidated.
        secret_id: String,
    },
    /// The request did not get a usable answer: timeout, connection failure, or a response
    /// that could not be parsed.
    Transport {
        /// The secret id or ARN asked for.
        secret_id: String,
        /// What went wrong.
        kind: TransportKind,
        /// The connector's own description, for connection failures (never response content).
        detail: Option<Arc<str>>,
    },
    /// The client has no usable AWS credentials: no provider of its chain found any, or one
    /// is misconfigured. Nothing was sent. Persistent when no provider is configured
    /// (`is_transient` is false, and the first load fails at once); transient when a provider
    /// timed out or failed on its way (an STS or IMDS call).
    Credentials {
        /// The secret id or ARN the read was for.
        secret_id: String,
        /// What the credentials chain said, for the kinds whose text names only providers,
        /// variables and files (never a key).
        detail: Option<Arc<str>>,
        /// Whether a retry may find credentials (a provider timed out or failed).
        transient: bool,
    },
    /// The cache's own credentials may not assume `role` (STS `AssumeRole` was denied), the
    /// role a read of the secret goes through: the role's trust policy does not trust the
    /// caller, or the caller's policy does not allow `sts:AssumeRole` on it. Persistent: a
    /// first load answers it from memory, and the role is not asked again before
    /// `denial_retry` (see [`SecretCache::as_role`](crate::SecretCache::as_role)).
    RoleDenied {
        /// The secret id or ARN the read was for.
        secret_id: String,
        /// The role's ARN.
        role: String,
    },
    /// Any other service error, identified by its code (e.g. `InternalServiceError`).
    Service {
        /// The secret id or ARN asked for.
        secret_id: String,
        /// The service's error code, or the HTTP status when it sent none.
        code: String,
    },
    /// The cache's TTL for a secret is not below the secret's rotation interval (its
    /// `RotationRules`), so a rotated value could be missed until the old one stops working.
    /// Reported by loads in [`RotationGuardrail::Strict`](crate::RotationGuardrail::Strict)
    /// mode; logged as a warning otherwise.
    TtlNotBelowRotation {
        /// The secret id or ARN.
        secret_id: String,
        /// The TTL the cache uses for it.
        ttl: Duration,
        /// The secret's rotation interval.
        rotation: Duration,
    },
    /// The cache could not be built or was given an invalid setting.
    Config {
        /// What is wrong.
        message: String,
    },
    /// A secret mounted as a file (the Secrets Store CSI driver, an External Secrets Operator
    /// volume) could not be read; see `FileSource` (feature `files`).
    Mount {
        /// The secret id or ARN asked for.
        secret_id: String,
        /// The file (or mount directory) that could not be read.
        path: String,
        /// What is wrong with it.
        problem: MountProblem,
    },
    /// Code the struct's fields run while it is built (a custom [`SecretField`] or
    /// `Deserialize` implementation) panicked inside a live handle's refresh task. The task
    /// keeps serving the last good snapshot.
    ///
    /// [`SecretField`]: crate::SecretField
    Panicked {
        /// The settings struct being built.
        settings: &'static str,
    },
}

/// The kinds of [`Error::Transport`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportKind {
    /// The request or a connection attempt timed out.
    Timeout,
    /// The endpoint could not be reached (refused, reset, DNS).
    Connection,
    /// The response could not be parsed.
    MalformedResponse,
    /// Any other dispatch failure.
    Other,
}

/// The kinds of [`Error::Mount`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MountProblem {
    /// No such file (or directory): a name that maps to no file, or a file missing during a
    /// rotation (a torn write).
    Missing,
    /// The path, or a symlink on it, resolves outside the mount directory; it is not followed.
    OutsideMount,
    /// The path is not a regular file (a directory, a device).
    NotAFile,
    /// The file could not be read (permissions, I/O), or a split key file is not UTF-8.
    Unreadable,
    /// Only the current version is mounted; another stage or version id was asked for.
    OtherVersion,
}

impl MountProblem {
    fn describe(self) -> &'static str {
        match self {
            Self::Missing => "no such file",
            Self::OutsideMount => "it resolves outside the mount directory, so it is not followed",
            Self::NotAFile => "not a regular file",
            Self::Unreadable => "it could not be read",
            Self::OtherVersion => "only the current version of a secret is mounted",
        }
    }
}

/// The `secret_id` field of an error, if it has one.
macro_rules! secret_id_of {
    ($error:expr) => {
        match $error {
            Self::AccessDenied { secret_id, .. }
            | Self::NotFound { secret_id }
            | Self::VersionNotFound { secret_id, .. }
            | Self::Throttled { secret_id, .. }
            | Self::Decryption { secret_id }
            | Self::InvalidRequest { secret_id, .. }
            | Self::MissingKey { secret_id, .. }
            | Self::NotJson { secret_id }
            | Self::WrongType { secret_id, .. }
            | Self::TooLarge { secret_id, .. }
            | Self::Stale { secret_id, .. }
            | Self::Invalidated { secret_id }
            | Self::Transport { secret_id, .. }
            | Self::Credentials { secret_id, .. }
            | Self::RoleDenied { secret_id, .. }
            | Self::Service { secret_id, .. }
            | Self::TtlNotBelowRotation { secret_id, .. }
            | Self::Mount { secret_id, .. } => Some(secret_id),
            Self::UnresolvedPlaceholder { .. } | Self::Config { .. } | Self::Panicked { .. } => {
                None
            }
        }
    };
}

impl Error {
    /// The variant's name, for `Debug`.
    fn variant(&self) -> &'static str {
        match self {
            Self::AccessDenied { .. } => "AccessDenied",
            Self::NotFound { .. } => "NotFound",
            Self::VersionNotFound { .. } => "VersionNotFound",
            Self::Throttled { .. } => "Throttled",
            Self::Decryption { .. } => "Decryption",
            Self::InvalidRequest { .. } => "InvalidRequest",
            Self::MissingKey { .. } => "MissingKey",
            Self::NotJson { .. } => "NotJson",
            Self::WrongType { .. } => "WrongType",
            Self::TooLarge { .. } => "TooLarge",
            Self::UnresolvedPlaceholder { .. } => "UnresolvedPlaceholder",
            Self::Stale { .. } => "Stale",
            Self::Invalidated { .. } => "Invalidated",
            Self::Transport { .. } => "Transport",
            Self::Credentials { .. } => "Credentials",
            Self::RoleDenied { .. } => "RoleDenied",
            Self::Service { .. } => "Service",
            Self::TtlNotBelowRotation { .. } => "TtlNotBelowRotation",
            Self::Config { .. } => "Config",
            Self::Mount { .. } => "Mount",
            Self::Panicked { .. } => "Panicked",
        }
    }

    /// Whether retrying later may succeed: throttling, timeouts, connection failures and
    /// service-side (5xx) errors. Refreshes back off and retry these; others are reported.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Throttled { .. }
            | Self::Transport { .. }
            | Self::Service { .. }
            | Self::Invalidated { .. } => true,
            Self::Stale { last_failure, .. } => last_failure.is_transient(),
            Self::Credentials { transient, .. } => *transient,
            _ => false,
        }
    }

    /// This error, about `id` instead (a call about several ids failed as a whole).
    pub(crate) fn about(mut self, id: &str) -> Self {
        if let Some(secret_id) = secret_id_of!(&mut self) {
            id.clone_into(secret_id);
        }
        self
    }

    /// The secret id this error is about, when it is about one.
    pub fn secret_id(&self) -> Option<&str> {
        secret_id_of!(self).map(String::as_str)
    }

    /// The variant's name (`"Throttled"`, `"AccessDenied"`…): a stable, value-free label for
    /// metrics (`error.type`), health pages and alerts.
    pub fn kind(&self) -> &'static str {
        self.variant()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(done) = self.fmt_parameter(f) {
            return done;
        }
        match self {
            Self::AccessDenied { secret_id, action } => write!(
                f,
                "access denied: `{action}` on secret `{secret_id}`; grant the role `{action}` \
                 on exactly this ARN (and `kms:Decrypt` on its key if it uses a customer-managed \
                 key); `AwsSecrets::iam_policy` prints the statement"
            ),
            Self::NotFound { secret_id } => write!(
                f,
                "secret `{secret_id}` not found; check the name or ARN, the region the client \
                 uses, and the account of the credentials"
            ),
            Self::VersionNotFound { secret_id, version } if version.is_current() => write!(
                f,
                "secret `{secret_id}` exists but has no value at `AWSCURRENT`: it was created \
                 without one, or a rotation did not finish; store one (`aws secretsmanager \
                 put-secret-value --secret-id {secret_id} --secret-string …`) or finish the \
                 rotation"
            ),
            Self::VersionNotFound { secret_id, version } => {
                let (what, key) = match version {
                    crate::Version::Stage(stage) => {
                        (format!("staging label `{stage}`"), "version_stage")
                    }
                    crate::Version::Id(id) => (format!("version id `{id}`"), "version_id"),
                };
                write!(
                    f,
                    "secret `{secret_id}` has no version with {what}; check `{key}` (the \
                     secret's versions: `aws secretsmanager list-secret-version-ids --secret-id \
                     {secret_id}`), and if the secret itself is missing, its name, region and \
                     account"
                )
            }
            Self::Throttled { secret_id, action } => write!(
                f,
                "`{action}` throttled while reading `{secret_id}`; too many calls: is every \
                 reader sharing one cache, and is the TTL in the minutes?"
            ),
            Self::Decryption { secret_id } => write!(
                f,
                "Secrets Manager could not decrypt `{secret_id}`; the KMS key policy must allow \
                 this role `kms:Decrypt`, and the key must be enabled"
            ),
            Self::InvalidRequest { secret_id, code } => write!(
                f,
                "request for `{secret_id}` refused ({code}); the secret may be scheduled for \
                 deletion (restore it with `aws secretsmanager restore-secret`), or the \
                 requested version stage or id does not exist"
            ),
            Self::MissingKey {
                secret_id,
                key,
                field,
            } => {
                write!(f, "secret `{secret_id}` has no JSON key `{key}`")?;
                if let Some(field) = field {
                    write!(f, " (for field `{field}`)")?;
                }
                f.write_str("; add the key to the secret, fix the `key = \"…\"` mapping, or make the field an `Option`")
            }
            Self::NotJson { secret_id } => write!(
                f,
                "secret `{secret_id}` is not a JSON object, so no key can be read from it; \
                 store key/value JSON, or map the whole secret to one field without `key`"
            ),
            Self::WrongType {
                secret_id,
                key,
                field,
                expected,
                found,
            } => {
                write!(f, "secret `{secret_id}`")?;
                if let Some(key) = key {
                    write!(f, " key `{key}`")?;
                }
                write!(f, " holds {found}, but ")?;
                match field {
                    Some(field) => write!(f, "field `{field}` expects {expected}")?,
                    None => write!(f, "{expected} was expected")?,
                }
                f.write_str("; change the field's type or the stored value")
            }
            Self::TooLarge { secret_id, bytes } => write!(
                f,
                "secret `{secret_id}` is {bytes} bytes, over the 64 KiB Secrets Manager limit, \
                 so what was read is not the secret: for a mounted file, check which file the \
                 id maps to (`FileSource::file_name`; the SecretProviderClass's objectName or \
                 objectAlias); for an endpoint, check that it is Secrets Manager or its agent"
            ),
            Self::UnresolvedPlaceholder { variable, field } => write!(
                f,
                "placeholder `${{{variable}}}` in the secret id of field `{field}` has no value; \
                 set the environment variable `{variable}` or pass it with `Vars::set`"
            ),
            Self::Stale {
                secret_id,
                age,
                last_failure,
            } => write!(
                f,
                "cached value of `{secret_id}` is {}s old, past `max_staleness`, and refreshing \
                 it fails: {last_failure}",
                age.as_secs()
            ),
            Self::Invalidated { secret_id } => write!(
                f,
                "secret `{secret_id}` was invalidated (`SecretCache::invalidate`) while a struct \
                 was loaded from it; load the struct again"
            ),
            Self::Transport {
                secret_id,
                kind,
                detail,
            } => {
                let what = match kind {
                    // No detail: one of the cache's own deadlines passed.
                    TransportKind::Timeout if detail.is_none() => {
                        "timed out (no answer within `attempt_timeout` per attempt and \
                         `call_timeout` per call)"
                    }
                    TransportKind::Timeout => "timed out",
                    TransportKind::Connection => "could not connect",
                    TransportKind::MalformedResponse => "got a response it could not parse",
                    TransportKind::Other => "failed to send the request",
                };
                write!(f, "reading `{secret_id}` {what}")?;
                if let Some(detail) = detail {
                    write!(f, " ({detail})")?;
                }
                f.write_str("; check network access to the Secrets Manager endpoint (VPC endpoint, proxy, `AWS_ENDPOINT_URL`)")
            }
            Self::Credentials {
                secret_id, detail, ..
            } => {
                write!(f, "no AWS credentials to read `{secret_id}`")?;
                if let Some(detail) = detail {
                    write!(f, " ({detail})")?;
                }
                f.write_str(
                    "; give the process credentials through one of the default chain's \
                     providers: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile \
                     (AWS_PROFILE; `aws sso login` for SSO, with asm-runtime's default feature `sso`), a web identity token \
                     (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN: EKS IRSA, CI OIDC), or a \
                     role of the ECS task or EC2 instance",
                )
            }
            Self::RoleDenied { secret_id, role } => write!(
                f,
                "access denied: the cache's credentials may not assume role `{role}` \
                 (`sts:AssumeRole`) to read `{secret_id}`; allow `sts:AssumeRole` on exactly \
                 this role in the caller's IAM policy, and trust the caller in the role's \
                 trust policy (`AwsSecrets::iam_policies` prints the caller's side)"
            ),
            Self::Service { secret_id, code } => write!(
                f,
                "Secrets Manager failed reading `{secret_id}` ({code}); this is usually \
                 transient and retried with backoff"
            ),
            Self::TtlNotBelowRotation {
                secret_id,
                ttl,
                rotation,
            } => write!(
                f,
                "the cache TTL of `{secret_id}` ({}s) is not below its rotation interval ({}s); \
                 lower the TTL (`SecretCacheBuilder::ttl` or `#[aws_secrets(ttl = \"…\")]`) so \
                 a rotated value is picked up while the previous one still works",
                ttl.as_secs(),
                rotation.as_secs()
            ),
            Self::Config { message } => write!(f, "invalid cache configuration: {message}"),
            Self::Mount {
                secret_id,
                path,
                problem,
            } => write!(
                f,
                "reading `{secret_id}` from the mounted file `{path}` failed: {}; check the \
                 volume's SecretProviderClass (objectName, objectAlias) against the file name \
                 `FileSource::file_name` gives",
                problem.describe()
            ),
            Self::Panicked { settings } => write!(
                f,
                "building `{settings}` panicked in a field's `SecretField` or `Deserialize` \
                 code; the last good snapshot is kept (the panic's message is not repeated: it \
                 may quote a value); fix that implementation"
            ),
        }
    }
}

impl Error {
    /// No answer within the deadlines: one error, one wording, whichever deadline passed (the
    /// SDK's per-attempt or per-call limit, the cache's call deadline, a fetch round's).
    pub(crate) fn timed_out(secret_id: &str) -> Self {
        Self::Transport {
            secret_id: secret_id.to_owned(),
            kind: TransportKind::Timeout,
            detail: None,
        }
    }

    /// The one rule for every TTL in force (the cache's `ttl`, a struct's or field's
    /// `#[aws_secrets(ttl)]`): at most `max_staleness`, or a value would be served past it
    /// before its refresh was even due. `whose` says which TTL.
    pub(crate) fn ttl_above_max_staleness(whose: &str, ttl: Duration, max: Duration) -> Self {
        Self::Config {
            message: format!(
                "{whose} is {ttl:?}, above max_staleness ({max:?}): a value would be served \
                 past max_staleness before it is refreshed; lower the ttl, or raise \
                 `SecretCacheBuilder::max_staleness` to at least the ttl"
            ),
        }
    }

    /// A not-found answer to a request for `version`: when that is not `AWSCURRENT`, the
    /// version is what is most likely missing, and the error says so.
    pub(crate) fn for_version(self, version: &crate::Version) -> Self {
        if version.is_current() {
            self
        } else {
            self.version_missing(version)
        }
    }

    /// A not-found answer that the service said is about `version`, not the secret: the
    /// secret exists and has no value there.
    pub(crate) fn version_missing(self, version: &crate::Version) -> Self {
        match self {
            Self::NotFound { secret_id } => Self::VersionNotFound {
                secret_id,
                version: version.clone(),
            },
            other => other,
        }
    }
}

impl fmt::Debug for Error {
    /// `Transport(reading `prod/db` timed out …; check …)`: the variant and the message with
    /// its fix. Neither holds a value, as for `Display`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({self})", self.variant())
    }
}

/// No variant has a `source()`: the one that wraps another error, [`Error::Stale`], prints it
/// in its `Display`.
impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every message in an error's `source()` chain, as `anyhow`'s `{:#}` prints them.
    fn chain(err: &Error) -> String {
        let mut out = err.to_string();
        let mut next = std::error::Error::source(err);
        while let Some(cause) = next {
            out.push_str(": ");
            out.push_str(&cause.to_string());
            next = cause.source();
        }
        out
    }

    #[test]
    fn debug_keeps_the_fix() {
        let err = Error::NotFound {
            secret_id: "prod/db".into(),
        };
        let debug = format!("{err:?}");
        assert!(debug.starts_with("NotFound("), "{debug}");
        assert!(debug.contains(&err.to_string()), "{debug}");
        assert!(debug.contains("check the name or ARN"), "{debug}");
    }

    #[test]
    fn a_stale_errors_last_failure_is_shown_once_in_a_chain() {
        let last = Error::Throttled {
            secret_id: "prod/db".into(),
            action: "secretsmanager:GetSecretValue",
        };
        let stale = Error::Stale {
            secret_id: "prod/db".into(),
            age: Duration::from_secs(4_000),
            last_failure: Box::new(last.clone()),
        };
        let shown = chain(&stale);
        assert_eq!(shown.matches(&last.to_string()).count(), 1, "{shown}");
        assert!(shown.contains("4000s old"), "{shown}");
    }
}
