"""Articles that cannot be indexed are skipped with a reason; the rest of the corpus is indexed."""

import ctypes
import io
import json
import os
import subprocess
import sys
import tracemalloc
from functools import partial
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.cli import main
from rag.engine import Engine
from rag.errors import CorpusError
from rag.index.faiss.reader import Store
from rag.ingest.documents import read_bytes

from .conftest import ROOT
from .pdfs import make_pdf

GOOD = {"rust-in-the-linux-kernel.txt", "torvalds-on-rust-in-linux.txt"}


def pdf_with_password(user: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(["Okapis are shy forest giraffes."]))))
    writer.encrypt(user_password=user, owner_password="owner-secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _zip_of(members: dict[str, str]) -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, text in members.items():
            z.writestr(name, text)
    return out.getvalue()


def _docx(text: str = "A Word document with a paragraph.") -> bytes:
    import docx

    document = docx.Document()
    if text:
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def add_bad_articles(corpus: Path, tmp_path: Path) -> dict[str, str]:
    """Write one of each kind of unusable article; returns source -> a phrase its reason must contain."""
    full_pdf = make_pdf(["A perfectly good page of text.", "And another."])
    files = {
        "binary.txt": (os.urandom(4096) + b"\x00" + os.urandom(4096), "binary data"),
        "empty.txt": (b"", "empty file"),
        "blank.md": (b" \n\t\n ", "empty file"),
        "only-front-matter.md": (b"---\ntitle: Nothing\n---\n", "no text to index"),
        "scripts.html": (b"<html><script>alert(1)</script><style>p{}</style></html>", "only markup or scripts"),
        "scanned.pdf": (make_pdf([""]), "no text layer"),
        "locked.pdf": (pdf_with_password("user-secret"), "needs a password"),
        "truncated.pdf": (full_pdf[: len(full_pdf) // 2], "damaged or truncated PDF"),
        "not-a.pdf": (b"<html>a web page saved as .pdf</html>", "not a PDF"),
        "sub/bad-utf16.txt": (b"\xff\xfe" + b"\x00\xd8" + b"a\x00", "not valid UTF-16"),
        "badges.md": (b"[![ci](https://x.org/b.svg)](https://x.org)\n", "no text to index"),
        "menu.html": (b"<html><body><nav><a href=/>Home</a></nav></body></html>", "no text to index"),
        "garbage.docx": (os.urandom(2048), "not a .docx file"),
        "truncated.docx": (_docx()[:1500], "damaged or not a .docx file"),
        "not-word.docx": (_zip_of({"notes.txt": "hello"}), "damaged Word file"),
        "blank.docx": (_docx(""), "Word file with no text"),
        "garbage.epub": (b"PK\x03\x04 not really a zip", "not a .epub file"),
        "not-a-book.epub": (_zip_of({"mimetype": "text/plain"}), "damaged EPUB file"),
    }
    for name, (data, _) in files.items():
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        (corpus / name).write_bytes(data)
    (corpus / "loop-a.txt").symlink_to("loop-b.txt")
    (corpus / "loop-b.txt").symlink_to("loop-a.txt")
    (corpus / "dangling.txt").symlink_to(tmp_path / "gone.txt")
    (corpus / "linked-folder").symlink_to(tmp_path, target_is_directory=True)
    (corpus / "folder.txt").mkdir()  # a folder named like an article is walked, not read
    os.mkfifo(corpus / "pipe.txt")
    reasons = {name: phrase for name, (_, phrase) in files.items()}
    reasons |= {
        "loop-a.txt": "link loop",
        "loop-b.txt": "link loop",
        "dangling.txt": "broken link",
        "linked-folder": "link to a folder",
        "pipe.txt": "not a regular file",
    }
    return reasons


@pytest.mark.timeout(120)  # a pipe read the ordinary way would hang here
def test_unusable_articles_are_skipped_with_reasons_and_the_rest_indexed(engine, settings, tmp_path):
    reasons = add_bad_articles(settings.corpus, tmp_path)
    (settings.corpus / "utf16.txt").write_bytes("Narwhals have one long tusk.".encode("utf-16"))
    (settings.corpus / "owner-only.pdf").write_bytes(pdf_with_password(""))  # opens without a password

    report = engine.update()

    indexed = {d["source"] for d in Store.load(settings.index).manifest.documents}
    assert indexed == GOOD | {"utf16.txt", "owner-only.pdf"}
    skipped = {s.source: s.reason for s in report.skipped}
    assert set(skipped) == set(reasons)
    for source, phrase in reasons.items():
        assert phrase in skipped[source], (source, skipped[source])
    assert [s.source for s in report.skipped] == sorted(skipped)
    assert engine.ask("narwhal tusk", k=1).results[0].citation.source == "utf16.txt"
    assert engine.ask("okapi forest giraffe", k=1).results[0].citation.source == "owner-only.pdf"


def test_skipped_files_are_remembered_so_ask_does_not_index_again(engine, settings, tmp_path):
    add_bad_articles(settings.corpus, tmp_path)
    engine.update()
    assert engine.stale_reason() is None  # nothing to do: the bad files were seen and are unchanged
    (settings.corpus / "empty.txt").write_text("Café crème, now with text.")
    assert "1 article(s) new or changed" in engine.stale_reason()
    report = engine.update()
    assert report.added == 1 and "empty.txt" not in {s.source for s in report.skipped}
    assert engine.stale_reason() is None


def test_index_report_lists_each_skipped_file_once(settings, fake_embedder, monkeypatch, tmp_path):
    reasons = add_bad_articles(settings.corpus, tmp_path)
    paths = ["--corpus", str(settings.corpus), "--index", str(settings.index)]
    result = CliRunner().invoke(main, obj=partial(Engine, embedder=fake_embedder), args=["index", *paths])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("2 added, 0 updated")
    lines = result.stderr.splitlines()
    assert sorted(lines) == sorted(f"skipped {s}: {line.split(': ', 1)[1]}" for s, line in _lines(lines).items())
    assert {line.split(":")[0].removeprefix("skipped ") for line in lines} == set(reasons)
    assert "Traceback" not in result.output and "EOF marker" not in result.output

    as_json = json.loads(
        CliRunner().invoke(main, obj=partial(Engine, embedder=fake_embedder), args=["index", "--json", *paths]).stdout
    )
    assert {s["source"] for s in as_json["skipped"]} == set(reasons)
    assert all(s["reason"] for s in as_json["skipped"])


def _lines(lines: list[str]) -> dict[str, str]:
    out = {}
    for line in lines:
        source = line.split(":")[0].removeprefix("skipped ")
        assert source not in out, f"{source} reported twice"
        out[source] = line
    return out


def test_a_50_mb_article_is_skipped_without_being_read(engine, settings):
    engine.update()  # imports and the first index are not what is measured
    (settings.corpus / "tiny.txt").write_text("A tiny article that is read and indexed.")
    sentence = b"Gigantic article sentence number about kernels and Rust. "
    with (settings.corpus / "huge.txt").open("wb") as f:
        for _ in range(50_000_000 // len(sentence) + 1):
            f.write(sentence)
    tracemalloc.start()
    try:
        report = engine.update()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10_000_000, peak  # the 50 MB were never read into memory
    (reason,) = [s.reason for s in report.skipped if s.source == "huge.txt"]
    assert reason == "50.0 MB, over the 20 MB limit for one article; split it, or raise RAG_MAX_FILE_MB."
    assert (report.added, report.unchanged) == (1, 2) and engine.stale_reason() is None


def test_raising_the_size_limit_indexes_a_large_article(settings, fake_embedder):
    (settings.corpus / "long.txt").write_text("Long article.\n\n" + "Tapirs browse at night. " * 50_000)  # 1.2 MB
    small = Engine(settings.with_(max_file_mb=1), embedder=fake_embedder).update()
    assert "over the 1 MB limit" in {s.source: s.reason for s in small.skipped}["long.txt"]
    large = Engine(settings.with_(max_file_mb=2), embedder=fake_embedder).update()
    assert large.added == 1 and not large.skipped


def test_a_file_that_grows_past_the_limit_after_the_scan_is_still_refused(tmp_path):
    path = tmp_path / "grows.txt"
    path.write_bytes(b"x" * 2000)
    assert read_bytes(path, "grows.txt", max_bytes=2000) == b"x" * 2000
    with pytest.raises(CorpusError, match="over the 0.001 MB limit"):
        read_bytes(path, "grows.txt", max_bytes=1000)


def test_a_reader_failing_unexpectedly_skips_only_that_article(settings, fake_embedder, monkeypatch):
    """Read in this process (read_workers=0), where the reader can be swapped for one that fails."""
    import rag.ingest.readers

    settings = settings.with_(read_workers=0)
    engine = Engine(settings, embedder=fake_embedder)
    real = rag.ingest.readers.read_html

    def broken(data, source):
        if source == "odd.html":
            raise RecursionError("maximum recursion depth exceeded")
        return real(data, source)

    monkeypatch.setitem(rag.ingest.readers.READERS, ".html", broken)
    (settings.corpus / "odd.html").write_text("<p>" * 10 + "Deeply nested.")
    (settings.corpus / "fine.html").write_text("<p>Quokkas smile.</p>")
    report = engine.update()
    assert report.added == 3
    assert [(s.source, s.reason) for s in report.skipped] == [
        ("odd.html", "nested too deeply to read (RecursionError); simplify or save it again.")
    ]


def _drop_permission_override() -> None:
    """In the child: give up root's power to read any file (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP: gone for good after exec
            raise OSError(ctypes.get_errno(), "cannot drop capability")


def test_files_and_folders_without_read_permission_are_skipped(settings):
    """chmod 000 for real: as root, the update runs in a child process that has given up overriding permissions."""
    as_root = os.geteuid() == 0
    if as_root:
        try:
            subprocess.run(["true"], preexec_fn=_drop_permission_override, check=True)
        except (subprocess.SubprocessError, OSError):
            pytest.skip("running as root without the right to drop CAP_DAC_OVERRIDE, so every file is readable")
    secret = settings.corpus / "secret.txt"
    secret.write_text("Nobody may read this.")
    (settings.corpus / "private").mkdir()
    (settings.corpus / "private" / "inside.txt").write_text("Nor this.")
    secret.chmod(0)
    (settings.corpus / "private").chmod(0)
    try:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
        result = subprocess.run(
            [sys.executable, "-m", "tests.child", "update", str(settings.corpus), str(settings.index)],
            preexec_fn=_drop_permission_override if as_root else None,
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        secret.chmod(0o644)
        (settings.corpus / "private").chmod(0o755)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1].split(" ", 2)[2])
    assert report["added"] == 2
    skipped = {s["source"]: s["reason"] for s in report["skipped"]}
    assert skipped == {
        "private": "folder cannot be listed (Permission denied)",
        "secret.txt": "no permission to read it; let the user running rag read it.",
    }
