//! JSON secrets: parsing into zeroizing memory, and converting one key into a field.
//!
//! serde_json's error messages quote the input (`invalid type: string "hunter2"`), so no
//! function here ever passes one on: failures are reduced to the JSON kind that was found.

use secrecy::{SecretSlice, SecretString};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use zeroize::Zeroize;

/// A parsed JSON object whose strings are zeroized when it is dropped.
pub(crate) struct JsonDocument(Map<String, Value>);

impl JsonDocument {
    /// `None` when `text` is not a JSON object; the parser's message is dropped unread.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => Some(Self(map)),
            Ok(mut other) => {
                zeroize_value(&mut other);
                None
            }
            Err(_) => None,
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }
}

impl Drop for JsonDocument {
    fn drop(&mut self) {
        for value in self.0.values_mut() {
            zeroize_value(value);
        }
    }
}

fn zeroize_value(value: &mut Value) {
    match value {
        Value::String(s) => s.zeroize(),
        Value::Array(items) => items.iter_mut().for_each(zeroize_value),
        Value::Object(map) => map.values_mut().for_each(zeroize_value),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// The JSON kind of a value, for error messages that must not show the value itself.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Strings as they are; numbers and booleans as their JSON text; anything else is refused
/// with the kind that was found.
pub(crate) fn to_secret_string(value: &Value) -> Result<SecretString, &'static str> {
    match value {
        Value::String(s) => Ok(SecretString::from(s.as_str())),
        Value::Number(n) => Ok(SecretString::from(n.to_string())),
        Value::Bool(b) => Ok(SecretString::from(if *b { "true" } else { "false" })),
        other => Err(kind(other)),
    }
}

/// Deserializes a `public` field; on failure, only the kind found is reported.
pub(crate) fn to_public<T: DeserializeOwned>(value: &Value) -> Result<T, &'static str> {
    T::deserialize(value).map_err(|_| kind(value))
}

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
    fn from_secret(secret: &crate::Secret, field: &str) -> Result<Self, crate::Error>;

    /// Builds the field from one JSON value, or from its absence.
    #[doc(hidden)]
    fn from_json(value: Option<&Value>) -> Result<Self, FieldError>;
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

/// Why one JSON value could not become a field; turned into a typed [`crate::Error`] by the
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

    fn from_secret(secret: &crate::Secret, field: &str) -> Result<Self, crate::Error> {
        match secret.string() {
            Ok(s) => Ok(s.clone()),
            Err(_) => {
                Err(secret.wrong_type(None, Some(field), Self::EXPECTED, secret.value.kind()))
            }
        }
    }

    fn from_json(value: Option<&Value>) -> Result<Self, FieldError> {
        to_secret_string(value.ok_or(FieldError::Missing)?).map_err(FieldError::Found)
    }
}

impl SecretField for SecretSlice<u8> {
    const EXPECTED: &'static str = "SecretSlice<u8>";

    fn from_secret(secret: &crate::Secret, field: &str) -> Result<Self, crate::Error> {
        match secret.binary() {
            Ok(b) => Ok(b.clone()),
            Err(_) => {
                Err(secret.wrong_type(None, Some(field), "SecretBinary", secret.value.kind()))
            }
        }
    }

    /// A JSON key is text: bytes come from `SecretBinary` only.
    fn from_json(value: Option<&Value>) -> Result<Self, FieldError> {
        Err(value.map_or(FieldError::Missing, |v| FieldError::Found(kind(v))))
    }
}

impl<T: SecretField> SecretField for Option<T> {
    const EXPECTED: &'static str = T::EXPECTED;

    fn from_secret(secret: &crate::Secret, field: &str) -> Result<Self, crate::Error> {
        T::from_secret(secret, field).map(Some)
    }

    /// An absent key or a JSON `null` is `None`.
    fn from_json(value: Option<&Value>) -> Result<Self, FieldError> {
        match value {
            None | Some(Value::Null) => Ok(None),
            Some(v) => T::from_json(Some(v)).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn numbers_and_booleans_become_their_json_text() {
        let doc = JsonDocument::parse(r#"{"port":5432,"tls":true,"user":"app"}"#);
        let doc = doc.expect("object");
        let text = |k: &str| {
            doc.get(k)
                .map(|v| to_secret_string(v).map(|s| s.expose_secret().to_owned()))
        };
        assert_eq!(text("port"), Some(Ok("5432".to_owned())));
        assert_eq!(text("tls"), Some(Ok("true".to_owned())));
        assert_eq!(text("user"), Some(Ok("app".to_owned())));
    }

    #[test]
    fn objects_are_refused_by_kind() {
        let doc = JsonDocument::parse(r#"{"nested":{"a":1}}"#).expect("object");
        assert_eq!(
            doc.get("nested").map(|v| to_secret_string(v).err()),
            Some(Some("object"))
        );
    }

    #[test]
    fn non_objects_are_not_documents() {
        assert!(JsonDocument::parse("hunter2").is_none());
        assert!(JsonDocument::parse("[1,2]").is_none());
        assert!(JsonDocument::parse("\"text\"").is_none());
    }

    #[test]
    fn public_conversion_reports_only_the_kind() {
        let value = Value::String("canary-value".to_owned());
        assert_eq!(to_public::<u16>(&value).err(), Some("string"));
    }

    #[test]
    fn option_is_none_for_absent_or_null() {
        assert!(matches!(Option::<SecretString>::from_json(None), Ok(None)));
        assert!(matches!(
            Option::<SecretString>::from_json(Some(&Value::Null)),
            Ok(None)
        ));
    }
}
