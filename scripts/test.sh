#!/usr/bin/env bash
# Runs every test suite: unit, integration against a local Secrets Manager (moto_server,
# installed here if missing), trybuild UI tests, doctests, and the demo against moto.
# Ends with one line totalling every test binary's results.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v moto_server >/dev/null 2>&1; then
  echo "moto_server not found: installing moto[server] from PyPI" >&2
  python3 -m pip install --quiet 'moto[server]'
fi
command -v moto_server >/dev/null 2>&1 || { echo "moto_server still not on PATH" >&2; exit 1; }

# The README's demo command, end to end against a local Secrets Manager.
cargo run --quiet -p asm-examples --bin demo

log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --all-targets 2>&1 | tee "$log"
cargo test --workspace --doc 2>&1 | tee -a "$log"

passed=$(grep -oE '^test result: .* ([0-9]+) passed' "$log" | grep -oE '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
failed=$(grep -oE '^test result: .* ([0-9]+) failed' "$log" | grep -oE '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')
echo "tests: $passed passed, $failed failed"
