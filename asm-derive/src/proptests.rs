//! Property tests of the attribute grammar (the stable stand-in for cargo-fuzz): ids,
//! versions and durations. Arbitrary input never panics; generated valid input is accepted;
//! the ARN and name rules agree on the name part. (Compile errors may quote the literal: it is
//! source code, not a secret.) Cases: `PROPTEST_CASES` (default 256).

use proptest::prelude::*;

use crate::duration;
use crate::id::{check_arn, check_name, check_version_id, check_version_stage};

fn name_char() -> impl Strategy<Value = char> {
    prop::sample::select("abcXYZ019/_+=.@-".chars().collect::<Vec<_>>())
}

fn valid_name() -> impl Strategy<Value = String> {
    prop::collection::vec(name_char(), 1..40).prop_map(|c| c.into_iter().collect())
}

fn region() -> impl Strategy<Value = (&'static str, String)> {
    prop_oneof![
        (
            "[a-z]{2}",
            prop::collection::vec("[a-z]{1,9}", 1..3),
            1u8..20
        )
            .prop_filter("not cn/us-gov", |(p, m, _)| p != "cn"
                && !(p == "us" && m[0] == "gov"))
            .prop_map(|(p, m, n)| ("aws", format!("{p}-{}-{n}", m.join("-")))),
        (prop::collection::vec("[a-z]{1,9}", 1..3), 1u8..20)
            .prop_map(|(m, n)| ("aws-cn", format!("cn-{}-{n}", m.join("-")))),
        ("[a-z]{1,9}", 1u8..20).prop_map(|(m, n)| ("aws-us-gov", format!("us-gov-{m}-{n}"))),
    ]
}

fn valid_arn() -> impl Strategy<Value = String> {
    (region(), "[0-9]{12}", valid_name()).prop_map(|((partition, region), account, name)| {
        format!("arn:{partition}:secretsmanager:{region}:{account}:secret:{name}")
    })
}

/// Strings that look like ids: mostly id characters, some ARN and placeholder syntax.
fn id_like() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => name_char().prop_map(String::from),
            1 => prop::sample::select(vec![
                ":", "arn:", "aws", "secretsmanager", "secret", "${", "}", "${APP_ENV}",
                "${1X}", "$", "*", "?", " ", "é", "\u{0}", "us-east-1", "123456789012",
            ])
            .prop_map(str::to_owned),
        ],
        0..24,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in prop_oneof![any::<String>(), id_like()]) {
        let _ = check_arn(&text);
        let _ = check_name(&text);
        let _ = check_version_stage(&text);
        let _ = check_version_id(&text);
        let _ = duration::parse(&text);
        let arn = format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:{text}");
        let _ = check_arn(&arn);
    }

    #[test]
    fn generated_arns_and_names_are_accepted(arn in valid_arn(), name in valid_name()) {
        prop_assert_eq!(check_arn(&arn), Ok(()));
        prop_assert_eq!(check_name(&name), Ok(()));
        let templated = format!("${{APP_ENV}}/{name}");
        prop_assert_eq!(check_name(&templated), Ok(()));
    }

    /// The name part of an ARN follows exactly the `name = "…"` rule.
    #[test]
    fn arn_and_name_rules_agree(name in prop_oneof![id_like(), valid_name()]) {
        let arn = format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}");
        prop_assert_eq!(check_arn(&arn).is_ok(), check_name(&name).is_ok(), "name {:?}", name);
    }

    /// A wildcard anywhere is refused, with a message about least privilege.
    #[test]
    fn wildcards_are_refused(arn in valid_arn(), at in any::<prop::sample::Index>(), w in prop::sample::select(vec!['*', '?'])) {
        let mut chars: Vec<char> = arn.chars().collect();
        chars.insert(at.index(chars.len() + 1), w);
        let wild: String = chars.into_iter().collect();
        let err = check_arn(&wild).expect_err("wildcard");
        prop_assert!(err.contains("wildcard"), "{}", err);
        prop_assert!(check_name(&wild).is_err());
    }

    /// Names over 512 characters are refused; a bad character is named in the message.
    #[test]
    fn name_length_and_characters(extra in 1usize..64, bad in prop::sample::select(vec![' ', '#', '%', ',', 'é'])) {
        let long = "a".repeat(512 + extra);
        prop_assert!(check_name(&long).is_err());
        prop_assert_eq!(check_name(&"a".repeat(512)), Ok(()));
        let err = check_name(&format!("prod/{bad}db")).expect_err("bad character");
        prop_assert!(err.contains(bad), "{}", err);
    }

    #[test]
    fn version_rules(stage in "[A-Za-z0-9_-]{1,256}", id in "[a-f0-9-]{32,64}") {
        prop_assert_eq!(check_version_stage(&stage), Ok(()));
        prop_assert_eq!(check_version_id(&id), Ok(()));
        let wild_stage = format!("{stage}*");
        let templated_id = format!("${{V}}{id}");
        prop_assert!(check_version_stage(&wild_stage).is_err(), "{}", wild_stage);
        prop_assert!(check_version_id(&templated_id).is_err(), "{}", templated_id);
    }

    /// Durations written largest unit first parse to their sum; anything else never panics.
    #[test]
    fn durations_round_trip(d in 0u64..1000, h in 0u64..24, m in 0u64..60, s in 0u64..60, mask in 1u8..16) {
        let mut text = String::new();
        let mut want = 0;
        for (bit, n, unit, secs) in [(8, d, 'd', 86_400), (4, h, 'h', 3_600), (2, m, 'm', 60), (1, s, 's', 1)] {
            if mask & bit != 0 {
                text.push_str(&format!("{n}{unit}"));
                want += n * secs;
            }
        }
        prop_assert_eq!(duration::parse(&text), Ok(want));
    }
}
