"""Which release did it: in release notes, the answer is the version in the heading of the matching line.

A NEWS file or a changelog lists each release's changes under a heading that names the release
("version 1.31 - Sergey Poznyakoff, 2019-01-02", "man-db 2.11.1 (15 November 2022)"). Asked "Which
release added zstd support?", the line that matches ("* Support for zstd compression") names no
version; the reader, trained on prose, then takes some other version near it ("Bug introduced in
1.28"). So for a question asking which release or version, when the sentence that best matches it
names no version and sits under a heading that does, that version is the answer.

    span = heading_version(structure, passage_start, passage_text, sentence)   # (start, end) or None
"""

from __future__ import annotations

import re

from ..index.keyword import tokenize
from ..ingest.citation import section_at

__all__ = ["ASKS_RELEASE", "asks_release", "heading_version", "names_its_release", "VERSION"]

ASKS_RELEASE = re.compile(
    r"^\s*(?:in\s+)?(?:which|what)\s+"
    r"(?:(?!(?:did|does|do|is|was|were|are|has|have|had|the|a|an)\b)[\w.+-]+\s+){0,2}"  # "GNU tar", "man-db"
    r"(?:version|release)s?\b",
    re.I,
)
VERSION = re.compile(r"\b\d+(?:\.\d+)+[a-z]?\b")


def asks_release(question: str) -> bool:
    """Whether `question` asks which release or version.

    >>> [asks_release(q) for q in ["Which GNU tar release added zstd?", "In which version was it removed?"]]
    [True, True]
    >>> [asks_release(q) for q in ["What did the release add?", "Which option turns it off?"]]
    [False, False]
    """
    return ASKS_RELEASE.search(question) is not None


def names_its_release(question: str, sentence: str, title: str) -> bool:
    """Whether `sentence` names a version and shares a word with `question` other than the words of the
    article's `title` and "release" or "version": the sentence itself says which release.

    >>> names_its_release("Which tar release introduced --one-top-level?", "It was introduced in 1.28.", "tar NEWS")
    True
    >>> names_its_release("Which tar release added zstd?", "Bug introduced in 1.28.", "tar NEWS")
    False
    """
    if not VERSION.search(sentence):
        return False
    asked = set(tokenize(question)) - set(tokenize(title)) - {"releas", "version"}
    return bool(asked & set(tokenize(sentence)))


def heading_version(structure: dict | None, start: int, text: str, sentence: tuple[int, int]) -> tuple[int, int] | None:
    """The span, within the passage `text` (at `start` in its article), of the version named by the nearest
    heading above `sentence` that names one; None when the sentence names a version itself, when no
    heading above it does, or when that heading is not in the passage.

    >>> text = "version 1.31 - 2019-01-02\\n\\n* Support for zstd compression\\n\\n* Bug introduced in 1.28."
    >>> structure = {"headings": [[100, 1, "version 1.31 - 2019-01-02"]]}
    >>> span = heading_version(structure, 100, text, (27, 57))
    >>> text[span[0] : span[1]]
    '1.31'
    >>> heading_version(structure, 100, text, (61, 85)) is None  # the sentence names its own version
    True
    """
    if not isinstance(structure, dict) or VERSION.search(text, *sentence):
        return None
    headings = [h for h in structure.get("headings") or [] if h[0] <= start + sentence[0]]
    path = section_at(headings, start + sentence[0])
    for title in reversed(path):  # the innermost heading that names a version
        found = VERSION.search(title)
        if found is None:
            continue
        at = max(h[0] for h in headings if h[2] == title) - start
        if at < 0:
            return None  # the heading is before the passage: nothing in it to point at
        where = text.find(found.group(), at, sentence[0])
        return (where, where + len(found.group())) if where >= 0 else None
    return None
