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
import tempfile
from array import array
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from .mentions import Vocabulary
from .staging import NpyWriter, RowsOnDisk

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
        """Index `texts` in memory (as `write` does on disk, then read back)."""
        with tempfile.TemporaryDirectory(prefix="rag-keyword-") as tmp:
            cls.write(Path(tmp), texts, reuse, reuse_ids)
            arrays = [np.load(Path(tmp) / f"{name}.npy") for name in cls._ARRAYS]
            terms = json.loads((Path(tmp) / "terms.json").read_text(encoding="utf-8"))
        return cls(terms, *arrays)

    @classmethod
    def write(
        cls,
        folder: Path,
        texts: Sequence[str],
        reuse: KeywordIndex | None = None,
        reuse_ids: np.ndarray | None = None,
    ) -> None:
        """Index `texts` into `folder`, as `load` reads it; passage i with `reuse_ids[i] >= 0` takes the
        terms of that passage of `reuse`.

        What is held stays the same whatever the corpus's size, besides the terms and a few integers a
        passage: `texts[i]` is read once, and only for the passages not reused; term ids go to disk a block
        of passages at a time (_BLOCK), numbered as met, then renumbered in sorted order; and the BM25
        matrix is written a range of terms at a time, each range at most _BUDGET entries.
        """
        folder.mkdir(parents=True, exist_ok=True)
        n = len(texts)
        if reuse is None or reuse_ids is None:
            reuse, reuse_ids = cls([], *_empty_arrays()), np.full(n, -1)
        reuse_ids = np.asarray(reuse_ids, dtype=np.int64)
        new_terms: dict[str, int] = {}  # terms not in `reuse`, numbered after its terms
        lengths = np.zeros(n, dtype=np.int64)
        counts = np.zeros(len(reuse.terms), dtype=np.int64)  # uses of each term, by its number as met
        met = folder / "tokens.met"
        with met.open("wb") as out:
            for a, b in _blocks(n):
                ids = cls._block_ids(texts, a, b, reuse, reuse_ids, new_terms, lengths)
                out.write(ids.tobytes())
                counts = np.concatenate([counts, np.zeros(len(reuse.terms) + len(new_terms) - len(counts), np.int64)])
                counts += np.bincount(ids, minlength=len(counts))
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        terms, new_id = _sorted_terms(list(reuse.terms) + list(new_terms), counts)
        del counts, new_terms
        try:
            tokens = RowsOnDisk(met, 0, int(offsets[-1]), 1, np.int32)
            with NpyWriter(folder / "tokens.npy", (int(offsets[-1]),), np.int32) as out:
                for a, b in _blocks(n):
                    out.write(new_id[tokens[offsets[a] : offsets[b]].ravel()])
        finally:
            met.unlink()
        np.save(folder / "offsets.npy", offsets)
        _write_bm25_matrix(folder, RowsOnDisk.npy(folder / "tokens.npy"), offsets, len(terms))
        _write_terms(folder, terms, n)

    @classmethod
    def _block_ids(
        cls,
        texts: Sequence[str],
        a: int,
        b: int,
        reuse: KeywordIndex,
        reuse_ids: np.ndarray,
        new_terms: dict[str, int],
        lengths: np.ndarray,
    ) -> np.ndarray:
        """Term ids (as met) of passages a .. b - 1, back to back; sets their `lengths`."""
        fresh = a + np.flatnonzero(reuse_ids[a:b] < 0)
        kept = a + np.flatnonzero(reuse_ids[a:b] >= 0)
        fresh_ids = array("i")
        for i in fresh.tolist():
            ids = cls._ids_of(tokenize(texts[i]), reuse, new_terms)
            fresh_ids.extend(ids)
            lengths[i] = len(ids)
        lengths[kept] = np.diff(reuse.offsets)[reuse_ids[kept]]
        starts = np.zeros(b - a + 1, dtype=np.int64)
        np.cumsum(lengths[a:b], out=starts[1:])
        block = np.empty(starts[-1], dtype=np.int32)
        reused = _runs(reuse.offsets[reuse_ids[kept]], lengths[kept])
        block[_runs(starts[kept - a], lengths[kept])] = reuse.tokens[reused]
        block[_runs(starts[fresh - a], lengths[fresh])] = np.frombuffer(fresh_ids, dtype=np.int32)
        return block

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
        _write_terms(folder, self.terms, len(self))

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


def _write_terms(folder: Path, terms: list[str], passages: int) -> None:
    """terms.json and params.json: the terms by id, and how the scores were computed."""
    (folder / "terms.json").write_text(json.dumps(terms, ensure_ascii=False))
    params = {"format": FORMAT, "method": "lucene", "k1": K1, "b": B, "passages": passages}
    (folder / "params.json").write_text(json.dumps(params))


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


def _sorted_terms(terms: list[str], counts: np.ndarray) -> tuple[list[str], np.ndarray]:
    """The terms some passage uses (`counts` > 0), sorted, and each old number's new one.

    >>> _sorted_terms(["b", "gone", "a"], np.array([2, 0, 1]))
    (['a', 'b'], array([1, 0, 0], dtype=int32))
    """
    used = np.flatnonzero(counts)
    kept = [terms[i] for i in used]
    order = sorted(range(len(kept)), key=kept.__getitem__)
    new_id = np.zeros(len(terms), dtype=np.int32)
    new_id[used[order]] = np.arange(len(order), dtype=np.int32)
    return [kept[i] for i in order], new_id


def _blocks(n: int) -> list[tuple[int, int]]:
    return [(a, min(a + _BLOCK, n)) for a in range(0, n, _BLOCK)]


def _write_bm25_matrix(folder: Path, tokens: RowsOnDisk, offsets: np.ndarray, n_terms: int) -> None:
    """data.npy, indices.npy and indptr.npy of the BM25 term x passage matrix, computed as bm25s' "lucene"
    method does.

    score(t, d) = idf(t) * tf / (tf + k1 * (1 - b + b * len(d) / avglen)),
    idf(t) = log(1 + (N - df + 0.5) / (df + 0.5)).

    The matrix is stored term by term. It is filled a range of terms at a time, at most _BUDGET entries,
    each range from the (term, passage) counts of every block of passages, and written after the one
    before: what is held is one range and one block, not the matrix.
    """
    n = len(offsets) - 1
    lengths = np.diff(offsets)

    def pairs(a: int, b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Term, passage and count of each distinct (term, passage) of passages a .. b - 1, by term then passage."""
        passage = np.repeat(np.arange(a, b, dtype=np.int64), lengths[a:b])
        ids = tokens[offsets[a] : offsets[b]].ravel().astype(np.int64)
        keys, tf = np.unique(ids * n + passage, return_counts=True)
        return keys // n, keys % n, tf

    df = np.zeros(n_terms, dtype=np.int64)
    for a, b in _blocks(n):
        df += np.bincount(pairs(a, b)[0], minlength=n_terms)
    indptr = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    np.save(folder / "indptr.npy", indptr)
    idf = np.log(1 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
    average = lengths.mean() if n else 0.0
    nnz = int(indptr[-1])
    with (
        NpyWriter(folder / "data.npy", (nnz,), np.float32) as data_out,
        NpyWriter(folder / "indices.npy", (nnz,), np.int32) as indices_out,
    ):
        for t0, t1 in _term_ranges(indptr):
            base = indptr[t0]
            data = np.empty(indptr[t1] - base, dtype=np.float32)
            indices = np.empty(indptr[t1] - base, dtype=np.int32)
            filled = indptr[t0:t1] - base  # where each term's next entry goes: blocks come in passage order
            for a, b in _blocks(n):
                term, doc, tf64 = pairs(a, b)
                lo, hi = np.searchsorted(term, [t0, t1])
                term, doc, tf = term[lo:hi], doc[lo:hi], tf64[lo:hi].astype(np.float64)
                first_of_term = np.searchsorted(term, term)  # entries of a term are together, by passage
                at = filled[term - t0] + np.arange(len(term)) - first_of_term
                tfc = tf / (K1 * ((1 - B) + B * lengths[doc] / average) + tf)
                data[at] = (idf[term] * tfc).astype(np.float32)
                indices[at] = doc
                filled += np.bincount(term - t0, minlength=t1 - t0)
            data_out.write(data)
            indices_out.write(indices)


def _term_ranges(indptr: np.ndarray) -> list[tuple[int, int]]:
    """Consecutive ranges of terms holding at most _BUDGET entries each (a term with more, alone).

    >>> _term_ranges(np.array([0, 2, 4, 9, 10]))  # _BUDGET is large: one range
    [(0, 4)]
    """
    ranges, t0, n_terms = [], 0, len(indptr) - 1
    while t0 < n_terms:
        t1 = int(np.searchsorted(indptr, indptr[t0] + _BUDGET, side="right")) - 1
        t1 = min(max(t1, t0 + 1), n_terms)
        ranges.append((t0, t1))
        t0 = t1
    return ranges


_BLOCK = 4096  # passages per block, read, counted and written together
_BUDGET = 8_000_000  # entries of the BM25 matrix filled at a time: 64 MB of scores and passage ids
