"""Keyword side of retrieval: a tokenizer that keeps identifiers, and BM25.

Identifiers and numbers survive whole ("6.1", "cve-2021-1234") and also
contribute their parts, so "CVE-2021-1234" matches a query for "2021-1234"
or "CVE". Words are lower-cased and Snowball-stemmed; English stop words go.

BM25 is the Lucene variant with bm25s' defaults (k1=1.5, b=0.75), computed
here with numpy alone so a query imports neither bm25s nor scipy. The index
keeps each passage's term ids, so an update re-uses the terms of the passages
it keeps instead of tokenizing them again.
"""

from __future__ import annotations

import bisect
import json
import re
from array import array
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from .mentions import Vocabulary

__all__ = ["tokenize", "KeywordIndex", "K1", "B"]

_TOKEN = re.compile(r"\w++(?:[.\-/:+]\w++)*+")  # possessive: the same matches as \w+(?:[.\-/:+]\w+)*, found sooner
_SPLIT = re.compile(r"[.\-/:+_]")

K1, B = 1.5, 0.75
FORMAT = 2  # 2: terms sorted

# Lucene's English stop words (the list bm25s ships as STOPWORDS_EN).
STOPWORDS_EN = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then there these they "
    "this to was will with".split()
)


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(text: str) -> list[str]:
    """Lower-cased, stemmed terms of `text`.

    >>> tokenize("Rust will make it into 6.1, says CVE-2021-1234's author")
    ['rust', 'make', '6.1', '6', '1', 'say', 'cve-2021-1234', 'cve', '2021', '1234', 'author']
    """
    known = _TERMS.known
    get = known.get
    terms: list[str] = []
    extend = terms.extend
    for token in _TOKEN.findall(text.lower().replace("\u2019", "'")):
        found = get(token)
        if found is None:
            if len(known) >= _TERM_CACHE_SIZE:
                known = _TERMS.renew()
                get = known.get
            found = known[token] = _terms_of(token)
        extend(found)
    return terms


class _TermCache:
    """Token -> its terms, remembered: texts repeat the same words.

    When full it starts a new dict rather than emptying the old one, so a thread reading meanwhile keeps a whole one.
    """

    def __init__(self) -> None:
        self.known: dict[str, tuple[str, ...]] = {}

    def renew(self) -> dict[str, tuple[str, ...]]:
        self.known = {}
        return self.known


_TERMS = _TermCache()
_TERM_CACHE_SIZE = 200_000
_IDF_CACHE_SIZE = 100_000


def _terms_of(token: str) -> tuple[str, ...]:
    """The terms one token (lower-cased, a match of _TOKEN) yields: none, its stem, or itself and its parts' stems."""
    stop, stem = STOPWORDS_EN, _stemmer().stemWord
    if not token.isalnum():  # an identifier or number with inner punctuation, or a word with "_"
        parts = [p for p in _SPLIT.split(token) if p]
        if len(parts) > 1:
            return (token, *(stem(p) for p in parts if p not in stop and p != "s"))
    return (stem(token),) if token not in stop and len(token) > 1 or token.isdigit() else ()


class KeywordIndex:
    """BM25 over passage texts: a term x passage score matrix in CSC form, saved as .npy arrays.

    `tokens[offsets[i]:offsets[i + 1]]` are the term ids of passage i (ids into `terms`).
    """

    _ARRAYS = ("data", "indices", "indptr", "tokens", "offsets")

    def __init__(self, terms: list[str], data, indices, indptr, tokens, offsets) -> None:
        self.terms = terms  # sorted
        self.data, self.indices, self.indptr = data, indices, indptr
        self.tokens, self.offsets = tokens, offsets
        self._idf: dict[str, float] = {}  # idf of the terms asked about so far
        self._vocabulary: Vocabulary | None = None  # for `mentions`, made when first needed

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @classmethod
    def build(
        cls, texts: Sequence[str], reuse: KeywordIndex | None = None, reuse_ids: np.ndarray | None = None
    ) -> KeywordIndex:
        """Index `texts`; passage i with `reuse_ids[i] >= 0` takes the terms of that passage of `reuse`.

        `texts[i]` is read once, and only for the passages not reused; the term ids of all of them are
        held as one int32 array, not an array per passage, so a large corpus costs a few bytes a term.
        """
        n = len(texts)
        if reuse is None or reuse_ids is None:
            reuse, reuse_ids = cls([], *_empty_arrays()), np.full(n, -1)
        reuse_ids = np.asarray(reuse_ids, dtype=np.int64)
        new_terms: dict[str, int] = {}  # terms not in `reuse`, numbered after its terms
        fresh = np.flatnonzero(reuse_ids < 0)
        fresh_tokens = array("i")
        lengths = np.zeros(n, dtype=np.int64)
        for i in fresh.tolist():
            ids = cls._ids_of(tokenize(texts[i]), reuse, new_terms)
            fresh_tokens.extend(ids)
            lengths[i] = len(ids)
        kept = np.flatnonzero(reuse_ids >= 0)
        lengths[kept] = np.diff(reuse.offsets)[reuse_ids[kept]]
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        tokens = np.empty(offsets[-1], dtype=np.int32)
        tokens[_runs(offsets[kept], lengths[kept])] = reuse.tokens[_runs(reuse.offsets[reuse_ids[kept]], lengths[kept])]
        tokens[_runs(offsets[fresh], lengths[fresh])] = np.frombuffer(fresh_tokens, dtype=np.int32)
        del fresh_tokens
        terms = list(reuse.terms) + list(new_terms)
        terms, tokens = _compact(terms, tokens)
        return cls(terms, *_bm25_matrix(tokens, offsets, len(terms)), tokens, offsets)

    @staticmethod
    def _ids_of(words: list[str], reuse: KeywordIndex, new_terms: dict[str, int]) -> list[int]:
        base = len(reuse.terms)
        ids = [reuse.term_id(w) for w in words]
        return [
            i if i is not None else base + new_terms.setdefault(w, len(new_terms))
            for w, i in zip(words, ids, strict=True)
        ]

    def term_id(self, term: str) -> int | None:
        """Id of `term` (the terms are sorted, so no dictionary is built), or None."""
        i = bisect.bisect_left(self.terms, term)
        return i if i < len(self.terms) and self.terms[i] == term else None

    def mentions(self, term: str) -> bool:
        """Whether any passage holds `term`, accents aside and a typo aside (mentions.py)."""
        if self._vocabulary is None:
            self._vocabulary = Vocabulary(self.terms, lambda t: self.term_id(t) is not None)
        return self._vocabulary.mentions(term)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name in self._ARRAYS:
            np.save(folder / f"{name}.npy", getattr(self, name))
        (folder / "terms.json").write_text(json.dumps(self.terms, ensure_ascii=False))
        params = {"format": FORMAT, "method": "lucene", "k1": K1, "b": B, "passages": len(self)}
        (folder / "params.json").write_text(json.dumps(params))

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex:
        """The index saved in `folder`, its arrays memory-mapped; ValueError if it is not one."""
        params = json.loads((folder / "params.json").read_text())
        if params.get("format") != FORMAT or (params["k1"], params["b"]) != (K1, B):
            raise ValueError(f"keyword index format {params.get('format')}")
        arrays = [np.load(folder / f"{name}.npy", mmap_mode="r").view(np.ndarray) for name in cls._ARRAYS]
        terms = json.loads((folder / "terms.json").read_text(encoding="utf-8"))
        return cls(terms, *arrays)

    def idf(self, terms: list[str]) -> dict[str, float]:
        """BM25 inverse document frequency of each term; unknown terms get the idf of a term seen once."""
        known = self._idf
        out = {}
        for t in terms:
            value = known.get(t)
            if value is None:
                i = self.term_id(t)
                df = int(self.indptr[i + 1] - self.indptr[i]) if i is not None else 1
                value = float(np.log(1 + (len(self) - df + 0.5) / (df + 0.5)))
                if len(known) < _IDF_CACHE_SIZE:
                    known[t] = value
            out[t] = value
        return out

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every passage for `query` (zeros when no term is known)."""
        negated = self.negated_scores(tokenize(query))
        return np.zeros(len(self), dtype=np.float32) if negated is None else np.negative(negated, out=negated)

    def negated_scores(self, terms: list[str]) -> np.ndarray | None:
        """Minus the BM25 score of every passage for the query `terms`; None when no term is known (all zero).

        Negated, as a best-first ranking wants them; bit for bit the negation of the scores summed in
        float32 term after term ((-0.0 - a) - b == -(a + b)), unmatched passages -0.0 == -(0.0).
        """
        if len(self) == 0:
            return None
        out = None
        for term in terms:  # a repeated query term counts again, as in bm25s
            t = self.term_id(term)
            if t is None:
                continue
            if out is None:
                out = np.full(len(self), -0.0, dtype=np.float32)
            a, b = int(self.indptr[t]), int(self.indptr[t + 1])
            # out[rows] -= data, in place: a third quicker than fancy indexing, and numpy's quickest with intp rows
            np.subtract.at(out, self.indices[a:b].astype(np.intp), self.data[a:b])
        return out


def _empty_arrays() -> tuple[np.ndarray, ...]:
    return (
        np.zeros(0, np.float32),
        np.zeros(0, np.int32),
        np.zeros(1, np.int64),
        np.zeros(0, np.int32),
        np.zeros(1, np.int64),
    )


def _runs(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Positions starts[0] .. starts[0] + lengths[0] - 1, then those of the next run, and so on.

    >>> _runs(np.array([10, 3]), np.array([2, 3])).tolist()
    [10, 11, 3, 4, 5]
    """
    ends = np.cumsum(lengths)
    return np.repeat(starts - ends + lengths, lengths) + np.arange(ends[-1] if len(ends) else 0)


def _compact(terms: list[str], tokens: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Drop terms no passage uses any more and number the rest in sorted order (ids of `tokens` follow)."""
    used = np.flatnonzero(np.bincount(tokens, minlength=len(terms)))
    kept = [terms[i] for i in used]
    order = sorted(range(len(kept)), key=kept.__getitem__)
    new_id = np.empty(len(terms), dtype=np.int32)
    new_id[used[order]] = np.arange(len(order), dtype=np.int32)
    return [kept[i] for i in order], new_id[tokens]


def _bm25_matrix(tokens: np.ndarray, offsets: np.ndarray, n_terms: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(data, indices, indptr) of the BM25 term x passage matrix, computed as bm25s' "lucene" method does.

    score(t, d) = idf(t) * tf / (tf + k1 * (1 - b + b * len(d) / avglen)),
    idf(t) = log(1 + (N - df + 0.5) / (df + 0.5)).

    Built a block of passages at a time: each block's (term, passage) counts go straight to their
    place in the matrix, so what is held beside the result is one block's worth, not a copy per term.
    """
    n = len(offsets) - 1
    lengths = np.diff(offsets)
    if n == 0 or len(tokens) == 0:
        return np.zeros(0, np.float32), np.zeros(0, np.int32), np.zeros(n_terms + 1, np.int64)
    blocks = [(a, min(a + _BLOCK, n)) for a in range(0, n, _BLOCK)]

    def pairs(a: int, b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Term, passage and count of each distinct (term, passage) of passages a .. b - 1, by term then passage."""
        passage = np.repeat(np.arange(a, b, dtype=np.int64), lengths[a:b])
        keys, tf = np.unique(tokens[offsets[a] : offsets[b]].astype(np.int64) * n + passage, return_counts=True)
        return keys // n, keys % n, tf

    df = np.zeros(n_terms, dtype=np.int64)
    for a, b in blocks:
        df += np.bincount(pairs(a, b)[0], minlength=n_terms)
    indptr = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    idf = np.log(1 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
    average = lengths.mean()
    data = np.empty(indptr[-1], dtype=np.float32)
    indices = np.empty(indptr[-1], dtype=np.int32)
    filled = indptr[:-1].copy()  # where each term's next entry goes: blocks come in passage order
    for a, b in blocks:
        term, doc, tf64 = pairs(a, b)
        first_of_term = np.searchsorted(term, term)  # entries of a term are together, by passage
        at = filled[term] + np.arange(len(term)) - first_of_term
        tf = tf64.astype(np.float64)
        tfc = tf / (K1 * ((1 - B) + B * lengths[doc] / average) + tf)
        data[at] = (idf[term] * tfc).astype(np.float32)
        indices[at] = doc
        filled += np.bincount(term, minlength=n_terms)
    return data, indices, indptr


_BLOCK = 4096  # passages per block of _bm25_matrix
