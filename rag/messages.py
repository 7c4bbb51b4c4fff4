"""Messages for a person that several commands and the web chat share; no heavy imports.

`update_summary` is the line `rag index` prints, printed by `rag serve` too.

>>> from rag.index.report import IndexReport
>>> update_summary(IndexReport(added=2, passages_embedded=32, passages_total=32, seconds=3.04))
'2 added, 0 updated, 0 removed, 0 unchanged; 32 passages embedded, 32 in the index (3.0 s).'
"""

from __future__ import annotations

from pathlib import Path

from .ingest.readers import named_types

__all__ = ["changes", "update_summary", "no_articles", "never_mentioned", "says_otherwise", "why_not_answered"]


def changes(report) -> str:
    """The articles an update added, changed and removed: "2 added, 0 updated, 0 removed"."""
    return f"{report.added} added, {report.updated} updated, {report.removed} removed"


def update_summary(report, detail: bool = False) -> str:
    """What an update did, for a person: articles added, changed, removed, kept; passages embedded.

    With `detail` (`rag index`), also what came from the vector cache and the rate.
    """
    cached = report.passages_cached + report.sentences_cached if detail else 0
    from_cache = f" ({cached} passages and sentences from the vector cache)" if cached else ""
    rate = f"; {report.texts_per_second:.0f} texts/s" if detail and report.texts_per_second else ""
    return (
        f"{changes(report)}, {report.unchanged} unchanged; "
        f"{report.passages_embedded} passages embedded{from_cache}, {report.passages_total} in the index "
        f"({report.seconds:.1f} s{rate})."
    )


def no_articles(corpus: Path, skipped: int = 0) -> str:
    """What to say when there is nothing to answer from.

    >>> no_articles(Path("corpus")).split(": ")[1]
    'put .txt, .md, .html, .pdf, .docx or .epub files there, or run `rag add FILE`.'
    """
    other = f" ({skipped} other file(s) could not be used: `rag index` says why)" if skipped else ""
    return (
        f"there are no articles in {str(corpus)!r} yet{other}: put {named_types()} files there, or run `rag add FILE`."
    )


def never_mentioned(names, article: str | None = None) -> str:
    """Why a question was not answered, when it names what no article mentions, or what the `article`
    closest to it never mentions (a version); "" when it names nothing so.

    >>> never_mentioned(["SAVEHIST", "zsh"])
    'The articles never mention “SAVEHIST” or “zsh”.'
    >>> never_mentioned(["5.0"], "asvs-4.0.3.docx")
    'The closest article, asvs-4.0.3.docx, never mentions “5.0”.'
    """
    quoted = [f"“{n}”" for n in names]
    if not quoted:
        return ""
    listed = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    if article:
        return f"The closest article, {article}, never mentions {listed}."
    return f"The articles never mention {listed}."


def says_otherwise(contrary: tuple[str, str]) -> str:
    """Why a question was not answered, when the closest sentence says the opposite of what it asks.

    >>> says_otherwise(("lowest court", "highest court"))
    'The closest passage speaks of the “highest court”, not the “lowest court”.'
    """
    asked, said = contrary
    return f"The closest passage speaks of the “{said}”, not the “{asked}”."


def why_not_answered(answer) -> str:
    """The reason given for a question not answered, when there is one: names no article mentions, or a
    sentence that says the opposite; "" otherwise."""
    if answer.unmentioned:
        return never_mentioned(answer.unmentioned, answer.unmentioned_in)
    if answer.opposite:
        return says_otherwise(answer.opposite)
    return ""
