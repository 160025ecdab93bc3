#!/usr/bin/env bash
# Tests the packaged asm-runtime against the packaged asm-derive, as a user's build would see
# them from crates.io: both .crate files from `cargo package` are unpacked into a temporary
# directory, asm-derive is patched to its unpacked copy (it is not on crates.io before the
# first release), and the package's unit tests and doctests run there with every feature.
# Only files inside the packages can be read: a test or doctest that needs the repository
# fails here.
#
#   cargo package -p asm-derive -p asm-runtime && scripts/test-package.sh
#
# It builds in the workspace's target directory, so what an earlier step built with the same
# features is reused; much of the SDK is built again (the workspace unifies features across
# its members, the lone package does not), and the packaged crates themselves always are.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
export CARGO_TARGET_DIR="$(realpath "${CARGO_TARGET_DIR:-$PWD/target}")"
package="$CARGO_TARGET_DIR/package"
unpacked=$(mktemp -d)
trap 'rm -rf "$unpacked"' EXIT
for crate in asm-derive asm-runtime; do
  tar -xzf "$package/$crate-$version.crate" -C "$unpacked"
done
runtime="$unpacked/asm-runtime-$version"
cat >>"$runtime/Cargo.toml" <<TOML

# Added by scripts/test-package.sh: the unpacked asm-derive, and no enclosing workspace.
[patch.crates-io]
asm-derive = { path = "../asm-derive-$version" }

[workspace]
TOML
cd "$runtime"
cargo test --all-features --lib
cargo test --all-features --doc
