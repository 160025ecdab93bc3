//! The derive's contract with this crate. Not public API: names may change in any release.

pub use crate::field::{FieldError, PublicField, SecretField};
pub use crate::json::JsonValue;
pub use crate::plan::{Fetched, FieldRef, Plan, SecretRef, VersionRef};
pub use core::time::Duration;

use serde::de::value::StrDeserializer;

use crate::Error;

/// Builds a secret-sourced field (`SecretString`, `SecretSlice<u8>`, `Option` of them).
///
/// # Errors
/// Missing key, not JSON, or wrong type, naming the field and key, never the value.
pub fn secret_field<T: SecretField>(fetched: &Fetched<'_>, field: &FieldRef) -> Result<T, Error> {
    let secret = fetched.secret(&field.secret)?;
    let Some(key) = field.key else {
        return T::from_secret(secret, field.secret.field);
    };
    let doc = secret.json()?;
    T::from_json(doc.get(key)).map_err(|e| field_error(secret, field, key, T::EXPECTED, e))
}

/// Builds a `#[aws_secrets(public)]` field of any deserializable type.
///
/// # Errors
/// As [`secret_field`]; conversion failures report the JSON kind found, not the value.
pub fn public_field<T: PublicField>(fetched: &Fetched<'_>, field: &FieldRef) -> Result<T, Error> {
    let secret = fetched.secret(&field.secret)?;
    let expected = core::any::type_name::<T>();
    match field.key {
        None => {
            let text = secret.string().map_err(|_| {
                secret.wrong_type(
                    None,
                    Some(field.secret.field),
                    expected,
                    secret.value.kind(),
                )
            })?;
            // A whole-secret public field reads the text as a string, without copying it; a
            // type that takes no string (`u16`, `bool`) reads it as the JSON scalar it spells
            // (`5432`, `true`), never as an object or array (a struct would take the whole
            // secret, password included). Parser messages quote their input: none is kept.
            let text = secrecy::ExposeSecret::expose_secret(text);
            let scalar = !text.trim_start().starts_with(['{', '[', '"']);
            let as_str = T::deserialize(StrDeserializer::<serde::de::value::Error>::new(text));
            let as_scalar = || {
                scalar
                    .then(|| serde_json::from_str::<T>(text).ok())
                    .flatten()
            };
            as_str.ok().or_else(as_scalar).ok_or_else(|| {
                secret.wrong_type(None, Some(field.secret.field), expected, "string")
            })
        }
        Some(key) => {
            let doc = secret.json()?;
            let value = doc.get(key);
            crate::json::to_public(value.unwrap_or(JsonValue::NULL)).map_err(|found| {
                let err = if value.is_none() {
                    FieldError::Missing
                } else {
                    FieldError::Found(found)
                };
                field_error(secret, field, key, expected, err)
            })
        }
    }
}

fn field_error(
    secret: &crate::Secret,
    field: &FieldRef,
    key: &str,
    expected: &'static str,
    err: FieldError,
) -> Error {
    match err {
        FieldError::Missing => Error::MissingKey {
            secret_id: secret.name().to_owned(),
            key: key.to_owned(),
            field: Some(field.secret.field.to_owned()),
        },
        FieldError::Found(found) => {
            secret.wrong_type(Some(key), Some(field.secret.field), expected, found)
        }
    }
}

/// Length of the concatenation of id lists (for `SECRET_IDS` with nested structs).
pub const fn ids_len(parts: &[&[&'static str]]) -> usize {
    let mut len = 0;
    let mut i = 0;
    while i < parts.len() {
        len += parts[i].len();
        i += 1;
    }
    len
}

/// Concatenates id lists at compile time; `N` must be [`ids_len`] of `parts`.
pub const fn concat_ids<const N: usize>(parts: &[&[&'static str]]) -> [&'static str; N] {
    let mut out = [""; N];
    let mut n = 0;
    let mut i = 0;
    while i < parts.len() {
        let mut j = 0;
        while j < parts[i].len() {
            out[n] = parts[i][j];
            n += 1;
            j += 1;
        }
        i += 1;
    }
    out
}
