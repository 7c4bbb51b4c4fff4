"""BM25 without bm25s: the same scores, saved and loaded, rebuilt from kept terms."""

from __future__ import annotations

import numpy as np
import pytest

from rag.keyword import KeywordIndex, tokenize

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
