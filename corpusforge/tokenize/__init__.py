"""Tokenizers, the ``tokenize`` step, token counting and tokenizer training."""

from corpusforge.tokenize.loader import BatchTokenizer, TokenizerSpec, load_tokenizer
from corpusforge.tokenize.step import Tokenize, TokenizeConfig

__all__ = ["BatchTokenizer", "TokenizerSpec", "Tokenize", "TokenizeConfig", "load_tokenizer"]
