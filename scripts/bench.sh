#!/usr/bin/env bash
# Every measurement in BENCHMARKS.md, in one run:
#  1. the criterion benches of asm-runtime (`hit`: reads from memory, warm loads of 1/6/50
#     fields, and 1-8 thread throughput on one shared struct and on one per thread;
#     `api`: cold concurrency, a 40-secret struct, steady-state API calls), against AWS's
#     aws_secretsmanager_caching on the same stub client;
#  2. compile cost: asm-derive from a clean target dir, and a 50-field struct with and without
#     #[derive(AwsSecrets)].
# Uses hyperfine when installed (apt-get install hyperfine), else bash's `time`.
# Set BENCH_SKIP_CRITERION=1 or BENCH_SKIP_COMPILE=1 to run one half.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
runs=${BENCH_RUNS:-5}

# `measure NAME PREPARE COMMAND`: COMMAND's wall time over $runs runs, PREPARE before each;
# prints one `compile:` line with the median.
measure() {
  local name=$1 prepare=$2 command=$3
  if command -v hyperfine >/dev/null 2>&1; then
    local json
    json=$(mktemp)
    hyperfine --style basic --warmup 1 --runs "$runs" --command-name "$name" --prepare "$prepare" \
      --export-json "$json" "$command"
    python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))["results"][0]
print("compile: %s: median %.2f s (min %.2f s, %d runs)" % (r["command"], r["median"], r["min"], len(r["times"])))' "$json"
    rm -f "$json"
  else
    local times=()
    for _ in $(seq "$runs"); do
      bash -c "$prepare"
      local start end
      start=$(date +%s.%N)
      bash -c "$command"
      end=$(date +%s.%N)
      times+=("$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')")
    done
    printf '%s\n' "${times[@]}" | sort -n | awk -v name="$name" '{t[NR]=$1} END {
      m = (NR % 2) ? t[(NR+1)/2] : (t[NR/2] + t[NR/2+1]) / 2
      printf "compile: %s: median %.2f s (min %.2f s, %d runs)\n", name, m, t[1], NR }'
  fi
}

if [[ -z ${BENCH_SKIP_CRITERION:-} ]]; then
  cargo bench -p asm-runtime --benches
fi

if [[ -z ${BENCH_SKIP_COMPILE:-} ]]; then
  echo "== compile cost (dev profile)"
  scratch=$root/target/bench-compile
  mkdir -p "$scratch"

  # asm-derive and its three dependencies (syn, quote, proc-macro2), from nothing.
  measure "asm-derive from clean" \
    "rm -rf '$scratch/clean'" \
    "CARGO_TARGET_DIR='$scratch/clean' cargo build -q -p asm-derive"
  # asm-derive alone, its dependencies already built.
  measure "asm-derive alone" \
    "CARGO_TARGET_DIR='$scratch/clean' cargo clean -q -p asm-derive" \
    "CARGO_TARGET_DIR='$scratch/clean' cargo build -q -p asm-derive"

  # A user crate whose only code is a 50-field struct, with and without the derive.
  fixture=$scratch/fixture
  mkdir -p "$fixture/src"
  cat >"$fixture/Cargo.toml" <<EOF
[package]
name = "asm-compile-fixture"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
asm-runtime = { path = "$root/asm-runtime" }

[workspace]
EOF
  cp "$root/Cargo.lock" "$fixture/Cargo.lock"
  struct() { # $1: the derive line, or nothing
    echo "use asm_runtime::SecretString;"
    echo "$1"
    echo "#[allow(dead_code)]"
    [[ -n $1 ]] && echo '#[aws_secrets(name = "app/config")]'
    echo "pub struct Fifty {"
    for i in $(seq -w 1 50); do echo "    pub field_$i: SecretString,"; done
    echo "}"
  }
  struct "" >"$fixture/plain.rs.txt"
  struct "#[derive(asm_runtime::AwsSecrets)]" >"$fixture/derived.rs.txt"
  cp "$fixture/plain.rs.txt" "$fixture/src/lib.rs"
  # Warm-up: build asm-runtime and its dependencies once, outside the timings.
  (cd "$fixture" && CARGO_TARGET_DIR="$scratch/fixture-target" cargo build -q)
  for variant in plain derived; do
    measure "50-field struct, $variant" \
      "cp '$fixture/$variant.rs.txt' '$fixture/src/lib.rs'" \
      "cd '$fixture' && CARGO_TARGET_DIR='$scratch/fixture-target' cargo build -q"
  done
fi
