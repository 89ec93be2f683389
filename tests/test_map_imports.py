"""A plain map run loads none of what only global stages, incremental runs or partitioned
writes (the rejects, by reason) need: each of numba, scipy and pyarrow.dataset costs a worker
tens of MB of RSS and start-up time."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UNNEEDED = ("numba", "scipy", "pyarrow.dataset", "pyarrow.acero", "corpusforge.dedup", "corpusforge.engine.nightly")


def test_a_filter_run_does_not_load_dedup_or_dataset_modules(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": f"d{i}", "text": t}, ensure_ascii=False) + "\n" for i, t in
                           enumerate(["The cat sat on the mat and looked at the dog.", "吾輩は猫である。名前はまだ無い。"])),
                   encoding="utf-8")
    code = f"""
import sys
from corpusforge.config import pipeline_from_yaml
from corpusforge.engine import run_pipeline
pipe = pipeline_from_yaml('''
inputs: [{{type: jsonl, path: {src}}}]
steps: [{{step: gopher_repetition}}, {{step: c4}}]
output: {{path: {tmp_path / "out"}, format: parquet, rejects: false}}
''')
stats = run_pipeline(pipe, workers=1)
print(stats.steps[0].docs_in, ' '.join(m for m in {UNNEEDED!r} if m in sys.modules))
"""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "2"
