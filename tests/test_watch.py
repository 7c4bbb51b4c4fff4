"""The corpus watcher: a real watch on a real folder, the fake embedder for speed."""

import threading
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


def test_changes_another_process_indexed_meanwhile_leave_nothing_to_do(engine, tmp_path, caplog):
    """The web chat and `rag index --watch` both follow the folder: the one that waited says there is nothing left."""
    from filelock import Timeout

    from rag.index.lock import index_lock

    from .child import expect, spawn

    settings = engine.settings
    engine.update()
    (settings.corpus / "bells.txt").write_text("The Zorbulax bell was cast in copper in 1742.")
    release = tmp_path / "release"
    other = spawn("update", settings.corpus, settings.index, "--go", "--hold-until", release)
    try:
        expect(other, "ready")
        other.stdin.write("go\n")
        other.stdin.flush()
        lock = index_lock(settings.index)
        while True:  # until the other process holds the index lock while it embeds the new article
            try:
                lock.acquire(timeout=0)
            except Timeout:
                break
            lock.release()
            time.sleep(0.02)
        watcher = CorpusWatcher(engine)
        waiting = threading.Thread(target=watcher.update, args=(1,))
        waiting.start()
        while "waiting for it to finish" not in caplog.text:
            time.sleep(0.02)
        release.touch()
        waiting.join(30)
        assert '"added": 1' in expect(other, "updated 0")
    finally:
        other.kill()
        other.wait()
    status = watcher.status()
    assert status.report.added == 0 and status.report.waited
    assert status.line() == "Nothing left to index: another process indexed these changes while this one waited."


def test_the_page_shows_no_line_for_the_watchers_update_after_an_upload(engine, tmp_path):
    from rag.web.chat import WebChat

    engine.update()
    watcher = CorpusWatcher(engine)
    web = WebChat(engine, watcher)
    upload = tmp_path / "okapi.txt"
    upload.write_text("Okapis are shy forest giraffes of the Congo.")
    _, note, _ = web.upload([str(upload)], progress=lambda *args, **kwargs: None)
    assert "Added" in note and "okapi.txt" in note
    status = watcher.update(1)  # what the watcher does once the uploaded file lands in the corpus folder
    assert status.line() == "Nothing to index: the index already holds the corpus folder as it is."
    version, line, panel = web.poll(0)
    assert (version, line) == (status.version, "") and "okapi.txt" in panel
    (engine.settings.corpus / "tapir.txt").write_text("Tapirs use their snouts to grab leaves.")
    version, line, _ = web.poll(watcher.update(1).version - 1)
    assert "1 added, 0 updated, 0 removed" in line
