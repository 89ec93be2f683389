"""The mix stage's memory per task does not grow with the corpus: the same stage on N and 2N
documents (twice the input shards, each the same size) takes the same memory per task in
every task group, within a small slack, and stays under the bound docs/tokenize-mix.md states."""

from __future__ import annotations

import gzip

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from corpusforge.executors.local import LocalExecutor
from corpusforge.io.layout import OutputLayout
from corpusforge.io.sinks import Sinks
from corpusforge.mix import Mix, MixConfig
from corpusforge.stages.context import StageContext

from conftest import shared_data

MB = 2**20
SHARD_DOCS = 2500
#: (source, language, line pool): xx has no target, its documents are removed
SUBSETS = (("ja-web", "ja", "ja"), ("en-web", "en", "en"), ("xx-web", "xx", "en"))


def _lines() -> dict[str, list[str]]:
    neko = gzip.decompress(shared_data("ja", "aozora_neko", "wagahaiwa_nekodearu.txt.gz").read_bytes()).decode()
    botchan = gzip.decompress(shared_data("en", "botchan.txt.gz").read_bytes()).decode()
    return {"ja": [x for x in neko.split("\n") if len(x) > 20],
            "en": [x for x in botchan.replace("\r\n", "\n").split("\n") if len(x) > 20]}


def _corpus(folder, shards: int) -> tuple[list[str], dict[str, int], int]:
    """Tokenized shards of the same size (token ids drawn at random, a count per character
    pair); returns the files, the tokens per language and the largest shard's Arrow bytes."""
    lines = {k: np.array(v, dtype=object) for k, v in _lines().items()}
    rng = np.random.default_rng(0)
    folder.mkdir()
    files, tokens, largest = [], {}, 0
    for s in range(shards):
        which = rng.integers(0, len(SUBSETS), SHARD_DOCS)
        texts, source, lang = [], [], []
        for w in which:
            name, language, pool = SUBSETS[w]
            texts.append("\n".join(lines[pool][rng.integers(0, len(lines[pool]), rng.integers(2, 12))]))
            source.append(name)
            lang.append(language)
        n = np.array([max(1, len(t) // 2) for t in texts], np.int64)
        offsets = np.concatenate([[0], np.cumsum(n)]).astype(np.int32)
        ids = pa.ListArray.from_arrays(pa.array(offsets), pa.array(rng.integers(10, 30000, int(n.sum()), np.uint32)))
        table = pa.table({"id": [f"s{s}-{i}" for i in range(SHARD_DOCS)], "text": texts, "source": source,
                          "lang": lang, "n_tokens": n, "token_ids": ids})
        files.append(str(folder / f"in-{s:05d}.parquet"))
        pq.write_table(table, files[-1])
        largest = max(largest, table.nbytes)
        for language, k in zip(lang, n):
            tokens[language] = tokens.get(language, 0) + int(k)
    return files, tokens, largest


def _mix_memory(tmp_path, name: str, shards: int) -> tuple[dict[str, dict[str, int]], int]:
    files, tokens, largest = _corpus(tmp_path / f"in-{name}", shards)
    model = shared_data("tokenizers", "llm-jp-tokenizer", "code10K_en20K_ja30K.ver2.2.model")
    # the same shares of the corpus at both sizes: ja downsampled, en taken 1.5 times
    cfg = MixConfig(targets={"ja": 0.6 * tokens["ja"], "en": 1.5 * tokens["en"]},
                    validation={"tokens_per_subset": 20_000}, outputs=["parquet", "jsonl", "megatron"],
                    tokenizer={"sentencepiece": str(model)})
    out = tmp_path / f"out-{name}"
    layout = OutputLayout(str(out))
    sinks = Sinks(path=str(out), rejects=layout.rejects, errors=layout.errors, step="mix")
    with LocalExecutor(2) as ex:
        ctx = StageContext(name="mix", key="00-mix", input_files=files, sinks=sinks, layout=layout, executor=ex)
        stats = Mix(cfg).run(ctx)
    assert all(t["met"] for t in stats.targets.values()), stats.targets
    return {g.rpartition("/")[2]: m for g, m in ctx.memory.items()}, largest


def test_mix_memory_per_task_does_not_grow_with_the_corpus(tmp_path, monkeypatch):
    # freed pages go back to the system at once (Arrow's allocator keeps them a while by
    # default): a worker's resident set then shows the task it runs, not what its earlier
    # tasks left, which depends on how many it ran (the workers inherit the variable)
    monkeypatch.setenv("MIMALLOC_PURGE_DELAY", "0")
    small, shard_bytes = _mix_memory(tmp_path, "n", 3)
    large, _ = _mix_memory(tmp_path, "2n", 6)
    assert set(small) == set(large) == {"count", "select", "write", "validation"}
    assert large["select"]["tasks"] == 2 * small["select"]["tasks"] == 6
    for group in small:
        a, b = small[group]["peak"], large[group]["peak"]
        # twice the corpus, the same task: what it holds is its shard, not a share of the corpus
        # (the peak: a worker's resident set while the task ran, its start-up included)
        assert b <= 1.1 * a + 16 * MB, (group, a, b)
        # the bound docs/tokenize-mix.md states for what a task adds: four times its shard
        # (select: the shard as decoded, its removed rows, one output shard's copies; write: an
        # output shard, here about one input shard, and one batch) plus ~80 MB of fixed costs
        assert large[group]["growth"] <= 4 * shard_bytes + 80 * MB, (group, large[group], shard_bytes)
