"""Answers and corpus state -> HTML for the web chat.

Every piece of article text goes through `esc`, which escapes HTML and the
characters markdown acts on, so an article holding `<script>`, `**bold**`
or `[a](javascript:...)` shows as the characters it holds and nothing else.
The HTML never holds a blank line: the chat renders messages as markdown,
and a blank line would end the raw HTML block.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeGuard

from ..answer.results import Answer, Citation, Lead, Result
from ..messages import why_not_answered

__all__ = [
    "CorpusStatus",
    "esc",
    "text_fragment",
    "context_span",
    "render_answer",
    "render_error",
    "render_note",
    "render_question",
    "render_status",
]

CONTEXT_CHARS = 700  # text shown on each side of a passage when it is read in its article

# HTML's special characters and those that markdown, tables or math rendering act on, as numeric entities.
_INERT = str.maketrans({c: f"&#{ord(c)};" for c in "&<>\"'*_`[]()$\\~|#!{}"} | {"\n": " ", "\r": " "})
_PARAGRAPH = re.compile(r"\n[ \t]*\n\s*")


@dataclass(frozen=True)
class CorpusStatus:
    articles: list[tuple[str, str]]  # (title, source)
    passages: int
    updated: float  # epoch seconds of the last index update
    model: str


def esc(text: str) -> str:
    """Text as inert HTML: `<b>*hi*</b>` -> `&#60;b&#62;&#42;hi&#42;&#60;/b&#62;` (new lines become spaces)."""
    return text.translate(_INERT)


def _flat(text: str) -> str:
    """Escaped text with white space folded to single spaces."""
    return esc(" ".join(text.split()))


def render_question(question: str) -> str:
    return f'<p class="rag-q">{_flat(question)}</p>'


def render_error(message: str) -> str:
    return f'<div class="rag-answer"><p class="rag-notice rag-error" role="alert">{_flat(message)}</p></div>'


CLOSEST = "These are the closest passages, with low confidence."
NOT_ANSWERED = f"The articles do not seem to answer this. {CLOSEST}"


def render_answer(
    answer: Answer,
    article_text: Callable[[str], str | None],
    explain: bool = False,
    page_images: Callable[[Result], list[tuple[int, str]]] | None = None,
    within: Sequence[str] = (),
) -> str:
    """The chat's reply, the answer first: the confidence in words and the answer (the phrase in large type,
    then the sentence holding it, or the best sentence), with its citation; then the supporting passages,
    each opening onto its article; then the sources. Not answered: says so, then the closest passages.

    `article_text(source)` gives an article's text (None when it cannot be read), for showing a passage in
    its context; `page_images(result)` the (page, image URL) of a PDF passage's pages, shown beside it;
    `within` the articles the question was asked within, named under the answer.
    """
    if not answer.results:
        return render_error("The index holds no passages yet: add articles to the corpus first.")
    parts = ['<div class="rag-answer">']
    lead = answer.lead
    if lead is not None:
        parts.append(_lead(answer.confidence, lead))
    else:
        parts.append(
            f'<p class="rag-notice" role="status"><strong class="rag-confidence">{esc(answer.confidence)}.</strong> '
            f"{esc(_why_not(answer))}</p>"
        )
    if within:
        parts.append(f'<p class="rag-within">Asked within {_flat(", ".join(within))}</p>')
    if lead is not None:
        parts.append('<p class="rag-support-head">Supporting passages</p>')
    kind = "rag-cards" if answer.answered else "rag-cards rag-low"
    parts.append(f'<ol class="{kind}">')
    for r in answer.results:
        pages = page_images(r) if page_images else []
        parts.append(_card(r, article_text(r.citation.source), explain, pages))
    parts.append("</ol>")
    parts.append(_sources(answer.results))
    parts.append("</div>")
    return "".join(parts)


def _why_not(answer: Answer) -> str:
    """What the chat says of a question it does not answer: why, when it can tell (names no article mentions,
    a closest sentence saying the opposite)."""
    reason = why_not_answered(answer)
    return f"{reason} {CLOSEST}" if reason else NOT_ANSWERED


def _lead(confidence: str, lead: Lead) -> str:
    """The answer at the top: confidence, the phrase (or best sentence), the sentence holding it, the citation."""
    r, c = lead.result, lead.result.citation
    level = "found" if confidence == "Answer found" else "likely"
    head = f'<p class="rag-confidence rag-conf-{level}">{esc(confidence)}</p>'
    if lead.phrase is not None and lead.mark is not None:
        a, b = lead.mark
        sentence = _marked(lead.sentence, a, b)
        body = f'<p class="rag-phrase">{_flat(lead.phrase)}</p><p class="rag-sentence">{sentence}</p>'
    else:
        body = f'<p class="rag-phrase rag-phrase-sentence">{_flat(lead.sentence)}</p>'
    where = f" · {esc(c.where)}" if c.where else ""
    link = f" · {_link('original', _fragment_url(c, lead.sentence))}" if _web_url(c.url) else ""
    cite = (
        f'<p class="rag-cite"><span class="rag-num rag-num-sm">{r.rank}</span> '
        f'<span class="rag-title">{_flat(c.title)}</span> {_file(c.source)}{where}{link}</p>'
    )
    return f'<section class="rag-lead" aria-label="Answer">{head}{body}{cite}</section>'


def _marked(text: str, a: int, b: int) -> str:
    """Escaped `text` with [a, b) in <mark>, white space at the edges kept: "x <mark>y</mark>, z"."""
    before, inner, after = text[:a], text[a:b], text[b:]
    gap_before = " " if before[-1:].isspace() or inner[:1].isspace() else ""
    gap_after = " " if after[:1].isspace() or inner[-1:].isspace() else ""
    return f"{_flat(before)}{gap_before}<mark>{_flat(inner)}</mark>{gap_after}{_flat(after)}"


def _card(r: Result, article: str | None, explain: bool, pages: Sequence[tuple[int, str]] = ()) -> str:
    c = r.citation
    best = f"<mark>{_flat(r.highlight)}</mark>" if r.answers else _flat(r.highlight)
    passage = f"{_flat(r.text[: r.highlight_start])} {best} {_flat(r.text[r.highlight_end :])}"
    score = f" · score {r.score:.3f}" if explain else ""
    meta = (
        f'<span class="rag-title">{_flat(c.title)}</span>'
        f'<span class="rag-where">{esc(c.source)}{_where(c)} · characters {c.start}–{c.end}{score}</span>'
    )
    also = f'<span class="rag-also">also in: {"; ".join(_also(a) for a in r.also_in)}</span>' if r.also_in else ""
    how = f'<span class="rag-explain">{_explain(r.explain)}</span>' if explain else ""
    return (
        f'<li class="rag-card" value="{r.rank}"><details>'
        f'<summary><span class="rag-num">{r.rank}</span>'
        f'<span class="rag-passage">{passage}</span>'
        f'<span class="rag-meta">{meta}{also}{how}<span class="rag-open">Read in the article</span></span></summary>'
        f'<div class="rag-context{" rag-with-page" if pages else ""}">{_context(r, article)}{_pages(c, pages)}</div>'
        "</details></li>"
    )


def _also(c: Citation) -> str:
    return f'<span class="rag-title">{_flat(c.title)}</span> {_file(c.source)}{_where(c)}'


def _pages(c: Citation, pages: Sequence[tuple[int, str]]) -> str:
    """A PDF passage's pages as pictures, its lines marked; loaded only when the passage is opened."""
    if not pages:
        return ""
    figures = "".join(
        f'<figure class="rag-page"><a href="{esc(url)}" target="_blank" rel="noopener noreferrer">'
        f'<img src="{esc(url)}" alt="Page {n} of {_flat(c.title)}, the passage marked" loading="lazy"></a>'
        f"<figcaption>Page {n}</figcaption></figure>"
        for n, url in pages
    )
    return f'<div class="rag-pages">{figures}</div>'


def _fragment_url(c: Citation, sentence: str) -> str:
    assert c.url is not None  # asked only for a web address (_web_url)
    return text_fragment(c.url, sentence) if c.source.lower().endswith((".html", ".htm")) else c.url


def _explain(info: dict) -> str:
    def rank(key: str) -> str:
        return "—" if info.get(key) is None else str(info[key])

    fused = info.get("fused_score")
    fused_text = "—" if fused is None else f"{fused:.4f}"
    return f"keyword rank {rank('keyword_rank')} · dense rank {rank('dense_rank')} · fused score {fused_text}"


def context_span(text: str, start: int, end: int, chars: int = CONTEXT_CHARS) -> tuple[int, int, bool, bool]:
    """The span around [start, end) to show: about `chars` either side, as whole lines where that keeps
    a fair share of them, else cut at a word. Returns (from, to, cut_before, cut_after).
    """
    a, b = max(0, start - chars), min(len(text), end + chars)
    if a > 0:
        line = text.find("\n", a, start)
        if line >= 0 and start - line > chars // 4:
            a = line + 1
        else:
            space = text.find(" ", a, start)
            a = space + 1 if space >= 0 else start
    if b < len(text):
        line = text.rfind("\n", end, b)
        if line >= 0 and line - end > chars // 4:
            b = line
        else:
            space = text.rfind(" ", end, b)
            b = space if space >= 0 else end
    return a, b, a > 0 and text[a - 1] != "\n", b < len(text) and text[b] != "\n"


def _context(r: Result, article: str | None) -> str:
    c = r.citation
    where = f"From <strong>{_flat(c.title)}</strong> {_file(c.source)}"
    if c.where:
        where += f" · {esc(c.where)}"
    if _web_url(c.url):
        where += f" · {_link('original', _fragment_url(c, r.highlight))}"
    if article is None or article[c.start : c.end] != r.text:
        note = "The article has changed or cannot be read since it was indexed; update the index to read it in context."
        return f'<p class="rag-ctx-head">{where}</p><p class="rag-ctx-note">{esc(note)}</p>'
    a, b, cut_a, cut_b = context_span(article, c.start, c.end)
    hs, he = c.start + r.highlight_start, c.start + r.highlight_end
    best = "rag-span rag-best" if r.answers else "rag-span"
    segments = [(a, c.start, ""), (c.start, hs, "rag-span"), (hs, he, best), (he, c.end, "rag-span")]
    segments.append((c.end, b, ""))
    body = "".join(_segment(article[s:e], cls) for s, e, cls in segments if e > s)
    before, after = ("… " if cut_a else ""), (" …" if cut_b else "")
    return f'<p class="rag-ctx-head">{where}</p><div class="rag-ctx-text"><p>{before}{body}{after}</p></div>'


def _segment(text: str, cls: str) -> str:
    """Escaped text, its paragraphs split with </p><p>, each piece wrapped in <mark class=cls> when cls is set."""
    pieces = []
    for para in _PARAGRAPH.split(text):
        inner = "<br>".join(esc(line) for line in para.split("\n"))
        pieces.append(f'<mark class="{cls}">{inner}</mark>' if cls and inner else inner)
    return "</p><p>".join(pieces)


def _sources(results: Sequence[Result]) -> str:
    """One line per article, with the numbers of its passages: every number shown above appears here."""
    by_source: dict[str, tuple[Citation, list[int]]] = {}
    for r in results:
        for c in (r.citation, *r.also_in):  # an article whose passage repeats one shown is cited by its number
            ranks = by_source.setdefault(c.source, (c, []))[1]
            if r.rank not in ranks:
                ranks.append(r.rank)
    items = []
    for source, (c, ranks) in by_source.items():
        nums = "".join(f'<span class="rag-num rag-num-sm">{n}</span>' for n in sorted(ranks))
        title = _link(_flat(c.title), c.url)
        items.append(f'<li><span class="rag-nums">{nums}</span><span>{title} {_file(source)}</span></li>')
    return f'<div class="rag-sources"><p class="rag-sources-head">Sources</p><ul>{"".join(items)}</ul></div>'


def _where(c) -> str:
    return f" · {esc(c.where)}" if c.where else ""


_FRAGMENT_WORDS = 5


def text_fragment(url: str, sentence: str) -> str:
    """`url` with a text fragment that makes a browser scroll to and mark `sentence` on the page.

    A long sentence is named by its first and last words (`text=start,end`).

    >>> text_fragment("https://x.org/a#top", "The Normans came, in 911.")
    'https://x.org/a#:~:text=The%20Normans%20came%2C%20in%20911.'
    """
    from urllib.parse import quote

    words = sentence.split()
    if not words:
        return url
    base = url.split("#", 1)[0]

    def enc(part: list[str]) -> str:
        return quote(" ".join(part), safe="").replace("-", "%2D")

    if len(words) <= 2 * _FRAGMENT_WORDS:
        return f"{base}#:~:text={enc(words)}"
    return f"{base}#:~:text={enc(words[:_FRAGMENT_WORDS])},{enc(words[-_FRAGMENT_WORDS:])}"


def _web_url(url: str | None) -> TypeGuard[str]:
    return url is not None and url.startswith(("https://", "http://"))


def _link(inner_html: str, url: str | None) -> str:
    """`inner_html` as a link to `url` when it is a web address (never javascript: or data:)."""
    if not _web_url(url):
        return inner_html
    return f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer">{inner_html}</a>'


def _file(source: str) -> str:
    return f'<span class="rag-file">{esc(source)}</span>'


def _count(n: int, noun: str) -> str:
    return f'<span class="rag-stat">{n}</span> {noun}{"" if n == 1 else "s"}'


def render_status(status: CorpusStatus) -> str:
    """The corpus box: counts, last update, model, and the articles by title."""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(status.updated)) if status.updated else "never"
    articles = "".join(f'<li><span class="rag-title">{_flat(t)}</span> {_file(s)}</li>' for t, s in status.articles)
    return (
        '<div class="rag-status" aria-label="Corpus">'
        '<div class="rag-stats">'
        f"<div>{_count(len(status.articles), 'article')}</div><div>{_count(status.passages, 'passage')}</div>"
        "</div>"
        f"<dl><dt>Updated</dt><dd>{when}</dd><dt>Model</dt><dd>{esc(status.model)}</dd></dl>"
        f'<details class="rag-articles"><summary>Articles</summary><ul>{articles}</ul></details>'
        "</div>"
    )


def render_note(lines: Sequence[str], kind: str = "ok") -> str:
    """A short message under the upload box; kind is ok, warn or error."""
    items = "".join(f"<li>{_flat(line)}</li>" for line in lines)
    role = "alert" if kind == "error" else "status"
    return f'<div class="rag-note rag-note-{kind}" role="{role}"><ul>{items}</ul></div>'
