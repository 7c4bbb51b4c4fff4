"""A question that asks the opposite of what the articles say: "the lowest court" of an article on the highest.

    opposite("What is the lowest court in the EU?", "The Court of Justice is the highest court able to ...")
    -> ("lowest court", "highest court")

The sentence that best answers the question holds the question's words but one, in its place the word's
opposite, next to the same word ("court"), which is not a stop word. Opposites are the pairs of a fixed
list of adjectives and adverbs (lowest / highest, least / most, smaller / larger, eastern / western, men /
women...), and a word against the same word with a negating prefix ("unencrypted" / "encrypted",
"non-binary" / "binary"; not in a question that itself says "not", "no" or "never"). The question's word
is nowhere in the sentence, and the question does not hold the opposite too ("more or less"). Then the
articles answer another question than the one asked: it is not answered.
"""

from __future__ import annotations

import re

from ..index.keyword import STOPWORDS_EN

__all__ = ["opposite"]

_PAIRS = """
highest lowest, higher lower, most least, more less, largest smallest, larger smaller, biggest smallest,
bigger smaller, greatest least, greater lesser, increasing decreasing, increase decrease, increased decreased,
first last, earliest latest, earlier later, maximum minimum, major minor, best worst, better worse,
oldest youngest, older younger, oldest newest, longest shortest, longer shorter, north south, east west,
northern southern, eastern western, won lost, win lose, positive negative, inner outer, upper lower,
rise fall, strong weak, stronger weaker, strongest weakest, public private, internal external, import export,
imports exports, success failure, successful unsuccessful, legal illegal, common rare, top bottom,
cheapest dearest, fastest slowest, faster slower, hottest coldest, warmest coldest, wettest driest,
allowed forbidden, accepted rejected, supported opposed, light heavy, lighter heavier, direct indirect,
natural artificial, ancient modern, urban rural, male female, men women, richest poorest, rich poor
"""
_OPPOSITES: dict[str, set[str]] = {}
for _pair in _PAIRS.split(","):
    _a, _b = _pair.split()
    _OPPOSITES.setdefault(_a, set()).add(_b)
    _OPPOSITES.setdefault(_b, set()).add(_a)

_STOP = STOPWORDS_EN | {"from", "its", "than", "were"}  # the keyword index's stop words, and a few more
_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_NEGATING = ("non-", "non", "un", "in", "im", "il", "ir", "dis")  # prefixes: "unencrypted", "non-binary"
_NEGATIONS = frozenset("not no never nor non t".split())  # "t": the end of "didn't" as the words split


def _negates(word: str, other: str) -> bool:
    """Whether `word` is `other` with a negating prefix (the rest four letters or more): "unofficially"."""
    return len(other) >= 4 and any(word == prefix + other for prefix in _NEGATING)


def opposite(question: str, sentence: str) -> tuple[str, str] | None:
    """(what the question asks, what the sentence says instead), each the word with its shared neighbour; None
    when the sentence does not say the opposite of the question.

    >>> opposite("What is the lowest court in the EU?", "The Court of Justice is the highest court of the EU.")
    ('lowest court', 'highest court')
    >>> opposite("When do autoimmune diseases strike men?", "Some diseases strike women more often.")
    ('strike men', 'strike women')
    >>> opposite("What is the highest court?", "The highest court sits in Luxembourg; the lowest, elsewhere.")
    >>> opposite("Where did water east of the basin flow?", "Water on the west side flowed to the Pacific.")
    >>> opposite("What is needed to view unencrypted content?", "To view the encrypted content a card is needed.")
    ('unencrypted content', 'encrypted content')
    """
    asked = _WORD.findall(question.lower())
    said = _WORD.findall(sentence.lower())
    asked_set, said_set = set(asked), set(said)
    prefixes = not asked_set & _NEGATIONS
    for i, word in enumerate(asked):
        if word in said_set:
            continue
        others = _OPPOSITES.get(word, set())
        if others & asked_set:
            continue
        before = asked[i - 1] if i else None
        after = asked[i + 1] if i + 1 < len(asked) else None
        for j, other in enumerate(said):
            if other in asked_set:
                continue
            if other not in others and not (prefixes and (_negates(word, other) or _negates(other, word))):
                continue
            if after and after not in _STOP and j + 1 < len(said) and said[j + 1] == after:
                return f"{word} {after}", f"{other} {after}"
            if before and before not in _STOP and j and said[j - 1] == before:
                return f"{before} {word}", f"{before} {other}"
    return None
