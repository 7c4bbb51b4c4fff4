"""SQuAD's answer-phrase scores: exact match and token F1 after its normalisation.

normalize("The  Normans!")             # -> "normans"
f1_score("in northern France", "France")   # -> 0.5
"""

from __future__ import annotations

import re
import string
from collections import Counter

__all__ = ["normalize", "exact_match", "f1_score"]

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation)


def normalize(text: str) -> str:
    """Lower case, no punctuation, no articles, single spaces (the official SQuAD script's rule)."""
    return " ".join(_ARTICLES.sub(" ", text.lower().translate(_PUNCT)).split())


def exact_match(guess: str, gold: str) -> float:
    return float(normalize(guess) == normalize(gold))


def f1_score(guess: str, gold: str) -> float:
    guess_tokens, gold_tokens = normalize(guess).split(), normalize(gold).split()
    common = sum((Counter(guess_tokens) & Counter(gold_tokens)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(guess_tokens), common / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)
