"""Where a passage sits in its file: the headings it is under, its pages, its source lines.

At index time `structure(doc, spans)` gives a small dict kept in the
document's manifest entry: headings and page starts as offsets into the
article's text, and the first and last source line of each passage, by its start (text and
Markdown files). At answer time `locate` turns a passage's place back into
a Location, shown as "Normans › History · page 3 · lines 40-52".

>>> entry = {"headings": [[0, 1, "Normans"], [40, 2, "History"]], "pages": [0, 30, 90]}
>>> locate(entry, 45, 95).describe()
'Normans › History · pages 2-3'
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from .documents import Document

__all__ = ["Location", "structure", "fit", "locate", "section_at", "line_of"]


@dataclass(frozen=True)
class Location:
    section: tuple[str, ...] = ()  # headings the passage is under, outermost first
    pages: tuple[int, ...] = ()  # first and last page (one entry when the same), PDFs only
    lines: tuple[int, int] | None = None  # first and last line of the file, text and Markdown only

    def describe(self) -> str:
        parts = []
        if self.section:
            parts.append(" › ".join(self.section))
        if self.pages:
            first, last = self.pages[0], self.pages[-1]
            parts.append(f"page {first}" if first == last else f"pages {first}-{last}")
        if self.lines:
            first, last = self.lines
            parts.append(f"line {first}" if first == last else f"lines {first}-{last}")
        return " · ".join(parts)


def line_of(text: str, anchors: tuple[tuple[int, int], ...], offset: int) -> int | None:
    """The source line the character at `offset` of `text` comes from, given (offset, line) anchors.

    >>> line_of("a\\nb\\n\\nc", ((0, 3),), 5)
    6
    """
    if not anchors:
        return None
    starts = [a for a, _ in anchors]
    i = bisect.bisect_right(starts, offset) - 1
    if i < 0:
        return anchors[0][1]
    at, line = anchors[i]
    return line + text.count("\n", at, offset)


def structure(doc: Document, spans: list[tuple[int, int]]) -> dict:
    """The structure to keep for `doc`, whose passages are `spans`; empty keys are left out."""
    out: dict = {}
    if doc.headings:
        out["headings"] = [[o, level, text] for o, level, text in doc.headings]
    if doc.pages:
        out["pages"] = list(doc.pages)
    if doc.lines:
        out["lines"] = [
            [s, line_of(doc.text, doc.lines, s), line_of(doc.text, doc.lines, max(s, e - 1))] for s, e in spans
        ]
    return out


def fit(entry: dict, limit: int) -> dict:
    """`entry` with its line table, then its headings, left out until its JSON takes at most `limit` bytes."""
    import json

    out = dict(entry)
    for key in ("lines", "headings", "pages"):
        if len(json.dumps(out, ensure_ascii=False).encode()) <= limit:
            break
        out.pop(key, None)
    return out


def section_at(headings: list, offset: int) -> tuple[str, ...]:
    """Heading path at `offset`: each heading before it that no later heading of its level or above closed."""
    path: list[tuple[int, str]] = []
    for at, level, text in headings:
        if at > offset:
            break
        while path and path[-1][0] >= level:
            path.pop()
        path.append((level, text))
    return tuple(text for _, text in path)


def locate(entry: dict | None, start: int, end: int, at: int | None = None) -> Location:
    """Location of the passage at `start`/`end` of a document's text, from the document's `structure` entry.

    The section is the one holding offset `at` (the highlighted sentence) when given: a passage that starts
    at the end of one section and goes on into the next is cited under the one its highlight is in.

    >>> entry = {"headings": [[0, 1, "Normans"], [40, 2, "History"]]}
    >>> locate(entry, 30, 90).section, locate(entry, 30, 90, at=45).section
    (('Normans',), ('Normans', 'History'))
    """
    if not isinstance(entry, dict):
        return Location()
    section = section_at(entry.get("headings") or [], start if at is None else at)
    pages: tuple[int, ...] = ()
    if entry.get("pages"):
        starts = entry["pages"]
        first = max(bisect.bisect_right(starts, start), 1)
        last = max(bisect.bisect_right(starts, max(start, end - 1)), first)
        pages = (first,) if first == last else (first, last)
    lines = None
    table = entry.get("lines") or []  # [passage start, first line, last line], in order of start
    i = bisect.bisect_left(table, [start])
    if i < len(table) and table[i][0] == start and all(isinstance(n, int) for n in table[i]):
        lines = (table[i][1], table[i][2])
    return Location(section, pages, lines)
