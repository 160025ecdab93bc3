//! Secret ARNs: an ARN parses into fields that print it back; its name, home and IAM pattern
//! are parts of it; the same ARN in another region keeps everything but the region; a request
//! by the ARN itself reaches the secret.
#![no_main]

use arbitrary::Arbitrary;
use asm_runtime::__fuzz::{secret_arn, secret_arn_in_region, secret_arn_requested_as};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    text: &'a str,
    region: &'a str,
    id: &'a str,
}

fuzz_target!(|input: Input<'_>| {
    let Input { text, region, id } = input;
    let _ = secret_arn_requested_as(text, id);
    let Some(arn) = secret_arn(text) else {
        assert!(secret_arn_in_region(text, region).is_none());
        return;
    };
    assert_eq!(arn.display, text, "an ARN prints back as read");
    assert!(text.starts_with("arn:") && text.starts_with(&arn.home));
    assert!(arn.home.ends_with(":secret:"));
    let resource = &text[arn.home.len()..];
    assert!(!resource.is_empty() && resource.starts_with(&arn.name));
    assert_eq!(arn.complete, arn.name.len() + 7 == resource.len());
    if arn.complete {
        assert_eq!(arn.pattern, text);
    } else {
        assert_eq!(arn.name, resource);
        assert_eq!(arn.pattern, format!("{text}-??????"));
    }
    for field in [&arn.region, &arn.account] {
        assert!(!field.is_empty() && !field.contains(':'));
    }
    assert_eq!(secret_arn_requested_as(text, text), Some(true));
    if !region.is_empty() && !region.contains(':') {
        let moved = secret_arn_in_region(text, region).expect("an ARN");
        let replica = secret_arn(&moved).expect("a replica's ARN parses");
        assert_eq!(replica.region, region);
        assert_eq!(
            (&replica.account, &replica.name, replica.complete),
            (&arn.account, &arn.name, arn.complete)
        );
        let back = secret_arn_in_region(&moved, &arn.region).expect("an ARN");
        assert_eq!(back, text, "moving back restores the ARN");
    }
});
