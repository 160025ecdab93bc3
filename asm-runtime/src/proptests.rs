//! Property tests (the stable stand-in for cargo-fuzz) of the value-handling code: JSON
//! parsing and field conversion on arbitrary input salted with a canary, and `${VAR}`
//! resolution. Cases: `PROPTEST_CASES` (default 256).

use std::time::SystemTime;

use proptest::prelude::*;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::field::{FieldError, SecretField};
use crate::json::{JsonDocument, JsonIndex, JsonValue, to_public, to_secret_string};
use crate::{Error, Secret, SecretValue, Vars};

const CANARY: &str = "Qz7!xK9#wL2%vT8";

fn assert_clean(text: &str) {
    for w in CANARY.as_bytes().windows(4) {
        let fragment = String::from_utf8_lossy(w);
        assert!(!text.contains(&*fragment), "leaks {fragment:?}: {text}");
    }
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        Just(Value::from(CANARY)),
        any::<String>().prop_map(|s| Value::from(format!("{s}{CANARY}"))),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,3}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn secret(text: &str) -> Secret {
    Secret {
        arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:p-AbCdEf".into(),
        name: "p".into(),
        version_id: "v1".into(),
        version_stages: Box::new([]),
        fetched_at: SystemTime::UNIX_EPOCH,
        value: SecretValue::String(SecretString::from(text)),
        json_index: std::sync::OnceLock::new(),
    }
}

/// The JSON kind of `value`, as the runtime names it.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

proptest! {
    /// Any text: parsing never panics, and only JSON objects are documents.
    #[test]
    fn parse_never_panics_and_accepts_only_objects(text in prop_oneof![
        any::<String>(),
        json().prop_map(|v| v.to_string()),
    ]) {
        let is_object = matches!(serde_json::from_str::<Value>(&text), Ok(Value::Object(_)));
        prop_assert_eq!(JsonIndex::parse(&text).is_some(), is_object);
    }

    /// Conversions follow their rules and report only the JSON kind.
    #[test]
    fn conversions_report_only_kinds(value in json()) {
        let text = serde_json::json!({ "k": value }).to_string();
        let index = JsonIndex::parse(&text).expect("an object");
        let raw: JsonValue<'_> = JsonDocument { index: &index, text: &text }.get("k").expect("k");
        prop_assert_eq!(raw.kind(), kind(&value));
        match to_secret_string(raw) {
            Ok(s) => match &value {
                Value::String(v) => prop_assert_eq!(s.expose_secret(), v.as_str()),
                Value::Number(n) => prop_assert_eq!(s.expose_secret(), n.to_string()),
                Value::Bool(b) => prop_assert_eq!(s.expose_secret(), b.to_string()),
                other => prop_assert!(false, "accepted {:?}", kind(other)),
            },
            Err(found) => {
                prop_assert!(matches!(value, Value::Null | Value::Array(_) | Value::Object(_)));
                prop_assert_eq!(found, kind(&value));
            }
        }
        for found in [
            to_public::<u16>(raw).err(),
            to_public::<i64>(raw).err(),
            to_public::<f64>(raw).err(),
            to_public::<bool>(raw).err(),
            to_public::<String>(raw).err(),
            to_public::<std::net::IpAddr>(raw).err(),
            to_public::<Vec<u8>>(raw).err(),
        ].into_iter().flatten() {
            prop_assert_eq!(found, kind(&value));
        }
        match Option::<SecretString>::from_json(Some(raw)) {
            Ok(None) => prop_assert!(value.is_null()),
            Ok(Some(_)) => prop_assert!(to_secret_string(raw).is_ok()),
            Err(FieldError::Found(found)) => prop_assert_eq!(found, kind(&value)),
            Err(FieldError::Missing) => prop_assert!(false, "present value reported missing"),
        }
    }

    /// `json_key` on an arbitrary document: typed errors that never echo the value.
    #[test]
    fn json_key_errors_never_echo(value in json(), key in "[a-z]{1,3}") {
        let secret = secret(&value.to_string());
        match secret.json_key(&key) {
            Ok(s) => {
                let found = value.get(&key).expect("present");
                let want = match found {
                    Value::String(v) => Some(v.clone()),
                    Value::Number(_) | Value::Bool(_) => Some(found.to_string()),
                    _ => None,
                };
                prop_assert_eq!(Some(s.expose_secret().to_owned()), want);
            }
            Err(e) => {
                let typed = matches!(
                    e,
                    Error::NotJson { .. } | Error::MissingKey { .. } | Error::WrongType { .. }
                );
                prop_assert!(typed, "unexpected error kind");
                assert_clean(&format!("{e} {e:?} {e:#?}"));
            }
        }
        assert_clean(&format!("{secret:?} {secret:#?}"));
    }

    /// Any template: resolution never panics; success leaves no `${`, unless a value or the
    /// text after the last placeholder brought one; an unresolved variable is named and is
    /// part of the template; an unclosed `${` is a `Config` error.
    #[test]
    fn resolve_never_panics(template in any::<String>(), value in "[a-z/]{0,6}") {
        let vars = Vars::new().set("A", value.clone()).set("B_1", CANARY);
        match vars.resolve(&template, "field") {
            Ok(out) => {
                if !template.contains("${") {
                    prop_assert_eq!(out, template);
                }
            }
            Err(Error::UnresolvedPlaceholder { variable, field }) => {
                prop_assert_eq!(field, "field");
                prop_assert!(template.contains(&variable));
                // Values are never echoed: the canary is only ever a value here.
                prop_assert!(!variable.contains(CANARY));
            }
            // An unclosed `${`.
            Err(Error::Config { message }) => {
                prop_assert!(message.contains("never closes it"));
                prop_assert!(!message.contains(CANARY));
            }
            Err(other) => prop_assert!(false, "unexpected {other:?}"),
        }
    }

    /// Templates built from text and known variables resolve to the concatenation.
    #[test]
    fn resolve_substitutes_every_placeholder(
        parts in prop::collection::vec(prop_oneof![
            "[a-z0-9/_.-]{0,5}".prop_map(|t| (t, None)),
            prop::sample::select(vec!["ENV", "REGION", "X_1"]).prop_map(|v| (String::new(), Some(v))),
        ], 0..8),
        values in prop::collection::vec("[a-z0-9-]{1,6}", 3),
    ) {
        let names = ["ENV", "REGION", "X_1"];
        let mut vars = Vars::new();
        for (name, value) in names.iter().zip(&values) {
            vars = vars.set(*name, value.clone());
        }
        let mut template = String::new();
        let mut want = String::new();
        for (text, var) in &parts {
            match var {
                Some(name) => {
                    template.push_str(&format!("${{{name}}}"));
                    let at = names.iter().position(|n| n == name).expect("known");
                    want.push_str(&values[at]);
                }
                None => {
                    template.push_str(text);
                    want.push_str(text);
                }
            }
        }
        prop_assert_eq!(vars.resolve(&template, "f").ok(), Some(want));
        let missing = Vars::new().resolve(&template, "f");
        let has_placeholder = parts.iter().any(|(_, v)| v.is_some());
        prop_assert_eq!(missing.is_err(), has_placeholder);
    }
}

/// Found by `json_key_errors_never_echo` at 20,000 cases: serde_json's default float parser
/// is not correctly rounded, so a number's text changed on the way through (`…502e-76` came
/// back as `…5017e-76`), and a `public` `f64` field got a neighbouring value.
#[test]
fn numbers_keep_their_value_through_json_key() {
    let text = r#"{"t":1.967939191434502e-76}"#;
    let value = secret(text).json_key("t").expect("number");
    assert_eq!(value.expose_secret(), "1.967939191434502e-76");
    let index = JsonIndex::parse(text).expect("object");
    let doc = JsonDocument {
        index: &index,
        text,
    };
    let float = to_public::<f64>(doc.get("t").expect("t")).expect("f64");
    let exact: f64 = "1.967939191434502e-76".parse().expect("std parses exactly");
    assert_eq!(float.to_bits(), exact.to_bits());
}
