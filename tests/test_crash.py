"""Crashes and concurrent use: SIGKILL at random moments, two updates at once, questions during updates.

The other process runs tests/child.py: the product's Engine.update, with the
fake embedder so that a kill lands in indexing work rather than model loading.
"""

import json
import os
import random
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import rag.index.faiss.reader
import rag.index.lock
from rag.answer.question import Query
from rag.answer.search import search
from rag.config import Settings
from rag.engine import Engine
from rag.errors import IndexBusyError
from rag.index.faiss.reader import Store
from rag.index.lock import index_lock
from rag.ingest.documents import read_document, scan

from .child import churn_text, expect, spawn
from .conftest import CORPUS, FakeEmbedder, fingerprint


def start(proc: subprocess.Popen) -> subprocess.Popen:
    """Let a child started with --go begin its update."""
    expect(proc, "ready")
    proc.stdin.write("go\n")
    proc.stdin.flush()
    return proc


def report_of(stdout: str) -> dict:
    return json.loads([line for line in stdout.splitlines() if line.startswith("updated")][-1].split(" ", 2)[2])


def two_corpora() -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Old and new contents of a 43-article corpus: the new one changes 3, adds 3 and deletes 3 articles."""
    words = (CORPUS / "rust-in-the-linux-kernel.txt").read_text().split()
    rnd = random.Random(11)

    def article(title: str) -> bytes:
        sentences = (" ".join(rnd.choice(words) for _ in range(rnd.randint(8, 25))) + "." for _ in range(30))
        return (f"{title}\n\n" + " ".join(sentences)).encode()

    old = {p.name: p.read_bytes() for p in CORPUS.iterdir()} | {f"a{i:03}.txt": article(f"A{i}") for i in range(40)}
    new = {k: v for k, v in old.items() if k not in {"a037.txt", "a038.txt", "a039.txt"}}
    new |= {f"a00{i}.txt": old[f"a00{i}.txt"] + b"\n\nA changed ending." for i in range(3)}
    new |= {f"b00{i}.txt": article(f"B{i}") for i in range(3)}
    return old, new


def put(corpus: Path, files: dict[str, bytes]) -> None:
    """Make the corpus hold exactly `files`, writing only what differs."""
    corpus.mkdir(exist_ok=True)
    for path in corpus.iterdir():
        if path.name not in files:
            path.unlink()
    for name, data in files.items():
        if not (corpus / name).exists() or (corpus / name).read_bytes() != data:
            (corpus / name).write_bytes(data)


def moment(finished: bool, state: str, leftovers: list[str]) -> str:
    """Where in the update the kill landed, as far as the index folder shows."""
    if finished:
        return "after it exited"
    extra_generations = sum(name.startswith("gen-") for name in leftovers) > 1
    if any(name.startswith(".tmp-") for name in leftovers):
        return "while writing the new generation"
    if any(name.startswith(".CURRENT.") for name in leftovers):
        return "while replacing CURRENT"
    if state == "old":
        return "before switching to the written generation" if extra_generations else "before writing"
    return "after switching, before removing the old generation" if extra_generations else "after finishing"


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_killing_an_update_at_random_moments_leaves_the_old_or_the_new_index(tmp_path):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    old_files, new_files = two_corpora()
    engine = Engine(Settings(corpus=corpus, index=index), embedder=FakeEmbedder())
    put(corpus, new_files)
    engine.update()
    new_state = fingerprint(index)
    put(corpus, old_files)
    engine.update()
    old_state = fingerprint(index)
    assert old_state != new_state

    # How long one update takes in a child, from "go" to its report: the window the kills are spread over.
    # Every other child runs in slow motion around renames and deletions, to widen the gaps between them.
    modes = [(), ("--slow-motion", 0.15)]
    windows = []
    for mode, files in zip(modes, [new_files, old_files], strict=True):
        put(corpus, files)
        child = start(spawn("update", corpus, index, "--go", *mode))
        started = time.perf_counter()
        expect(child, "updated")
        windows.append(time.perf_counter() - started)
        assert child.wait(timeout=60) == 0, child.stderr.read()
    assert fingerprint(index) == old_state
    before, after, files_next = old_state, new_state, new_files

    kills = 24
    rnd = random.Random(int(os.environ.get("RAG_KILL_SEED", "1")))  # another seed: RAG_KILL_SEED=N
    plan = [(i % 2, windows[i % 2] * (i // 2 + rnd.random()) / (kills // 2)) for i in range(kills)]  # spread out
    rnd.shuffle(plan)
    moments: Counter[str] = Counter()
    waiting = {m: spawn("update", corpus, index, "--go", *modes[m]) for m in (0, 1)}  # imports overlap our checks
    for mode, delay in plan:
        put(corpus, files_next)
        child = start(waiting[mode])
        time.sleep(delay)
        child.kill()  # SIGKILL; does nothing if it already exited
        child.wait(timeout=60)
        waiting[mode] = spawn("update", corpus, index, "--go", *modes[mode])

        leftovers = sorted(p.name for p in index.iterdir() if p.name not in {"CURRENT", ".lock", "skipped.json"})
        state = {before: "old", after: "new"}.get(fingerprint(index))
        assert state is not None, f"killed after {delay:.3f} s: the index is neither the old nor the new one"
        moments[moment(child.returncode == 0, state, leftovers)] += 1

        report = engine.update()  # the next update completes, and cleans up what the killed one left
        assert fingerprint(index) == after
        assert report.passages_total == len(Store.load(index))
        assert sorted(p.name for p in index.iterdir() if p.name.startswith(("gen-", ".tmp-", ".CURRENT."))) == [
            Store.load(index).path.name
        ]
        before, after = after, before
        files_next = old_files if files_next is new_files else new_files
    for proc in waiting.values():
        proc.kill()
        proc.wait()
    print(f"\nupdate takes {windows[0]:.2f} s, {windows[1]:.2f} s in slow motion; where {kills} kills landed:")
    for where, count in moments.most_common():
        print(f"  {count:3d}  {where}")
    assert sum(moments.values()) == kills


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_two_updates_at_once_the_second_waits_for_the_first(settings, tmp_path):
    release = tmp_path / "release"
    first = spawn("update", settings.corpus, settings.index, "--hold-until", release)
    expect(first, "ready")
    while _lock_is_free(settings.index):  # the first is reading the corpus; soon it holds the lock
        time.sleep(0.02)
    second = spawn("update", settings.corpus, settings.index)
    expect(second, "ready")
    waiting = second.stderr.readline()
    assert f"another process is updating the index in {str(settings.index)!r}; waiting for it to finish" in waiting
    assert second.poll() is None and first.poll() is None
    release.touch()
    out1, err1 = first.communicate(timeout=120)
    out2, err2 = second.communicate(timeout=120)
    assert first.returncode == 0 and second.returncode == 0, err1 + err2
    assert report_of(out1)["added"] == 2
    second_report = report_of(out2)  # it ran after the first had finished: nothing left to do
    assert (second_report["unchanged"], second_report["passages_embedded"]) == (2, 0)
    assert fingerprint(settings.index)


def _lock_is_free(index: Path) -> bool:
    from filelock import Timeout

    lock = index_lock(index, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        return False
    lock.release()
    return True


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_lock_left_by_a_killed_process_does_not_block(settings, fake_embedder, monkeypatch, caplog):
    holder = spawn("hold-lock", settings.index)
    expect(holder, "locked")
    monkeypatch.setattr(rag.index.lock, "LOCK_TIMEOUT", 0.5)
    with pytest.raises(IndexBusyError, match="another process has been updating the index in .* for 0.00833333 min"):
        Engine(settings, embedder=fake_embedder).update()
    holder.kill()
    holder.wait()
    assert (settings.index / ".lock").exists()  # the lock file outlives its holder, the lock does not
    caplog.clear()
    assert Engine(settings, embedder=fake_embedder).update().added == 2
    assert not [r for r in caplog.records if "waiting" in r.getMessage()]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_questions_are_answered_without_error_while_another_process_updates(settings, fake_embedder):
    engine = Engine(settings, embedder=fake_embedder)
    engine.update()
    updates_by_reader = []
    real_update = engine.update
    engine.update = lambda *a, **kw: updates_by_reader.append(1) or real_update(*a, **kw)
    articles = {f.source: read_document(f).text for f in scan(settings.corpus)[0]}

    loops = 12
    writer = spawn("update", settings.corpus, settings.index, "--loops", loops, "--churn")
    expect(writer, "ready")
    generations, answers, cold_loads = set(), 0, 0
    while writer.poll() is None:
        answer = engine.ask("Who submitted the first Rust for Linux pull request?", k=3)
        assert answer.results
        for r in answer.results:  # each passage is the exact text its citation points at
            if r.citation.source in articles:
                assert articles[r.citation.source][r.citation.start : r.citation.end] == r.text
        generations.add(engine.store().path.name)
        cold = Store.load(settings.index)  # a fresh load each time: the moment a generation may vanish
        assert len(cold) > 0 and cold.text(len(cold) - 1)
        answers += 1
        cold_loads += 1
    assert writer.returncode == 0, writer.stderr.read()
    assert not updates_by_reader  # the reader never had to repair or rebuild anything
    assert len(generations) >= 2, generations
    last = engine.ask(f"zqchurn{loops - 1}x", k=1).results[0]  # the newest generation is picked up
    assert last.citation.source == "churn.txt" and churn_text(loops - 1).split("\n")[0] in last.text
    print(f"\n{answers} answers and {cold_loads} cold loads during {loops} updates; {len(generations)} generations")


def test_store_load_moves_on_when_a_writer_replaces_the_generation_being_loaded(engine, settings, monkeypatch):
    """The worst moment, made to happen: the generation is replaced and deleted halfway through a load."""
    engine.update()
    real_verify = rag.index.faiss.reader.verify
    struck = []

    def writer_strikes(folder, table, full=False):
        if not struck:
            struck.append(folder)
            (settings.corpus / "new.txt").write_text("Axolotls regrow their limbs.")
            Engine(settings, embedder=FakeEmbedder()).update()
            assert not folder.exists()
        return real_verify(folder, table, full)

    monkeypatch.setattr(rag.index.faiss.reader, "verify", writer_strikes)
    store = Store.load(settings.index)
    assert store.path != struck[0]
    assert "new.txt" in {d["source"] for d in store.manifest.documents}


def test_a_loaded_generation_keeps_answering_after_a_writer_deletes_it(engine, settings, fake_embedder):
    engine.update()
    store = engine.store()
    (settings.corpus / "new.txt").write_text("Pangolins are covered in scales.")
    Engine(settings, embedder=FakeEmbedder()).update()
    assert not store.path.exists()
    hits = search(store, Query.read("Rust for Linux", fake_embedder.embed_query("Rust for Linux"), store.idf), 3)
    assert [store.text(h.passage) for h in hits] and store.vectors()[hits[0].passage].any()
    assert engine.ask("pangolin scales", k=1).results[0].citation.source == "new.txt"  # and the engine moves on


class GatedEmbedder(FakeEmbedder):
    """A fake embedder whose batch embedding (what an update does) waits until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.entered, self.gate = threading.Event(), threading.Event()

    def embed(self, texts, progress=None):
        self.entered.set()
        assert self.gate.wait(30), "the test never let the update go on"
        return super().embed(texts, progress)


def test_questions_are_answered_while_the_same_engine_updates(settings):
    """The web app's case: an upload updates the index through the Engine that answers the questions."""
    embedder = GatedEmbedder()
    engine = Engine(settings, embedder=embedder)
    embedder.gate.set()
    engine.update()
    embedder.gate.clear()
    (settings.corpus / "new.txt").write_text("Pangolins are covered in scales.")
    updating = threading.Thread(target=engine.update)
    updating.start()
    try:
        assert embedder.entered.wait(30)
        answers = []
        asking = threading.Thread(target=lambda: answers.append(engine.ask("pangolin scales", k=1)))
        asking.start()
        asking.join(10)
        assert answers, "a question waited for the update to finish"
        assert answers[0].results[0].citation.source != "new.txt"  # the old index, until the new one is complete
    finally:
        embedder.gate.set()
        updating.join(30)
    assert engine.ask("pangolin scales", k=1).results[0].citation.source == "new.txt"


def small_articles(corpus: Path, n: int) -> None:
    """`n` short articles of real words, a few passages each."""
    words = (CORPUS / "rust-in-the-linux-kernel.txt").read_text().split()
    rnd = random.Random(5)
    corpus.mkdir(exist_ok=True)
    for i in range(n):
        sentences = (
            " ".join(rnd.choice(words) for _ in range(rnd.randint(6, 20))).capitalize() + "." for _ in range(12)
        )
        (corpus / f"s{i:03}.txt").write_text(f"Small article {i}\n\n" + " ".join(sentences))


def cached_texts(index: Path) -> int:
    """How many vectors the index's cache holds (read-only, so it can watch a running update)."""
    import sqlite3

    from rag.index.vector_cache import cache_file

    if not cache_file(index).exists():
        return 0
    db = sqlite3.connect(f"file:{cache_file(index)}?mode=ro", uri=True)
    try:
        return db.execute("SELECT count(*) FROM vectors").fetchone()[0]
    except sqlite3.OperationalError:  # the tables are not made yet
        return 0
    finally:
        db.close()


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_first_index_killed_again_and_again_resumes_and_equals_a_clean_build(tmp_path):
    from rag.index.vector_cache import FLUSH

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    small_articles(corpus, 300)
    clean = Engine(Settings(corpus=corpus, index=tmp_path / "clean"), embedder=FakeEmbedder()).update()
    texts = clean.passages_embedded + clean.sentences_embedded

    rnd = random.Random(int(os.environ.get("RAG_KILL_SEED", "1")))  # another seed: RAG_KILL_SEED=N
    cached = [0]
    for _ in range(4):  # each run is killed at a random moment after a random number of batches kept
        child = start(spawn("update", corpus, index, "--go", "--embed-delay", 0.05))
        target = cached[-1] + rnd.randint(1, 3) * FLUSH
        while cached_texts(index) < target and child.poll() is None:
            time.sleep(0.01)
        time.sleep(rnd.uniform(0, 0.25))  # somewhere in the next batch
        child.kill()
        child.wait(timeout=60)
        assert child.returncode != 0, "the update finished before it was killed"
        assert Store.load(index) is None  # a first index killed leaves no index, not half of one
        cached.append(cached_texts(index))
    assert cached == sorted(cached) and 0 < cached[-1] < texts  # each run kept what it had embedded

    last = start(spawn("update", corpus, index, "--go"))
    out, err = last.communicate(timeout=120)
    assert last.returncode == 0, err
    report = report_of(out)
    assert report["passages_embedded"] + report["sentences_embedded"] == texts - cached[-1]  # only what was missing
    assert report["passages_cached"] + report["sentences_cached"] == cached[-1]
    assert report["texts_per_second"] > 0
    assert fingerprint(index) == fingerprint(tmp_path / "clean")  # vectors and passages, byte for byte
    resumed, built = Store.load(index), Store.load(tmp_path / "clean")
    assert np.array_equal(resumed.sentence_vectors(), built.sentence_vectors())
    print(f"\n{texts} texts; the cache held {cached[1:]} after the kills; the last run embedded {texts - cached[-1]}")
