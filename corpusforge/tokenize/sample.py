"""Drawing a tokenizer-training sample from a corpus by language share, deterministically.

Two passes over the corpus: the first reads only ids, languages and text lengths and picks,
per language, the documents with the lowest id hashes until the language's character budget
is filled (and the highest hashes for a disjoint held-out set); the second reads the text of
the chosen documents only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.hashing import id_hash
from corpusforge.schema import ID, LANG, TEXT
from corpusforge.tokenize.corpus import corpus_files, read_file

SALT = "tokenizer-sample"


def _ids(batch: pa.Table) -> pa.Array:
    if ID in batch.column_names:
        return pc.fill_null(batch.column(ID).cast(pa.string()), "")
    return pa.array([""] * batch.num_rows)  # hashed with the text below


def _hash(batch: pa.Table) -> np.ndarray:
    # id + text: documents without ids still get distinct, stable hashes
    key = pc.binary_join_element_wise(_ids(batch), pc.fill_null(batch.column(TEXT), ""), "\x1f")
    return id_hash(key, SALT)


def language_sample(corpus: str | list[str], chars: dict[str, float], heldout_chars: float = 0,
                    lang_column: str = LANG) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """``(train, heldout)`` texts per language; ``chars[lang]`` is the training character budget."""
    files = corpus_files(corpus)
    if not files:
        raise FileNotFoundError(f"no .parquet or .jsonl files under {corpus}")
    langs, hashes, lengths = [], [], []
    for path, name in files:
        for batch in read_file(path, name, columns=[ID, TEXT, lang_column]):
            if lang_column not in batch.column_names:
                raise ValueError(f"{path} has no {lang_column!r} column (or {lang_column}=... folder)")
            langs.append(pc.fill_null(batch.column(lang_column).cast(pa.string()), "").to_numpy(zero_copy_only=False))
            hashes.append(_hash(batch))
            lengths.append(pc.utf8_length(pc.fill_null(batch.column(TEXT), "")).to_numpy(zero_copy_only=False))
    lang, h, n = np.concatenate(langs), np.concatenate(hashes), np.concatenate(lengths).astype(np.int64)
    low: dict[str, np.uint64] = {}
    high: dict[str, np.uint64] = {}
    for code, budget in chars.items():
        sel = lang == code
        if not sel.any():
            raise ValueError(f"the corpus has no documents with {lang_column} == {code!r}")
        order = np.argsort(h[sel], kind="stable")
        hs, cum = h[sel][order], np.cumsum(n[sel][order])
        k = min(int(np.searchsorted(cum, budget)) + 1, len(hs))
        low[code] = hs[k - 1]
        if heldout_chars > 0:
            back = np.cumsum(n[sel][order][::-1])
            j = min(int(np.searchsorted(back, heldout_chars)) + 1, len(hs) - k)
            high[code] = hs[len(hs) - j] if j > 0 else np.uint64(2**64 - 1)
    train: dict[str, list[str]] = {c: [] for c in chars}
    held: dict[str, list[str]] = {c: [] for c in chars}
    for path, name in files:
        for batch in read_file(path, name, columns=[ID, TEXT, lang_column]):
            bl = pc.fill_null(batch.column(lang_column).cast(pa.string()), "").to_numpy(zero_copy_only=False)
            bh = _hash(batch)
            for code in chars:
                is_lang = bl == code
                take = is_lang & (bh <= low[code])
                train[code] += batch.filter(pa.array(take)).column(TEXT).to_pylist()
                if code in high:
                    held[code] += batch.filter(pa.array(is_lang & (bh >= high[code]) & ~take)).column(TEXT).to_pylist()
    return train, held


def chunks(texts: Sequence[str], max_chars: int = 2000) -> list[str]:
    """Cut documents at line ends into pieces of at most ``max_chars`` (newlines kept inside).

    SentencePiece drops training "sentences" longer than ``max_sentence_length``; cutting at
    line ends keeps every newline inside a piece, so ``\\n`` is learned as a symbol.
    """
    out: list[str] = []
    for text in texts:
        if len(text) <= max_chars:
            if text:
                out.append(text)
            continue
        piece = ""
        for line in text.split("\n"):
            while len(line) > max_chars:
                if piece:
                    out.append(piece)
                    piece = ""
                out.append(line[:max_chars])
                line = line[max_chars:]
            if len(piece) + len(line) + 1 > max_chars and piece:
                out.append(piece)
                piece = line
            else:
                piece = f"{piece}\n{line}" if piece else line
        if piece:
            out.append(piece)
    return out
