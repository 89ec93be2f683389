"""The ``tokenize`` step: batched encoding, an ``n_tokens`` column, token ids when asked."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpusforge.models import NonNegativeInt
from corpusforge.schema import N_TOKENS, TEXT, TOKEN_IDS
from corpusforge.steps.base import MapStep, StepConfig
from corpusforge.steps.registry import register
from corpusforge.tokenize.loader import BatchTokenizer, TokenizerPath, TokenizerSpec, load_tokenizer


class TokenizeConfig(StepConfig):
    #: a ``.model`` / ``tokenizer.json`` path (kind guessed from the name) or
    #: ``{sentencepiece: path}`` / ``{hf_tokenizer: path}``
    tokenizer: TokenizerPath | TokenizerSpec
    #: encoding threads per worker; 0 = all cores
    threads: NonNegativeInt = 0
    #: also store the token ids as ``list<uint32>``
    ids: bool = False
    #: append the end-of-document id to every document (and count it), as Megatron's
    #: ``--append-eod`` does
    append_eos: bool = False
    n_tokens_column: str = N_TOKENS
    ids_column: str = TOKEN_IDS


@register
class Tokenize(MapStep[TokenizeConfig]):
    """Count (and optionally store) tokens with a SentencePiece or HF tokenizer, whole batch at once."""

    name = "tokenize"

    def added_columns(self) -> frozenset[str]:
        cfg = self.config
        return frozenset({cfg.n_tokens_column, *([cfg.ids_column] if cfg.ids else [])})

    def setup(self) -> None:
        self.tok: BatchTokenizer = load_tokenizer(self.config.tokenizer)

    def encode(self, batch: pa.Table) -> tuple[np.ndarray, np.ndarray]:
        """``(offsets, flat ids)`` of the batch's text column, EOS appended when configured."""
        cfg = self.config
        texts = pc.fill_null(batch.column(TEXT), "").to_pylist()
        offsets, flat = self.tok.encode(texts, cfg.threads)
        if cfg.append_eos:
            if self.tok.eos_id < 0:
                raise ValueError(f"tokenizer {self.tok.spec.path} has no end-of-document token")
            # insert one EOS after each document's run: positions are the old end offsets
            flat = np.insert(flat, offsets[1:], np.uint32(self.tok.eos_id))
            offsets = offsets + np.arange(len(offsets), dtype=np.int64)
        return offsets, flat

    def process(self, batch: pa.Table) -> pa.Table:
        cfg = self.config
        if not cfg.ids:
            # counts only: an HF Encoding knows its length without building the id list
            texts = pc.fill_null(batch.column(TEXT), "").to_pylist()
            n = self.tok.lengths(texts, cfg.threads) + (1 if cfg.append_eos else 0)
            if cfg.append_eos and self.tok.eos_id < 0:
                raise ValueError(f"tokenizer {self.tok.spec.path} has no end-of-document token")
            return _set(batch, cfg.n_tokens_column, pa.array(n.astype(np.int64)))
        offsets, flat = self.encode(batch)
        out = _set(batch, cfg.n_tokens_column, pa.array(np.diff(offsets).astype(np.int64)))
        if cfg.ids:
            ids = pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pa.array(flat))
            out = _set(out, cfg.ids_column, ids)
        return out


def _set(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    i = table.schema.get_field_index(name)
    return table.set_column(i, name, values) if i >= 0 else table.append_column(name, values)
