"""The web chat: ask, follow up, read a passage in its article, add articles.

    build_app(Engine(...))     # the page, a gr.Blocks; server.serve() launches it

Every answer comes from Engine; this module lays out the page and turns
answers into chat messages through render.py. The ask function is also
an API endpoint named "ask" (the README's "HTTP API" has a gradio_client example).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path

import gradio as gr

from ..answer.results import Result
from ..engine import EXAMPLES_FILE
from ..errors import CorpusError, EmptyQuestionError, RagError
from ..ingest.documents import ARTICLE_TYPES, ArticleFile, in_corpus, read_bytes
from ..ingest.readers import named_types
from ..messages import changes
from .pages import page_image
from .render import CorpusStatus, render_answer, render_error, render_note, render_question, render_status

__all__ = ["WebChat", "build_app", "page_options", "pages_folder", "remove_uploads", "EXAMPLES_FILE", "UPLOAD_CACHE"]

log = logging.getLogger(__name__)

UPLOAD_CACHE = (600, 600)  # every 10 minutes, delete uploads older than 10 minutes that no action used
POLL_SECONDS = 1.0  # how often the page asks the corpus watcher what it has done
HISTORY = 5  # earlier questions of a conversation passed on to the engine
PAGES_SHOWN = 2  # pages of a PDF passage shown as pictures (a passage rarely spans more)
CSS = Path(__file__).with_name("web.css")
HEADER = (
    '<header class="rag-header"><h1>Ask the articles</h1>'
    "<p>Every answer is quoted from the articles, with its source. "
    "Open a passage to read it in its article.</p></header>"
)
# After an answer arrives, show its question at the top of the chat rather than the answer's last line.
SCROLL_TO_QUESTION = """() => {
  const asked = document.querySelectorAll('#rag-chat [data-testid="user"]');
  if (asked.length) asked[asked.length - 1].scrollIntoView({block: 'start', behavior: 'smooth'});
}"""
# When a passage is opened, scroll its article view (not the page) so the passage starts near the top, with
# a line of the text before it in view; Esc closes the article view it is pressed in (or the last one opened).
PAGE_SCRIPT = """() => {
  document.addEventListener('toggle', (event) => {
    const card = event.target;
    if (!card.open || !card.closest || !card.closest('.rag-card')) return;
    const box = card.querySelector('.rag-ctx-text'), span = card.querySelector('mark.rag-span');
    if (box && span) box.scrollTop += span.getBoundingClientRect().top - box.getBoundingClientRect().top - 40;
  }, true);
  document.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape') return;
    const inside = document.activeElement && document.activeElement.closest('.rag-card details[open]');
    const open = inside || [...document.querySelectorAll('#rag-chat .rag-card details[open]')].pop();
    if (!open) return;
    open.open = false;
    open.querySelector('summary').focus();
    event.preventDefault();
  });
}"""
PLACEHOLDER = "### Ask anything about the articles\nOr start with one of these questions:"
NO_ARTICLES = (
    f"There are no articles yet. Add some with Add articles ({named_types()} files), "
    "or put files in the corpus folder and press Re-read the corpus folder."
)


class WebChat:
    """The page's actions, each a plain method over one Engine (and the watcher following its corpus, if any)."""

    def __init__(self, engine, watcher=None) -> None:
        self.engine = engine
        self.watcher = watcher

    def ask(
        self,
        question: str,
        history: list[str] | None = None,
        k: int = 5,
        explain: bool = False,
        within: list[str] | None = None,
    ) -> dict:
        """Answer a question from the articles.

        `history` holds the conversation's earlier questions, oldest first, so that a
        follow-up such as "When did he start?" is understood. `within` names the articles
        to answer from (paths in the corpus, globs such as "reports/*", or sub-folders);
        all when empty. Returns the same object as `rag ask --json`:
        {"question", "answered", "confidence", "answer", "passages": [...]}.
        """
        try:
            if not self.has_articles():
                raise CorpusError(NO_ARTICLES)
            recent = list(history or [])[-HISTORY:]
            return self.engine.ask(question, k, history=recent, within=_patterns(within)).to_json(explain)
        except RagError as exc:
            raise gr.Error(self._message(exc), print_exception=False) from None

    def has_articles(self) -> bool:
        """Whether the index holds any article (an empty corpus gets a message, not an empty answer)."""
        try:
            return bool(self.engine.store().manifest.documents)
        except RagError:
            return True  # the question's own error says what is wrong

    def _message(self, exc: RagError) -> str:
        """The error for a person; an empty question gets an example from this corpus."""
        examples = self.engine.example_questions(1) if isinstance(exc, EmptyQuestionError) else []
        return f"{str(exc).rstrip('.')}, e.g. “{examples[0]}”" if examples else str(exc)

    def take_question(self, text: str, chat: list) -> tuple:
        """Show the question in the chat at once and clear the box; the answer follows."""
        question = " ".join((text or "").split())
        if not question:
            return text, chat, None
        return "", [*chat, {"role": "user", "content": render_question(question)}], question

    def take_example(self, chat: list, evt: gr.SelectData) -> tuple:
        question = evt.value["text"] if isinstance(evt.value, dict) else str(evt.value)
        return [*chat, {"role": "user", "content": render_question(question)}], question

    def answer(
        self, question: str | None, chat: list, questions: list[str], k: float, explain: bool, within=None
    ) -> tuple:
        if question is None:
            return chat, questions
        try:
            if not self.has_articles():
                raise CorpusError(NO_ARTICLES)
            chosen = _patterns(within)
            answer = self.engine.ask(question, int(k), history=questions[-HISTORY:], within=chosen)
            html = render_answer(answer, self.article_text, explain, self.page_images, chosen)
            questions = [*questions, question]
        except RagError as exc:
            html = render_error(self._message(exc))
        return [*chat, {"role": "assistant", "content": html}], questions

    def status(self) -> str:
        try:
            m = self.engine.store().manifest
        except RagError as exc:
            return render_error(str(exc))
        articles = [(d["title"], d["source"]) for d in m.documents]
        return render_status(CorpusStatus(articles, m.passages, m.created, m.model))

    def upload(self, files: list[str] | None, progress) -> tuple:
        if not files:
            return None, "", self.status()
        progress(0, desc="Reading and indexing the files")
        limit = self.engine.settings.max_upload_mb * 1_000_000
        try:
            report = self.engine.add([Path(f) for f in files], max_bytes=limit, progress=_progress(progress))
        except RagError as exc:
            return None, render_note([f"Nothing was added: {exc}"], "error"), self.status()
        finally:
            remove_uploads(files)  # added or refused, an upload's copy is no longer needed
        lines = [
            f"Added {a.title} ({a.source})" + (f", uploaded as {a.original}" if a.renamed else "") for a in report.added
        ]
        lines += [f"Not added: {r.name}: {r.reason}" for r in report.rejected]
        kind = "error" if not report.added else "warn" if report.rejected else "ok"
        if report.added:
            lines.append("Ask about it now.")
        return None, render_note(lines, kind), self.status()

    def rescan(self, progress) -> tuple:
        try:
            report = self.engine.update(progress=_progress(progress))
        except RagError as exc:
            return render_note([str(exc)], "error"), self.status()
        text = (
            f"{changes(report)}." if report.changed else "The index already holds every article in the corpus folder."
        )
        skipped = [f"Skipped {s.source}: {s.reason}" for s in report.skipped]
        return render_note([text, *skipped], "warn" if skipped else "ok"), self.status()

    def poll(self, seen: int) -> tuple:
        """What the corpus watcher has done since version `seen`: (version, its line, the corpus panel).

        Unchanged parts are skipped, so a page polling every second redraws nothing until the watcher acts.
        """
        if self.watcher is None:
            return seen, gr.skip(), gr.skip()
        status = self.watcher.status()
        if status.version == seen:
            return seen, gr.skip(), gr.skip()
        kind = "error" if status.error else "warn" if status.report and status.report.skipped else "ok"
        line = render_note([status.line()], kind) if _worth_showing(status) else ""
        return status.version, line, gr.skip() if status.indexing else self.status()

    def examples(self) -> list[str]:
        """The corpus's own example questions if it has some, else one per article title."""
        return self.engine.example_questions(4) if self.has_articles() else []

    def first_screen(self):
        """The chat's empty state: example questions, or how to add articles when there are none."""
        if self.has_articles():
            return gr.update(placeholder=PLACEHOLDER, examples=[{"text": q} for q in self.examples()])
        return gr.update(placeholder=f"### No articles yet\n{NO_ARTICLES}", examples=None)

    def scope_choices(self) -> list[str]:
        """What the "Ask within" list offers: each sub-folder ("reports/"), then each article, by path."""
        try:
            sources = sorted(str(d["source"]) for d in self.engine.store().manifest.documents)
        except RagError:
            return []
        folders = sorted({s.rsplit("/", 1)[0] + "/" for s in sources if "/" in s})
        return [*folders, *sources]

    def scope_update(self):
        return gr.update(choices=self.scope_choices())

    def page_images(self, result: Result) -> list[tuple[int, str]]:
        """The pages of a PDF passage as pictures with the passage marked: (page, URL), rendered when first cited."""
        c = result.citation
        if not c.source.lower().endswith(".pdf") or not c.pages:
            return []
        path = in_corpus(self.engine.settings.corpus, c.source)
        if path is None:
            return []
        first, last = c.pages[0], c.pages[-1]
        out = []
        for page in range(first, min(last, first + PAGES_SHOWN - 1) + 1):
            image = page_image(path, page, result.text, pages_folder(self.engine.settings))
            if image is not None:
                out.append((page, f"/gradio_api/file={image}"))
        return out

    def article_text(self, source: str) -> str | None:
        """The text of an article in the corpus (as indexed), or None if it is gone or unreadable."""
        path = in_corpus(self.engine.settings.corpus, source)
        if path is None or not path.is_file():
            return None
        st = path.stat()
        limit = self.engine.settings.max_file_bytes
        return _read_article(self.engine.read_article, path, source, st.st_mtime_ns, st.st_size, limit)


def _worth_showing(status) -> bool:
    """Whether the watcher's status is news: not an update that found nothing to do, as the watcher's own update
    after an upload from the page does (the upload indexed the files already)."""
    report = status.report
    return bool(status.indexing or status.error or report is None or report.changed or report.skipped)


@functools.lru_cache(maxsize=64)
def _read_article(read, path: Path, source: str, mtime_ns: int, size: int, limit: int) -> str | None:
    """The article's text, read in a worker as the indexer reads it (a hostile file cannot stop the server)."""
    try:
        doc = read(ArticleFile(path, source, size, mtime_ns), read_bytes(path, source, limit))
    except CorpusError:
        return None
    return None if isinstance(doc, CorpusError) else doc.text


def remove_uploads(files: list[str]) -> None:
    """Delete Gradio's copies of uploaded files (and their folders, once empty); files elsewhere are left alone."""
    from gradio.utils import get_upload_folder

    uploads = Path(get_upload_folder()).resolve()
    for name in files:
        path = Path(name).resolve()
        if not path.is_relative_to(uploads) or path == uploads:
            continue
        path.unlink(missing_ok=True)
        folder = path.parent
        while folder != uploads and folder.is_relative_to(uploads):
            try:
                folder.rmdir()
            except OSError:  # not empty, or gone
                break
            folder = folder.parent


def _patterns(within) -> list[str]:
    """The "Ask within" choices as a list of patterns (the API also takes one string, comma-separated)."""
    if not within:
        return []
    items = within.split(",") if isinstance(within, str) else within
    return [str(p).strip() for p in items if str(p).strip()]


def pages_folder(settings) -> Path:
    """Where rendered PDF pages are kept: beside the index, so that it goes with it."""
    return (settings.index / "pages").resolve()


def _progress(progress) -> Callable[[int, int], None]:
    def step(done: int, total: int) -> None:
        progress(done / max(total, 1), desc=f"Indexing: {done} of {total} passages and sentences")

    return step


def build_app(engine, watcher=None):
    """The chat page for `engine`: a gr.Blocks, to be launched by `serve`; `watcher` (a CorpusWatcher, see
    watch.py) shows its updates on the page as they happen."""
    web = WebChat(engine, watcher)

    def upload(files: list[str] | None, progress=gr.Progress()):  # noqa: B008 - how Gradio injects progress
        return web.upload(files, progress)

    def rescan(progress=gr.Progress()):  # noqa: B008
        return web.rescan(progress)

    private = {"api_visibility": "private"}
    blocks = {"title": "Ask the articles", "analytics_enabled": False, "fill_height": True}
    with gr.Blocks(**blocks, delete_cache=UPLOAD_CACHE) as app:
        questions, pending = gr.State([]), gr.State(None)
        with gr.Row(elem_id="rag-layout", equal_height=False):
            with gr.Column(scale=3, min_width=340, elem_id="rag-main"):
                gr.HTML(HEADER)
                chat = gr.Chatbot(
                    elem_id="rag-chat",
                    show_label=False,
                    height="68vh",
                    layout="panel",
                    autoscroll=False,
                    latex_delimiters=[],
                    feedback_options=None,
                    buttons=[],
                    placeholder=PLACEHOLDER if web.has_articles() else f"### No articles yet\n{NO_ARTICLES}",
                    examples=[{"text": q} for q in web.examples()] or None,
                )
                with gr.Row(elem_id="rag-ask-row", equal_height=True):
                    box = gr.Textbox(
                        placeholder="Ask about the articles…",
                        show_label=False,
                        autofocus=True,
                        max_length=2000,
                        submit_btn="Ask",
                        scale=6,
                        elem_id="rag-question",
                    )
                    new = gr.Button("New chat", scale=1, min_width=90, elem_id="rag-new", variant="secondary")
            with gr.Column(scale=1, min_width=260, elem_id="rag-side"):
                gr.HTML('<h2 class="rag-side-head">Ask within</h2>')
                within = gr.Dropdown(
                    choices=web.scope_choices(),
                    value=[],
                    multiselect=True,
                    allow_custom_value=True,
                    label="Ask within",
                    show_label=False,
                    info="All articles, or only these: pick articles or folders, or type a pattern such as reports/*",
                    elem_id="rag-within",
                )
                gr.HTML('<h2 class="rag-side-head">Corpus</h2>')
                status = gr.HTML(web.status(), elem_id="rag-status")
                watch_line = gr.HTML(elem_id="rag-watch")
                rescan_btn = gr.Button("Re-read the corpus folder", size="sm", variant="secondary")
                gr.HTML('<h2 class="rag-side-head">Add articles</h2>')
                files = gr.File(
                    label="Add articles",
                    show_label=False,
                    file_count="multiple",
                    file_types=list(ARTICLE_TYPES),
                    elem_id="rag-upload",
                    height=110,
                )
                gr.HTML(
                    '<p class="rag-hint">Text, Markdown, HTML, PDF, Word or EPUB, '
                    f"up to {engine.settings.max_upload_mb} MB each. "
                    "They are indexed at once.</p>"
                )
                note = gr.HTML(elem_id="rag-note")
                with gr.Accordion("Answer options", open=False, elem_id="rag-options"):
                    k = gr.Slider(1, 10, value=engine.settings.k, step=1, label="Passages per answer")
                    explain = gr.Checkbox(label="Explain the ranking", info="Keyword rank, dense rank and fused score.")

        scroll = SCROLL_TO_QUESTION
        answer_io = ([pending, chat, questions, k, explain, within], [chat, questions])
        box.submit(web.take_question, [box, chat], [box, chat, pending], queue=False, **private).then(
            web.answer, *answer_io, **private
        ).then(None, js=scroll, **private)
        chat.example_select(web.take_example, [chat], [chat, pending], queue=False, **private).then(
            web.answer, *answer_io, **private
        ).then(None, js=scroll, **private)
        new.click(lambda: ([], [], None), None, [chat, questions, pending], queue=False, **private)
        files.upload(upload, [files], [files, note, status], show_progress_on=[files], **private).then(
            web.first_screen, None, [chat], queue=False, **private
        ).then(web.scope_update, None, [within], queue=False, **private)
        rescan_btn.click(rescan, None, [note, status], show_progress_on=[status], **private).then(
            web.first_screen, None, [chat], queue=False, **private
        ).then(web.scope_update, None, [within], queue=False, **private)
        app.load(web.scope_update, None, [within], queue=False, **private)
        app.load(web.first_screen, None, [chat], queue=False, **private)  # examples, or how to add articles
        app.load(web.status, None, [status], queue=False, **private)  # fresh on every visit
        if watcher is not None:
            seen = gr.State(0)
            gr.Timer(POLL_SECONDS).tick(
                web.poll, [seen], [seen, watch_line, status], queue=False, show_progress="hidden", **private
            )
        gr.api(web.ask, api_name="ask")
    return app


def page_options() -> dict:
    """The page's look, which Gradio takes at launch: theme, style sheet and script."""
    font = ["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "Arial", "sans-serif"]
    mono = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]
    theme = gr.themes.Soft(primary_hue="indigo", neutral_hue="slate", font=font, font_mono=mono)
    return {"theme": theme, "css": CSS.read_text(encoding="utf-8"), "js": PAGE_SCRIPT}
