//! The JSON index over a secret's text: every range lies within the text, on char boundaries,
//! and holds one JSON value, the object's value for that key (where `serde_json::Value` can
//! hold it: not `1e999`, which the index keeps as written); the index reads exactly JSON
//! objects; `json_key` gives each string, number or boolean as written (strings unescaped) and
//! refuses the rest by kind. No error depends on the value (it is the same error as for
//! another value of that kind), and `Debug` redacts the value.
#![no_main]

use asm_runtime::__fuzz::{json_index, string_secret};
use asm_runtime::{Error, ExposeSecret};
use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use serde::de::IgnoredAny;
use serde_json::{Map, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let index = json_index(text);
    let is_object = serde_json::from_str::<HashMap<String, IgnoredAny>>(text).is_ok();
    assert_eq!(
        index.is_some(),
        is_object,
        "the index reads exactly JSON objects"
    );
    let Ok(secret) = string_secret(text) else {
        return;
    };
    assert!(format!("{secret:?}").ends_with("value: SecretString([REDACTED]) }"));
    let Some(index) = index else {
        let err = secret.json_key("k").expect_err("not an object");
        assert!(matches!(err, Error::NotJson { .. }), "{err:?}");
        let other = string_secret("not json").and_then(|s| s.json_key("k"));
        assert_eq!(shown(&err), shown(&other.expect_err("not json")));
        return;
    };
    let keys = serde_json::from_str::<HashMap<String, IgnoredAny>>(text).map(|m| m.len());
    assert_eq!(
        Ok(index.len()),
        keys.map_err(drop),
        "one entry per distinct key"
    );
    let object = serde_json::from_str::<Map<String, Value>>(text).ok();
    for (key, range) in &index {
        assert!(range.start <= range.end && range.end <= text.len());
        assert!(text.is_char_boundary(range.start) && text.is_char_boundary(range.end));
        let raw = &text[range.clone()];
        serde_json::from_str::<IgnoredAny>(raw).expect("a range holds one JSON value");
        if let (Some(object), Ok(value)) = (&object, serde_json::from_str::<Value>(raw)) {
            assert!(
                object.get(key) == Some(&value),
                "the range holds the key's value"
            );
        }
        let kind = match raw.as_bytes()[0] {
            b'"' => "string",
            b'{' => "object",
            b'[' => "array",
            b'n' => "null",
            _ => "number or boolean",
        };
        match (secret.json_key(key), kind) {
            (Ok(got), "string") => {
                let unescaped: String = serde_json::from_str(raw).expect("a string");
                assert!(*got.expose_secret() == unescaped);
            }
            (Ok(got), "number or boolean") => assert!(got.expose_secret() == raw),
            (Err(err), "object" | "array" | "null") => {
                assert!(matches!(err, Error::WrongType { .. }));
                let empty = match kind {
                    "array" => Value::Array(Vec::new()),
                    "object" => Value::Object(Map::new()),
                    _ => Value::Null,
                };
                let doc = serde_json::to_string(&Map::from_iter([(key.clone(), empty)]));
                let other = string_secret(&doc.expect("a map of one key"))
                    .and_then(|s| s.json_key(key))
                    .expect_err("the same kind");
                assert_eq!(
                    shown(&err),
                    shown(&other),
                    "an error shows nothing of the value"
                );
            }
            (got, kind) => panic!("json_key answered ok={} for a {kind}", got.is_ok()),
        }
    }
});

fn shown(err: &Error) -> String {
    format!("{err} {err:?} {err:#?}")
}
