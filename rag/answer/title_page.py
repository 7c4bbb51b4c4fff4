"""A title page's labels: who edited, wrote, illustrated or translated the article, and when it came out.

A specification's or a book's first page says these things as labels with a value beside or under them
("Editors:" over "Michael C. Fanning (mikefan@microsoft.com), Microsoft"; "Illustrator: C. Fleming
Williams"; "Release date: August 23, 2019 [EBook #60153]"), which a reader trained on prose reads poorly:
asked who edited the specification, it answers with a chair named just above. So a question about the
article itself is answered by the value of the label it names, when a passage of the title page has one.

    span = labelled("Who edited that specification?", text)   # (start, end) of the value in `text`, or None
"""

from __future__ import annotations

import re

from .question import asks_who

__all__ = ["labelled"]

# what the question asks -> the labels a title page gives it under
_WHO_LABELS = [
    (re.compile(r"\bedit", re.I), r"editors?|edited\s+by"),
    (re.compile(r"\b(?:wrote|written|authored|author)\b", re.I), r"authors?|written\s+by"),
    (re.compile(r"\billustrat", re.I), r"illustrators?|illustrated\s+by|illustrations\s+by"),
    (re.compile(r"\btranslat", re.I), r"translators?|translated\s+by"),
    (re.compile(r"\bpublish", re.I), r"publishers?|published\s+by"),
]
_WHEN_LABELS = r"release\s+date|publication\s+date|date\s+of\s+publication|published|date|issued|adopted|posted"
_NAME_END = re.compile(r"\s*[(,;\[<]|\s+-\s")  # a name's e-mail, affiliation or note after it
_DATE_END = re.compile(r"\s*[(\[<;]")


def labelled(question: str, text: str) -> tuple[int, int] | None:
    """The span in `text` of the value of the label `question` asks about ("Editors:" for "Who edited it?",
    "Release date:" for "When was it published?"), the first such; None when `text` has no such label.

    >>> page = "SARIF 2.1.0\\n\\nChairs:\\n\\nDavid Keaton, Member\\n\\nEditors:\\n\\nMichael C. Fanning (m@x.com), X"
    >>> a, b = labelled("Who edited that specification?", page)
    >>> page[a:b]
    'Michael C. Fanning'
    >>> page = "Title: Winter Sports\\n\\nAuthor: E. F. Benson\\n\\nRelease date: August 23, 2019 [EBook #60153]"
    >>> [page[a:b] for a, b in (labelled(q, page) for q in ["Who wrote it?", "When was it published?"])]
    ['E. F. Benson', 'August 23, 2019']
    """
    if asks_who(question):
        labels = next((names for asks, names in _WHO_LABELS if asks.search(question)), None)
        end = _NAME_END
    else:
        labels, end = _WHEN_LABELS, _DATE_END
    if labels is None:
        return None
    found = re.search(rf"(?im)^[ \t]*(?:{labels})[ \t]*:[ \t]*(?:\n[ \t]*)*(\S[^\n]*)", text)
    if found is None:
        return None
    start = found.start(1)
    cut = end.search(found.group(1))
    stop = start + (cut.start() if cut and cut.start() > 0 else len(found.group(1).rstrip()))
    return start, stop
