"""Whether a folder's terms hold a term, as a reader would judge it: accents aside, a slip of the keys aside.

"Maori" is mentioned by a text that writes "Māori", "Moncalm" by one that writes "Montcalm"; "SAVEHIST" is
not mentioned by a manual that never writes it. Terms are keyword.tokenize's (lower-cased, stemmed).

>>> words = Vocabulary(["māori", "montcalm", "histsiz"])
>>> words.mentions("maori"), words.mentions("moncalm"), words.mentions("savehist")
(True, True, False)
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Callable, Sequence

__all__ = ["fold", "typos_allowed", "Vocabulary"]


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


class Vocabulary:
    """A folder's terms, asked whether they mention a term.

    `has(term)` answers the exact question where the caller has a faster lookup than a set of `terms`.
    Near misses are looked for among the terms of about the same length that share the first or the
    last letter, grouped when first needed: a typo elsewhere in the word, as most are.
    """

    def __init__(self, terms: Sequence[str], has: Callable[[str], bool] | None = None) -> None:
        self.terms = terms
        self._has = has or frozenset(terms).__contains__
        self._groups: dict[tuple[int, str], list[str]] | None = None
        self._folded: frozenset[str] = frozenset()

    def mentions(self, term: str) -> bool:
        """Whether the terms hold `term`, its accent-free form, or a word a typo or two away from either."""
        if self._has(term):
            return True
        plain = fold(term)
        if plain != term and self._has(plain):
            return True
        groups = self._group()
        if plain in self._folded:
            return True
        edits = typos_allowed(plain)
        if not edits:
            return False
        near: set[str] = set()
        for length in range(len(plain) - edits, len(plain) + edits + 1):
            near.update(groups.get((length, plain[0]), ()), groups.get((length, "$" + plain[-1]), ()))
        if not near:
            return False
        from rapidfuzz import process
        from rapidfuzz.distance import OSA

        return process.extractOne(plain, near, scorer=OSA.distance, score_cutoff=edits) is not None

    def _group(self) -> dict[tuple[int, str], list[str]]:
        if self._groups is None:
            groups: dict[tuple[int, str], list[str]] = defaultdict(list)
            folded = set()
            for term in self.terms:
                plain = fold(term)
                if plain != term:
                    folded.add(plain)
                if plain:
                    groups[(len(plain), plain[0])].append(plain)
                    groups[(len(plain), "$" + plain[-1])].append(plain)
            self._folded, self._groups = frozenset(folded), dict(groups)
        return self._groups
