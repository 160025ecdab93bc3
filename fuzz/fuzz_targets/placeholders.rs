//! `${VAR}` resolution: text without `${` is unchanged; a resolved id holds no `${` (the
//! values here hold none); a failure is an unclosed `${` (a `Config` error) or names a
//! placeholder of the template whose variable has no value, and never shows a value that was
//! set.
#![no_main]

use arbitrary::Arbitrary;
use asm_runtime::{Error, Vars};
use libfuzzer_sys::fuzz_target;

/// Marks every value set, so that a value shown in an error is seen.
const VALUE_MARK: &str = "\u{27e6}value";

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    template: &'a str,
    field: &'a str,
    names: Vec<&'a str>,
}

fuzz_target!(|input: Input<'_>| {
    let Input {
        template,
        field,
        names,
    } = input;
    let mut vars = Vars::new();
    for (n, name) in names.iter().enumerate() {
        vars = vars.set(*name, format!("{VALUE_MARK}{n}\u{27e7}"));
    }
    match vars.resolve(template, field) {
        Ok(out) => {
            assert!(!out.contains("${"), "a placeholder left in {out:?}");
            if !template.contains("${") {
                assert_eq!(out, template);
            }
        }
        Err(Error::Config { message }) => {
            assert!(
                template.contains("${"),
                "only an unclosed `${{` is a config error"
            );
            assert!(message.contains("never closes it"), "{message}");
        }
        Err(err) => {
            let Error::UnresolvedPlaceholder {
                variable,
                field: named,
            } = &err
            else {
                panic!("not an unresolved placeholder: {err:?}");
            };
            assert_eq!(named, field);
            assert!(template.contains(&format!("${{{variable}}}")));
            assert!(
                !names.contains(&variable.as_str()),
                "{variable} has a value"
            );
            if !template.contains(VALUE_MARK) && !field.contains(VALUE_MARK) {
                assert!(
                    !format!("{err} {err:?}").contains(VALUE_MARK),
                    "a value is shown"
                );
            }
        }
    }
});
