"""The corpus watcher: a real watch on a real folder, the fake embedder for speed."""

import time

import pytest

from rag.errors import IndexBusyError
from rag.watch import CorpusWatcher, WatchStatus

pytestmark = pytest.mark.timeout(120)


class Recorder:
    """Collects the watcher's finished updates (and the "indexing N articles" lines before them)."""

    def __init__(self) -> None:
        self.statuses: list[WatchStatus] = []

    def __call__(self, status: WatchStatus) -> None:
        self.statuses.append(status)

    @property
    def finished(self) -> list[WatchStatus]:
        return [s for s in self.statuses if not s.indexing]

    def wait(self, count: int, seconds: float = 30.0) -> WatchStatus:
        deadline = time.monotonic() + seconds
        while len(self.finished) < count:
            assert time.monotonic() < deadline, f"the watcher finished {len(self.finished)} of {count} updates"
            time.sleep(0.02)
        return self.finished[count - 1]


@pytest.fixture
def watched(engine):
    engine.update()
    recorder = Recorder()
    watcher = CorpusWatcher(engine, on_update=recorder).start()
    assert watcher.watching.wait(10)
    yield engine, watcher, recorder
    watcher.stop()


def test_added_changed_and_deleted_articles_are_indexed(watched):
    engine, watcher, updates = watched
    corpus = engine.settings.corpus
    (corpus / "axolotl.txt").write_text("Axolotls regrow their limbs, hearts and parts of their brains.")
    first = updates.wait(1)
    assert first.report.added == 1 and updates.statuses[0].line() == "Indexing 1 article..."
    assert engine.ask("axolotl regrow limbs", k=1).results[0].citation.source == "axolotl.txt"

    (corpus / "axolotl.txt").write_text("Axolotls stay larvae all their lives and keep their gills.")
    assert updates.wait(2).report.updated == 1
    assert "gills" in engine.ask("axolotl gills", k=1).results[0].text

    (corpus / "axolotl.txt").unlink()
    assert updates.wait(3).report.removed == 1
    assert "axolotl.txt" not in {d["source"] for d in engine.store().manifest.documents}
    assert watcher.status().line().startswith("0 added, 0 updated, 1 removed")


def test_a_burst_of_files_becomes_one_update(watched):
    engine, _, updates = watched
    for i in range(300):  # a copy of many files: small gaps between them, none as long as the settle time
        (engine.settings.corpus / f"burst-{i:03}.md").write_text(f"# Burst {i}\n\nArticle number {i} of a big copy.")
        if i % 50 == 0:
            time.sleep(0.05)
    status = updates.wait(1)
    time.sleep(1.5)  # nothing more follows
    assert len(updates.finished) == 1 and status.report.added == 300
    assert updates.statuses[0].line() == "Indexing 300 articles..."


def test_an_unreadable_file_is_reported_and_the_watch_goes_on(watched):
    engine, _, updates = watched
    corpus = engine.settings.corpus
    (corpus / "broken.pdf").write_bytes(b"<html>a web page saved as .pdf</html>")
    status = updates.wait(1)
    assert [s.source for s in status.report.skipped] == ["broken.pdf"] and "1 skipped" in status.line()
    (corpus / "okapi.txt").write_text("Okapis are shy forest giraffes.")
    assert updates.wait(2).report.added == 1


def test_a_failed_update_is_shown_and_the_watch_goes_on(watched, monkeypatch):
    engine, watcher, updates = watched
    real_update = engine.update
    calls = []

    def busy_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise IndexBusyError("another process has been updating the index for 10 minutes")
        return real_update(*args, **kwargs)

    monkeypatch.setattr(engine, "update", busy_once)
    (engine.settings.corpus / "one.txt").write_text("Tardigrades survive the vacuum of space.")
    assert updates.wait(1).error.startswith("another process")
    assert watcher.status().line().startswith("Could not update the index: another process")
    (engine.settings.corpus / "two.txt").write_text("Pangolins are covered in scales.")
    assert updates.wait(2).report.added == 2  # the first article too: each update reads the whole folder


def test_files_that_are_not_articles_are_ignored(watched):
    engine, _, updates = watched
    corpus = engine.settings.corpus
    (corpus / ".hidden.txt").write_text("hidden")
    (corpus / "notes.swp").write_text("editor swap file")
    (corpus / "picture.png").write_bytes(b"\x89PNG")
    time.sleep(1.5)
    assert updates.statuses == []
