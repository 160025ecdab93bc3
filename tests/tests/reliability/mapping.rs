//! Fuzzed mapping (proptest, the stable stand-in for cargo-fuzz): arbitrary JSON documents,
//! salted with the canary, loaded into derived structs of every field family through a mocked
//! client. No panic; every public field agrees with serde_json as an oracle; every secret field
//! follows the documented rules; no error carries any fragment of a value.
//!
//! Cases: `PROPTEST_CASES` (default 256).

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use asm_runtime::{AwsSecrets, Error, ExposeSecret, SecretCache, SecretString, Vars};
use aws_sdk_secretsmanager::Client;
use aws_smithy_mocks::{RuleMode, mock};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value};

use crate::support::{CANARY, NUMERIC_CANARY, assert_error_clean, cache, mocked, output};

const KEYS: [&str; 4] = ["k", "user", "port", CANARY];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (0u64..70_000).prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        Just(Value::from(NUMERIC_CANARY.parse::<f64>().unwrap_or(0.0))),
        Just(Value::from(CANARY)),
        "[a-zA-Z0-9 .:/]{0,12}".prop_map(Value::from),
        "10\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}".prop_map(Value::from),
        any::<String>().prop_map(|s| Value::from(format!("{s}{CANARY}{s}"))),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(prop::sample::select(KEYS.to_vec()), inner, 0..4).prop_map(
                |m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            ),
        ]
    })
}

/// A secret string: usually a JSON object over `KEYS`, sometimes anything at all.
fn secret_text() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::collection::btree_map(prop::sample::select(KEYS.to_vec()), json_value(), 0..5)
            .prop_map(|m| {
                let map: Map<String, Value> = m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
                Value::Object(map).to_string()
            }),
        1 => json_value().prop_map(|v| v.to_string()),
        1 => any::<String>().prop_map(|s| format!("{s}{CANARY}")),
    ]
}

#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "prod/db")]
struct Secrets {
    k: SecretString,
}

#[derive(AwsSecrets, Debug)]
#[aws_secrets(name = "prod/db")]
struct Optional {
    k: Option<SecretString>,
}

macro_rules! public_struct {
    ($name:ident, $ty:ty) => {
        #[derive(AwsSecrets, Debug)]
        #[aws_secrets(name = "prod/db")]
        struct $name {
            #[aws_secrets(public)]
            k: $ty,
        }
    };
}

public_struct!(PubU16, u16);
public_struct!(PubI64, i64);
public_struct!(PubF64, f64);
public_struct!(PubBool, bool);
public_struct!(PubString, String);
public_struct!(PubIp, IpAddr);
public_struct!(PubVec, Vec<String>);
public_struct!(PubOptU16, Option<u16>);

/// What the mapping rules say a `SecretString` field gets from `value`.
fn expected_secret(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn check_public<T, S>(doc: Option<&Map<String, Value>>, got: Result<S, Error>, get: fn(S) -> T)
where
    T: serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    match (doc, got) {
        (None, Err(e)) => assert!(matches!(e, Error::NotJson { .. }), "{e:?}"),
        (None, Ok(_)) => panic!("a non-object loaded"),
        (Some(doc), got) => {
            let oracle = serde_json::from_value::<T>(doc.get("k").cloned().unwrap_or(Value::Null));
            match (oracle, got) {
                (Ok(want), Ok(s)) => assert_eq!(get(s), want),
                (Err(_), Err(e)) => {
                    assert!(
                        matches!(e, Error::WrongType { .. } | Error::MissingKey { .. }),
                        "{e:?}"
                    );
                    assert_error_clean("public field", &e);
                }
                (Ok(want), Err(e)) => panic!("serde_json gives {want:?}, the derive {e:?}"),
                (Err(_), Ok(s)) => panic!("serde_json refuses, the derive gives {:?}", get(s)),
            }
        }
    }
}

async fn one_case(cache: &SecretCache, text: &str) {
    let parsed: Option<Map<String, Value>> = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    };
    let doc = parsed.as_ref();
    let vars = || Vars::new();

    // SecretString: strings, numbers, booleans; else WrongType; absent: MissingKey.
    match (doc, Secrets::load_with(cache, vars()).await) {
        (None, Err(e)) => {
            assert!(matches!(e, Error::NotJson { .. }), "{e:?}");
            assert_error_clean("SecretString on non-object", &e);
        }
        (Some(d), got) => match (d.get("k"), got) {
            (None, Err(e)) => {
                assert!(matches!(e, Error::MissingKey { .. }), "{e:?}");
                assert_error_clean("SecretString missing", &e);
            }
            (Some(v), Ok(s)) => {
                assert_eq!(Some(s.k.expose_secret().to_owned()), expected_secret(v));
            }
            (Some(v), Err(e)) => {
                assert!(expected_secret(v).is_none(), "refused a {v:?}");
                assert!(matches!(e, Error::WrongType { .. }), "{e:?}");
                assert_error_clean("SecretString wrong type", &e);
            }
            (None, Ok(_)) => panic!("an absent key loaded"),
        },
        (None, Ok(_)) => panic!("a non-object loaded"),
    }

    // Option<SecretString>: absent or null is None.
    match (doc, Optional::load_with(cache, vars()).await) {
        (Some(d), Ok(o)) => match d.get("k") {
            None | Some(Value::Null) => assert!(o.k.is_none()),
            Some(v) => assert_eq!(
                o.k.map(|s| s.expose_secret().to_owned()),
                expected_secret(v)
            ),
        },
        (_, Err(e)) => {
            assert!(
                matches!(e, Error::WrongType { .. } | Error::NotJson { .. }),
                "{e:?}"
            );
            assert_error_clean("Option<SecretString>", &e);
        }
        (None, Ok(_)) => panic!("a non-object loaded"),
    }

    check_public(doc, PubU16::load_with(cache, vars()).await, |s| s.k);
    check_public(doc, PubI64::load_with(cache, vars()).await, |s| s.k);
    check_public(doc, PubBool::load_with(cache, vars()).await, |s| s.k);
    check_public(doc, PubString::load_with(cache, vars()).await, |s| s.k);
    check_public(doc, PubIp::load_with(cache, vars()).await, |s| s.k);
    check_public(doc, PubVec::load_with(cache, vars()).await, |s| s.k);
    check_public(doc, PubOptU16::load_with(cache, vars()).await, |s| s.k);
    check_public(doc, PubF64::load_with(cache, vars()).await, |s| s.k);

    // json_key agrees with the SecretString rules and is clean.
    let secret = cache.get("prod/db").await.expect("cached");
    // The program names the key it asks for (a canary key would be echoed, rightly).
    for key in KEYS.into_iter().filter(|k| *k != CANARY) {
        match secret.json_key(key) {
            Ok(s) => {
                let v = doc.and_then(|d| d.get(key)).expect("present");
                assert_eq!(Some(s.expose_secret().to_owned()), expected_secret(v));
            }
            Err(e) => assert_error_clean("json_key", &e),
        }
    }
}

#[test]
fn arbitrary_documents_map_by_the_rules_and_never_echo_values() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let current = Arc::new(Mutex::new(String::new()));
    let served = Arc::clone(&current);
    let rule = mock!(Client::get_secret_value)
        .sequence()
        .output(move || output("v1", &served.lock().expect("doc").clone()))
        .repeatedly()
        .build();
    let client = mocked(RuleMode::MatchAny, &[&rule]);
    let config = Config::default();
    let cases = config.cases;
    let mut runner = TestRunner::new(config);
    let ran = std::cell::Cell::new(0u32);
    runner
        .run(&secret_text(), |text| {
            *current.lock().expect("doc") = text.clone();
            let cache = cache(client.clone());
            runtime.block_on(one_case(&cache, &text));
            ran.set(ran.get() + 1);
            Ok(())
        })
        .expect("every case holds");
    assert!(ran.get() >= cases, "{} of {cases} cases ran", ran.get());
    eprintln!("mapping property: {} cases", ran.get());
}
