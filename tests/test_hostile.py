"""Hostile files in the articles folder: nothing outside it is read, no file crashes or stalls the tool, every
refusal is one line, and the article beside the hostile file is still answered.

The files are built by tests/hostile.py when the test runs. A file built to stall the readers gets 5 s to be
read (60 s by default), so that it is stopped quickly.
"""

from __future__ import annotations

import resource
from functools import partial
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.cli import main
from rag.config import Settings
from rag.engine import Engine
from rag.index.faiss.reader import Store

from .hostile import CANARY, CASES, GOOD_ARTICLE, GOOD_QUESTION, make_canary

READ_SECONDS = "5"
ESCAPES = ("\x1b", "\x07", "\x9b", "\x00")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """corpus/ holding one good article, and outside/ beside it holding the canary."""
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "okapi.txt").write_text(GOOD_ARTICLE)
    make_canary(tmp_path / "outside")
    return tmp_path


def run(folder: Path, fake_embedder, *args: str, env: dict | None = None, seconds: str = "60"):
    paths = ["--corpus", str(folder / "corpus"), "--index", str(folder / "index")]
    command, *rest = args
    return CliRunner(env={"RAG_READ_SECONDS": seconds, **(env or {})}).invoke(
        main, [command, *paths, *rest], obj=partial(Engine, embedder=fake_embedder)
    )


def assert_nothing_leaked(folder: Path, *outputs: str) -> None:
    for output in outputs:
        assert CANARY not in output
        assert "Traceback" not in output
    for path in (folder / "index").rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path


# cases that take a gigabyte or many seconds of a worker, or seconds to build: run with the slow tests
HEAVY = {"pdf-flate-bomb", "huge-one-line-html", "many-chapters-epub", "empty-pdf-pages", "nested-divs"}


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=[pytest.mark.slow] if n in HEAVY else []) for n in sorted(CASES)]
)
def test_a_hostile_file_is_refused_or_read_safely_and_the_good_article_still_answered(name, folder, fake_embedder):
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    case = CASES[name]
    case.build(folder / "corpus", folder / "outside")

    seconds = READ_SECONDS if "took more than" in case.reason else "60"  # a case built to stall is stopped soon
    index = run(folder, fake_embedder, "index", seconds=seconds)
    assert index.exit_code == 0, index.output
    skipped = {line.split(": ", 1)[0].removeprefix("skipped "): line for line in index.stderr.splitlines()}
    indexed = {d["source"] for d in Store.load(folder / "index").manifest.documents}
    shown = case.source.encode("unicode_escape").decode() if case.expect == "read" else case.source
    if case.expect == "skipped":
        assert any(phrase in skipped[shown] for phrase in case.reason.split("|")), index.stderr
        assert case.source not in indexed
    else:
        assert case.source in indexed, index.stderr
    assert all("\n" not in line for line in skipped.values())

    ask = run(folder, fake_embedder, "ask", GOOD_QUESTION, "-k", "1", seconds=seconds)
    assert ask.exit_code == 0, ask.output
    citations = [line for line in ask.stdout.splitlines() if line.startswith("    [1] ")]
    assert citations and "okapi.txt" in citations[0], ask.stdout  # the answer's own citation, under it
    shown_article = run(folder, fake_embedder, "show", case.source, seconds=seconds)
    assert shown_article.exit_code in (0, 1), shown_article.output
    assert len(shown_article.stderr.splitlines()) <= 1  # the text, or one line saying why not
    for output in (index.output, ask.output, shown_article.output):
        assert not any(ch in output for ch in ESCAPES), repr(output[:300])
    assert_nothing_leaked(folder, index.output, ask.output, shown_article.output)
    # this process (the tool's own) stays small, whatever its workers went through: its peak is below the
    # bound, or is the one it had before this test (earlier tests of the same run may have loaded models)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert peak < 1_500_000 or peak == peak_before


def test_a_link_to_a_secret_is_indexed_only_when_asked_to_follow_links(folder, fake_embedder):
    CASES["link-to-canary"].build(folder / "corpus", folder / "outside")
    refused = run(folder, fake_embedder, "ask", "okapi password secret token")
    assert_nothing_leaked(folder, refused.output)

    followed = run(folder, fake_embedder, "index", "--follow-links")
    assert followed.exit_code == 0 and "notes.txt" not in followed.stderr
    assert "notes.txt" in {d["source"] for d in Store.load(folder / "index").manifest.documents}
    # ... and dropped again by an update that does not follow links
    again = run(folder, fake_embedder, "index")
    assert "1 removed" in again.stdout and "outside the corpus folder" in again.stderr
    assert_nothing_leaked(folder)


def test_with_follow_links_proc_and_devices_are_still_never_read(folder, fake_embedder):
    CASES["link-to-proc"].build(folder / "corpus", folder / "outside")
    CASES["link-to-device"].build(folder / "corpus", folder / "outside")
    (folder / "corpus" / "system").symlink_to("/sys", target_is_directory=True)
    result = run(folder, fake_embedder, "index", env={"RAG_FOLLOW_LINKS": "1"})
    assert result.exit_code == 0, result.output
    assert "skipped status.txt: link into /proc" in result.stderr
    assert "skipped zero.txt: link into /proc" in result.stderr
    assert "skipped system: link into /proc" in result.stderr
    assert {d["source"] for d in Store.load(folder / "index").manifest.documents} == {"okapi.txt"}


def test_a_file_name_cannot_forge_a_citation_line(folder, fake_embedder):
    CASES["escapes-in-text-and-name"].build(folder / "corpus", folder / "outside")
    result = run(folder, fake_embedder, "ask", "red tapir text query", "-k", "2")
    assert result.exit_code == 0, result.output
    citations = [line for line in result.stdout.splitlines() if line.startswith("[")]
    assert len(citations) == 2, result.stdout
    assert not any(line.startswith("[1] Fake citation") for line in result.stdout.splitlines())
    assert any("forged\\n[1] Fake citation \\x1b]0;pwned\\x07.txt" in line for line in citations)
    assert not any(ch in result.output for ch in ESCAPES)


def test_show_prints_an_articles_escape_sequences_as_text(folder, fake_embedder):
    CASES["escapes-in-text-and-name"].build(folder / "corpus", folder / "outside")
    (name,) = [p.name for p in (folder / "corpus").iterdir() if p.name.startswith("forged")]
    result = run(folder, fake_embedder, "show", name)
    assert result.exit_code == 0, result.output
    # the text reader drops terminal codes, as a terminal shows them; any left are printed as U+FFFD
    assert "red tapir text" in result.stdout and "title set" not in result.stdout
    assert not any(ch in result.output for ch in ESCAPES)


def test_add_adds_the_good_files_and_lists_the_bad_ones(folder, fake_embedder, tmp_path):
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    CASES["odd-reader-errors"].build(incoming, tmp_path)
    (incoming / "tapirs.txt").write_text("Tapirs\n\nTapirs are shy browsers of the forest floor.\n")
    result = run(folder, fake_embedder, "add", str(incoming / "tapirs.txt"), str(incoming / "bad-xml.docx"))
    assert result.exit_code == 1, result.output
    assert "Added tapirs.txt" in result.stdout
    assert result.stderr.splitlines() == [
        "Not added: bad-xml.docx: damaged or unusual Word file that cannot be read (XMLSyntaxError); "
        "save it again from its application."
    ]
    assert (folder / "corpus" / "tapirs.txt").is_file() and not (folder / "corpus" / "bad-xml.docx").exists()


def test_uploads_add_the_good_files_list_the_bad_and_leave_no_copies(folder, fake_embedder, tmp_path, monkeypatch):
    pytest.importorskip("gradio")
    from rag.web.chat import WebChat

    uploads = tmp_path / "gradio"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(uploads))
    given = []
    for name, build in (("tapirs.txt", None), ("bad-xml.docx", CASES["odd-reader-errors"].build)):
        folder_ = uploads / name.replace(".", "-")
        folder_.mkdir(parents=True)
        if build is None:
            (folder_ / name).write_text("Tapirs\n\nTapirs are shy browsers of the forest floor.\n")
        else:
            build(folder_, tmp_path)
            (folder_ / "no-body.docx").unlink()
        given.append(str(folder_ / name))
    engine = Engine(Settings(corpus=folder / "corpus", index=folder / "index"), embedder=fake_embedder)

    _, note, _ = WebChat(engine).upload(given, progress=lambda *a, **k: None)

    assert "Added" in note and "tapirs.txt" in note
    assert "Not added: bad-xml.docx: damaged or unusual Word file" in note
    assert (folder / "corpus" / "tapirs.txt").is_file()
    assert not any(p.is_file() for p in uploads.rglob("*")), list(uploads.rglob("*"))


def test_the_upload_route_needs_the_password(tmp_path, fake_embedder, folder):
    pytest.importorskip("gradio")
    import httpx

    from rag.web.chat import build_app
    from rag.web.server import launch_options

    settings = Settings(corpus=folder / "corpus", index=folder / "index", auth="reader:secret", port=7999)
    engine = Engine(settings, embedder=fake_embedder)
    engine.update()
    app = build_app(engine)
    options = {**launch_options(settings), "server_port": None}
    app.launch(prevent_thread_lock=True, **options)
    try:
        url = app.local_url.rstrip("/")
        files = {"files": ("x.txt", b"a" * 1000, "text/plain")}
        refused = httpx.post(f"{url}/gradio_api/upload", files=files, timeout=30)
        assert refused.status_code in (401, 403), refused.text
    finally:
        app.close()


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _kill_once_busy(pid: int, ticks: int = 50) -> None:
    """SIGKILL `pid` once it has spent `ticks` more CPU ticks (half a second): it is reading, not waiting."""
    import os
    import signal
    import time

    start = _cpu_ticks(pid)
    while _cpu_ticks(pid) < start + ticks:
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_worker_killed_mid_file_skips_that_file_and_the_next_is_read(tmp_path):
    """A reader that dies (killed here, as a parser that aborts is) costs its file only."""
    import threading

    from rag.ingest.documents import ArticleFile
    from rag.ingest.sandbox import Limits, ReaderPool

    slow = ArticleFile(tmp_path / "slow.html", "slow.html", 0, 0)
    good = ArticleFile(tmp_path / "good.txt", "good.txt", 0, 0)
    with ReaderPool(Limits(workers=1, seconds=240)) as pool:
        pool.read(good, b"warm up")
        threading.Thread(target=_kill_once_busy, args=(pool._workers[0].proc.pid,), daemon=True).start()
        failed = pool.read(slow, b"<html><body>" + b"<p>Tapirs browse at night.</p>" * 600_000 + b"</body></html>")
        # killed, or (on a busy machine, before the kill lands) stopped at its memory limit: its file's skip either way
        assert str(failed) in (
            "slow.html: its reader crashed on it (SIGKILL); the file is damaged or built to break readers.",
            "slow.html: needed more than 1 GB to read; split it, or raise RAG_READ_MEMORY_MB.",
        )
        assert pool.read(good, b"Quokkas smile.").text == "Quokkas smile."


def test_a_worker_that_grew_is_replaced_after_its_file_and_the_next_is_read(tmp_path, monkeypatch):
    """A reader left holding a large file's memory is stopped; the next file starts a fresh one."""
    from rag.ingest import sandbox
    from rag.ingest.documents import ArticleFile

    good = ArticleFile(tmp_path / "good.txt", "good.txt", 0, 0)
    with sandbox.ReaderPool(sandbox.Limits(workers=1)) as pool:
        worker = pool._workers[0]
        assert pool.read(good, b"Tapirs browse at night.").text == "Tapirs browse at night."
        first = worker.proc.pid
        assert pool.read(good, b"Quokkas smile.").text == "Quokkas smile." and worker.proc.pid == first
        monkeypatch.setattr(sandbox, "RECYCLE_MB", -1.0)  # any worker now counts as grown
        assert pool.read(good, b"Okapis hide.").text == "Okapis hide." and worker.proc is None
        monkeypatch.undo()
        assert pool.read(good, b"Tapirs swim.").text == "Tapirs swim." and worker.proc.pid != first


def test_after_a_whole_folder_the_idle_workers_are_stopped_and_start_again_when_needed(tmp_path, monkeypatch):
    """Reading a folder's files leaves no worker holding memory while the index is written; an edit keeps its."""
    from dataclasses import replace

    from rag.ingest import sandbox
    from rag.ingest.documents import ArticleFile

    settings = replace(Settings(corpus=tmp_path, index=tmp_path / "index"), read_workers=1, read_seconds=61.0)
    files = [(ArticleFile(tmp_path / f"{n}.txt", f"{n}.txt", 0, 0), f"Tapir {n}.".encode()) for n in range(3)]
    pool = sandbox.shared_pool(sandbox.Limits.of(settings))
    monkeypatch.setattr(sandbox, "RELEASE_AFTER", 3)
    assert [doc.text for _, doc in sandbox.read_documents(files[:2], settings)] == ["Tapir 0.", "Tapir 1."]
    assert pool._workers[0].proc is not None  # two files: an edit, its worker kept
    assert [doc.text for _, doc in sandbox.read_documents(files, settings)] == ["Tapir 0.", "Tapir 1.", "Tapir 2."]
    assert pool._workers[0].proc is None  # a folder: stopped
    assert [doc.text for _, doc in sandbox.read_documents(files[:1], settings)] == ["Tapir 0."]
    assert pool._workers[0].proc is not None
