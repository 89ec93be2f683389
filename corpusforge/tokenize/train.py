"""Training SentencePiece unigram tokenizers the LLM-jp way, or as one joint model.

LLM-jp (v2.x) recipe, as implemented here:

1. one unigram model per language on that language's sample: identity normalisation, byte
   fallback, split digits, no whitespace pre-splitting, ``\\n`` a user-defined symbol;
   maximum piece length 8 for Japanese and 16 for English and code;
2. vocabularies merged: special and byte pieces once, then the normal pieces of every model
   (code, then English, then Japanese by default), duplicates dropped;
3. scores re-estimated on the concatenated sample: encode with the merged model, count how
   often each piece is used (``np.bincount`` over the ids), set ``score = log p(piece)``, and
   repeat (hard / Viterbi EM). Pieces never used keep a score below every used piece.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import Field

from corpusforge.models import Model, PositiveInt
from corpusforge.tokenize.sample import chunks

NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6


class TokenizerTraining(Model):
    """Parameters of ``train-tokenizer``."""

    mode: Literal["llm-jp", "joint"] = "llm-jp"
    #: pieces per language model (llm-jp mode), merged in this order
    vocab: dict[str, PositiveInt] = {"code": 10_000, "en": 20_000, "ja": 30_000}
    #: maximum piece length per language (LLM-jp: 8 for Japanese, 16 otherwise)
    max_piece_length: dict[str, PositiveInt] = {"ja": 8, "en": 16, "code": 16}
    #: joint mode: one model of this size over every language, max piece length 16
    joint_vocab: int = Field(50_000, ge=100)
    em_iterations: int = Field(2, ge=0)
    character_coverage: float = Field(0.9995, gt=0, le=1)
    user_defined_symbols: list[str] = ["\n"]
    threads: PositiveInt = 2


def train_unigram(texts: Sequence[str], vocab_size: int, max_piece_length: int,
                  cfg: TokenizerTraining) -> bytes:
    """One SentencePiece unigram model (serialized) from in-memory texts."""
    import sentencepiece as spm

    out = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(chunks(texts)), model_writer=out, model_type="unigram",
        vocab_size=vocab_size, hard_vocab_limit=False, max_sentencepiece_length=max_piece_length,
        normalization_rule_name="identity", remove_extra_whitespaces=False, split_digits=True,
        byte_fallback=True, split_by_whitespace=False, allow_whitespace_only_pieces=True,
        user_defined_symbols=list(cfg.user_defined_symbols), character_coverage=cfg.character_coverage,
        max_sentence_length=1 << 16, input_sentence_size=0, num_threads=cfg.threads, minloglevel=2,
    )
    return out.getvalue()


def _proto(model: bytes):
    from sentencepiece import sentencepiece_model_pb2 as pb

    m = pb.ModelProto()
    m.ParseFromString(model)
    return m


def merge_models(models: Sequence[bytes]) -> bytes:
    """One model with the special pieces of the first and the normal pieces of all, deduplicated."""
    base = _proto(models[0])
    seen: set[str] = set()
    special, normal, byte = [], [], []
    for i, model in enumerate(models):
        for p in _proto(model).pieces:
            if p.piece in seen:
                continue
            if p.type == NORMAL:
                normal.append((p.piece, p.score, p.type))
            elif i == 0:
                (byte if p.type == BYTE else special).append((p.piece, p.score, p.type))
            else:
                continue
            seen.add(p.piece)
    del base.pieces[:]
    for piece, score, kind in special + normal + byte:
        new = base.pieces.add()
        new.piece, new.score, new.type = piece, score, kind
    base.trainer_spec.vocab_size = len(base.pieces)
    base.trainer_spec.max_sentencepiece_length = 16
    return base.SerializeToString()


def reestimate(model: bytes, texts: Sequence[str], iterations: int, threads: int = 2) -> bytes:
    """Hard-EM re-estimation of the normal pieces' scores on ``texts``."""
    import sentencepiece as spm

    sample = chunks(texts)
    for _ in range(iterations):
        sp = spm.SentencePieceProcessor(model_proto=model)
        ids = sp.encode(sample, num_threads=threads, out_type="numpy")
        counts = np.bincount(np.concatenate(ids) if ids else np.zeros(0, np.int64),
                             minlength=sp.get_piece_size()).astype(np.float64)
        m = _proto(model)
        normal = np.array([p.type == NORMAL for p in m.pieces])
        used = normal & (counts > 0)
        total = counts[normal].sum()
        scores = np.full(len(m.pieces), 0.0)
        if total > 0 and used.any():
            scores[used] = np.log(counts[used] / total)
            scores[normal & ~used] = scores[used].min() - 1.0  # kept, but never preferred
        for i in np.nonzero(normal)[0]:
            m.pieces[int(i)].score = float(scores[i])
        model = m.SerializeToString()
    return model


def train_tokenizer(samples: dict[str, list[str]], cfg: TokenizerTraining) -> bytes:
    """A serialized SentencePiece model trained on per-language samples."""
    if cfg.mode == "joint":
        texts = [t for lang in samples for t in samples[lang]]
        return train_unigram(texts, cfg.joint_vocab, 16, cfg)
    order = [lang for lang in cfg.vocab if lang in samples] + [lang for lang in samples if lang not in cfg.vocab]
    missing = [lang for lang in order if lang not in cfg.vocab]
    if missing:
        raise ValueError(f"no vocabulary size for {missing}; give vocab: {{{missing[0]}: N, ...}}")
    models = [train_unigram(samples[lang], cfg.vocab[lang], cfg.max_piece_length.get(lang, 16), cfg)
              for lang in order]
    merged = merge_models(models)
    return reestimate(merged, [t for lang in order for t in samples[lang]], cfg.em_iterations, cfg.threads)


def chars_per_token(model: str | bytes, texts: dict[str, list[str]], threads: int = 2) -> dict[str, float]:
    """Characters per token of a model on texts per language (higher compresses better)."""
    import sentencepiece as spm

    sp = (spm.SentencePieceProcessor(model_proto=model) if isinstance(model, bytes)
          else spm.SentencePieceProcessor(model_file=model))
    out = {}
    for lang, ts in texts.items():
        if not ts:
            continue
        n = sum(map(len, sp.encode(list(ts), num_threads=threads, out_type="numpy")))
        out[lang] = sum(map(len, ts)) / n if n else 0.0
    return out
