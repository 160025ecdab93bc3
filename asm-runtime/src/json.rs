//! JSON secrets: an index of a JSON object's keys, built once per fetched version, and the
//! conversion of one key's value into a field.
//!
//! The index holds key names and where each value lies in the secret's text, nothing more: no
//! value is copied out of the `SecretString`, so zeroizing the secret (on drop) leaves nothing
//! behind, and a value is read from its own text when a field asks for it. A number read into
//! a `SecretString` therefore keeps its digits as written (`1E2`, an integer past `u64`),
//! without serde_json's `arbitrary_precision` feature, which would change `Number` for every
//! crate in the build.
//!
//! serde_json's error messages quote the input (`invalid type: string "hunter2"`), so no
//! function here ever passes one on: failures are reduced to the JSON kind that was found.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;

use foldhash::fast::RandomState;
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use zeroize::Zeroizing;

/// The top-level keys of a JSON object, each with the byte range of its value in the text.
pub(crate) struct JsonIndex {
    values: HashMap<Box<str>, Range<usize>, RandomState>,
}

impl JsonIndex {
    /// `None` when `text` is not a JSON object; the parser's message is dropped unread.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let object: HashMap<String, &RawValue, RandomState> = serde_json::from_str(text).ok()?;
        let base = text.as_ptr() as usize;
        let values = object
            .into_iter()
            .map(|(key, raw)| {
                // `raw` borrows from `text`: its offset locates the value.
                let start = (raw.get().as_ptr() as usize).checked_sub(base)?;
                Some((key.into_boxed_str(), start..start + raw.get().len()))
            })
            .collect::<Option<_>>()?;
        Some(Self { values })
    }
}

#[cfg(fuzzing)]
impl JsonIndex {
    /// Every key and its value's range (the fuzz targets check the ranges).
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&str, Range<usize>)> {
        self.values
            .iter()
            .map(|(key, range)| (&**key, range.clone()))
    }
}

/// A JSON object secret: its text and the index of its keys.
#[derive(Clone, Copy)]
pub(crate) struct JsonDocument<'a> {
    pub(crate) index: &'a JsonIndex,
    pub(crate) text: &'a str,
}

impl<'a> JsonDocument<'a> {
    /// The value of `key`, as written in the secret.
    pub(crate) fn get(&self, key: &str) -> Option<JsonValue<'a>> {
        let range = self.index.values.get(key)?;
        self.text.get(range.clone()).map(JsonValue)
    }
}

/// One JSON value as written in a secret (a validated slice of its text). `Debug` shows the
/// kind only.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct JsonValue<'a>(&'a str);

impl JsonValue<'_> {
    /// `null`, which an absent key reads as.
    pub(crate) const NULL: JsonValue<'static> = JsonValue("null");

    /// The JSON kind, for error messages that must not show the value itself.
    pub fn kind(&self) -> &'static str {
        match self.0.as_bytes().first() {
            Some(b'"') => "string",
            Some(b'{') => "object",
            Some(b'[') => "array",
            Some(b't' | b'f') => "boolean",
            Some(b'n') => "null",
            _ => "number",
        }
    }

    /// Whether the value is `null`.
    pub fn is_null(&self) -> bool {
        self.kind() == "null"
    }
}

impl fmt::Debug for JsonValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JsonValue({})", self.kind())
    }
}

/// Strings unescaped; numbers and booleans as their JSON text, exactly as written; anything
/// else is refused with the kind that was found.
pub(crate) fn to_secret_string(value: JsonValue<'_>) -> Result<SecretString, &'static str> {
    match value.kind() {
        "string" => {
            // The index validated the value: without escapes, it is the text between quotes.
            if !value.0.contains('\\') {
                let plain = value.0.get(1..value.0.len() - 1).ok_or("string")?;
                return Ok(SecretString::from(plain));
            }
            // With them, it is unescaped into memory that is zeroized here.
            serde_json::from_str::<String>(value.0)
                .map(|s| SecretString::from(Zeroizing::new(s).as_str()))
                .map_err(|_| "string")
        }
        "number" | "boolean" => Ok(SecretString::from(value.0)),
        other => Err(other),
    }
}

/// Deserializes a `public` field; on failure, only the kind found is reported.
pub(crate) fn to_public<T: DeserializeOwned>(value: JsonValue<'_>) -> Result<T, &'static str> {
    serde_json::from_str(value.0).map_err(|_| value.kind())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::SecretField;
    use secrecy::ExposeSecret;

    fn text_of(json: &str, key: &str) -> Option<Result<String, &'static str>> {
        let index = JsonIndex::parse(json).expect("object");
        let doc = JsonDocument {
            index: &index,
            text: json,
        };
        doc.get(key)
            .map(|v| to_secret_string(v).map(|s| s.expose_secret().to_owned()))
    }

    #[test]
    fn numbers_and_booleans_become_their_json_text() {
        let doc = r#"{"port":5432,"tls":true,"user":"app","esc":"a\"b\u00e9"}"#;
        assert_eq!(text_of(doc, "port"), Some(Ok("5432".to_owned())));
        assert_eq!(text_of(doc, "tls"), Some(Ok("true".to_owned())));
        assert_eq!(text_of(doc, "user"), Some(Ok("app".to_owned())));
        assert_eq!(text_of(doc, "esc"), Some(Ok("a\"b\u{e9}".to_owned())));
        assert_eq!(text_of(doc, "absent"), None);
    }

    /// Issue 12: `1E2` came back as `100.0`, and integers past `u64` lost digits.
    #[test]
    fn a_number_keeps_its_text_as_written() {
        let doc =
            r#"{"e": 1E2, "big": 123456789012345678901234567890, "neg": -0.0, "exp": 1.50e+5}"#;
        assert_eq!(text_of(doc, "e"), Some(Ok("1E2".to_owned())));
        assert_eq!(
            text_of(doc, "big"),
            Some(Ok("123456789012345678901234567890".to_owned()))
        );
        assert_eq!(text_of(doc, "neg"), Some(Ok("-0.0".to_owned())));
        assert_eq!(text_of(doc, "exp"), Some(Ok("1.50e+5".to_owned())));
    }

    #[test]
    fn objects_are_refused_by_kind() {
        assert_eq!(
            text_of(r#"{"nested":{"a":1}}"#, "nested"),
            Some(Err("object"))
        );
        assert_eq!(text_of(r#"{"list":[1]}"#, "list"), Some(Err("array")));
        assert_eq!(text_of(r#"{"none":null}"#, "none"), Some(Err("null")));
    }

    #[test]
    fn non_objects_are_not_documents() {
        assert!(JsonIndex::parse("hunter2").is_none());
        assert!(JsonIndex::parse("[1,2]").is_none());
        assert!(JsonIndex::parse("\"text\"").is_none());
        assert!(JsonIndex::parse(r#"{"a":1} trailing"#).is_none());
    }

    #[test]
    fn public_conversion_reports_only_the_kind() {
        let value = JsonValue("\"canary-value\"");
        assert_eq!(to_public::<u16>(value).err(), Some("string"));
        assert_eq!(format!("{value:?}"), "JsonValue(string)");
        assert_eq!(to_public::<u16>(JsonValue("5432")), Ok(5432));
    }

    #[test]
    fn option_is_none_for_absent_or_null() {
        assert!(matches!(Option::<SecretString>::from_json(None), Ok(None)));
        assert!(matches!(
            Option::<SecretString>::from_json(Some(JsonValue::NULL)),
            Ok(None)
        ));
    }
}
