"""Keyword side of retrieval: a tokenizer that keeps identifiers, and BM25.

Identifiers and numbers survive whole ("6.1", "cve-2021-1234") and also
contribute their parts, so "CVE-2021-1234" matches a query for "2021-1234"
or "CVE". Words are lower-cased and Snowball-stemmed; English stop words go.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = ["tokenize", "KeywordIndex"]

_TOKEN = re.compile(r"\w+(?:[.\-/:+]\w+)*")
_SPLIT = re.compile(r"[.\-/:+_]")


def _bm25s():
    """bm25s, imported on first use; it sets its logger to DEBUG on import, which we undo."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


_STEMS: dict[str, str] = {}
_STEM_CACHE_SIZE = 200_000


def _stem(word: str) -> str:
    """Snowball stem of `word`, remembered: questions and passages repeat the same words."""
    stem = _STEMS.get(word)
    if stem is None:
        if len(_STEMS) >= _STEM_CACHE_SIZE:
            _STEMS.clear()
        stem = _STEMS[word] = _stemmer().stemWord(word)
    return stem


def tokenize(text: str) -> list[str]:
    """Lower-cased, stemmed terms of `text`.

    >>> tokenize("Rust will make it into 6.1, says CVE-2021-1234's author")
    ['rust', 'make', '6.1', '6', '1', 'say', 'cve-2021-1234', 'cve', '2021', '1234', 'author']
    """
    stop = _stopwords()
    terms: list[str] = []
    for token in _TOKEN.findall(text.lower().replace("\u2019", "'")):
        if token.isalnum():  # the common case: a plain word or number
            if token not in stop and len(token) > 1 or token.isdigit():
                terms.append(_stem(token))
            continue
        parts = [p for p in _SPLIT.split(token) if p]
        if len(parts) > 1:
            terms.append(token)
            terms.extend(_stem(p) for p in parts if p not in stop and p != "s")
        elif token not in stop and len(token) > 1 or token.isdigit():
            terms.append(_stem(token))
    return terms


class KeywordIndex:
    """BM25 over passage texts (bm25s), built once, saved beside the dense index."""

    def __init__(self, bm25) -> None:
        self.bm25 = bm25

    @classmethod
    def build(cls, texts: list[str]) -> KeywordIndex:
        bm25 = _bm25s().BM25()
        if texts:
            bm25.index([tokenize(t) for t in texts], show_progress=False)
        return cls(bm25)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if getattr(self.bm25, "scores", None) is not None:
            self.bm25.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex:
        bm25s = _bm25s()
        if not (folder / "params.index.json").exists():
            return cls(bm25s.BM25())
        return cls(bm25s.BM25.load(str(folder), mmap=True, show_progress=False))

    def idf(self, terms: list[str]) -> dict[str, float]:
        """BM25 inverse document frequency of each term; unknown terms get the idf of a term seen once.

        Cheap: read from the index's term columns, no scoring.
        """
        scores = getattr(self.bm25, "scores", None)
        if scores is None:
            return {t: 1.0 for t in terms}
        n, indptr, vocab = scores["num_docs"], scores["indptr"], self.bm25.vocab_dict
        out = {}
        for t in terms:
            i = vocab.get(t)
            df = int(indptr[i + 1] - indptr[i]) if i is not None else 1
            out[t] = float(np.log(1 + (n - df + 0.5) / (df + 0.5)))
        return out

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every passage for `query` (zeros when no term is known)."""
        if getattr(self.bm25, "scores", None) is None:
            return np.zeros(0, dtype=np.float32)
        terms = tokenize(query)
        return self.bm25.get_scores(terms) if terms else np.zeros(self.bm25.scores["num_docs"], dtype=np.float32)
