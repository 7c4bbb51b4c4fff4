"""A passage's fields as Milvus keeps them: our terms for its BM25, sentence vectors and spans as base64 text.

Terms are our own tokenizer's (stems, identifiers such as "6.1" or
"CVE-2021-1234"), joined with "_" so any Milvus analyzer keeps them whole.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import numpy as np

from ..keyword import tokenize
from ..quantize import dequantize

__all__ = [
    "bm25_terms",
    "bm25_query",
    "milvus_term",
    "pack_sentences",
    "pack_spans",
    "unpack_sentences",
    "unpack_spans",
]

_JOIN = str.maketrans({c: "_" for c in ".-/:+"})


def bm25_terms(text: str) -> str:
    """Our terms of `text`, space separated, each one word for any Milvus analyzer.

    >>> bm25_terms("Rust lands in 6.1, says CVE-2021-1234")
    'rust land 6_1 6 1 say cve_2021_1234 cve 2021 1234'
    """
    return bm25_query(tokenize(text))


def bm25_query(terms: Sequence[str]) -> str:
    """Terms of ours (keyword.tokenize), space separated, as Milvus' analyzer splits them back."""
    return " ".join(milvus_term(term) for term in terms)


def milvus_term(term: str) -> str:
    """A term of ours as Milvus' analyzer sees it: identifiers joined with "_" ("6.1" -> "6_1")."""
    return term.translate(_JOIN)


def pack_sentences(codes: np.ndarray) -> str:
    """Sentence vectors as int8 codes (quantize.py, as the FAISS index keeps them), base64 text for a VARCHAR."""
    assert codes.dtype == np.int8, "sentence vectors are packed as the indexer keeps them: int8 codes"
    return base64.b64encode(np.ascontiguousarray(codes).tobytes()).decode("ascii")


def pack_spans(spans: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(spans, dtype="<i4").tobytes()).decode("ascii")


def unpack_sentences(text: str, dim: int) -> np.ndarray:
    rows = np.frombuffer(base64.b64decode(text), dtype=np.int8).reshape(-1, dim)
    return dequantize(rows)


def unpack_spans(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<i4").reshape(-1, 2)
