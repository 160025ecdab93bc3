//! Compile-time checks of `#[derive(AwsSecrets)]`: `ui/*.rs` must fail to compile with the
//! errors in their `.stderr`, `ui/pass/*.rs` must compile and run.
//!
//! rustc's wording and layout change between releases, so the `.stderr` files are pinned to
//! the toolchain CI runs. On another toolchain this test fails, saying so: it never skips.
//! Regenerate with `TRYBUILD=overwrite cargo test -p asm-tests --test ui`, then read every
//! `.stderr` to check that each error points at the right tokens.

use std::process::Command;

/// The toolchain the `.stderr` files were generated with.
const PINNED: &str = "1.95.";

#[test]
fn ui() {
    check_toolchain();
    let t = trybuild::TestCases::new();
    t.pass("ui/pass/*.rs");
    t.compile_fail("ui/*.rs");
}

fn check_toolchain() {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let version = match Command::new(&rustc).arg("--version").output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        Ok(out) => panic!(
            "`{} --version` failed ({}): the UI tests need rustc {PINNED}x",
            rustc.to_string_lossy(),
            out.status
        ),
        Err(e) => panic!(
            "cannot run `{} --version` ({e}): the UI tests need rustc {PINNED}x",
            rustc.to_string_lossy()
        ),
    };
    let number = version.split_whitespace().nth(1).unwrap_or_default();
    assert!(
        number.starts_with(PINNED),
        "the UI test expectations (tests/ui/*.stderr) are pinned to rustc {PINNED}x, the CI \
         toolchain, and this is `{}`: run them with that toolchain (`rustup run 1.95 cargo test \
         -p asm-tests --test ui`), or move the pin and regenerate them with \
         `TRYBUILD=overwrite` on purpose",
        version.trim()
    );
}
