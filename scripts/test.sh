#!/usr/bin/env bash
# Runs every test suite: unit, integration against a local Secrets Manager (moto_server,
# installed here if missing) and PostgreSQL (the distribution's package, installed here if
# missing), trybuild UI tests, doctests; and every example twice (the `service` example is the
# short form of the load test: it fails on any failed request or unadopted rotation): against a
# moto_server it starts itself, then against one this script starts and names in
# AWS_ENDPOINT_URL, which the examples read through `SecretCache::from_env()`.
# Fails if any example or test fails; ends with one line totalling every test binary's results.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

if ! command -v moto_server >/dev/null 2>&1; then
  echo "moto_server not found: installing moto[server] from PyPI" >&2
  python3 -m pip install --quiet 'moto[server]'
fi
command -v moto_server >/dev/null 2>&1 || { echo "moto_server still not on PATH" >&2; exit 1; }

# The AWS Secrets Manager Agent, for the agent source's tests (pinned; the first build takes
# about 7 minutes on 2 cores).
agent_version=2.1.0
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
if ! command -v aws_secretsmanager_agent >/dev/null 2>&1; then
  echo "aws_secretsmanager_agent not found: cargo install --locked aws_secretsmanager_agent@$agent_version" >&2
  cargo install --locked aws_secretsmanager_agent --version "$agent_version"
fi
command -v aws_secretsmanager_agent >/dev/null 2>&1 || { echo "aws_secretsmanager_agent still not on PATH" >&2; exit 1; }
# PostgreSQL, for the service example and its tests (each starts a throw-away cluster with
# initdb/pg_ctl on a free loopback port; as root, they run it as the package's `postgres` user).
pg_installed() { compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || command -v initdb >/dev/null 2>&1; }
if ! pg_installed; then
  echo "PostgreSQL not found: installing the distribution's postgresql package" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
pg_installed || { echo "PostgreSQL's initdb still not found" >&2; exit 1; }

log=$(mktemp)
moto_pid=
cleanup() {
  rm -f "$log"
  if [[ -n $moto_pid ]]; then
    kill "$moto_pid" 2>/dev/null || true
    wait "$moto_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT

# The README's demo command, end to end against a local Secrets Manager.
cargo run --quiet -p asm-examples --bin demo

examples=(demo)
for src in examples/src/bin/*.rs; do
  name=$(basename "$src" .rs)
  [[ $name == demo ]] || examples+=("$name")
done
passed_examples=0
failed_examples=()
run_example() { # label, command...
  local label=$1
  shift
  echo "--- example: $label"
  if "$@"; then
    passed_examples=$((passed_examples + 1))
  else
    failed_examples+=("$label")
  fi
}

# Every other example, each against a moto_server it starts.
cargo build --quiet -p asm-examples --bins
for name in "${examples[@]:1}"; do
  run_example "$name" cargo run --quiet -p asm-examples --bin "$name"
done

# Every example against a configured endpoint: the path a newcomer with their own local
# Secrets Manager takes, and `SecretCache::from_env()` honouring AWS_ENDPOINT_URL.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
moto_server -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
moto_pid=$!
for _ in $(seq 300); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  kill -0 "$moto_pid" 2>/dev/null || { echo "moto_server exited before listening" >&2; exit 1; }
  sleep 0.1
done
(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "moto_server did not listen on 127.0.0.1:$port" >&2; exit 1; }
endpoint_env=(env -u AWS_ENDPOINT_URL_SECRETS_MANAGER -u AWS_PROFILE -u AWS_SESSION_TOKEN -u ASM_DEMO_AWS
  "AWS_ENDPOINT_URL=http://127.0.0.1:$port" AWS_REGION=us-east-1
  AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true)
for name in "${examples[@]}"; do
  run_example "$name (AWS_ENDPOINT_URL)" "${endpoint_env[@]}" cargo run --quiet -p asm-examples --bin "$name"
done

# The Lambda example through the Secrets Manager Agent (standing in for the Lambda extension)
# in front of the same moto_server: ASM_SECRETS_AGENT and AWS_TOKEN, as a function would set.
agent_dir=$(mktemp -d)
agent_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf 'log_level = "info"\nlog_to_file = false\nhttp_port = "%s"\nttl_seconds = "300"\nregion = "us-east-1"\nvalidate_credentials = false\n' \
  "$agent_port" >"$agent_dir/config.toml"
(cd "$agent_dir" && exec "${endpoint_env[@]}" AWS_TOKEN=example-token aws_secretsmanager_agent --config config.toml >/dev/null 2>&1) &
agent_pid=$!
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$agent_port") 2>/dev/null && break
  sleep 0.1
done
run_example "lambda (through the agent)" "${endpoint_env[@]}" AWS_TOKEN=example-token \
  "ASM_SECRETS_AGENT=http://127.0.0.1:$agent_port" cargo run --quiet -p asm-examples --bin lambda
kill "$agent_pid" 2>/dev/null || true
wait "$agent_pid" 2>/dev/null || true
rm -rf "$agent_dir"
kill "$moto_pid" 2>/dev/null || true
wait "$moto_pid" 2>/dev/null || true
moto_pid=

examples_line="examples: $((passed_examples + 1)) runs passed, ${#failed_examples[@]} failed"
if ((${#failed_examples[@]})); then
  echo "$examples_line: ${failed_examples[*]}" >&2
  exit 1
fi

cargo test --workspace --all-targets --no-fail-fast 2>&1 | tee "$log"
cargo test --workspace --doc 2>&1 | tee -a "$log"

# The README's snippets as a user builds them: each dependency block starts a crate of its own,
# outside the workspace, with exactly the lines the README shows (asm-runtime patched to this
# checkout, everything else at the workspace's locked versions); its snippets are that crate's
# doctests, so a missing dependency or feature fails here (scripts/readme-crates.py).
readme_dir=$(mktemp -d)
python3 scripts/readme-crates.py "$readme_dir" >"$readme_dir/crates.txt"
while read -r crate; do
  echo "--- README snippets: $(basename "$crate")"
  (cd "$crate" && CARGO_TARGET_DIR="$root/target" cargo test --doc </dev/null 2>&1) | tee -a "$log"
done <"$readme_dir/crates.txt"
rm -rf "$readme_dir"

passed=$(grep -oE '^test result: .* ([0-9]+) passed' "$log" | grep -oE '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
failed=$(grep -oE '^test result: .* ([0-9]+) failed' "$log" | grep -oE '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')
echo "$examples_line"
echo "tests: $passed passed, $failed failed"
