//! Entry points for the fuzz targets in `fuzz/`: the parsers of outside input, reachable
//! without widening the public API. Compiled only under `--cfg fuzzing` (which `cargo fuzz`
//! sets), so no other build has this module. Not public API.

use std::ops::Range;

use futures_util::FutureExt;
use futures_util::stream;
use http_body_util::StreamBody;
use hyper::Response;
use hyper::body::{Bytes, Frame};
use hyper::header::{HeaderName, HeaderValue};

use crate::arn::Arn;
use crate::json::JsonIndex;
use crate::role_arn::RoleArn;
use crate::source::Parts;
use crate::{Error, Secret, Version};

/// The keys of `text`'s top-level object and the byte range of each value, as the index a
/// fetched secret builds; `None` when `text` is not a JSON object.
pub fn json_index(text: &str) -> Option<Vec<(String, Range<usize>)>> {
    let index = JsonIndex::parse(text)?;
    Some(index.entries().map(|(k, r)| (k.to_owned(), r)).collect())
}

/// A secret named `fuzz` whose `SecretString` is `text`, as every source builds one.
///
/// # Errors
/// [`Error::TooLarge`] over 64 KiB.
pub fn string_secret(text: &str) -> Result<Secret, Error> {
    Parts {
        arn: None,
        name: Some("fuzz".to_owned()),
        version_id: Some("v1".to_owned()),
        version_stages: None,
        string: Some(text.to_owned()),
        binary: None,
    }
    .into_secret("fuzz")
}

/// What the runtime reads from a secret ARN.
#[derive(Debug)]
pub struct SecretArn {
    /// The region field.
    pub region: String,
    /// The account field.
    pub account: String,
    /// `arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:`.
    pub home: String,
    /// The secret's name (without the suffix when complete).
    pub name: String,
    /// Whether the ARN ends in `-` and six letters or digits.
    pub complete: bool,
    /// The ARN printed back.
    pub display: String,
    /// The IAM resource pattern matching this secret.
    pub pattern: String,
}

/// `text` parsed as a secret ARN, `None` when it is not one.
pub fn secret_arn(text: &str) -> Option<SecretArn> {
    let arn = Arn::parse(text)?;
    Some(SecretArn {
        region: arn.region.to_owned(),
        account: arn.account.to_owned(),
        home: arn.home().to_owned(),
        name: arn.name().to_owned(),
        complete: arn.is_complete(),
        display: arn.to_string(),
        pattern: arn.resource_pattern(),
    })
}

/// The ARN `text` in `region` (as a replica is asked), `None` when `text` is not an ARN.
pub fn secret_arn_in_region(text: &str, region: &str) -> Option<String> {
    Arn::parse(text).map(|arn| arn.in_region(region))
}

/// Whether a request for `id` reaches the secret whose ARN is `text`.
pub fn secret_arn_requested_as(text: &str, id: &str) -> Option<bool> {
    Arn::parse(text).map(|arn| arn.is_requested_as(id))
}

/// `text` checked as an IAM role ARN: its partition and account.
///
/// # Errors
/// [`Error::Config`] saying which part is wrong.
pub fn role_arn(text: &str) -> Result<(String, String), Error> {
    RoleArn::parse(text).map(|role| (role.partition.to_owned(), role.account.to_owned()))
}

/// The agent source's reading of an answer with `status`, `headers` (those that are not valid
/// header names or values are left out, as no server can send them) and a body sent as
/// `chunks` (`None`: the connection fails there). `None` when `status` is not an HTTP status.
pub fn agent_answer(
    id: &str,
    version: &Version,
    role: Option<&str>,
    status: u16,
    headers: &[(&[u8], &[u8])],
    chunks: &[Option<&[u8]>],
) -> Option<Result<Secret, Error>> {
    let frames = chunks.iter().map(|chunk| match chunk {
        Some(bytes) => Ok(Frame::data(Bytes::copy_from_slice(bytes))),
        None => Err(std::io::Error::other("the connection failed")),
    });
    let mut response = Response::builder().status(status);
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            response = response.header(name, value);
        }
    }
    let response = response
        .body(StreamBody::new(stream::iter(frames.collect::<Vec<_>>())))
        .ok()?;
    crate::source::agent::read_answer(id, version, role, response).now_or_never()
}

/// Reads each of `ids` from the directory of `source`, without following it: for each id, its
/// read on its own, the read again at the version id that read gave (when it succeeded), and
/// its read from the generation shared by all `ids`.
#[cfg(feature = "files")]
pub fn read_mount(
    source: crate::FileSource,
    ids: &[&str],
) -> Vec<[Option<Result<Secret, Error>>; 3]> {
    crate::source::files::read_once(source, ids)
}
