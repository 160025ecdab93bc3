#!/usr/bin/env bash
# A user's compile cost: cold builds (debug and release) of the same minimal service, through
# asm-runtime (with-asm) and through the AWS SDK alone (sdk-only: aws-config and
# aws-sdk-secretsmanager with their default features; sdk-lean: with the SDK features
# asm-runtime selects). Each build runs in a fresh target directory with `cargo build
# --timings`, one after the other; prints the crates compiled and the seconds.
#
#   scripts/compile-cost/measure.sh [CRATE...]      (default: with-asm sdk-only sdk-lean)
#   PROFILES=release scripts/compile-cost/measure.sh with-asm sdk-only
#
# Crate counts are exact (one `Compiling` line per package built). Seconds depend on the
# machine and on what else runs on it: compare builds run back to back on one machine.
set -euo pipefail
cd "$(dirname "$0")"
crates=("$@")
[ ${#crates[@]} -gt 0 ] || crates=(with-asm sdk-only sdk-lean)
work="${COMPILE_COST_DIR:-$PWD/target}"
printf '%-10s %-8s %7s %9s\n' crate profile crates seconds
for crate in "${crates[@]}"; do
  for profile in ${PROFILES:-debug release}; do
    dir="$work/$crate-$profile"
    rm -rf "$dir"
    flag=()
    [ "$profile" = release ] && flag=(--release)
    start=$(date +%s.%N)
    (cd "$crate" && cargo build --locked --timings "${flag[@]}" --target-dir "$dir" 2>"$work/$crate-$profile.log")
    seconds=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.0f", e - s }')
    count=$(grep -c '^ *Compiling ' "$work/$crate-$profile.log")
    printf '%-10s %-8s %7s %9s\n' "$crate" "$profile" "$count" "$seconds"
    # Keep the timings report; drop the build (several GB each).
    cp "$dir"/cargo-timings/cargo-timing.html "$work/$crate-$profile-timing.html" 2>/dev/null || true
    rm -rf "$dir"
  done
done
