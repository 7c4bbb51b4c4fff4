"""Blocks of a document -> its text, with the structure citations need.

Every reader that renders a file (all but plain text) adds blocks in reading
order: paragraphs, headings, list items, table rows, code. The builder joins
them the way a person reads them (a blank line between blocks, the lines of
one list or table together), and records where each heading, page and source
line starts, as character offsets into the text it builds.

>>> b = Builder()
>>> _ = b.heading("History", 2), b.paragraph("The  Normans\\n came.")
>>> b.text, b.headings
('History\\n\\nThe Normans came.', [(0, 2, 'History')])
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = [
    "Reading",
    "Builder",
    "fold",
    "is_back_matter",
    "is_contents_entry",
    "table_row",
    "with_byline",
    "without_licence",
]

_SPACE = re.compile(r"\s+")
# What documentation generators put after a heading to link to it: a pilcrow, a section or hash sign, a link
# symbol or an icon font's glyph (Unicode's private use area), or the words of its tooltip.
_PERMALINK = re.compile(r"(?:\s*(?:[¶§#\U0001f517\ue000-\uf8ff]|Permalink to this (?:headline|heading|section)))+$")


_BACK_MATTER = frozenset(
    {"references", "notes", "footnotes", "citations", "sources", "bibliography", "external links", "see also"}
    | {"further reading", "notes and references", "works cited", "literature cited"}
)


def is_back_matter(heading: str) -> bool:
    """Whether a heading opens a section of references, notes or links rather than article text."""
    return fold(heading).lower().rstrip(":") in _BACK_MATTER


# A line of a table of contents: a title, dot leaders, a page number ("2.8. CAVEATS . . . . . 7", "Scope ....1").
_CONTENTS_ENTRY = re.compile(r"\S.*?(?:\.\s?){4,}\s*(?:\d{1,4}|x{0,3}(?:ix|iv|v?i{1,3}|v)|x{1,3})")
_LEADERS = re.compile(r"(?:\.\s?){4,}")
_CONTENTS_ENTRY_CHARS = 120  # a longer line, leaders aside, is a paragraph written on one line: never dropped


def is_contents_entry(line: str) -> bool:
    """Whether a line is an entry of a table of contents, which a reader skips (its words are the headings').

    >>> is_contents_entry("   4.1. Coordinated Universal Time (UTC) ...................... 4")
    True
    >>> is_contents_entry("It was quiet... then 4"), is_contents_entry("I said them....Did I?")
    (False, False)
    >>> is_contents_entry("Toxicity in chickens, dose by dose, " * 4 + ". . . . . 174")  # a paragraph
    False
    """
    line = line.strip()
    return len(_LEADERS.sub("", line)) <= _CONTENTS_ENTRY_CHARS and bool(_CONTENTS_ENTRY.fullmatch(line))


def fold(text: str) -> str:
    """White space folded to single spaces, trimmed: inline text as it is shown."""
    return _SPACE.sub(" ", text).strip()


@dataclass
class Reading:
    """What a reader gives: the text, its metadata, and offsets into the text for citations.

    `headings` are (offset, level, text); `pages[n]` is where page n + 1 starts; `lines` are
    (offset, line): the text from `offset` on comes from source line `line` (1-based), one more
    at each new line of the text, up to the next entry.
    """

    text: str
    meta: dict = field(default_factory=dict)
    headings: list[tuple[int, int, str]] = field(default_factory=list)
    pages: list[int] = field(default_factory=list)
    lines: list[tuple[int, int]] = field(default_factory=list)


class Builder:
    """Collects blocks; `text` is the document so far."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._size = 0
        self._tight = False  # the last block asked for the next one to follow on the next line
        self.headings: list[tuple[int, int, str]] = []
        self.pages: list[int] = []
        self.lines: list[tuple[int, int]] = []
        self.next_line: int | None = None  # the source line of the next block, when its adder does not say

    @property
    def text(self) -> str:
        return "".join(self._parts)

    def _start(self, tight: bool) -> int:
        if self._size:
            sep = "\n" if tight and self._tight else "\n\n"
            self._parts.append(sep)
            self._size += len(sep)
        self._tight = tight
        return self._size

    def add(self, text: str, tight: bool = False, line: int | None = None) -> int | None:
        """Add a block as it is (new lines kept); returns its offset, or None when it is empty.

        `tight` blocks (list items, table rows) follow a tight block on the next line, not after
        a blank one; `line` is the source line the block starts on.
        """
        text = text.strip("\n")
        if not text.strip():
            return None
        at = self._start(tight)
        if line is None:
            line, self.next_line = self.next_line, None
        if line is not None:
            self.lines.append((at, line))
        self._parts.append(text)
        self._size += len(text)
        return at

    def paragraph(self, text: str, line: int | None = None) -> int | None:
        return self.add(fold(text), line=line)

    def item(self, text: str, line: int | None = None) -> int | None:
        """One line of a list or a table."""
        return self.add(fold(text), tight=True, line=line)

    def heading(self, text: str, level: int, line: int | None = None) -> int | None:
        text = _PERMALINK.sub("", fold(text))
        at = self.add(text, line=line)
        if at is not None:
            self.headings.append((at, level, text))
        return at

    def page(self) -> None:
        """The next block starts a new page."""
        self.pages.append(self._size + (2 if self._size else 0))

    def reading(self, meta: dict | None = None) -> Reading:
        text = self.text
        pages = [min(p, len(text)) for p in self.pages]
        return Reading(text, meta or {}, self.headings, pages, self.lines)


def table_row(cells: list[str], header: list[str] | None = None) -> str:
    """A table's row as one line, cells separated by " | ". Under a header row of as many cells, each cell
    is named by its column's header, so a row read far from the header still says what it holds.

    >>> table_row(["q", "long long", ""], ["Format", "C Type", "Notes"])
    'Format: q | C Type: long long'
    >>> table_row(["1066", "Battle of Hastings"])
    '1066 | Battle of Hastings'
    """
    if not header or len(header) != len(cells) or sum(bool(h) for h in header) < 2:
        return " | ".join(cells)
    named = [f"{h}: {c}" if h and c != h else c for h, c in zip(header, cells, strict=True) if c]
    return " | ".join(named)


def with_byline(reading: Reading, byline: str) -> Reading:
    """`reading` with its by-line ("By Ann Lee, editor") as a paragraph under its title, as a rendered page
    shows it, unless the text holds it already.

    >>> with_byline(Reading("Title\\n\\nText.", headings=[(0, 1, "Title")]), "By Ann").text
    'Title\\n\\nBy Ann\\n\\nText.'
    """
    byline = fold(byline)
    if not byline or fold(byline.removeprefix("By ")).lower() in fold(reading.text).lower():
        return reading
    first = reading.headings[0] if reading.headings else None
    at = first[0] + len(first[2]) + 2 if first and first[0] == 0 and len(reading.text) > len(first[2]) else 0
    piece = f"{byline}\n\n"
    if at > len(reading.text):
        at, piece = len(reading.text), f"\n\n{byline}"
    n = len(piece)
    return Reading(
        reading.text[:at] + piece + reading.text[at:],
        reading.meta,
        [(o + n if o >= at else o, level, text) for o, level, text in reading.headings],
        [o + n if o >= at else o for o in reading.pages],
        [(o + n if o >= at else o, line) for o, line in reading.lines],
    )


# The line that ends a Project Gutenberg book: what follows is the project's licence, the same in every book.
_GUTENBERG_END = re.compile(r"^\*{3} ?END OF (?:THE|THIS) PROJECT GUTENBERG E-?BOOK\b.*$", re.M | re.I)


def without_licence(reading: Reading) -> Reading:
    """`reading` without what follows the end of a Project Gutenberg book: the licence and the project's
    notes, some thirty passages of the same legal text in every book, which would answer questions about
    copying or donations from any of them.

    >>> without_licence(Reading("The end.\\n\\n*** END OF THE PROJECT GUTENBERG EBOOK X ***\\n\\nThe licence.")).text
    'The end.'
    """
    end = _GUTENBERG_END.search(reading.text)
    if end is None:
        return reading
    text = reading.text[: end.start()].rstrip()
    return Reading(
        text,
        reading.meta,
        [h for h in reading.headings if h[0] < len(text)],
        [p for p in reading.pages if p < len(text)],
        [(o, line) for o, line in reading.lines if o < len(text)],
    )
