//! The agent's answers (status, headers, body in chunks, a connection failing mid-body): an
//! answer is a secret only for a 200 whose body is `GetSecretValue`'s JSON; a body over 128 KiB
//! or cut by a failure is a malformed response; no error, and no secret's `Debug`, shows the
//! secret's value or the service's message. For the last point the body, when it is a JSON
//! object, is also sent with its `SecretString`, `SecretBinary` and `message` set to a canary.
#![no_main]

use arbitrary::Arbitrary;
use asm_runtime::__fuzz::agent_answer;
use asm_runtime::{Error, ExposeSecret, TransportKind, Version};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

const CANARY: &str = "Qz7!xK9#wL2%vT8";
/// The canary in base64 (`SecretBinary`).
const CANARY_BASE64: &str = "UXo3IXhLOSN3TDIldlQ4";
const ID: &str = "prod/db";
const ROLE: &str = "arn:aws:iam::123456789012:role/reader";

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    status: u16,
    headers: Vec<(&'a [u8], &'a [u8])>,
    /// Where the body is cut into chunks (at most 2^16 bytes each).
    cuts: Vec<u16>,
    /// The connection fails after the body's first chunks.
    fails: bool,
    /// The request was made as a role.
    role: bool,
    version_id: Option<&'a str>,
    /// Extra bytes, repeated, to pass the body's limit.
    padding: Option<(u8, u8)>,
    body: &'a [u8],
}

fuzz_target!(|input: Input<'_>| {
    check(&input, input.body.to_vec(), false);
    // The canary is looked for where only the canary fields can have put it.
    if input.body.windows(4).any(|w| w == b"Qz7!") {
        return;
    }
    if let Ok(Value::Object(mut answer)) = serde_json::from_slice::<Value>(input.body) {
        let canary = Value::String(CANARY.to_owned());
        for key in ["SecretString", "message", "Message"] {
            answer.insert(key.to_owned(), canary.clone());
        }
        check(&input, serde_json::to_vec(&answer).expect("JSON"), true);
        answer.remove("SecretString");
        answer.insert("SecretBinary".into(), Value::String(CANARY_BASE64.into()));
        check(&input, serde_json::to_vec(&answer).expect("JSON"), true);
        check(
            &input,
            serde_json::to_vec(&Map::new()).expect("JSON"),
            false,
        );
    }
});

fn check(input: &Input<'_>, mut body: Vec<u8>, canary: bool) {
    if let Some((byte, times)) = input.padding {
        body.extend(std::iter::repeat_n(byte, usize::from(times) * 1024));
    }
    let mut chunks: Vec<Option<&[u8]>> = Vec::new();
    let mut rest = body.as_slice();
    for cut in &input.cuts {
        let (chunk, after) = rest.split_at(usize::from(*cut).min(rest.len()));
        chunks.push(Some(chunk));
        rest = after;
    }
    chunks.push(Some(rest));
    if input.fails {
        chunks.insert(chunks.len() / 2, None);
    }
    let version = match input.version_id {
        Some(id) => Version::id(id),
        None => Version::current(),
    };
    let role = input.role.then_some(ROLE);
    let Some(answer) = agent_answer(ID, &version, role, input.status, &input.headers, &chunks)
    else {
        assert!(
            !(100..=999).contains(&input.status),
            "an answer is read at once"
        );
        return;
    };
    let unreadable = input.fails || body.len() > 128 * 1024;
    match answer {
        Ok(secret) => {
            assert!(input.status == 200 && !unreadable);
            if canary {
                let debug = format!("{secret:?}");
                assert!(!debug.contains("Qz7!"), "{debug}");
                let value = match secret.string() {
                    Ok(text) => text.expose_secret().as_bytes(),
                    Err(_) => secret.binary().expect("a value").expose_secret(),
                };
                assert_eq!(value, CANARY.as_bytes());
            }
        }
        Err(err) => {
            let shown = format!("{err} {err:?} {err:#?}");
            assert!(!canary || !shown.contains("Qz7!"), "{shown}");
            if unreadable || input.status == 200 {
                assert!(
                    matches!(
                        err,
                        Error::Transport {
                            kind: TransportKind::MalformedResponse,
                            ..
                        } | Error::TooLarge { .. }
                    ),
                    "{err:?}"
                );
            }
        }
    }
}
