"""Compare two run output folders: the same files, byte for byte, and the same counts.

Used to check that a change to the run machinery changes no output, or that a run into a
bucket wrote what the same run on local disk writes:

    python scripts/compare_outputs.py OLD_OUTPUT NEW_OUTPUT
    python scripts/compare_outputs.py out/sample s3://my-bucket/runs/sample

Either side is a folder or a URL (any fsspec filesystem; S3 credentials and endpoint from the
usual AWS_* environment variables, such as AWS_ENDPOINT_URL_S3).

Every file is compared except the resume state (``_state/`` folders), the run log
(``_logs/``), the report (``report.html``: times) and stats files, whose
document and byte counts are compared instead (timings and the nodes the tasks ran on differ
from run to run). A
``stats.json`` below the root (an older layout kept the map phase's there) is ignored.
Exit code 0 when the two agree, 1 otherwise, with the differences listed.
"""

from __future__ import annotations

import json
import sys

from corpusforge.io.storage import filesystem

#: what depends on where and how fast a run ran, not on what it wrote
_TIMING = {"seconds", "wall_seconds", "docs_per_second", "nodes", "task_memory"}


def files(root: str) -> dict[str, bytes]:
    """Every file under ``root`` but the resume state and stats, by relative path."""
    fs, base = filesystem(str(root))
    base = base.rstrip("/")
    out = {}
    for p in sorted(fs.find(base)):
        rel = p[len(base) + 1:]
        parts = rel.split("/")
        if "_state" not in parts and "_logs" not in parts and parts[-1] not in ("stats.json", "report.html"):
            out[rel] = fs.cat_file(p)
    return out


def counts(root: str) -> object:
    def strip(value: object) -> object:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in _TIMING}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    fs, base = filesystem(str(root))
    return strip(json.loads(fs.cat_file(base.rstrip("/") + "/stats.json")))


def compare(old: str, new: str) -> list[str]:
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
    old, new = argv
    problems = compare(old, new)
    for line in problems:
        print(line)
    n = len(files(old))
    print(f"{old} vs {new}: {n} files, " + ("identical" if not problems else f"{len(problems)} differences"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
