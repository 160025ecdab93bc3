//! One fetched version of a secret, and how it is selected.

use std::fmt;
use std::sync::OnceLock;
use std::time::SystemTime;

use secrecy::{ExposeSecret, SecretSlice, SecretString};

use crate::Error;
use crate::json::{JsonDocument, JsonIndex};

/// The value of a secret: Secrets Manager stores either a string or bytes.
pub enum SecretValue {
    /// `SecretString`: often a JSON object of key/value pairs.
    String(SecretString),
    /// `SecretBinary`.
    Binary(SecretSlice<u8>),
}

impl SecretValue {
    /// `"SecretString"` or `"SecretBinary"`, the service's name for this kind of value.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::String(_) => "SecretString",
            Self::Binary(_) => "SecretBinary",
        }
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}([REDACTED])", self.kind())
    }
}

/// One version of one secret as fetched from Secrets Manager, shared by every reader.
///
/// Metadata is public; the value stays wrapped in [`secrecy`] types and is exposed only by an
/// explicit [`ExposeSecret::expose_secret`] at the point of use. `Debug` redacts it.
///
/// # Examples
/// ```no_run
/// # async fn f(cache: asm_runtime::SecretCache) -> Result<(), asm_runtime::Error> {
/// use asm_runtime::ExposeSecret;
/// let secret = cache.get("prod/db").await?;
/// let password = secret.json_key("password")?;
/// connect(secret.name(), password.expose_secret());
/// # Ok(()) }
/// # fn connect(_: &str, _: &str) {}
/// ```
pub struct Secret {
    pub(crate) arn: Box<str>,
    pub(crate) name: Box<str>,
    pub(crate) version_id: Box<str>,
    pub(crate) version_stages: Box<[Box<str>]>,
    pub(crate) fetched_at: SystemTime,
    pub(crate) value: SecretValue,
    /// The keys of a JSON object value, indexed by the first read that asks for one (`None`:
    /// not a JSON object). Offsets into `value`'s text: no copy of any part of the value.
    pub(crate) json_index: OnceLock<Option<JsonIndex>>,
}

impl Secret {
    /// The full ARN, including the six-character suffix Secrets Manager adds.
    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// The friendly name (`prod/db`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The id of this version; a rotation produces a new one.
    pub fn version_id(&self) -> &str {
        &self.version_id
    }

    /// The staging labels on this version when it was fetched.
    pub fn version_stages(&self) -> impl ExactSizeIterator<Item = &str> {
        self.version_stages.iter().map(|s| &**s)
    }

    /// When this value was fetched from the service (wall clock).
    pub fn fetched_at(&self) -> SystemTime {
        self.fetched_at
    }

    /// The value, still wrapped.
    pub fn value(&self) -> &SecretValue {
        &self.value
    }

    /// The whole `SecretString`.
    ///
    /// # Errors
    /// [`Error::WrongType`] when the secret holds `SecretBinary`.
    pub fn string(&self) -> Result<&SecretString, Error> {
        match &self.value {
            SecretValue::String(s) => Ok(s),
            SecretValue::Binary(_) => Err(self.wrong_kind(None, "SecretString")),
        }
    }

    /// The whole `SecretBinary`.
    ///
    /// # Errors
    /// [`Error::WrongType`] when the secret holds `SecretString`.
    pub fn binary(&self) -> Result<&SecretSlice<u8>, Error> {
        match &self.value {
            SecretValue::Binary(b) => Ok(b),
            SecretValue::String(_) => Err(self.wrong_kind(None, "SecretBinary")),
        }
    }

    /// One key of a JSON `SecretString`, as a new [`SecretString`] (strings as they are,
    /// numbers and booleans as their JSON text), without exposing the rest of the document.
    ///
    /// # Errors
    /// [`Error::NotJson`], [`Error::MissingKey`], or [`Error::WrongType`] for objects, arrays
    /// and `null`; none of them carries any part of the value.
    pub fn json_key(&self, key: &str) -> Result<SecretString, Error> {
        let doc = self.json()?;
        match doc.get(key) {
            Some(value) => crate::json::to_secret_string(value).map_err(|found| {
                self.wrong_type(Some(key), None, "string, number or boolean", found)
            }),
            None => Err(Error::MissingKey {
                secret_id: self.name.to_string(),
                key: key.to_owned(),
                field: None,
            }),
        }
    }

    /// The `SecretString` as a JSON object, parsed once per fetched version.
    pub(crate) fn json(&self) -> Result<JsonDocument<'_>, Error> {
        let text = self.string()?.expose_secret();
        let index = self.json_index.get_or_init(|| JsonIndex::parse(text));
        match index {
            Some(index) => Ok(JsonDocument { index, text }),
            None => Err(Error::NotJson {
                secret_id: self.name.to_string(),
            }),
        }
    }

    fn wrong_kind(&self, field: Option<&str>, expected: &'static str) -> Error {
        self.wrong_type(None, field, expected, self.value.kind())
    }

    pub(crate) fn wrong_type(
        &self,
        key: Option<&str>,
        field: Option<&str>,
        expected: &'static str,
        found: &'static str,
    ) -> Error {
        Error::WrongType {
            secret_id: self.name.to_string(),
            key: key.map(str::to_owned),
            field: field.map(str::to_owned),
            expected,
            found,
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secret")
            .field("arn", &self.arn)
            .field("version_id", &self.version_id)
            .field("version_stages", &self.version_stages)
            .field("fetched_at", &self.fetched_at)
            .field("value", &self.value)
            .finish()
    }
}
