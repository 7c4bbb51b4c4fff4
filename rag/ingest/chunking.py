"""Document text -> passages: sentence-aware, paragraph-respecting, with overlap.

Every passage is a span of the source text, so `text[start:end]` is always
exactly the passage, overlapping ones included.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from typing import NamedTuple

__all__ = ["Span", "sentence_spans", "passage_spans", "paragraphs"]

_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n\s*")
_LINE = re.compile(r"[^\n]+")
_WORD_END = re.compile(r"\S+")


class Span(NamedTuple):
    start: int
    end: int
    paragraph: int


def sentence_spans(text: str) -> list[Span]:
    """Sentences of `text`, each a span trimmed of surrounding white space.

    Paragraphs are separated by blank lines, and a line break always ends a
    sentence (headings and by-lines stand alone).

    >>> [text[s:e] for text in ["One. Two!\\n\\nThree"] for s, e, _ in sentence_spans(text)]
    ['One.', 'Two!', 'Three']
    """
    spans: list[Span] = []
    for number, (p_start, p_end) in enumerate(paragraphs(text)):
        for line in _LINE.finditer(text, p_start, p_end):
            for start, end in _split_line(line.group()):
                spans.append(Span(line.start() + start, line.start() + end, number))
    return spans


def passage_spans(
    text: str, size: int, overlap: int, headings: Sequence[tuple[int, int]] = ()
) -> list[tuple[int, int]]:
    """Pack sentences into passages of about `size` characters.

    A passage ends early at a paragraph break once it is half full, and never
    with a heading (`headings`: their spans in `text`), which starts the next
    passage instead; where it would end a few lines before the end of its
    section (or of the text), it takes them too, up to a quarter over `size`. The next passage
    repeats trailing sentences of the previous one (up to `overlap`
    characters, same paragraph only, never in front of a heading), starting
    no later than a sentence that introduces what follows it (ending in a
    colon: a term before its description, "he said:"). A sentence longer than
    `size` is cut at white space.

    >>> passage_spans("A a. B b. C c.", size=10, overlap=4)
    [(0, 9), (5, 14)]
    >>> passage_spans("Body text.\\n\\nNext\\n\\nMore body text here.", size=30, overlap=0, headings=[(12, 16)])
    [(0, 10), (12, 38)]
    >>> passage_spans("First.\\n* Last item\\nversion 2\\n* New item.", size=22, overlap=12, headings=[(19, 28)])
    [(0, 18), (19, 40)]
    """
    sents = _fit(sentence_spans(text), text, size)
    heads = sorted(headings)
    head_starts = [h[0] for h in heads]

    def in_heading(sent: Span) -> bool:
        k = bisect.bisect_right(head_starts, sent.start) - 1
        return k >= 0 and sent.start < heads[k][1]

    def leads_in(sent: Span) -> bool:
        """A sentence that introduces what follows it ("-N, --no-fuzzy:", "as follows:")."""
        return text[sent.end - 1] == ":"

    # the last sentence of each sentence's section (the last before a heading or the end of the text)
    section_end = list(range(len(sents)))
    for k in range(len(section_end) - 2, -1, -1):
        if not in_heading(sents[k + 1]):
            section_end[k] = section_end[k + 1]

    passages: list[tuple[int, int]] = []
    i = 0
    while i < len(sents):
        start, j = sents[i].start, i
        while j + 1 < len(sents):
            nxt = sents[j + 1]
            if nxt.end - start > size or (nxt.paragraph != sents[j].paragraph and sents[j].end - start >= size // 2):
                if sents[section_end[j + 1]].end - start <= size + size // 4:
                    j = section_end[j + 1]  # the last few lines of a section stay with it, rather than lead the next
                break
            j += 1
        if j + 1 < len(sents):
            while j > i and in_heading(sents[j]):
                j -= 1
        passages.append((start, sents[j].end))
        if j + 1 == len(sents):
            break
        back = j + 1
        while (
            back - 1 > i
            and sents[j].end - sents[back - 1].start <= overlap
            and sents[back - 1].paragraph == sents[j + 1].paragraph
        ):
            back -= 1
        if in_heading(sents[j + 1]):
            back = j + 1  # a section starts with its heading: nothing of the section before is repeated
        elif back > j and j > i and leads_in(sents[j]):
            back = j  # what a passage's last sentence introduces comes with it in the next
        elif i < back - 1 and back <= j and leads_in(sents[back - 1]):
            back -= 1  # and so does the sentence introducing the repeated text
        i = back
    return passages


def paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each paragraph of `text`: the runs between blank lines."""
    bounds, pos = [], 0
    for brk in _PARAGRAPH_BREAK.finditer(text):
        bounds.append((pos, brk.start()))
        pos = brk.end()
    bounds.append((pos, len(text)))
    return [(s, e) for s, e in bounds if text[s:e].strip()]


def _split_line(line: str) -> list[tuple[int, int]]:
    """Sentence offsets within one line of text, trimmed; falls back to the whole line."""
    import blingfire

    _, offsets = blingfire.text_to_sentences_and_offsets(line)
    spans, last = [], 0
    for start, end in offsets:
        if not (last <= start < end <= len(line)):
            return [_trim(line, 0, len(line))]  # offsets we cannot trust: keep the line whole
        start, end = _trim(line, start, end)
        if start < end:
            spans.append((start, end))
            last = end
    return spans or [_trim(line, 0, len(line))]


def _trim(s: str, start: int, end: int) -> tuple[int, int]:
    while start < end and s[start].isspace():
        start += 1
    while end > start and s[end - 1].isspace():
        end -= 1
    return start, end


def _fit(sents: list[Span], text: str, size: int) -> list[Span]:
    """Cut sentences longer than `size` into pieces at white space."""
    out: list[Span] = []
    for s in sents:
        start = s.start
        while s.end - start > size:
            cut = start
            for word in _WORD_END.finditer(text, start, start + size):
                cut = word.end()
            if cut <= start:  # one word longer than size: cut it hard
                cut = start + size
            out.append(Span(start, cut, s.paragraph))
            start = cut
            while start < s.end and text[start].isspace():
                start += 1
        if start < s.end:
            out.append(Span(start, s.end, s.paragraph))
    return out
