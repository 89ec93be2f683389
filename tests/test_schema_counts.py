"""Per-source and per-language counts of a batch (what the stats and the report tally)."""

import pyarrow as pa

from corpusforge.schema import LANG, N_TOKENS, SOURCE, TEXT, doc_counts, token_counts


def _batch(chunked: bool) -> pa.Table:
    t = pa.table({
        TEXT: pa.array(["吾輩は猫である", "hello", None, "名前はまだ無い", "world!"], pa.string()),
        SOURCE: ["web", "web", "web", "books", "web"],
        LANG: pa.array(["ja", "en", None, "ja", "en"], pa.string()),
        N_TOKENS: pa.array([7, 1, None, 7, None], pa.int64()),
    })
    return pa.concat_tables([t.slice(0, 2), t.slice(2)]) if chunked else t


def test_documents_and_bytes_per_source_and_language_with_nulls_and_chunks():
    for chunked in (False, True):
        # a null text counts in neither documents nor bytes; a missing language is und
        assert doc_counts(_batch(chunked)) == {
            "web": {"ja": [1, 21], "en": [2, 11], "und": [0, 0]},
            "books": {"ja": [1, 21]},
        }


def test_tokens_per_source_and_language_skip_nulls():
    for chunked in (False, True):
        assert token_counts(_batch(chunked)) == {"web": {"ja": 7, "en": 1, "und": 0}, "books": {"ja": 7}}
    assert token_counts(_batch(False).drop_columns([N_TOKENS])) is None


def test_a_batch_without_languages_counts_them_as_und():
    t = pa.table({TEXT: ["a", "bb"], SOURCE: ["x", "y"]})
    assert doc_counts(t) == {"x": {"und": [1, 1]}, "y": {"und": [1, 2]}}
    assert doc_counts(t.slice(0, 0)) == {}
