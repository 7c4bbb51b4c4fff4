"""Whether a folder's terms hold a term, as a reader would judge it: accents aside, a slip of the keys aside.

"Maori" is mentioned by a text that writes "Māori", "Moncalm" by one that writes "Montcalm"; "SAVEHIST" is
not mentioned by a manual that never writes it. Terms are keyword.tokenize's (lower-cased, stemmed).

>>> mentioned("maori", ["māori", "whale"]), mentioned("moncalm", ["montcalm"]), mentioned("savehist", ["histsiz"])
(True, True, False)
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Sequence

__all__ = ["fold", "typos_allowed", "mentioned", "Folded"]


def fold(term: str) -> str:
    """`term` without its accents: "céloron" -> "celoron"."""
    if term.isascii():
        return term
    return "".join(ch for ch in unicodedata.normalize("NFKD", term) if not unicodedata.combining(ch))


def typos_allowed(term: str) -> int:
    """Edits (a letter changed, added, dropped, or two swapped) that still count as the same word.

    Short words and numbers allow none: "1.35" is not "1.34", nor "QUIC" "QUIT".
    """
    if any(ch.isdigit() for ch in term) or len(term) <= 4:
        return 0
    return 1 if len(term) <= 7 else 2


def _near(term: str, candidates: Sequence[str]) -> bool:
    edits = typos_allowed(term)
    if not edits or not candidates:
        return False
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    return process.extractOne(term, candidates, scorer=OSA.distance, score_cutoff=edits) is not None


class Folded:
    """The accented terms of a vocabulary, folded: what a question typed without accents can match."""

    def __init__(self, terms: Iterable[str]) -> None:
        self.terms = sorted({fold(t) for t in terms if not t.isascii()})
        self._set = frozenset(self.terms)

    def __contains__(self, term: str) -> bool:
        return term in self._set


def mentioned(
    term: str,
    terms: Sequence[str],
    has: Callable[[str], bool] | None = None,
    folded: Folded | None = None,
) -> bool:
    """Whether `terms` hold `term`, its accent-free form, or a word a typo or two away from either.

    `has(term)` answers the exact question faster where the caller has a lookup; `folded`, the accented
    terms folded, is built from `terms` when not given.
    """
    has = has or set(terms).__contains__
    if has(term):
        return True
    plain = fold(term)
    if plain != term and has(plain):
        return True
    folded = folded if folded is not None else Folded(terms)
    return plain in folded or _near(plain, terms) or _near(plain, folded.terms)
