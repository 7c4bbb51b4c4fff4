"""Plain text as a person reads it: hard-wrapped lines joined into paragraphs, page furniture dropped.

Text files are often typeset for a printer or a terminal: lines wrapped at a
fixed width (RFCs, Project Gutenberg, README and FAQ files, man pages), pages
cut by form feeds with a running head and a "[Page 5]" footer on each, terminal
colour codes, headings marked by their number ("3.1.  Foo"), by an underline
(setext) or by standing out to the left of indented text. The rules, all from
the layout alone:

- a line is joined to the one before when the first word of it would not have
  fitted at the end of that one (so the break was the wrap's, not the
  writer's); a word cut by a line-end hyphen is joined up;
- lines that start a list item, a line shorter than the wrap and text laid out
  as code, a table or verse (no line wrapped) keep their line breaks;
- a short line whose text is indented below it ("TMOUT" then its description)
  is a term: "term: description";
- the first and last lines of pages that repeat from page to page (numbers
  aside), "[Page N]" footers, form feeds, a man page's "LESS(1) ... LESS(1)"
  lines and a table of contents' entries ("2. Definitions ...... 3", or
  "6. Birch-bark record       185" in a block of such lines) are dropped,
  and a paragraph cut by a page break is joined again;
- headings: numbered ("3.1. Foo", "Appendix A. Bar"), underlined ("Foo" over
  "==="), and short lines standing alone to the left of indented text or in
  capitals.

>>> b = Builder()
>>> unwrap("1. Intro\\n\\n   The header holds two magic bytes, 0x1f and 0x8b, which\\n   identify it as gzip.\\n", b)
>>> b.text, b.headings
('1. Intro\\n\\nThe header holds two magic bytes, 0x1f and 0x8b, which identify it as gzip.', [(0, 1, '1. Intro')])
"""

from __future__ import annotations

import re
from collections import Counter

from .blocks import Builder, is_contents_entry

__all__ = ["unwrap", "strip_terminal_codes"]

_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_OVERSTRIKE = re.compile(r".\x08")
_PAGE_FOOTER = re.compile(r"\[Page \d+\]\s*$")
_MAN_HEAD = re.compile(r"^(\S+\(\w+\)).*\s\1$")
_RULE = re.compile(r"^\s*([=\-~*#^_+.])\1{2,}\s*$")
_NUMBERED = re.compile(r"^(\d{1,2}(?:\.\d{1,3}){0,4})\.?\s+\S")
_NAMED = re.compile(r"^(?:appendix|annex|chapter|part|section|book)\s+[A-Z0-9IVXLC]+\b", re.I)
# A release in a NEWS file or change log: "version 1.31 - A. Writer, 2019-01-02", "Release 2.0.1 (2020-03-04)"
_RELEASE = re.compile(r"^(?:version|release|v)\s*\d+(?:\.\d+)+\b", re.I)
_BULLET = re.compile(r"^(?:[-*•+o·]|\d{1,3}[.)]|\(?[a-zA-Z0-9]{1,3}\)|\[\d+\])\s+\S")
_LEADERS = re.compile(r"\.{4,}\s*\d+\s*$|\s{2,}\d+\s*$")
_WORD = re.compile(r"\S+")
# An entry of a list of contents without leaders: a title with a word in it, a gap, a page number.
_CONTENTS_PAGE = re.compile(r"(?<=\S) {2,}(\d{1,4}|[ivxlc]{1,7})\s*$", re.I)
_TITLE_WORD = re.compile(r"[^\W\d_]{3}")
_CONTENTS_LINE_CHARS = 120  # a longer line is no entry (and is not searched)
CONTENTS_ENTRIES = 6  # entries that make a block a list of contents
_SPACES = re.compile(r"(?<=\S) {2,}(?=\S)")
_COLUMNS = re.compile(r"\S {4,}\S")  # a gap between columns, not a justified space


def strip_terminal_codes(text: str) -> str:
    """Text without ANSI colour codes and terminal overstrikes ("N\\bNA\\bA" for bold), as a terminal shows it.

    >>> strip_terminal_codes("\\x1b[1mNAME\\x1b[0m and _\\x08u")
    'NAME and u'
    """
    return _OVERSTRIKE.sub("", _ANSI.sub("", text)) if ("\x1b" in text or "\x08" in text) else text


def unwrap(text: str, b: Builder, first_line: int = 1) -> None:
    """Add `text` (plain, hard-wrapped or not) to `b` as paragraphs and headings; `first_line` is its first
    line in the file, for the line anchors of citations."""
    raw = [line.replace("\r", "") for line in strip_terminal_codes(text).split("\n")]
    lines = [line.expandtabs(8).rstrip(" \t\v") for line in raw]
    numbered = _drop_furniture(lines)  # (line number, text or "" for a blank, page break before it)
    blocks = _blocks(numbered)
    width = _wrap_width([t for _, t, _ in numbered if t])
    indent = _body_indent(blocks)
    introduced = False  # the block before ended with a colon: this one is what it introduces, not a heading
    for block in blocks:
        _add_block(block, b, width, indent, first_line, raw, introduced)
        introduced = block[-1][1].rstrip().endswith(":")


def _drop_furniture(lines: list[str]) -> list[tuple[int, str, bool]]:
    """(line index, text, whether a page break comes before it), without page furniture."""
    pages: list[list[int]] = [[]]
    for i, line in enumerate(lines):
        if "\f" in line:
            pages.append([])
            lines[i] = line.replace("\f", "").rstrip(" \t\v")
        pages[-1].append(i)
    drop: set[int] = set()
    if len(pages) >= 3:  # heads and feet repeat on at least two pages and on half of those after the first
        edges: dict[str, list[int]] = {}
        for page in pages:
            filled = [i for i in page if lines[i].strip()]
            for i in dict.fromkeys(filled[:1] + filled[-1:]):
                edges.setdefault(re.sub(r"\d+", "#", lines[i].strip()), []).append(i)
        least = max(2, (len(pages) - 1) / 2)
        drop = {i for found in edges.values() if len(found) >= least and _running(lines, found) for i in found}
    first = next((line.strip() for line in lines if line.strip()), "")
    man = _MAN_HEAD.match(first)
    if man:  # a man page's head ("LESS(1)  ...  LESS(1)") and foot ("2009-07-06   LESS(1)")
        drop |= {i for i, line in enumerate(lines) if line.strip().endswith(man.group(1)) and _COLUMNS.search(line)}
    drop |= _contents_lists(lines)
    breaks = {page[0] for page in pages[1:] if page}
    out: list[tuple[int, str, bool]] = []
    pending_break = False
    for i, line in enumerate(lines):
        pending_break = pending_break or i in breaks
        if i in drop or _PAGE_FOOTER.search(line) or _MAN_HEAD.match(line.strip()) or is_contents_entry(line):
            out.append((i, "", False))
            continue
        out.append((i, line, pending_break and bool(line.strip())))
        if line.strip():
            pending_break = False
    return out


def _contents_lists(lines: list[str]) -> set[int]:
    """Lines of the blocks that are a list of contents or of illustrations laid out without dot leaders:
    titles, each with its page number at the end after a gap ("6. Birch-bark record    185"), the numbers
    rising. A block of at least CONTENTS_ENTRIES such entries that make half its lines or more (a shorter
    list of titles and rising numbers may be a price list: it stays); the lines between
    them carry on a title ("Fig. 10. Diagram of Midewigan" / "  of the first degree    188")."""
    found: set[int] = set()
    block: list[int] = []
    for i, line in enumerate([*lines, ""]):
        if line.strip():
            block.append(i)
            continue
        entries = [m for m in (_contents_entry(lines[k]) for k in block) if m]
        pages = [int(m.group(1)) for m in entries if m.group(1).isdigit()]
        rising = sum(b >= a for a, b in zip(pages, pages[1:], strict=False))
        if len(entries) >= CONTENTS_ENTRIES and 2 * len(entries) >= len(block) and 5 * rising >= 4 * (len(pages) - 1):
            found.update(block)
        block = []
    return found


def _contents_entry(line: str) -> re.Match | None:
    """The page number of a line that reads as an entry of a list of contents, if it does."""
    if len(line) > _CONTENTS_LINE_CHARS:
        return None
    page = _CONTENTS_PAGE.search(line)
    return page if page and _TITLE_WORD.search(line, 0, page.start()) else None


def _running(lines: list[str], found: list[int]) -> bool:
    """Whether lines that differ only in their numbers are a running head or foot: the same text on every
    page, or with one number that counts the pages ("Page 4", "Page 5", ...)."""
    numbers = [re.findall(r"\d+", lines[i]) for i in found]
    varying = [k for k in range(len(numbers[0])) if len({n[k] for n in numbers}) > 1]
    if not varying:
        return True
    if len(varying) > 1:
        return False
    pages = [int(n[varying[0]]) for n in numbers]
    return all(b - a == 1 for a, b in zip(pages, pages[1:], strict=False))


def _blocks(numbered: list[tuple[int, str, bool]]) -> list[list[tuple[int, str]]]:
    """Runs of non-blank lines; a run after a page break continues the one before when that one was cut
    mid-sentence."""
    blocks: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    for i, line, page_break in numbered:
        if not line.strip():
            if current:
                blocks.append(current)
                current = []
            continue
        if page_break and not current and blocks and _cut(blocks[-1][-1][1], line):
            current = blocks.pop()
        current.append((i, line))
    if current:
        blocks.append(current)
    return blocks


def _cut(last: str, nxt: str) -> bool:
    """Whether a page break fell inside a sentence: the page ended without closing punctuation, and the next
    page starts with neither a list item nor a numbered, named or release heading.

    >>> _cut("the file was", "read twice."), _cut("* Improve the testsuite", "version 1.31 - A. Writer, 2019-01-02")
    (True, False)
    """
    nxt = nxt.strip()
    if not last.strip() or last.rstrip()[-1] in ".:;!?)]\"'" or _BULLET.match(nxt):
        return False
    numbered = _NUMBERED.match(nxt) and len(nxt.split()) <= 12 and nxt[-1] != "."
    return not (numbered or _NAMED.match(nxt) or _RELEASE.match(nxt))


def _wrap_width(lines: list[str]) -> int:
    """The width the text was wrapped at: the length most longer lines reach (95th percentile)."""
    if not lines:
        return 0
    lengths = sorted(len(line) for line in lines)
    return lengths[min(len(lengths) - 1, int(len(lengths) * 0.95))]


def _body_indent(blocks: list[list[tuple[int, str]]]) -> int:
    """The indent of most prose lines (RFCs and man pages indent their text and set headings to the left)."""
    counts = Counter(_indent(t) for block in blocks if len(block) > 1 for _, t in block)
    return counts.most_common(1)[0][0] if counts else 0


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _heading(block: list[tuple[int, str]], body_indent: int, introduced: bool = False) -> tuple[str, int] | None:
    """(text, level) when the block is a heading; one that a colon `introduced` is only by its number or
    underline (the "AIX" of "the following systems:" is an item of a list)."""
    if len(block) == 2 and _RULE.match(block[1][1]) and not _RULE.match(block[0][1]):
        title, rule = block[0][1].strip(), block[1][1].strip()
        if 0.5 * len(title) <= len(rule) <= 1.5 * len(title) + 2:
            return title, {"=": 1, "-": 2}.get(rule[0], 3)
    if len(block) == 2 and _indent(block[1][1]) > _indent(block[0][1]) and block[1][1].rstrip().endswith("?"):
        block = [(block[0][0], block[0][1] + " " + block[1][1].strip())]  # a numbered question wrapped in two
        if not _NUMBERED.match(block[0][1].strip()):
            return None
    if len(block) != 1:
        return None
    line = block[0][1]
    text = " ".join(line.split()) if line.rstrip().endswith("?") else line.strip()
    asks = text[-1:] == "?"  # an FAQ's numbered questions run longer than other headings
    if len(text) > (160 if asks else 80) or len(text) < 2 or text[-1] in ",;" or _LEADERS.search(text):
        return None
    numbered = _NUMBERED.match(text)
    if numbered and text[-1] != "." and len(text.split()) <= (24 if asks else 12) and text[0] != "0":
        return text, numbered.group(1).count(".") + 1
    if _NAMED.match(text) and len(text.split()) <= 12:
        return text, 1
    if _RELEASE.match(text) and len(text.split()) <= 12 and text[-1] not in ".!?:":
        return text, 1
    if introduced:
        return None
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 3 and all(c.isupper() for c in letters) and len(text.split()) <= 10:
        return text, 1
    if body_indent >= 2 and _indent(line) == 0 and len(text.split()) <= 8 and text[-1] not in ".!?":
        return text, 1
    return None


def _add_block(
    block: list[tuple[int, str]],
    b: Builder,
    width: int,
    body_indent: int,
    first_line: int,
    raw: list[str],
    introduced: bool = False,
) -> None:
    heading = _heading(block, body_indent, introduced)  # an underlined one first, before rules are dropped
    if heading:
        b.heading(heading[0], heading[1], line=first_line + block[0][0])
        return
    block = [(i, t) for i, t in block if not _RULE.match(t)] or block
    if len(block) > 1 and body_indent >= 2 and _indent(block[0][1]) == 0 and all(_indent(t) for _, t in block[1:]):
        heading = _heading(block[:1], body_indent, introduced)  # a man page's "NAME" with its text under it
        if heading:
            b.heading(heading[0], heading[1], line=first_line + block[0][0])
            block = block[1:]
    heading = _heading(block, body_indent, introduced)
    if heading:
        b.heading(heading[0], heading[1], line=first_line + block[0][0])
        return
    pieces = _pieces(block, width)
    if all(len(p) == 1 for p in pieces) and len(pieces) > 1:  # nothing wrapped: code, a table, verse
        cut = min(_indent(t) for _, t in block)
        rows = [(t[cut:], [(0, i)]) for i, t in block]
    else:
        rows = [_join(p, width, raw) for p in pieces]
    at = b.add("\n".join(t for t, _ in rows), line=first_line + rows[0][1][0][1])
    if at is None:
        return
    for n, (t, starts) in enumerate(rows):
        b.lines.extend((at + offset, first_line + i) for offset, i in starts[0 if n else 1 :])
        at += len(t) + 1


def _pieces(block: list[tuple[int, str]], width: int) -> list[list[tuple[int, str]]]:
    """The block's lines grouped into the paragraphs, items and lines its writer meant."""
    pieces: list[list[tuple[int, str]]] = []
    for n, (i, line) in enumerate(block):
        if n and _continues(block[n - 1][1], line, pieces[-1], width):
            pieces[-1].append((i, line))
        else:
            pieces.append([(i, line)])
    return pieces


def _continues(prev: str, line: str, piece: list[tuple[int, str]], width: int) -> bool:
    """Whether `line` goes on the paragraph `prev` ends, rather than starting a line of its own."""
    text = line.strip()
    if not text or _BULLET.match(text) and not _BULLET.match(prev.strip()) and _indent(line) <= _indent(prev):
        return False
    if _BULLET.match(text) and _indent(line) <= _indent(piece[0][1]):
        return False
    if _LEADERS.search(prev) or _RULE.match(prev) or _COLUMNS.search(line):
        return False
    if any(_indent(line) != gap.end() - 1 for gap in _COLUMNS.finditer(prev)):
        return False  # columns, unless the text after the gap is where the next line starts (a hanging tag)
    if len(piece) == 1 and _indent(line) > _indent(prev) and _is_term(prev, width):
        return True  # a term and its description, indented under it
    if len(piece) > 1 and _indent(line) > _indent(piece[1][1]) + 1:
        return False  # indented further than the paragraph: code or a quotation
    first_word = _WORD.match(text)
    # the wrap width is estimated (a high percentile of line lengths), so leave a margin of a short word or two
    return len(prev) + 1 + len(first_word.group() if first_word else "") > width - max(8, width // 8) and width >= 40


def _is_term(line: str, width: int) -> bool:
    text = line.strip()
    return 0 < len(text) <= max(24, width // 3) and text[-1] not in ".!?" and _indent(line) < 16


def _join(piece: list[tuple[int, str]], width: int, raw: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """Lines of one paragraph as one line, and where each source line starts in it: (offset, line index).
    A term on the first line is followed by ": "; words cut by a line-end hyphen are mended; the spaces
    that justify a line are single. A line joined to none is kept as written, so offsets into an unwrapped
    file (a paragraph a line) are the file's own."""
    lines = [line for _, line in piece]
    if len(lines) == 1:
        i = piece[0][0]
        return raw[i] if "\f" not in raw[i] else lines[0], [(0, i)]
    out = _SPACES.sub(" ", lines[0].strip())
    if len(lines) > 1 and _indent(lines[1]) > _indent(lines[0]) and _is_term(lines[0], width) and out[-1] != ":":
        out += ":"
    starts = [(0, piece[0][0])]
    for i, line in piece[1:]:
        text = _SPACES.sub(" ", line.strip())
        if re.search(r"[a-z]-$", out) and text[:1].islower() and not re.search(r"\s[a-z]-$", out):
            out = out[:-1]
        else:
            out += " "
        starts.append((len(out), i))
        out += text
    return out, starts
