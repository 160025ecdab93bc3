#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for a fixed number of executions and prints, per target, the
# executions, the seconds and the crashes (libFuzzer stops at the first crash, panic, timeout or
# leak and writes it under fuzz/artifacts/TARGET/). Exits 1 if any target found one.
#
#   scripts/fuzz.sh            the figures in SECURITY.md (11.3 million executions)
#   scripts/fuzz.sh 0.01       the same with each target's runs scaled (a smoke run)
#   scripts/fuzz.sh 1 agent_answer placeholders     only these targets
#
# Needs nightly and cargo-fuzz: `rustup toolchain install nightly`, `cargo install cargo-fuzz`.
# Built without a sanitizer, for speed: asm-runtime forbids unsafe code, and what is looked for
# is panics, arithmetic overflows (debug assertions on) and failed properties. One job, one
# worker.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
scale="${1:-1}"
only=("${@:2}")
# The mounted-file target builds its trees under the temporary directory: a tmpfs when there
# is one, as the CSI driver's mount is.
if [ -d /dev/shm ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi

# target and runs: 11.3 million in all. The agent's answers and the mounted-file target cost
# more per execution (an answer read through hyper's body types; a directory tree built and
# read), hence fewer.
targets=(
  "json_index 4000000"
  "secret_arn 3000000"
  "role_arn 2000000"
  "placeholders 1000000"
  "agent_answer 1000000"
  "mounted_files 300000"
)

cargo +nightly fuzz build --sanitizer none --debug-assertions >/dev/null
total=0
failed=0
printf '%-14s %12s %9s %8s\n' target executions seconds crashes
for entry in "${targets[@]}"; do
  read -r target runs <<<"$entry"
  if [ ${#only[@]} -gt 0 ] && [[ ! " ${only[*]} " =~ " $target " ]]; then continue; fi
  runs=$(awk -v r="$runs" -v s="$scale" 'BEGIN { printf "%d", r * s }')
  mkdir -p "corpus/$target" "seeds/$target" "artifacts/$target"
  log="artifacts/$target/last-run.log"
  marker="artifacts/$target/.started"
  touch "$marker"
  start=$(date +%s)
  status=0
  cargo +nightly fuzz run --sanitizer none --debug-assertions "$target" \
    "corpus/$target" "seeds/$target" -- -runs="$runs" -max_len=8192 -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1 || status=$?
  seconds=$(($(date +%s) - start))
  done_runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
  crashes=$(find "artifacts/$target" -maxdepth 1 -type f -newer "$marker" \
    \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \) | wc -l)
  if [ "$status" -ne 0 ] || [ -z "$done_runs" ]; then
    failed=1
    crashes=$((crashes > 0 ? crashes : 1))
    tail -40 "$log" >&2
  fi
  total=$((total + ${done_runs:-0}))
  printf '%-14s %12s %9s %8s\n' "$target" "${done_runs:-?}" "$seconds" "$crashes"
done
printf '%-14s %12s\n' total "$total"
rm -rf "${TMPDIR:-/tmp}"/asm-fuzz-*
exit "$failed"
