"""corpusforge: build LLM pre-training corpora from the open web over Arrow batches."""

__version__ = "0.1.0"
