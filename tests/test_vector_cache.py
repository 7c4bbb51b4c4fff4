"""The vector cache: an interrupted index resumes, a rebuild reuses unchanged texts, and the cache stays bounded."""

import sqlite3

import numpy as np
import pytest

import rag.index.vector_cache
from rag.engine import Engine
from rag.index.faiss.reader import Store
from rag.index.vector_cache import VectorCache, cache_file

from .conftest import FakeEmbedder, fingerprint


class FailingEmbedder(FakeEmbedder):
    """Fails in the middle of its `calls`-th batch of embedding, as a crash or Ctrl-C would."""

    def __init__(self, calls: int) -> None:
        super().__init__()
        self.calls = calls

    def embed(self, texts, progress=None):
        self.calls -= 1
        if self.calls < 0:
            raise KeyboardInterrupt
        return super().embed(texts, progress)


def same_sentences(index, other) -> bool:
    a, b = Store.load(index), Store.load(other)
    return all(
        np.array_equal(x, y)
        for x, y in [
            (a.sentence_vectors(), b.sentence_vectors()),
            (a.sentence_offsets(), b.sentence_offsets()),
            (a.sentence_spans(), b.sentence_spans()),
        ]
    )


def many_articles(corpus, n: int = 30) -> None:
    words = "river stone lantern copper meadow falcon harbour violin glacier ember orchard signal".split()
    for i in range(n):
        sentences = [" ".join(words[(i + j + k) % len(words)] for k in range(9)) + f" {i}x{j}." for j in range(25)]
        sentences = [s.capitalize() for s in sentences]
        (corpus / f"many-{i:02}.txt").write_text(f"Article {i}\n\n" + " ".join(sentences))


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(rag.index.vector_cache, "FLUSH", 32)


def test_an_interrupted_index_resumes_where_it_stopped(settings, tmp_path, small_batches):
    many_articles(settings.corpus)
    clean = settings.with_(index=tmp_path / "clean")
    total = Engine(clean, embedder=FakeEmbedder()).update()
    texts = total.passages_embedded + total.sentences_embedded

    with pytest.raises(KeyboardInterrupt):
        Engine(settings, embedder=FailingEmbedder(calls=3)).update()
    assert Store.load(settings.index) is None  # nothing live yet: the interrupted run wrote no generation
    kept = len(VectorCache.open(settings.index, "", 0))
    assert 3 * 28 < kept <= 3 * 32  # three whole batches (of up to 32) were kept before the fourth was interrupted

    seen = []
    resumed = Engine(settings, embedder=FakeEmbedder())
    report = resumed.update(progress=lambda done, total: seen.append((done, total)))
    assert report.passages_embedded + report.sentences_embedded == texts - kept  # only what the cache lacked
    assert report.passages_cached + report.sentences_cached == kept
    assert resumed._given.embedded == texts - kept
    assert seen[0] == (kept, texts) and seen[-1] == (texts, texts)  # the bar starts at the resumed share
    assert fingerprint(settings.index) == fingerprint(clean.index)  # byte for byte what a clean build gives
    assert same_sentences(settings.index, clean.index)


def test_an_interrupted_update_leaves_the_live_index_as_it_was(engine, settings, small_batches):
    engine.update()
    before = fingerprint(settings.index)
    many_articles(settings.corpus, 10)
    with pytest.raises(KeyboardInterrupt):
        Engine(settings, embedder=FailingEmbedder(calls=2)).update()
    assert fingerprint(settings.index) == before
    report = Engine(settings, embedder=FakeEmbedder()).update()
    assert report.added == 10 and 2 * 28 < report.passages_cached + report.sentences_cached <= 2 * 32


def test_a_rebuild_after_a_chunking_change_reuses_every_unchanged_text(settings, tmp_path):
    many_articles(settings.corpus, 6)
    Engine(settings, embedder=FakeEmbedder()).update()
    rechunked = settings.with_(chunk_size=settings.chunk_size // 2, chunk_overlap=0)
    embedder = FakeEmbedder()
    report = Engine(rechunked, embedder=embedder).update()
    assert report.rebuilt.startswith("chunking changed")
    assert report.sentences_cached > 0  # sentences are the same texts under any chunking
    assert embedder.embedded == report.passages_embedded + report.sentences_embedded
    clean = rechunked.with_(index=tmp_path / "clean")
    Engine(clean, embedder=FakeEmbedder()).update()
    assert fingerprint(rechunked.index) == fingerprint(clean.index)
    assert same_sentences(rechunked.index, clean.index)  # sentences kept as int8 in the cache come back exactly


def test_what_no_article_uses_is_dropped_when_an_update_completes(engine, settings):
    many_articles(settings.corpus, 8)
    engine.update()
    full = len(VectorCache.open(settings.index, "", 0))
    for i in range(4):
        (settings.corpus / f"many-{i:02}.txt").unlink()
    engine.update()
    left = settings.with_(index=settings.index.parent / "left")
    Engine(left, embedder=FakeEmbedder()).update()
    after = len(VectorCache.open(settings.index, "", 0))
    assert after < full and after == len(VectorCache.open(left.index, "", 0))  # what a fresh index would hold


def test_a_damaged_entry_is_embedded_again(engine, settings):
    engine.update()
    before = fingerprint(settings.index)
    texts = len(VectorCache.open(settings.index, "", 0))
    (settings.index / "CURRENT").unlink()  # the index is gone; the cache is what is left
    db = sqlite3.connect(cache_file(settings.index))
    with db:
        db.execute(
            "UPDATE vectors SET vector = zeroblob(length(vector)) WHERE key IN (SELECT key FROM vectors LIMIT 3)"
        )
    db.close()
    report = Engine(settings, embedder=FakeEmbedder()).update()
    assert report.passages_embedded + report.sentences_embedded == 3
    assert report.passages_cached + report.sentences_cached == texts - 3
    assert fingerprint(settings.index) == before


def test_full_embeds_every_text_again(engine, settings):
    first = engine.update()
    report = Engine(settings, embedder=FakeEmbedder()).update(full=True)
    assert report.passages_cached == report.sentences_cached == 0
    assert report.passages_embedded == first.passages_embedded


def test_a_cache_that_cannot_be_read_is_started_again(engine, settings, caplog):
    engine.update()
    path = cache_file(settings.index)
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    path.write_bytes(b"not a database at all" * 100)
    (settings.corpus / "new.txt").write_text("Otters hold hands while they sleep.")
    report = Engine(settings, embedder=FakeEmbedder()).update()
    assert report.added == 1 and report.passages_embedded == 1
    assert "starting a new vector cache" in caplog.text
    assert len(VectorCache.open(settings.index, "", 0)) > 0


def test_entries_of_another_model_are_not_used(settings):
    Engine(settings, embedder=FakeEmbedder()).update()

    class OtherModel(FakeEmbedder):
        name = "fake-other"

    report = Engine(settings, embedder=OtherModel()).update()
    assert report.rebuilt.startswith("model changed")
    assert report.passages_cached == report.sentences_cached == 0


def test_sentences_are_kept_as_int8_and_passages_as_float32(engine, settings):
    engine.update()
    db = sqlite3.connect(cache_file(settings.index))
    sizes = dict(db.execute("SELECT length(vector), count(*) FROM vectors GROUP BY length(vector)").fetchall())
    db.close()
    report = Engine(settings.with_(index=settings.index.parent / "again"), embedder=FakeEmbedder()).update()
    assert sizes == {64 * 4: report.passages_embedded, 64: report.sentences_embedded}


def test_a_torn_batch_is_not_read(tmp_path):
    cache = VectorCache.open(tmp_path, "m", 4)
    keys = [cache.key(t) for t in ("a", "b")]
    cache.put(keys, np.eye(2, 4, dtype=np.float32))
    db = sqlite3.connect(cache_file(tmp_path))
    with db:
        db.execute("UPDATE vectors SET vector = substr(vector, 1, 8) WHERE key = ?", (keys[0],))
    db.close()
    assert list(cache.get(keys)) == [keys[1]]
    assert np.array_equal(cache.get(keys)[keys[1]], [0, 1, 0, 0])
