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

A name of several capitalised words ("Xbox Series X", "The Hollow Men") is one name: articles that
write "Xbox One X" and, elsewhere, "a series of tests" do not mention it. Its words must stand together
(within PHRASE_GAP words, in either order: "Fort William Henry", "CEO of Goldman Sachs") in some passage.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Iterable

from ..index.keyword import tokenize

__all__ = [
    "names",
    "versions",
    "unmentioned",
    "article_terms",
    "article_titles",
    "titled",
    "phrases",
    "written_together",
    "unwritten",
]

_WORD = re.compile(r"\w+(?:[.\-/:+'’]\w+)*")
_VERSION = re.compile(r"\d+(?:\.\d+)+")
_NUMBER = re.compile(r"[0-9]{2,}")  # a year, a count, a port: "2019", "35", "443"
_PARTS = re.compile(r"[.\-/:+'’]")
_COUNTED = re.compile(r"\d+(?:st|nd|rd|th|s)", re.IGNORECASE)  # "25th", "1990s": said of numbers the text writes
NAME_LETTERS = 4  # a capitalised word shorter than this is too often an abbreviation ("Feb", "NY", "CPU")
PHRASE_GAP = 3  # the words of a name of several words stand at most this far apart in a passage that writes it
_POSSESSIVE = re.compile(r"['’]s?$")
_TITLE_WORD = re.compile(r"\w+")
TITLE_WORDS = 2  # words of three letters or more that a title must hold to name its article in a question


def names(question: str) -> list[str]:
    """The words of `question` that name something (see the module's notes), in order, each once.

    In a question typed in capitals or in title case, capitals tell nothing: only versions and words with
    digits are names there.

    >>> names("WHAT IS SAVEHIST IN ZSH 5.9?"), names("What Is The Default Savehist In Zsh?")
    (['5.9'], [])
    """
    words = [m.group() for m in _WORD.finditer(question)]
    capitals_tell = _capitals_tell(words)
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


def _capitals_tell(words: list[str]) -> bool:
    """Whether capitals mark names in a question of `words`: not when it is typed in capitals or title case."""
    lower = sum(w[0].islower() for w in words)
    return lower >= 2 and lower * 4 >= len(words)


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


def article_titles(documents) -> dict[str, dict[str, list[str]]]:
    """The articles' titles that may name them in a question, as titled() compares them (lower case, words
    only), each with the sources of the articles bearing it, filed under the title's first word. A title of
    one word, or of short words only ("Chapter I"), is too often a plain word of a question: it must hold
    TITLE_WORDS words of three letters or more.

    >>> article_titles([{"source": "w.epub", "title": "The Waste Land"}, {"source": "c.txt", "title": "CHAPTER I"}])
    {'the': {'the waste land': ['w.epub']}}
    """
    titles: dict[str, dict[str, list[str]]] = {}
    for doc in documents:
        words = _TITLE_WORD.findall(str(doc.get("title") or "").lower())
        if sum(len(w) >= 3 for w in words) >= TITLE_WORDS:
            titles.setdefault(words[0], {}).setdefault(" ".join(words), []).append(str(doc["source"]))
    return titles


def titled(question: str, titles: dict[str, dict[str, list[str]]]) -> str | None:
    """The source of the one article whose title (of `titles`, article_titles') `question` writes out whole
    ("Where was the author of 'My Decade in Review' born?"), case and punctuation aside; None when none
    does, or several. Where two titles are written, the longer one names the article when it holds the
    other ("Romeo and Juliet" within "Notes on Romeo and Juliet"); a question naming two articles names
    neither. Only the titles starting with a word of the question are compared with it.

    >>> docs = [{"source": "w", "title": "The Waste Land"}, {"source": "r", "title": "Romeo and Juliet"}]
    >>> titles = article_titles(docs)
    >>> titled("To whom did Eliot dedicate The Waste Land?", titles), titled("Is it Romeo and Juliet's?", titles)
    ('w', 'r')
    """
    words = _TITLE_WORD.findall(question.lower())
    asked = f" {' '.join(words)} "
    found = {t: sources for w in set(words) for t, sources in titles.get(w, {}).items() if f" {t} " in asked}
    if not found:
        return None
    longest = max(found, key=len)
    if len(found[longest]) > 1 or not all(f" {t} " in f" {longest} " for t in found):
        return None  # two articles of that title, or a question naming two articles
    return found[longest][0]


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


def phrases(question: str) -> list[str]:
    """The names of several words in `question`: runs of capitalised words (after its first word), apart
    from digits, and from words parted by punctuation or a possessive ("Iqbal's Allahabad" is two names).

    >>> phrases("Did T.S. Eliot publish The Hollow Men before the Xbox Series X, or Iqbal's Allahabad address?")
    ['The Hollow Men', 'Xbox Series X']
    """
    found = list(_WORD.finditer(question))
    words = [m.group() for m in found]
    if not _capitals_tell(words):
        return []
    runs: list[list[int]] = []  # positions of the words of each run
    for i, (m, word) in enumerate(zip(found, words, strict=True)):
        if i == 0 or not word[0].isupper() or any(ch.isdigit() for ch in word):
            continue
        joined = (
            bool(runs)
            and runs[-1][-1] == i - 1
            and question[found[i - 1].end() : m.start()] == " "
            and not _POSSESSIVE.search(words[i - 1])
        )
        if joined:
            runs[-1].append(i)
        else:
            runs.append([i])
    return [" ".join(words[i] for i in run) for run in runs if len(run) >= 2]


def written_together(terms: list[str], text: str, gap: int = PHRASE_GAP) -> bool:
    """Whether `text` holds each two consecutive `terms` (keyword.tokenize's) at most `gap` words apart.

    >>> written_together(["fort", "henri"], "the siege of Fort William Henry"), written_together(
    ...     ["hollow", "men"], "men of the valley walked down many a long hollow road")
    (True, False)
    """
    at: dict[str, list[int]] = {}
    for position, term in enumerate(tokenize(text)):
        at.setdefault(term, []).append(position)
    return all(
        any(abs(i - j) <= gap for i in at.get(a, ()) for j in at.get(b, ())) for a, b in itertools.pairwise(terms)
    )


def unwritten(
    question: str,
    held: Callable[[str], bool],
    passages: Callable[[list[str]], Iterable[str]],
    named: frozenset[str] = frozenset(),
) -> list[str]:
    """The names of several words in `question` whose words the articles hold, each (`held(term)`, exactly),
    but never together: no text of `passages(terms)` (the passages that best match them) writes them so.

    A name with a word no article holds is left to `unmentioned`, which forgives a typo; a name whose words
    are all in `named` (article_terms: titles, file names, authors) may name an article by its title.

    >>> texts = ["The Xbox One X is fast.", "A series of tests."]
    >>> unwritten("What did the Xbox Series X cost?", lambda t: t in {"xbox", "seri"}, lambda terms: texts)
    ['Xbox Series X']
    """
    missing = []
    held = functools.cache(held)  # a word of two spellings, or of two names, is looked up once
    for phrase in phrases(question):
        if not any(_written(terms, held, passages, named) for terms in _spellings(phrase, held)):
            missing.append(phrase)
    return missing


def _written(
    terms: list[str],
    held: Callable[[str], bool],
    passages: Callable[[list[str]], Iterable[str]],
    named: frozenset[str],
) -> bool:
    """Whether the name of `terms` counts as written: some passage holds them together, or the rule is not for it."""
    if len(terms) < 2 or set(terms) <= named or not all(held(term) for term in terms):
        return True
    return any(written_together(terms, text) for text in passages(terms))


def _spellings(phrase: str, held: Callable[[str], bool]) -> list[list[str]]:
    """The terms of `phrase` as written, and with two words joined where the articles write them as one."""
    spellings = [list(dict.fromkeys(tokenize(phrase)))]
    joined = _joined(phrase, held)
    if joined != phrase:
        spellings.append(list(dict.fromkeys(tokenize(joined))))
    return spellings


def _joined(phrase: str, held: Callable[[str], bool]) -> str:
    """`phrase` with two words written as one where the articles write them so ("Sky Drive" -> "SkyDrive").

    >>> _joined("Sky Drive Pro", {"skydriv"}.__contains__), _joined("Sky Drive Pro", {"sky"}.__contains__)
    ('SkyDrive Pro', 'Sky Drive Pro')
    """
    words = phrase.split(" ")
    out = [words[0]]
    for word in words[1:]:
        one = tokenize(out[-1] + word)
        if len(one) == 1 and held(one[0]):
            out[-1] += word
        else:
            out.append(word)
    return " ".join(out)
