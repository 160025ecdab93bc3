#!/usr/bin/env python3
"""Per-crate seconds from `cargo build --timings` reports (measure.sh keeps them in target/).

    python3 scripts/compile-cost/units.py target/with-asm-debug-timing.html ...

Prints, per report, the sum of all units' durations, the units of the crates asm-runtime adds
to the SDK's build, and aws-lc-sys's build script (the same work in every build: its spread
shows the machine's noise).
"""
import json
import re
import sys

ADDED = {"asm-runtime", "asm-derive", "serde", "serde_core", "serde_json", "memchr", "zmij",
         "secrecy", "foldhash"}

for path in sys.argv[1:]:
    text = open(path, encoding="utf-8").read()
    units = json.loads(re.search(r"const UNIT_DATA = (\[.*?\]);\n", text, re.S).group(1))
    added = [u for u in units if u["name"] in ADDED]
    lc = sum(u["duration"] for u in units if u["name"] == "aws-lc-sys")
    print(f"{path}: {len(units)} units, {sum(u['duration'] for u in units):.0f} s of unit time; "
          f"crates asm-runtime adds: {sum(u['duration'] for u in added):.0f} s "
          f"(asm-runtime {sum(u['duration'] for u in added if u['name'] == 'asm-runtime'):.0f} s); "
          f"aws-lc-sys: {lc:.0f} s")
