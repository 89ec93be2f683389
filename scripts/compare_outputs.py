"""Compare two run output folders: the same files, byte for byte, and the same counts.

Used to check that a change to the run machinery changes no output:

    python scripts/compare_outputs.py OLD_OUTPUT NEW_OUTPUT

Every file is compared except the resume state (``_state/`` folders) and stats files, whose
document and byte counts are compared instead (timings and the nodes the tasks ran on differ
from run to run). A
``stats.json`` below the root (an older layout kept the map phase's there) is ignored.
Exit code 0 when the two agree, 1 otherwise, with the differences listed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

#: what depends on where and how fast a run ran, not on what it wrote
_TIMING = {"seconds", "wall_seconds", "docs_per_second", "nodes"}


def files(root: Path) -> dict[str, bytes]:
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if p.is_file() and "_state" not in rel.parts and rel.name != "stats.json":
            out[rel.as_posix()] = p.read_bytes()
    return out


def counts(root: Path) -> object:
    def strip(value: object) -> object:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in _TIMING}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(json.loads((root / "stats.json").read_text()))


def compare(old: Path, new: Path) -> list[str]:
    a, b = files(old), files(new)
    problems = [f"only in {old}: {n}" for n in sorted(set(a) - set(b))]
    problems += [f"only in {new}: {n}" for n in sorted(set(b) - set(a))]
    problems += [f"differs: {n}" for n in sorted(set(a) & set(b)) if a[n] != b[n]]
    if counts(old) != counts(new):
        problems.append(f"stats.json counts differ:\n  {counts(old)}\n  {counts(new)}")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    old, new = Path(argv[0]), Path(argv[1])
    problems = compare(old, new)
    for line in problems:
        print(line)
    n = len(files(old))
    print(f"{old} vs {new}: {n} files, " + ("identical" if not problems else f"{len(problems)} differences"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
