"""The running web chat keeps answering while its index is updated, and answers from the new index once it is done.

The real app runs in a subprocess on a copy of the bundled corpus. Two
threads ask questions through /ask without pause the whole time, while
the index is updated twice: once by `rag index` in another process after an
article is saved into the corpus folder, once by an upload through the page
in Chromium. Each new article holds a made-up word found nowhere else.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

import pytest

from .conftest import CHROMIUM, CHROMIUM_ARGS, CORPUS, DESKTOP, ROOT, free_port, share_export, start, stop

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

DEADLINE = 60.0  # seconds for a finished update to show in answers; normally the next question
ASKED = ["Who led the Rust for Linux project?", "What does Torvalds think of Rust?", "How do I bake sourdough bread?"]
ZORBULAX = (
    "The Zorbulax Bell\n\n"
    "The Zorbulax is a copper bell cast in 1742 for the harbour of Quennimore. "
    "Fishermen rang the Zorbulax three times when fog rolled in from the sea. "
    "It now hangs in the town museum, cracked but still polished every spring.\n"
)
VEXMOOR = (
    "# The Vexmoor Lantern\n\n"
    "The Vexmoor lantern was a lamp of green glass lit each night on the Ostrel bridge. "
    "A keeper named Hollis Brann filled the Vexmoor lantern with whale oil until 1861. "
    "The bridge was rebuilt in stone, and the lantern was melted down for its brass.\n"
)


@dataclass
class Asking:
    """Questions asked without pause from threads, each with its own client, until stopped."""

    url: str
    answered: int = 0
    failures: list[str] = field(default_factory=list)
    spans: list[tuple[float, float]] = field(default_factory=list)  # (asked, answered), time.monotonic()
    stopped: threading.Event = field(default_factory=threading.Event)

    def slowest(self, start: float = 0.0, end: float = float("inf")) -> float:
        """The longest wait, in seconds, of the questions asked or answered between `start` and `end`."""
        return max((b - a for a, b in self.spans if a <= end and b >= start), default=0.0)

    def run(self, offset: int) -> None:
        from gradio_client import Client

        try:
            client = Client(self.url, verbose=False, analytics_enabled=False)
        except Exception as exc:  # reported by the test, not lost in this thread
            self.failures.append(f"connect: {exc.__class__.__name__}: {exc}")
            return
        try:
            i = offset
            while not self.stopped.is_set():
                question, i = ASKED[i % len(ASKED)], i + 1
                t0 = time.monotonic()
                try:
                    answer = client.predict(question=question, api_name="/ask")
                    if not answer["passages"]:
                        self.failures.append(f"{question}: no passages")
                except Exception as exc:  # every failed request counts, whatever its type
                    self.failures.append(f"{question}: {exc.__class__.__name__}: {exc}")
                self.answered += 1
                self.spans.append((t0, time.monotonic()))
        finally:
            client.close()


def first_source(client, question: str) -> str:
    return client.predict(question=question, api_name="/ask")["passages"][0]["source"]


def wait_for_first(client, question: str, source: str) -> float:
    """Ask until `source` holds the first passage; seconds it took. Fails after DEADLINE."""
    t0 = time.monotonic()
    while (found := first_source(client, question)) != source:
        assert time.monotonic() - t0 < DEADLINE, f"after {DEADLINE:.0f} s the first passage is still from {found}"
        time.sleep(0.2)
    return time.monotonic() - t0


def upload_in_browser(url: str, path) -> str:
    """Add an article through the page's upload box, as a person would; returns the note the page shows."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=DESKTOP)
            page.set_default_timeout(120_000)
            page.goto(url)
            page.wait_for_selector("#rag-new")
            page.locator("#rag-upload input[type=file]").set_input_files([str(path)])
            page.wait_for_selector("#rag-note .rag-note")
            return page.locator("#rag-note .rag-note").inner_text()
        finally:
            browser.close()


def test_answers_never_fail_during_updates_and_come_from_the_new_index(tmp_path, onnx_index):
    from gradio_client import Client

    shutil.copytree(CORPUS, tmp_path / "corpus")
    share_export(onnx_index, tmp_path / "index")
    env = {"RAG_CORPUS": str(tmp_path / "corpus"), "RAG_INDEX": str(tmp_path / "index"), "RAG_AUTH": ""}
    index_env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", **env}  # for `rag index`
    port = free_port()
    # Not following the folder: here another process indexes the new article, then an upload does.
    proc = start([sys.executable, "app.py", "--port", str(port), "--no-watch"], env, port, tmp_path / "app.log")
    url = f"http://127.0.0.1:{port}/"
    asking = Asking(url)
    threads = [threading.Thread(target=asking.run, args=(n,), daemon=True) for n in range(2)]
    client = Client(url, verbose=False, analytics_enabled=False)
    try:
        for t in threads:
            t.start()
        assert first_source(client, "What is the Zorbulax?") != "zorbulax.txt"

        # (a) another process updates the index
        (tmp_path / "corpus" / "zorbulax.txt").write_text(ZORBULAX, encoding="utf-8")
        before, a0 = asking.answered, time.monotonic()
        indexed = subprocess.run(
            [sys.executable, "-m", "rag", "index"],
            cwd=ROOT, env=index_env, capture_output=True, text=True, timeout=240,
        )  # fmt: skip
        assert indexed.returncode == 0, indexed.stderr
        assert "1 added" in indexed.stdout
        a1 = time.monotonic()
        assert asking.answered > before  # questions were answered while `rag index` ran
        wait_for_first(client, "When was the Zorbulax bell cast?", "zorbulax.txt")

        # (b) the web app updates its own index: an upload through the page
        article = tmp_path / "upload" / "vexmoor.md"
        article.parent.mkdir()
        article.write_text(VEXMOOR, encoding="utf-8")
        before, b0 = asking.answered, time.monotonic()
        note = upload_in_browser(url, article)
        b1 = time.monotonic()
        assert "Added The Vexmoor Lantern (vexmoor.md)" in note
        assert asking.answered > before
        wait_for_first(client, "Who kept the Vexmoor lantern lit?", "vexmoor.md")
        assert first_source(client, "When was the Zorbulax bell cast?") == "zorbulax.txt"
    finally:
        asking.stopped.set()
        for t in threads:
            t.join(120)
        client.close()
        stop(proc)
    assert asking.failures == [], asking.failures[:5]
    assert asking.answered > 10
    print(
        f"{asking.answered} questions answered; slowest {asking.slowest() * 1000:.0f} ms; "
        f"during `rag index` ({a1 - a0:.1f} s) {asking.slowest(a0, a1) * 1000:.0f} ms; "
        f"during the upload ({b1 - b0:.1f} s) {asking.slowest(b0, b1) * 1000:.0f} ms"
    )
