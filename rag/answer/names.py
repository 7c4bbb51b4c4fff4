"""The names a question asks about that the articles never mention: then the articles cannot answer it.

"What is the default value of SAVEHIST in zsh?" over bash's manual finds passages about history
variables that read much like an answer, but the manual never writes "SAVEHIST": a reader of it would
say it does not tell. A name is what a question writes as one, after its first word: a capitalised word
("Reichenbach", "QUIC"), an identifier in mixed case ("nProbe"), a version ("1.35"), a number of two
digits or more ("2019", "443"), a word with digits ("lz4"). Plain words are not names: a question may
say "CPU" or "boil" where the article says "processor" or "cook". Accents and a typo are forgiven
(rag/index/mentions.py).

>>> names("Which QUIC libraries could curl use with nProbe 1.35 and lz4 in 2019, or in the 1990s?")
['QUIC', 'nProbe', '1.35', 'lz4', '2019']

A version or a number is asked of one article more than any other name: "What does ASVS 5.0 require?"
is not answered from the ASVS 4.0.3 standard, though another article mentions some "5.0", nor "What was
the budget for 2019?" from the report of 2017's. So the article that comes first must mention each
version, dotted number and number the question names.
"""

from __future__ import annotations

import re

from ..index.keyword import tokenize

__all__ = ["names", "versions", "unmentioned", "article_terms"]

_WORD = re.compile(r"\w+(?:[.\-/:+'’]\w+)*")
_VERSION = re.compile(r"\d+(?:\.\d+)+")
_NUMBER = re.compile(r"[0-9]{2,}")  # a year, a count, a port: "2019", "35", "443"
_PARTS = re.compile(r"[.\-/:+'’]")
_COUNTED = re.compile(r"\d+(?:st|nd|rd|th|s)", re.IGNORECASE)  # "25th", "1990s": said of numbers the text writes
NAME_LETTERS = 4  # a capitalised word shorter than this is too often an abbreviation ("Feb", "NY", "CPU")


def names(question: str) -> list[str]:
    """The words of `question` that name something (see the module's notes), in order, each once.

    In a question typed in capitals or in title case, capitals tell nothing: only versions and words with
    digits are names there.

    >>> names("WHAT IS SAVEHIST IN ZSH 5.9?"), names("What Is The Default Savehist In Zsh?")
    (['5.9'], [])
    """
    words = [m.group() for m in _WORD.finditer(question)]
    lower = sum(w[0].islower() for w in words)
    capitals_tell = lower >= 2 and lower * 4 >= len(words)
    found: list[str] = []
    for position, word in enumerate(words):
        if position == 0:  # "Which", "Where": any first word is capitalised
            continue
        if _VERSION.fullmatch(word) or _NUMBER.fullmatch(word):
            found.append(word)
            continue
        for part in _PARTS.split(word):  # "Romeo-and-Juliet", "Karpathy's": each part on its own
            letters = sum(ch.isalpha() for ch in part)
            if not part or _COUNTED.fullmatch(part):
                continue
            if any(ch.isdigit() for ch in part):
                if letters and len(part) >= 3:
                    found.append(part)
            elif capitals_tell and letters >= NAME_LETTERS and any(ch.isupper() for ch in part):
                found.append(part)
    return list(dict.fromkeys(found))


def article_terms(documents) -> frozenset[str]:
    """The terms of the articles' titles, file names and authors: a question may name an article by them
    ("Karpathy's guide" for karpathy-phd-guide.md) though its text never does.

    >>> sorted(article_terms([{"source": "notes/karpathy-guide.md", "title": "A PhD", "author": None}]))
    ['guid', 'karpathi', 'md', 'note', 'notes/karpathy-guide.md', 'phd']
    """
    terms: set[str] = set()
    for doc in documents:
        terms.update(tokenize(" ".join(str(doc.get(key) or "") for key in ("title", "source", "author"))))
    return frozenset(terms)


def versions(question: str) -> list[str]:
    """The versions, dotted numbers and numbers `question` names: each is asked of one article.

    >>> versions("Does ASVS 5.0 still ask for 12 characters in Widget?")
    ['5.0', '12']
    """
    return [name for name in names(question) if _VERSION.fullmatch(name) or _NUMBER.fullmatch(name)]


def unmentioned(question: str, mentions, versions_only: bool = False) -> list[str]:
    """The names in `question` that `mentions(term)` (the store's) says no passage holds; with
    `versions_only`, only its versions, dotted numbers and numbers ("5.0", "8.7", "2019").

    >>> unmentioned("Does ASVS 5.0 still ask for 12 characters?", {"asv", "4.0.3", "12"}.__contains__, True)
    ['5.0']
    """
    missing = []
    for name in versions(question) if versions_only else names(question):
        terms = tokenize(name)
        if terms and not mentions(terms[0]):
            missing.append(name)
    return missing
