//! The types a derived struct's fields may have: [`SecretField`] (masked, sealed) and
//! [`PublicField`] (any `Deserialize`), built from a whole secret or one JSON key's value.

use secrecy::{SecretSlice, SecretString};
use serde::de::DeserializeOwned;

use crate::json::{JsonValue, to_secret_string};
use crate::{Error, Secret};

/// Types a secret-sourced field may have: they keep the value masked.
///
/// Implemented for [`SecretString`], [`SecretSlice<u8>`] and `Option` of either, and sealed on
/// purpose: a type of the user's would decide for itself whether a secret stays masked, and
/// the conversions (from a raw JSON value) are not a stable interface. A field of any other
/// type is either read as `SecretString` and wrapped after loading, or marked
/// `#[aws_secrets(public)]` (it then needs `serde::Deserialize`), which makes the exposure
/// visible in review.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a type a secret is read into",
    label = "secret-sourced fields are `SecretString`, `SecretSlice<u8>` or an `Option` of them",
    note = "for your own wrapper (a redacting newtype, say), make this field `SecretString` and wrap it after loading; `SecretField` is sealed, so it cannot be implemented",
    note = "if this value is not sensitive (a host, a port), mark the field `#[aws_secrets(public)]`; its type must then implement `serde::Deserialize`"
)]
pub trait SecretField: Sized + sealed::Sealed {
    /// The name used in `WrongType` errors.
    const EXPECTED: &'static str;

    /// Builds the field from a whole secret (no JSON key).
    #[doc(hidden)]
    fn from_secret(secret: &Secret, field: &str) -> Result<Self, Error>;

    /// Builds the field from one JSON value, or from its absence.
    #[doc(hidden)]
    fn from_json(value: Option<JsonValue<'_>>) -> Result<Self, FieldError>;
}

/// The supertrait that keeps [`SecretField`] implemented by this crate only.
mod sealed {
    use secrecy::{SecretSlice, SecretString};

    /// Not nameable outside the crate, so not implementable there.
    #[allow(unreachable_pub)]
    pub trait Sealed {}

    impl Sealed for SecretString {}
    impl Sealed for SecretSlice<u8> {}
    impl<T: Sealed> Sealed for Option<T> {}
}

/// Types a `#[aws_secrets(public)]` field may have: any `serde::Deserialize` type.
#[diagnostic::on_unimplemented(
    message = "the `public` field type `{Self}` does not implement `serde::Deserialize`",
    label = "a `public` field is deserialized from the secret's JSON value",
    note = "add `#[derive(serde::Deserialize)]` to `{Self}`, or use a type that implements it (`String`, `u16`, …)"
)]
pub trait PublicField: DeserializeOwned {}

#[diagnostic::do_not_recommend]
impl<T: DeserializeOwned> PublicField for T {}

/// Why one JSON value could not become a field; turned into a typed [`Error`] by the
/// caller, which knows the secret, key and field.
#[doc(hidden)]
#[derive(Debug)]
pub enum FieldError {
    /// The key is absent.
    Missing,
    /// The value has this JSON kind, which the field cannot take.
    Found(&'static str),
}

impl SecretField for SecretString {
    const EXPECTED: &'static str = "SecretString";

    fn from_secret(secret: &Secret, field: &str) -> Result<Self, Error> {
        match secret.string() {
            Ok(s) => Ok(s.clone()),
            Err(_) => {
                Err(secret.wrong_type(None, Some(field), Self::EXPECTED, secret.value.kind()))
            }
        }
    }

    fn from_json(value: Option<JsonValue<'_>>) -> Result<Self, FieldError> {
        to_secret_string(value.ok_or(FieldError::Missing)?).map_err(FieldError::Found)
    }
}

impl SecretField for SecretSlice<u8> {
    const EXPECTED: &'static str = "SecretSlice<u8>";

    fn from_secret(secret: &Secret, field: &str) -> Result<Self, Error> {
        match secret.binary() {
            Ok(b) => Ok(b.clone()),
            Err(_) => {
                Err(secret.wrong_type(None, Some(field), "SecretBinary", secret.value.kind()))
            }
        }
    }

    /// A JSON key is text: bytes come from `SecretBinary` only.
    fn from_json(value: Option<JsonValue<'_>>) -> Result<Self, FieldError> {
        Err(value.map_or(FieldError::Missing, |v| FieldError::Found(v.kind())))
    }
}

impl<T: SecretField> SecretField for Option<T> {
    const EXPECTED: &'static str = T::EXPECTED;

    fn from_secret(secret: &Secret, field: &str) -> Result<Self, Error> {
        T::from_secret(secret, field).map(Some)
    }

    /// An absent key or a JSON `null` is `None`.
    fn from_json(value: Option<JsonValue<'_>>) -> Result<Self, FieldError> {
        match value {
            None => Ok(None),
            Some(v) if v.is_null() => Ok(None),
            Some(v) => T::from_json(Some(v)).map(Some),
        }
    }
}
