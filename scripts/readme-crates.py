#!/usr/bin/env python3
"""Lays out the README's snippets as the crates a user would write, outside the workspace.

Each ```toml block of README.md that has a `[dependencies]` or `[dev-dependencies]` table starts
a crate with *exactly* those lines (a block with only `[dev-dependencies]` keeps the
`[dependencies]` of the block before it, as a user's crate has both); the ```rust blocks after
it, up to the next such block, are that crate's doctests (`no_run` ones compile, plain ones
run, `ignore` ones are skipped as in rustdoc). `asm-runtime` and `asm-derive` are patched to
this checkout; every other dependency resolves from the workspace's Cargo.lock, so the check
is reproducible.

    python3 scripts/readme-crates.py OUT_DIR   # prints one crate directory a line
"""

import pathlib
import re
import shutil
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
# The sections whose dependency blocks a newcomer copies; each must be there, with snippets.
EXPECTED = ["Quickstart", "Testing your service", "On Kubernetes"]
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```\s*$", re.S | re.M)


def sections(readme):
    """(heading, dependencies, dev_dependencies, [rust blocks]) for each dependency block."""
    found = []
    deps = ""
    for match in FENCE.finditer(readme):
        info, body = match.group(1).strip(), match.group(2)
        if info == "toml" and re.search(r"^\[(dev-)?dependencies\]", body, re.M):
            heading = re.findall(r"^## (.+)$", readme[: match.start()], re.M)
            tables = dict(re.findall(r"^\[([a-z-]+)\]\n(.*?)(?=^\[|\Z)", body, re.M | re.S))
            if "dependencies" in tables:
                deps = tables["dependencies"]
            if not deps:
                sys.exit(f"README: the block under '{heading[-1]}' has no [dependencies] to build on")
            found.append((heading[-1], deps, tables.get("dev-dependencies", ""), []))
        elif info.split(",")[0] == "rust" and found:
            found[-1][3].append(match.group(0))
    return found


def slug(heading):
    return re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = pathlib.Path(sys.argv[1])
    readme = (ROOT / "README.md").read_text()
    crates = sections(readme)
    headings = [heading for heading, *_ in crates]
    for expected in EXPECTED:
        if expected not in headings:
            sys.exit(f"README: no dependency block under '## {expected}' (found: {headings})")
    for heading, _, _, blocks in crates:
        if not blocks:
            sys.exit(f"README: the dependency block under '## {heading}' has no rust snippet after it")
    for heading, deps, dev_deps, blocks in crates:
        name = "readme-" + slug(heading)
        crate = out / name
        (crate / "src").mkdir(parents=True, exist_ok=True)
        manifest = f"""[package]
name = "{name}"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
{deps.strip()}

[dev-dependencies]
{dev_deps.strip()}

[patch.crates-io]
asm-runtime = {{ path = "{ROOT / 'asm-runtime'}" }}
asm-derive = {{ path = "{ROOT / 'asm-derive'}" }}

[workspace]
"""
        (crate / "Cargo.toml").write_text(manifest)
        shutil.copy(ROOT / "Cargo.lock", crate / "Cargo.lock")
        snippets = "\n\n".join(blocks)
        (crate / "README-snippets.md").write_text(f"# {heading}\n\n{snippets}\n")
        (crate / "src" / "lib.rs").write_text(
            f'//! The README\'s "{heading}" snippets, as doctests.\n'
            '#![doc = include_str!("../README-snippets.md")]\n'
        )
        print(crate)


if __name__ == "__main__":
    main()
