#!/usr/bin/env bash
# Runs every test suite: unit, integration against a local Secrets Manager (moto_server,
# installed here if missing), trybuild UI tests, doctests, and the examples against moto.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v moto_server >/dev/null 2>&1; then
  echo "moto_server not found: installing moto[server] from PyPI" >&2
  python3 -m pip install --quiet 'moto[server]'
fi
command -v moto_server >/dev/null 2>&1 || { echo "moto_server still not on PATH" >&2; exit 1; }

cargo test --workspace --all-targets
cargo test --workspace --doc
