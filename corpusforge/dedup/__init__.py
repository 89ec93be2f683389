"""Deduplication: exact (normalised text, URL) and MinHash-LSH near-duplicates, as
vectorised kernels over whole Arrow batches, clustered globally as a pipeline stage.

Modules: ``normalize`` (text normalisation for hashing), ``buffers`` (zero-copy views of
Arrow string columns), ``kernels`` (compiled shingle hashing and one-permutation MinHash),
``minhash`` (the batch API), ``lsh`` (band/row parameters and band keys), ``components``
(connected components in one task), ``starcc`` (in rounds of tasks), ``keep`` (the keep
policies' priorities), ``clusters`` (the kept document, size and reason of every cluster, in
bounded tasks), ``layout`` (what every task knows of the run), ``index`` (persistent index for
incremental runs), ``stage`` (the ``dedup`` stage).
"""

from corpusforge.dedup.lsh import band_keys, optimal_params
from corpusforge.dedup.minhash import MinHasher, ShingleSpec

__all__ = ["MinHasher", "ShingleSpec", "band_keys", "optimal_params"]
