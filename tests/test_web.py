"""The web chat as a user meets it: the real app, the real model, a real browser.

The app runs in a subprocess (`python app.py`) on a free port with a copy of
the bundled corpus; Chromium drives it through Playwright. Screenshots are
written under the tests' temporary folder; with RAG_SCREENSHOTS=docs, the
ones the documentation shows (docs/web-chat.png, docs/web-chat-phone.png)
are refreshed too (`make screenshots`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import CHROMIUM, CHROMIUM_ARGS, CORPUS, DESKTOP, PASSAGE_KEYS, ROOT, free_port, share_export, start, stop
from .pdfs import make_pdf

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

SCREENSHOTS = os.environ.get("RAG_SCREENSHOTS", "")  # a folder (e.g. docs) whose pictures of the chat to refresh
KEPT = {"desktop-1-answer": "web-chat.png", "phone-1-answer": "web-chat-phone.png"}  # screenshot -> picture
DATA = Path(__file__).parent / "data"
PHONE = {"width": 390, "height": 844}
WAIT = 180_000  # ms; answers on a busy 2-core machine can be slow

FIRST = "Who led the Rust for Linux project?"
FOLLOW_UP = "When did he send his first pull request?"
UNANSWERABLE = "How do I bake sourdough bread?"
TORVALDS = "torvalds-on-rust-in-linux.txt"


@dataclass
class Server:
    url: str
    corpus: Path
    index: Path
    process: subprocess.Popen
    log: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("web")
    shutil.copytree(CORPUS, root / "corpus")
    port = free_port()
    env = {"RAG_CORPUS": str(root / "corpus"), "RAG_INDEX": str(root / "index"), "RAG_AUTH": ""}
    proc = start([sys.executable, "app.py", "--port", str(port)], env, port, root / "app.log")
    yield Server(f"http://127.0.0.1:{port}", root / "corpus", root / "index", proc, root / "app.log")
    stop(proc)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    pg = browser.new_page(viewport=DESKTOP)
    pg.set_default_timeout(WAIT)
    pg.goto(server.url)
    pg.wait_for_selector("#rag-new")  # the page has rendered
    yield pg
    pg.close()


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server.url, verbose=False, analytics_enabled=False)


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def shot(shots):
    """Take a screenshot for a person to look at; refresh the documentation's copy when asked to."""

    def take(page, name: str) -> None:
        path = shots / f"{name}.png"
        page.screenshot(path=str(path))
        if SCREENSHOTS and name in KEPT:
            shutil.copyfile(path, ROOT / SCREENSHOTS / KEPT[name])

    return take


def ask(page, question: str):
    """Type a question, press Enter, and return the answer it gets."""
    answers = page.locator("#rag-chat .rag-answer")
    n = answers.count()
    box = page.locator("#rag-question textarea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(f"document.querySelectorAll('#rag-chat .rag-answer').length > {n}", timeout=WAIT)
    page.wait_for_timeout(600)  # let the scroll to the question settle before a screenshot
    return answers.nth(n)


def numbers(answer, selector: str) -> list[str]:
    return [t.strip() for t in answer.locator(selector).all_inner_texts()]


def corpus_state(server: Server) -> tuple[list[str], str]:
    files = sorted(p.relative_to(server.corpus).as_posix() for p in server.corpus.rglob("*") if p.is_file())
    return files, (server.index / "CURRENT").read_text()


def test_ask_shows_numbered_passages_that_open_onto_their_article(page, shot):
    from playwright.sync_api import expect

    shot(page, "desktop-0-first-visit")
    expect(page.locator("#rag-chat .example").first).to_be_visible()
    answer = ask(page, FIRST)
    cited = answer.locator(".rag-card", has_text="Miguel Ojeda").first
    expect(cited).to_be_visible()
    cards = numbers(answer, ".rag-card summary > .rag-num")
    assert cards == [str(i) for i in range(1, len(cards) + 1)] and len(cards) == 5
    assert sorted(numbers(answer, ".rag-sources .rag-num"), key=int) == cards
    meta = cited.locator(".rag-meta").inner_text()
    assert "Rust in the Linux Kernel" in meta and "rust-in-the-linux-kernel.txt" in meta
    assert "characters" in meta and "score" not in meta
    expect(cited.locator(".rag-passage mark")).to_have_count(1)
    shot(page, "desktop-1-answer")

    cited.locator("summary").click()
    context = cited.locator(".rag-ctx-text")
    expect(context).to_be_visible()
    expect(context.locator("mark.rag-best")).to_have_count(1)
    assert "Miguel Ojeda" in " ".join(context.locator("mark.rag-span").all_inner_texts())
    shot(page, "desktop-2-passage-in-article")


def test_the_answer_comes_first_with_its_confidence_in_words_and_no_raw_scores(page, shot):
    from playwright.sync_api import expect

    answer = ask(page, FIRST)
    lead = answer.locator(".rag-lead")
    expect(lead).to_be_visible()
    # the answer (a phrase, or the best sentence), with its citation, above every passage
    assert lead.bounding_box()["y"] < answer.locator(".rag-card").first.bounding_box()["y"]
    assert answer.locator(".rag-sources").bounding_box()["y"] > answer.locator(".rag-card").last.bounding_box()["y"]
    expect(lead.locator(".rag-phrase")).not_to_be_empty()
    expect(lead.locator(".rag-cite")).to_contain_text("Rust in the Linux Kernel")
    assert lead.locator(".rag-confidence").inner_text().strip().lower() in {"answer found", "likely"}
    assert "Miguel Ojeda" in lead.inner_text()
    text = answer.inner_text()
    assert "score" not in text.lower() and not re.search(r"-?\d+\.\d{3}\b", text)
    # only passages that answer are marked
    marked = [c.locator(".rag-passage mark").count() for c in answer.locator(".rag-card").all()]
    assert marked[0] == 1 and sum(marked) < len(marked)
    page.locator("#rag-new").click()
    expect(page.locator("#rag-chat .rag-answer")).to_have_count(0)
    low = ask(page, UNANSWERABLE)
    expect(low.locator(".rag-notice")).to_contain_text("Not in these articles")
    assert low.locator(".rag-lead").count() == 0 and low.locator(".rag-passage mark, mark.rag-best").count() == 0


def test_a_question_asked_within_chosen_articles_only_cites_them(page, client, shot):
    from gradio_client.exceptions import AppError
    from playwright.sync_api import expect

    chooser = page.locator("#rag-within input")
    chooser.click()
    chooser.fill("torvalds")
    page.locator("#rag-within [data-testid=dropdown-option]", has_text=TORVALDS).first.click()
    page.keyboard.press("Escape")
    answer = ask(page, FIRST)
    expect(answer.locator(".rag-within")).to_contain_text(TORVALDS)
    metas = answer.locator(".rag-card .rag-meta").all_inner_texts()
    assert metas and all(TORVALDS in m and "rust-in-the-linux-kernel.txt" not in m for m in metas)
    assert "rust-in-the-linux-kernel.txt" not in answer.locator(".rag-sources").inner_text()
    shot(page, "desktop-10-within")
    follow = ask(page, FOLLOW_UP)  # a follow-up keeps to the same articles
    assert all(TORVALDS in m for m in follow.locator(".rag-card .rag-meta").all_inner_texts())
    api = client.predict(question=FIRST, within=["torvalds*"], api_name="/ask")
    assert api["passages"] and {p["source"] for p in api["passages"]} == {TORVALDS}
    with pytest.raises(AppError, match="no article matches"):
        client.predict(question=FIRST, within=["reports/*"], api_name="/ask")


def test_follow_up_uses_the_conversation(page, client, shot):
    from playwright.sync_api import expect

    ask(page, FIRST)
    answer = ask(page, FOLLOW_UP)
    expect(answer.locator(".rag-card", has_text="Sept. 20, 2021").first).to_be_visible()
    shot(page, "desktop-3-follow-up")
    # The page passes the earlier question on exactly as the API does.
    api = client.predict(question=FOLLOW_UP, history=[FIRST], k=5, explain=False, api_name="/ask")
    assert any("Sept. 20, 2021" in p["text"] for p in api["passages"])
    assert (answer.locator(".rag-notice").count() == 0) is api["answered"]
    shown = answer.locator(".rag-passage").all_inner_texts()
    assert [" ".join(t.split())[:60] for t in shown] == [" ".join(p["text"].split())[:60] for p in api["passages"]]


def test_unanswerable_question_says_so_and_lists_low_confidence_passages(page, shot):
    from playwright.sync_api import expect

    ask(page, FIRST)
    page.locator("#rag-new").click()
    expect(page.locator("#rag-chat .rag-answer")).to_have_count(0)
    answer = ask(page, UNANSWERABLE)
    expect(answer.locator(".rag-notice")).to_contain_text("do not seem to answer")
    expect(answer.locator(".rag-notice")).to_contain_text("low confidence")
    assert answer.locator(".rag-card").count() > 0
    shot(page, "desktop-4-not-answered")
    named = ask(page, "How does Rust compare with Haskell in the kernel?")  # a name no article mentions
    expect(named.locator(".rag-notice")).to_contain_text("The articles never mention “Haskell”.")
    assert named.locator(".rag-lead").count() == 0 and named.locator(".rag-card").count() > 0


def test_an_example_question_is_answered_on_click(page):
    from playwright.sync_api import expect

    example = page.locator("#rag-chat .example").first
    text = example.inner_text().strip()
    example.click()
    expect(page.locator("#rag-chat .rag-q")).to_have_text(text)
    expect(page.locator("#rag-chat .rag-answer .rag-card").first).to_be_visible()


def test_keyboard_alone_asks_and_opens_a_passage(page, shot):
    focused = "document.activeElement && document.activeElement.closest('#rag-question') !== null"
    for _ in range(40):  # the question box has focus on load; if not, Tab reaches it
        if page.evaluate(focused):
            break
        page.keyboard.press("Tab")
    assert page.evaluate(focused)
    page.keyboard.type(FIRST)
    page.keyboard.press("Enter")
    page.wait_for_selector("#rag-chat .rag-answer .rag-card")
    for _ in range(60):  # back through the answer to a passage
        page.keyboard.press("Shift+Tab")
        if page.evaluate("document.activeElement.tagName") == "SUMMARY":
            break
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.parentElement.open") is True
    shot(page, "desktop-5-keyboard")
    page.keyboard.press("Escape")  # closes the article view, and the passage keeps the focus
    assert page.evaluate("document.activeElement.parentElement.open") is False
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"


def test_phone_width(browser, server, shot):
    from playwright.sync_api import expect

    pg = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    pg.set_default_timeout(WAIT)
    try:
        pg.goto(server.url)
        pg.wait_for_selector("#rag-new")
        shot(pg, "phone-0-first-visit")
        answer = ask(pg, FIRST)
        expect(answer.locator(".rag-card").first).to_be_visible()
        assert pg.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        new = pg.locator("#rag-new").bounding_box()
        assert new["x"] + new["width"] <= PHONE["width"] - 4  # New chat keeps off the screen's edge
        shot(pg, "phone-1-answer")
        answer.locator(".rag-card summary").first.tap()
        expect(answer.locator(".rag-ctx-text").first).to_be_visible()
        assert pg.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        # the first line of the article view is whole inside the chat, not cut by its top edge
        head = answer.locator(".rag-ctx-head").first.bounding_box()
        chat = pg.locator("#rag-chat").bounding_box()
        assert head["y"] >= chat["y"]
        shot(pg, "phone-2-passage-in-article")
    finally:
        pg.close()


def upload(page, *paths: Path):
    notes = page.locator("#rag-note .rag-note")
    before = notes.count() and notes.inner_text()
    page.locator("#rag-upload input[type=file]").set_input_files([str(p) for p in paths])
    page.wait_for_function(
        "b => { const n = document.querySelector('#rag-note .rag-note'); return n && n.innerText !== b; }",
        arg=before or "",
        timeout=WAIT,
    )
    return notes.inner_text()


def test_upload_an_article_and_ask_about_it(page, server, tmp_path, shot):
    from playwright.sync_api import expect

    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 this is not a PDF")
    note = upload(page, DATA / "lighthouse.md", broken)
    assert "Added The Lighthouse of Alexandria (lighthouse.md)" in note
    assert "Not added: broken.pdf: damaged or truncated PDF" in note
    expect(page.locator("#rag-status")).to_contain_text("3 articles")
    assert "lighthouse.md" in corpus_state(server)[0] and "broken.pdf" not in corpus_state(server)[0]
    shot(page, "desktop-6-uploaded")
    answer = ask(page, "Who was the architect of the Lighthouse of Alexandria?")
    first = answer.locator(".rag-card").first
    expect(first).to_contain_text("Sostratus of Cnidus")
    expect(first.locator(".rag-meta")).to_contain_text("lighthouse.md")


def test_bad_files_leave_corpus_and_index_as_they_were(page, server, tmp_path):
    before = corpus_state(server)
    empty, binary = tmp_path / "empty.txt", tmp_path / "evil.html"
    empty.write_text("  \n")
    binary.write_bytes(b"\x00\x01binary")
    note = upload(page, empty, binary)
    assert "Not added: empty.txt: empty file, no text to index." in note
    assert "Not added: evil.html: binary data, not text." in note
    assert corpus_state(server) == before


def test_article_markup_is_shown_as_text_and_never_runs(page, shot):
    from playwright.sync_api import expect

    note = upload(page, DATA / "quokka-notes.md")
    assert "Added" in note and "quokka-notes.md" in note
    answer = ask(page, "Where do quokkas live?")
    card = answer.locator(".rag-card", has_text="Rottnest Island").first
    card.locator("summary").click()
    expect(card.locator(".rag-ctx-text")).to_be_visible()
    # Markdown is read as a person reads it (a script's tag and the emphasis marks go), and all of it stays text
    for literal in ['window.pwned = 1; document.title = "pwned"', "They are not bold and", "$$x^2$$"]:
        expect(card).to_contain_text(literal)
    expect(card.locator(".rag-meta")).to_contain_text('<img src=x onerror="window.pwned=1"> Quokka **field notes**')
    assert page.evaluate("window.pwned") is None and page.title() == "Ask the articles"
    chat = page.locator("#rag-chat")
    assert chat.locator("img, iframe, script, table, code, b, .katex, a[href^='javascript']").count() == 0
    shot(page, "desktop-7-markup-stays-text")


def test_an_empty_corpus_says_how_to_add_articles(browser, tmp_path, onnx_index, shot):
    from playwright.sync_api import expect

    (tmp_path / "corpus").mkdir()
    share_export(onnx_index, tmp_path / "index")
    port = free_port()
    env = {"RAG_CORPUS": str(tmp_path / "corpus"), "RAG_INDEX": str(tmp_path / "index"), "RAG_AUTH": ""}
    proc = start([sys.executable, "app.py", "--port", str(port)], env, port, tmp_path / "app.log")
    pg = browser.new_page(viewport=DESKTOP)
    pg.set_default_timeout(WAIT)
    try:
        pg.goto(f"http://127.0.0.1:{port}")
        expect(pg.locator("#rag-chat")).to_contain_text("No articles yet")
        assert pg.locator("#rag-chat .example").count() == 0
        shot(pg, "desktop-9-no-articles")
        expect(ask(pg, "Who led it?")).to_contain_text("There are no articles yet")
    finally:
        pg.close()
        stop(proc)
    assert "0 added" in (tmp_path / "app.log").read_text()  # the update summary, printed before the address


def test_named_api_endpoint(client):
    from gradio_client.exceptions import AppError

    api = client.view_api(print_info=False, return_format="dict")
    assert list(api["named_endpoints"]) == ["/ask"]
    result = client.predict(question=FIRST, api_name="/ask")
    assert result["question"] == FIRST and result["answered"] is True
    assert all(set(p) == PASSAGE_KEYS for p in result["passages"]) and len(result["passages"]) == 5
    assert any("Miguel Ojeda" in p["text"] for p in result["passages"])
    explained = client.predict(question=FIRST, k=2, explain=True, api_name="/ask")
    assert len(explained["passages"]) == 2 and {"dense_rank", "keyword_rank"} <= set(
        explained["passages"][0]["explain"]
    )
    with pytest.raises(AppError, match="the question is empty"):
        client.predict(question="   ", api_name="/ask")


def test_a_password_protects_page_and_api(server, browser, shot):
    from gradio_client import Client

    port = free_port()
    env = {"RAG_AUTH": "reader:s3cret-pass"}
    args = [sys.executable, "-m", "rag", "serve", "--corpus", str(server.corpus), "--index", str(server.index)]
    proc = start([*args, "--port", str(port)], env, port, server.log.with_name("auth.log"))
    url = f"http://127.0.0.1:{port}"
    try:
        with pytest.raises(Exception):  # noqa: B017 - gradio_client's error type for a refused login varies
            Client(url, verbose=False, analytics_enabled=False).predict(question=FIRST, api_name="/ask")
        authed = Client(url, auth=("reader", "s3cret-pass"), verbose=False, analytics_enabled=False)
        assert authed.predict(question=FIRST, api_name="/ask")["answered"] is True
        pg = browser.new_page(viewport=DESKTOP)
        try:
            pg.goto(url)
            pg.wait_for_selector("text=This chat is password protected.", timeout=WAIT)
            assert pg.locator("#rag-chat").count() == 0
            shot(pg, "desktop-8-login")
        finally:
            pg.close()
    finally:
        stop(proc)


def test_an_article_saved_into_the_folder_shows_up_without_a_reload(page, server, shot):
    from playwright.sync_api import expect

    from rag.config import Settings
    from rag.index.backends import open_backend
    from rag.index.lock import index_lock

    status = page.locator("#rag-status")
    # the panel drawn when the server started is refreshed as the page loads: wait for the corpus as it is now
    manifest = open_backend(Settings(corpus=server.corpus, index=server.index)).read_manifest()
    assert manifest is not None
    expect(status).to_have_text(re.compile(rf"^\s*{len(manifest.documents)}\s+articles"), timeout=WAIT)
    before = status.inner_text()
    # Another process holds the index, so the update waits: the page shows it under way, however fast this machine.
    with index_lock(server.index):
        (server.corpus / "okapi.md").write_text(
            "# The okapi\n\nThe okapi is a forest giraffe of the Congo, with zebra stripes on its legs.\n"
        )
        expect(page.locator("#rag-watch")).to_contain_text("Indexing 1 article...", timeout=WAIT)
        assert status.inner_text() == before
    expect(page.locator("#rag-watch")).to_contain_text("1 added", timeout=WAIT)
    expect(status).to_contain_text("The okapi", timeout=WAIT)  # the corpus panel, redrawn without a reload
    assert status.inner_text() != before
    shot(page, "desktop-9-saved-into-the-folder")
    answer = ask(page, "Which forest giraffe has zebra stripes on its legs?")
    expect(answer.locator(".rag-card").first.locator(".rag-meta")).to_contain_text("okapi.md")


def test_a_pdf_passage_shows_its_page_with_the_passage_marked(page, tmp_path, shot):
    from playwright.sync_api import expect

    pages = [
        "The Antikythera Mechanism\nA guide for the museum\n\nThe mechanism is an ancient Greek hand-powered model\n"
        "of the Solar System, made of bronze gears in a wooden case.",
        "Sponge divers found the mechanism in 1901 in a shipwreck\noff the Greek island of Antikythera.\n"
        "It is kept at the National Archaeological Museum in Athens.",
    ]
    pdf = tmp_path / "antikythera.pdf"
    pdf.write_bytes(make_pdf(pages, title="The Antikythera Mechanism"))
    assert "Added The Antikythera Mechanism (antikythera.pdf)" in upload(page, pdf)
    answer = ask(page, "Who found the Antikythera mechanism in a shipwreck?")
    card = answer.locator(".rag-card", has_text="Sponge divers").first
    expect(card.locator(".rag-meta")).to_contain_text("antikythera.pdf")
    card.locator("summary").click()
    image = card.locator(".rag-pages img").first
    expect(image).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle(), timeout=WAIT)
    assert image.evaluate("img => img.naturalWidth") > 600  # a page, rendered sharp enough to read
    expect(card.locator(".rag-ctx-text")).to_be_visible()  # the text view stays beside it
    box, text = image.bounding_box(), card.locator(".rag-ctx-text").bounding_box()
    assert box["x"] > text["x"] + text["width"] - 1  # beside the text at desktop width
    shot(page, "desktop-11-pdf-page")
