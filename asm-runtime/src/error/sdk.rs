//! Mapping SDK failures onto [`Error`], by service error code.
//!
//! `AccessDeniedException` and `ThrottlingException` are not modelled errors in the Rust SDK,
//! so matching is on `ProvideErrorMetadata::code()`, never on enum variants.

use std::fmt;
use std::sync::Arc;

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sts::operation::assume_role::AssumeRoleError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use super::{Error, TransportKind};

/// The API actions the cache calls, named as IAM names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    GetSecretValue,
    BatchGetSecretValue,
    DescribeSecret,
    /// Parameter Store's `GetParameter`.
    GetParameter,
    /// Parameter Store's `GetParameters` (up to ten parameters a call).
    GetParameters,
}

impl Operation {
    /// The action that reads `id`'s value: `GetParameter` for a parameter, `GetSecretValue`
    /// for a secret.
    pub(crate) fn get(id: &str) -> Self {
        if crate::parameter::is_parameter(id) {
            Self::GetParameter
        } else {
            Self::GetSecretValue
        }
    }

    pub(crate) fn iam_action(self) -> &'static str {
        match self {
            Self::GetSecretValue => "secretsmanager:GetSecretValue",
            Self::BatchGetSecretValue => "secretsmanager:BatchGetSecretValue",
            Self::DescribeSecret => "secretsmanager:DescribeSecret",
            Self::GetParameter => "ssm:GetParameter",
            Self::GetParameters => "ssm:GetParameters",
        }
    }

    /// The action whose quota (and so whose pacer) this one's calls count against:
    /// Parameter Store's reads share one.
    pub(crate) fn quota(self) -> Self {
        match self {
            Self::GetParameters => Self::GetParameter,
            op => op,
        }
    }

    /// Whether a failover region can answer it: Secrets Manager replicates secrets to other
    /// regions; Parameter Store has no replicas.
    pub(crate) fn has_replicas(self) -> bool {
        !matches!(self, Self::GetParameter | Self::GetParameters)
    }
}

/// Whether a service error code says the request was throttled.
pub(crate) fn is_throttling(code: &str) -> bool {
    matches!(
        code,
        "ThrottlingException" | "TooManyRequestsException" | "RequestLimitExceeded" | "Throttling"
    )
}

/// Maps a service error code (from a response or a batch `Errors[]` entry).
pub(crate) fn from_code(code: &str, secret_id: &str, op: Operation) -> Error {
    let secret_id = secret_id.to_owned();
    match code {
        "AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation" => Error::AccessDenied {
            secret_id,
            action: op.iam_action(),
        },
        // Parameter Store: a version or label that does not exist is relabelled by the cache for
        // the version asked (`Error::for_version`).
        "ResourceNotFoundException" | "ParameterNotFound" | "ParameterVersionNotFound" => {
            Error::NotFound { secret_id }
        }
        code if is_throttling(code) => Error::Throttled {
            secret_id,
            action: op.iam_action(),
        },
        "DecryptionFailure" | "InvalidKeyId" => Error::Decryption { secret_id },
        "InvalidRequestException" | "InvalidParameterException" | "ValidationException" => {
            Error::InvalidRequest {
                secret_id,
                code: code.to_owned(),
            }
        }
        other => Error::Service {
            secret_id,
            code: other.to_owned(),
        },
    }
}

/// Maps a response that carried no error code, by its HTTP status.
fn from_status(status: u16, secret_id: &str, op: Operation) -> Error {
    let code = match status {
        403 => "AccessDeniedException",
        404 => "ResourceNotFoundException",
        429 => "ThrottlingException",
        // A success status whose body could not be read as an answer.
        200..=299 => {
            return Error::Transport {
                secret_id: secret_id.to_owned(),
                kind: TransportKind::MalformedResponse,
                detail: None,
            };
        }
        _ => {
            return Error::Service {
                secret_id: secret_id.to_owned(),
                code: format!("HTTP {status}"),
            };
        }
    };
    from_code(code, secret_id, op)
}

/// Maps any SDK failure. Response bodies and service messages are never kept.
pub(crate) fn from_sdk<E>(err: &SdkError<E, HttpResponse>, secret_id: &str, op: Operation) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let transport = |kind, detail: Option<String>| Error::Transport {
        secret_id: secret_id.to_owned(),
        kind,
        detail: detail.map(Into::into),
    };
    if let Some(credentials) = credentials_error(err, secret_id) {
        return credentials;
    }
    match err {
        SdkError::ServiceError(service) => match service.err().code() {
            Some(code) => from_code(code, secret_id, op),
            None => from_status(service.raw().status().as_u16(), secret_id, op),
        },
        SdkError::TimeoutError(_) => Error::timed_out(secret_id),
        SdkError::DispatchFailure(failure) if failure.is_timeout() => Error::timed_out(secret_id),
        SdkError::DispatchFailure(failure) => {
            let kind = if failure.is_io() {
                TransportKind::Connection
            } else {
                TransportKind::Other
            };
            let detail = failure.as_connector_error().map(|e| connector_detail(e));
            transport(kind, detail)
        }
        SdkError::ResponseError(_) => transport(TransportKind::MalformedResponse, None),
        SdkError::ConstructionFailure(_) => Error::Config {
            message: format!("the SDK could not build the {op:?} request for `{secret_id}`"),
        },
        _ => transport(TransportKind::Other, None),
    }
}

/// The IAM action a role's credentials need from the caller.
const ASSUME_ROLE: &str = "sts:AssumeRole";

/// Why the credentials of a role (STS `AssumeRole`, sourced from the cache's own credentials)
/// could not be had: the role, STS's error code, and whether a retry may succeed. Nothing
/// else of STS's answer is kept (its message names principals and policies).
#[derive(Debug, Clone)]
pub(crate) struct AssumeRoleFailure {
    role: Arc<str>,
    code: Option<Box<str>>,
    transient: bool,
}

impl AssumeRoleFailure {
    /// What `err`, the failure of the `AssumeRole` provider of `role`, says.
    pub(crate) fn new(role: &Arc<str>, err: &CredentialsError) -> Self {
        let transient = !matches!(
            err,
            CredentialsError::CredentialsNotLoaded(_) | CredentialsError::InvalidConfiguration(_)
        );
        Self {
            role: Arc::clone(role),
            code: sts_code(err).map(Into::into),
            transient,
        }
    }

    /// The cache's error for a read of `secret_id` that needed these credentials.
    fn to_error(&self, secret_id: &str) -> Error {
        let role = self.role.to_string();
        match self.code.as_deref() {
            Some("AccessDenied" | "AccessDeniedException") => Error::RoleDenied {
                secret_id: secret_id.to_owned(),
                role,
            },
            Some(code) if is_throttling(code) => Error::Throttled {
                secret_id: secret_id.to_owned(),
                action: ASSUME_ROLE,
            },
            code => Error::Credentials {
                secret_id: secret_id.to_owned(),
                detail: Some(
                    format!(
                        "`{ASSUME_ROLE}` on `{role}` failed ({})",
                        code.unwrap_or("no answer from STS")
                    )
                    .into(),
                ),
                transient: self.transient,
            },
        }
    }
}

impl fmt::Display for AssumeRoleFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{ASSUME_ROLE}` on `{}` failed", self.role)?;
        match &self.code {
            Some(code) => write!(f, " ({code})"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for AssumeRoleFailure {}

/// STS's error code in the cause chain of an `AssumeRole` provider's failure.
fn sts_code(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cause = Some(err);
    while let Some(current) = cause {
        if let Some(sts) = current.downcast_ref::<SdkError<AssumeRoleError, HttpResponse>>() {
            return match sts {
                SdkError::ServiceError(service) => Some(
                    service
                        .err()
                        .code()
                        .map_or_else(|| format!("HTTP {}", service.raw().status()), str::to_owned),
                ),
                SdkError::TimeoutError(_) => Some("timeout".to_owned()),
                SdkError::DispatchFailure(_) => Some("STS unreachable".to_owned()),
                _ => None,
            };
        }
        cause = current.source();
    }
    None
}

/// [`Error::Credentials`], when a failure's cause is the credentials provider (the SDK reports
/// it as a failure to dispatch: nothing was sent); the role's errors when it is a role's.
fn credentials_error(err: &(dyn std::error::Error + 'static), secret_id: &str) -> Option<Error> {
    let mut cause = Some(err);
    while let Some(current) = cause {
        if let Some(role) = current.downcast_ref::<AssumeRoleFailure>() {
            return Some(role.to_error(secret_id));
        }
        cause = current.source();
    }
    let mut cause = Some(err);
    let credentials = loop {
        let current = cause?;
        if let Some(found) = current.downcast_ref::<CredentialsError>() {
            break found;
        }
        cause = current.source();
    };
    let (detail, transient) = match credentials {
        CredentialsError::CredentialsNotLoaded(_) | CredentialsError::InvalidConfiguration(_) => {
            // The chain lists each provider it tried, a line each: one line here.
            let tried = connector_detail(credentials)
                .lines()
                .map(str::trim)
                .collect::<Vec<_>>()
                .join("; ")
                .replace(":; ", ": ");
            (tried, false)
        }
        // A timeout, or a provider's own failure (an STS answer, a process's output, which may
        // quote what it read): only the kind's fixed text.
        _ => (credentials.to_string(), true),
    };
    Some(Error::Credentials {
        secret_id: secret_id.to_owned(),
        detail: Some(detail.into()),
        transient,
    })
}

/// Whether a `ResourceNotFoundException` is about a version rather than the secret: the
/// service then says it "can't find the specified secret value for staging label: …" (or
/// "for VersionId: …"), against "can't find the specified secret." when there is none. Only
/// this fixed phrase is looked for; the message itself is never kept.
pub(crate) fn names_missing_value(message: Option<&str>) -> bool {
    message.is_some_and(|m| m.contains("secret value for"))
}

/// [`names_missing_value`] of an SDK failure's service message.
pub(crate) fn value_missing<E>(err: &SdkError<E, HttpResponse>) -> bool
where
    E: ProvideErrorMetadata,
{
    names_missing_value(err.as_service_error().and_then(|e| e.message()))
}

/// The innermost cause of a connection failure ("Connection refused (os error 111)").
fn connector_detail(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: &(dyn std::error::Error + 'static) = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmodelled_codes_are_typed() {
        let denied = from_code(
            "AccessDeniedException",
            "prod/db",
            Operation::GetSecretValue,
        );
        assert!(matches!(
            denied,
            Error::AccessDenied {
                action: "secretsmanager:GetSecretValue",
                ..
            }
        ));
        assert!(matches!(
            from_code("ThrottlingException", "prod/db", Operation::GetSecretValue),
            Error::Throttled { .. }
        ));
    }

    #[test]
    fn unknown_codes_are_transient_service_errors() {
        let err = from_code("InternalServiceError", "prod/db", Operation::GetSecretValue);
        assert!(matches!(err, Error::Service { .. }));
        assert!(err.is_transient());
        assert!(
            !from_code("ResourceNotFoundException", "x", Operation::GetSecretValue).is_transient()
        );
    }
}
