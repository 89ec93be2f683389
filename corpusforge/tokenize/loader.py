"""Loading a tokenizer (SentencePiece ``.model`` or HF ``tokenizer.json``) behind one batch API.

Both kinds encode a list of texts into *flat* token ids plus offsets, which is exactly the
layout of an Arrow ``list<uint32>`` column and of a Megatron ``.bin``: no per-token Python
objects are created on the SentencePiece path (``out_type="numpy"`` hands back one buffer
per document).
"""

from __future__ import annotations

import gzip
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pyarrow as pa
from pydantic import model_validator

from corpusforge.models import Model, NeedsFile

Kind = Literal["sentencepiece", "hf"]

#: local paths (the libraries read files, not URLs): a folder holds the file the loader takes
SentencePiecePath = Annotated[str, NeedsFile("SentencePiece model", folder_holds=("*.model",))]
HfTokenizerPath = Annotated[str, NeedsFile("HF tokenizer", folder_holds=("tokenizer.json*",))]
#: a bare path, its kind guessed from its name (see :meth:`TokenizerSpec.from_ref`)
TokenizerPath = Annotated[str, NeedsFile("tokenizer", folder_holds=("tokenizer.json*", "*.model"))]


class TokenizerSpec(Model):
    """``{sentencepiece: path/to.model}`` or ``{hf_tokenizer: path/to/tokenizer.json}``."""

    sentencepiece: SentencePiecePath | None = None
    hf_tokenizer: HfTokenizerPath | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> TokenizerSpec:
        if (self.sentencepiece is None) == (self.hf_tokenizer is None):
            raise ValueError("give exactly one of `sentencepiece:` or `hf_tokenizer:`")
        return self

    @property
    def kind(self) -> Kind:
        return "sentencepiece" if self.sentencepiece is not None else "hf"

    @property
    def path(self) -> str:
        return self.sentencepiece if self.sentencepiece is not None else self.hf_tokenizer  # type: ignore[return-value]

    @classmethod
    def from_ref(cls, ref: str | TokenizerSpec | dict) -> TokenizerSpec:
        """Accept a spec, a mapping, or a bare path whose kind is guessed from its name."""
        if isinstance(ref, TokenizerSpec):
            return ref
        if isinstance(ref, dict):
            return cls(**ref)
        return cls(**{_guess_kind(ref): ref})


def _guess_kind(path: str) -> str:
    p = Path(path)
    if p.is_dir():
        if any(p.glob("tokenizer.json*")):
            return "hf_tokenizer"
        if any(p.glob("*.model")):
            return "sentencepiece"
    name = p.name
    if name.endswith((".json", ".json.gz")):
        return "hf_tokenizer"
    return "sentencepiece"


class BatchTokenizer:
    """A loaded tokenizer with a whole-batch ``encode``."""

    def __init__(self, spec: TokenizerSpec) -> None:
        self.spec = spec
        self.kind: Kind = spec.kind
        if self.kind == "sentencepiece":
            import sentencepiece as spm

            self._sp = spm.SentencePieceProcessor(model_file=_resolve(spec.path, "*.model"))
            self.vocab_size = int(self._sp.get_piece_size())
            self.eos_id = int(self._sp.eos_id())
        else:
            from tokenizers import Tokenizer

            file = _resolve(spec.path, "tokenizer.json*")
            raw = gzip.decompress(Path(file).read_bytes()) if file.endswith(".gz") else Path(file).read_bytes()
            self._hf = Tokenizer.from_str(raw.decode("utf-8"))
            self.vocab_size = int(self._hf.get_vocab_size(with_added_tokens=True))
            self.eos_id = _hf_eos_id(self._hf, Path(file).parent)

    def encode(self, texts: list[str], threads: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Token ids of every text: ``(offsets int64[n+1], ids uint32[total])``."""
        threads = threads or os.cpu_count() or 1
        if self.kind == "sentencepiece":
            # numpy out_type: one int32 buffer per document, no Python int per token
            parts = self._sp.encode(texts, num_threads=threads, out_type="numpy")
        else:
            # the Rust side parallelises the batch; `.ids` is one list per document, unavoidable
            # through this binding (see docs/tokenize-mix.md)
            parts = [e.ids for e in self._hf.encode_batch_fast(texts, add_special_tokens=False)]
        if self.kind == "hf":
            # pyarrow converts the nested lists in C++ and hands back offsets + values
            lst = pa.array(parts, type=pa.large_list(pa.uint32()))
            return lst.offsets.to_numpy().astype(np.int64), lst.values.to_numpy()
        lengths = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
        offsets = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        if not parts:
            return offsets, np.zeros(0, dtype=np.uint32)
        return offsets, np.concatenate(parts).astype(np.uint32, copy=False)

    def lengths(self, texts: list[str], threads: int = 0) -> np.ndarray:
        """Tokens per text (int64), without materialising the ids where the library allows."""
        if self.kind == "hf":
            encs = self._hf.encode_batch_fast(texts, add_special_tokens=False)
            return np.fromiter(map(len, encs), dtype=np.int64, count=len(encs))
        return np.diff(self.encode(texts, threads)[0])

    def id_to_piece(self, ids: np.ndarray) -> list[str]:
        if self.kind == "sentencepiece":
            return [self._sp.id_to_piece(int(i)) for i in ids]
        return [self._hf.id_to_token(int(i)) or "" for i in ids]


def _hf_eos_id(tok, folder: Path) -> int:
    """The end-of-document id: ``eos_token`` of a sibling special_tokens_map.json, else a usual name."""
    names = ["</s>", "<|endoftext|>", "<eos>"]
    special = folder / "special_tokens_map.json"
    if special.exists():
        eos = json.loads(special.read_text()).get("eos_token")
        if isinstance(eos, dict):
            eos = eos.get("content")
        if eos:
            names.insert(0, eos)
    found = next((tok.token_to_id(n) for n in names if tok.token_to_id(n) is not None), None)
    return -1 if found is None else int(found)


def _resolve(path: str, pattern: str) -> str:
    p = Path(path)
    if p.is_dir():
        found = sorted(p.glob(pattern))
        if not found:
            raise FileNotFoundError(f"no {pattern} in tokenizer folder {path}")
        return str(found[0])
    if not p.exists():
        raise FileNotFoundError(f"tokenizer not found: {path}")
    return str(p)


@lru_cache(maxsize=8)
def _cached(spec: TokenizerSpec) -> BatchTokenizer:
    return BatchTokenizer(spec)


def load_tokenizer(ref: str | TokenizerSpec | dict) -> BatchTokenizer:
    """Load (once per process) a tokenizer from a path or a ``{sentencepiece|hf_tokenizer: path}`` spec."""
    return _cached(TokenizerSpec.from_ref(ref))
