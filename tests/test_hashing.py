"""The shared hashes: reference vectors, and the numpy and compiled mixers agreeing bit for bit."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from corpusforge.dedup import kernels
from corpusforge.hashing import GOLDEN, fnv1a, golden_mix, id_hash, mix64


def test_fnv1a_reference_vectors() -> None:
    # the published 64-bit FNV-1a values; a null hashes like ""
    got = fnv1a(pa.chunked_array([["", "a"], ["foobar", None]]))
    assert got.tolist() == [0xCBF29CE484222325, 0xAF63DC4C8601EC8C, 0x85944171F73967E8,
                            0xCBF29CE484222325]


def test_mix64_is_splitmix64() -> None:
    # SplitMix64 seeded with 0 outputs mix64(k * GOLDEN) for k = 1, 2, ...
    with np.errstate(over="ignore"):
        state = np.array([1, 2], np.uint64) * GOLDEN
    assert mix64(state).tolist() == [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4]


def test_numpy_and_compiled_mix64_agree() -> None:
    x = np.random.default_rng(0).integers(0, 2**64 - 1, 50, dtype=np.uint64, endpoint=True)
    compiled = np.array([kernels.mix64(v) for v in x], np.uint64)
    assert np.array_equal(mix64(x), compiled)
    assert mix64(x[0]) == compiled[0]


def test_pinned_outputs() -> None:
    # mix buckets, shuffles and tokenizer samples depend on these exact bits
    assert id_hash(pa.array(["doc-1", "日本"]), "mix:0").tolist() == [0xA95194E233066D17,
                                                                       0xEA06FE7D7AE09181]
    assert golden_mix(np.array([1], np.uint64)).tolist() == [0x9E3779BD8EF1B1DE]
