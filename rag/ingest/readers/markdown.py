"""Markdown -> the text a reader of the rendered page sees, with source lines kept for citations.

Parsed with markdown-it (CommonMark, plus tables and footnotes): link text
stays and addresses go, images and badges go, emphasis marks go, code stays
as written, hard-wrapped lines join into their paragraph, footnote
definitions go. YAML front matter becomes metadata. Every block records the
source line it starts on, and every joined line where it joins, so a passage
can be cited as "lines 40-52" of the file.
"""

from __future__ import annotations

import re

from .blocks import Builder, Reading, fold, is_back_matter, table_row, with_byline
from .markup import add_blocks
from .text import decode, split_front_matter

__all__ = ["read_markdown"]

_LABEL = re.compile(r"^\(\s*[\w.:-]+\s*\)=$")  # a MyST target such as (install)=
_SKIP_INLINE = frozenset({"image", "html_inline", "footnote_ref"})
# A line that is only a book generator's directive (mdBook's {{#include file.rs:2:10}}, {{#playground x.rs}}):
# it is replaced by another file's text when the book is built, so the reader never sees it.
_DIRECTIVE = re.compile(r"(?m)^[ \t]*\{\{#[a-z_]+\b[^}\n]*\}\}[ \t]*$")


def read_markdown(data: bytes, source: str) -> Reading:
    """A Markdown file as blocks; the title is the front matter's, else the first heading.

    >>> r = read_markdown(b"# Hi\\n\\nSee [the *docs*](https://x.org)\\nfor more.\\n", "a.md")
    >>> r.text, r.lines
    ('Hi\\n\\nSee the docs for more.', [(0, 1), (4, 3), (17, 4)])
    """
    text = _DIRECTIVE.sub("", decode(data, source))
    _, meta, _ = split_front_matter(text, source)
    b = Builder()
    _render(_parser().parse(text), b)
    reading = b.reading(dict(meta))
    if not reading.meta.get("title") and reading.headings:
        reading.meta["title"] = reading.headings[0][2]
    if isinstance(meta.get("author"), str):  # a rendered post shows its author under its title
        reading = with_byline(reading, f"By {meta['author']}")
    return reading


def _parser():
    from markdown_it import MarkdownIt
    from mdit_py_plugins.footnote import footnote_plugin
    from mdit_py_plugins.front_matter import front_matter_plugin

    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    return md.use(front_matter_plugin).use(footnote_plugin)


def _render(tokens, b: Builder) -> None:
    lists = footnotes = 0
    back_matter = 0  # level of a References or Notes heading whose section is being skipped
    row: list[str] | None = None
    row_line = 0
    header: list[str] | None = None  # the header row of the table being read
    in_head = False
    for i, tok in enumerate(tokens):
        kind = tok.type
        if kind == "footnote_block_open":
            footnotes += 1
        elif kind == "footnote_block_close":
            footnotes -= 1
        elif footnotes:
            continue
        elif kind == "heading_open" and (back_matter or is_back_matter(_inline(tokens[i + 1])[0])):
            level = int(tok.tag[1:])
            if back_matter and level > back_matter:
                continue
            back_matter = level if is_back_matter(_inline(tokens[i + 1])[0]) else 0
            if not back_matter:
                b.heading(_inline(tokens[i + 1])[0], level, line=_line(tok))
        elif back_matter:
            continue
        elif kind in ("bullet_list_open", "ordered_list_open"):
            lists += 1
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists -= 1
        elif kind in ("thead_open", "thead_close"):
            in_head = kind == "thead_open"
        elif kind == "table_open":
            header = None
        elif kind == "tr_open":
            row, row_line = [], _line(tok)
        elif kind == "tr_close" and row is not None:
            b.add(" | ".join(row) if in_head else table_row(row, header), tight=True, line=row_line)
            header = row if in_head else header
            row = None
        elif kind == "inline" and row is not None:
            row.append(fold(_inline(tok)[0]))
        elif kind == "heading_open":
            b.heading(_inline(tokens[i + 1])[0], int(tok.tag[1:]), line=_line(tok))
        elif kind == "paragraph_open":
            _paragraph(tokens[i + 1], b, tight=bool(lists), line=_line(tok))
        elif kind in ("fence", "code_block"):
            b.add(tok.content.rstrip("\n"), line=_line(tok) + (kind == "fence"))
        elif kind == "html_block":
            _html_block(tok.content, b, line=_line(tok))


def _line(tok) -> int:
    return tok.map[0] + 1 if tok.map else 0


def _paragraph(inline, b: Builder, tight: bool, line: int) -> None:
    text, breaks = _inline(inline)
    lead = len(text) - len(text.lstrip())
    text = text.strip()
    if not text or _LABEL.match(text):
        return
    at = b.add(text, tight=tight, line=line)
    if at is None:
        return
    for n, offset in enumerate(breaks, 1):
        if 0 < offset - lead < len(text):
            b.lines.append((at + offset - lead, line + n))


def _inline(inline) -> tuple[str, list[int]]:
    """The text of an inline token, and the offsets where a hard-wrapped source line was joined on."""
    parts: list[str] = []
    breaks: list[int] = []
    size = 0
    for child in inline.children or []:
        kind = child.type
        if kind in _SKIP_INLINE:
            continue
        if kind == "softbreak":
            piece = " "
        elif kind == "hardbreak":
            piece = "\n"
        elif kind in ("text", "code_inline"):
            piece = child.content
        else:  # emphasis, links and other markup: their text comes as children of their own
            continue
        parts.append(piece)
        size += len(piece)
        if kind in ("softbreak", "hardbreak"):
            breaks.append(size)
    return "".join(parts), breaks


def _html_block(html: str, b: Builder, line: int) -> None:
    """HTML written into the Markdown, read as the HTML reader reads a page: a table row by row under its
    header, a list item by item, paragraphs and headings as blocks."""
    import lxml.html
    from lxml.etree import ParserError

    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (ParserError, ValueError):
        return
    b.next_line = line
    add_blocks(root, b)
    b.next_line = None
