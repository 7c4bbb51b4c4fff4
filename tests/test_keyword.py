"""BM25 without bm25s: the same scores, saved and loaded, rebuilt from kept terms."""

from __future__ import annotations

import re

import numpy as np
import pytest

from rag.index.keyword import KeywordIndex, tokenize

from .conftest import CORPUS

TEXTS = [
    "Rust for Linux was led by Miguel Ojeda.",
    "Linus Torvalds said Rust could land in Linux 6.1, maybe.",
    "Bottlerocket, from AWS, is a container OS with a lot of Rust in it. Rust, Rust, Rust.",
    "The the the of and",  # nothing but stop words
    "",
    "CVE-2021-1234 was a memory safety bug; C code has many like it.",
]
QUERIES = ["Who led Rust for Linux?", "rust rust", "CVE-2021-1234", "kernel 6.1", "nothing matches zzz", "the"]


def corpus_passages() -> list[str]:
    return [p for f in sorted(CORPUS.glob("*.txt")) for p in f.read_text().split("\n\n") if p.strip()]


@pytest.mark.parametrize("texts", [TEXTS, corpus_passages()], ids=["small", "corpus"])
def test_scores_equal_bm25s(texts):
    bm25s = pytest.importorskip("bm25s")
    reference = bm25s.BM25()
    reference.index([tokenize(t) for t in texts], show_progress=False)
    ours = KeywordIndex.build(texts)
    for query in QUERIES + texts[:5]:
        terms = tokenize(query)
        expected = reference.get_scores(terms) if terms else np.zeros(len(texts))
        np.testing.assert_allclose(ours.scores(query), expected, rtol=1e-6, atol=1e-7)


def test_save_load_round_trip(tmp_path):
    index = KeywordIndex.build(TEXTS)
    index.save(tmp_path / "kw")
    loaded = KeywordIndex.load(tmp_path / "kw")
    assert len(loaded) == len(TEXTS)
    for query in QUERIES:
        np.testing.assert_array_equal(loaded.scores(query), index.scores(query))


def test_rebuild_from_kept_terms_equals_a_fresh_build():
    old = KeywordIndex.build(TEXTS)
    new_texts = [TEXTS[0], "Sourdough starter is flour and water.", TEXTS[2], TEXTS[5]]
    reuse = np.array([0, -1, 2, 5])
    rebuilt = KeywordIndex.build(new_texts, old, reuse)
    fresh = KeywordIndex.build(new_texts)
    assert sorted(rebuilt.terms) == sorted(fresh.terms)  # terms of dropped passages are gone
    for query in QUERIES + ["sourdough flour"]:
        np.testing.assert_allclose(rebuilt.scores(query), fresh.scores(query), rtol=1e-6)


def test_empty_index_scores_nothing(tmp_path):
    index = KeywordIndex.build([])
    index.save(tmp_path / "kw")
    assert len(KeywordIndex.load(tmp_path / "kw").scores("anything")) == 0


def test_idf_of_known_and_unknown_terms():
    index = KeywordIndex.build(TEXTS)
    idf = index.idf(["rust", "zzz"])
    n = len(TEXTS)
    assert idf["rust"] == pytest.approx(np.log(1 + (n - 3 + 0.5) / (3 + 0.5)))  # in three passages
    assert idf["zzz"] == pytest.approx(np.log(1 + (n - 1 + 0.5) / (1 + 0.5)))


def plain_tokenize(text: str) -> list[str]:
    """The tokenizer written out step by step, without its caches: what `tokenize` must give."""
    import Stemmer

    from rag.index.keyword import _SPLIT, STOPWORDS_EN

    stem = Stemmer.Stemmer("english").stemWord
    terms = []
    for token in re.findall(r"\w+(?:[.\-/:+]\w+)*", text.lower().replace("\u2019", "'")):
        if token.isalnum():
            if token not in STOPWORDS_EN and len(token) > 1 or token.isdigit():
                terms.append(stem(token))
            continue
        parts = [p for p in _SPLIT.split(token) if p]
        if len(parts) > 1:
            terms.append(token)
            terms.extend(stem(p) for p in parts if p not in STOPWORDS_EN and p != "s")
        elif token not in STOPWORDS_EN and len(token) > 1 or token.isdigit():
            terms.append(stem(token))
    return terms


VARIED = [
    "Rust will make it into 6.1, says CVE-2021-1234's author",
    "Don\u2019t panic: don't, won't, it's the 1990s' running runners RAN",
    "snake_case_name, __init__, _private, x_1 and a_ b_",
    "2.0.1-rc3 / 10.0.0.1:8080 a+b c++ e-mail U.S.A. i.e. 3.14159 -7 +3 a/b/c",
    "Ünïcödé Straße İstanbul ΟΔΟΣ naïve café — résumé «quotes» 日本語のテキスト",
    "The the THE of and is A a I 1 2 x y z s",
    "  \t\n ",
    "",
    "IL-6 and TNF-α levels; p<0.05; CD4+ T-cells; β-catenin; H2O2; COVID-19.",
    "a.b.c. 6.1, x-y-, --a ..b a/b:c+d e..f g.-h 1.2.3... ++x y++ :: http://example.org/a-b?c=1",
]


@pytest.mark.parametrize("text", VARIED + corpus_passages()[:20])
def test_tokenize_equals_the_plain_tokenizer(text):
    assert tokenize(text) == plain_tokenize(text)
    assert tokenize(text) == plain_tokenize(text)  # again, from the remembered terms


def test_tokenize_stays_right_when_its_memory_fills(monkeypatch):
    import rag.index.keyword

    monkeypatch.setattr(rag.index.keyword, "_TERM_CACHE_SIZE", 5)
    monkeypatch.setattr(rag.index.keyword, "_TERMS", rag.index.keyword._TermCache())
    for text in VARIED * 2:
        assert tokenize(text) == plain_tokenize(text)
        assert len(rag.index.keyword._TERMS.known) <= 5 + len(set(rag.index.keyword._TOKEN.findall(text.lower())))


def plain_scores(index: KeywordIndex, query: str) -> np.ndarray:
    """BM25 summed into float32 term after term, the straightforward way."""
    out = np.zeros(len(index), dtype=np.float32)
    for term in tokenize(query):
        t = index.term_id(term)
        if t is not None:
            a, b = int(index.indptr[t]), int(index.indptr[t + 1])
            out[index.indices[a:b]] += index.data[a:b]
    return out


def tied_texts(n: int = 400, seed: int = 0) -> list[str]:
    """Passages built from a few words, many of them with the same words and length: many equal scores."""
    rng = np.random.default_rng(seed)
    words = ["rust", "linux", "kernel", "driver", "memory", "safety", "bug", "patch", "6.1", "cve-2021-1234"]
    return [" ".join(rng.choice(words, size=rng.integers(1, 6))) for _ in range(n)] + ["", "the of and"]


QUERIES_TIED = ["rust", "rust kernel", "memory safety bug", "rust rust linux", "6.1 patch", "cve-2021-1234", "zzz"]


def test_scores_are_bit_for_bit_the_plain_float32_sums():
    index = KeywordIndex.build(tied_texts())
    for query in QUERIES_TIED:
        expected = plain_scores(index, query)
        assert index.scores(query).tobytes() == expected.tobytes()
        negated = index.negated_scores(tokenize(query))
        if not expected.any():
            assert negated is None
        else:
            assert negated.tobytes() == (-expected).tobytes()  # -0.0 where no term matches, as -scores gives


def test_store_keyword_search_ranks_and_breaks_ties_as_a_full_argpartition(tmp_path):
    from rag.index.faiss.reader import Store
    from rag.index.faiss.writer import write_store
    from rag.index.schema import PASSAGE_DTYPE, Manifest

    texts = tied_texts(3000, seed=1)
    n, dim = len(texts), 8
    vectors = np.random.default_rng(0).standard_normal((n, dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    docs = [{"source": "a.txt", "hash": "0" * 64, "title": "a", "size": 1, "mtime_ns": 1, "first": 0, "count": n}]
    rows = np.array([(0, i, i + 1) for i in range(n)], dtype=PASSAGE_DTYPE)
    write_store(
        tmp_path / "index",
        Manifest("synthetic", dim, {"size": 600, "overlap": 120}, docs, n, 0.0),
        rows,
        texts,
        vectors,
    )
    store = Store.load(tmp_path / "index")
    ids = np.random.default_rng(2).integers(0, n, 200)
    not_by_id = 0
    for query in QUERIES_TIED:
        scores = plain_scores(store.keyword, query)
        for depth in (1, 5, 50, 200, n):
            got = store.keyword_search(tokenize(query), depth)
            if scores.max() <= 0:
                assert got == ([], [])
                continue
            top = np.argpartition(-scores, min(depth, n) - 1)[:depth]
            top = [int(i) for i in top[np.argsort(-scores[top], kind="stable")] if scores[i] > 0]
            assert got == (top, scores[top].tolist())
            by_id = sorted(top, key=lambda i: (-scores[i], i))
            not_by_id += top != by_id  # argpartition leaves ties in no simple order: it must be the one deciding
        assert store.keyword_scores(tokenize(query), ids).tobytes() == scores[ids].tobytes()
    assert not_by_id  # the test would catch ties broken another way


@pytest.mark.parametrize("block, budget", [(3, 8_000_000), (4096, 50), (3, 1)])
def test_a_matrix_built_a_few_passages_and_terms_at_a_time_is_the_same(monkeypatch, block, budget):
    import rag.index.keyword

    texts = corpus_passages()
    whole = KeywordIndex.build(texts)
    monkeypatch.setattr(rag.index.keyword, "_BLOCK", block)
    monkeypatch.setattr(rag.index.keyword, "_BUDGET", budget)
    blocks = KeywordIndex.build(texts)
    assert blocks.terms == whole.terms
    for name in KeywordIndex._ARRAYS:
        assert getattr(blocks, name).dtype == getattr(whole, name).dtype
        assert getattr(blocks, name).tobytes() == getattr(whole, name).tobytes(), name
