"""Messages for a person that several commands and the web chat share; no heavy imports.

`update_summary` is the line `rag index` prints, printed by `rag serve` too.

>>> from rag.index.indexer import IndexReport
>>> update_summary(IndexReport(added=2, passages_embedded=32, passages_total=32, seconds=3.04))
'2 added, 0 updated, 0 removed, 0 unchanged; 32 passages embedded, 32 in the index (3.0 s).'
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["update_summary", "no_articles"]


def update_summary(report) -> str:
    """What an update did, for a person: articles added, changed, removed, kept; passages embedded."""
    return (
        f"{report.added} added, {report.updated} updated, {report.removed} removed, {report.unchanged} unchanged; "
        f"{report.passages_embedded} passages embedded, {report.passages_total} in the index ({report.seconds:.1f} s)."
    )


def no_articles(corpus: Path, skipped: int = 0) -> str:
    """What to say when there is nothing to answer from.

    >>> no_articles(Path("corpus"))
    "there are no articles in 'corpus' yet: put .txt, .md, .html, .pdf or .docx files there, or run `rag add FILE`."
    """
    other = f" ({skipped} other file(s) could not be used: `rag index` says why)" if skipped else ""
    return (
        f"there are no articles in {str(corpus)!r} yet{other}: "
        "put .txt, .md, .html, .pdf or .docx files there, or run `rag add FILE`."
    )
