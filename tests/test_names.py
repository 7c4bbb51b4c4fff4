"""A question naming what no article mentions is not answered, and the answer says which names."""

from __future__ import annotations

import pytest

from rag.answer.names import names, phrases, unmentioned
from rag.index.keyword import KeywordIndex, tokenize
from rag.index.mentions import Vocabulary

TEXTS = [
    "Māori tribes have the right to harvest whales.",
    "Montcalm slipped away to attack Fort Oswego in 1756.",
    "GNU tar 1.34 added the --zstd option; QUIT ends the session.",
]


@pytest.mark.parametrize(
    "question, expected",
    [
        ("What is the default value of SAVEHIST in zsh?", ["SAVEHIST"]),  # plain lower-case words are not names
        ("Which release of GNU tar 1.35 changed it?", ["1.35"]),
        ("On which ZMQ port does nProbe export flows?", ["nProbe"]),  # three capitals are too often an abbreviation
        ("Can pg_dump compress with lz4 since the 1990s or on the 25th?", ["lz4"]),
        ("How much was Dan Abramov's Patreon raising?", ["Abramov", "Patreon"]),
        ("Where did Holmes meet Holmes?", ["Holmes"]),
        ("Sherlock lived where?", []),  # the first word is capitalised whatever it is
        ("How many died during 1620-21?", []),
    ],
)
def test_names_are_capitalised_words_identifiers_versions_and_words_with_digits(question, expected):
    assert names(question) == expected


@pytest.mark.parametrize(
    "question, expected",
    [
        ("What was the launch price of the Xbox Series X?", ["Xbox Series X"]),
        ("In what year did Eliot publish The Hollow Men?", ["The Hollow Men"]),
        ("What did Iqbal's Allahabad address inspire?", []),  # a possessive parts two names
        ("Who killed Begter, Temüjin's half-brother?", []),  # so does punctuation
        ("How did the 2001 IPCC report compare?", []),  # a number is a name of its own
        ("What Is The Launch Price Of The Xbox Series X?", []),  # in title case capitals tell nothing
        ("Xbox Series prices?", []),  # the first word is capitalised whatever it is
    ],
)
def test_a_name_of_several_words_is_a_run_of_capitalised_words(question, expected):
    assert phrases(question) == expected


@pytest.mark.parametrize(
    "word, found",
    [
        ("Maori", True),  # the text writes it with its accent
        ("Māori", True),
        ("Moncalm", True),  # one letter dropped
        ("Montclam", True),  # two letters swapped
        ("Oswgeo", True),
        ("Ghengis", False),
        ("1.34", True),
        ("1.35", False),  # a version is the version written, never a neighbour
        ("QUIC", False),  # a short word has to be exact: "QUIT" is another word
        ("harvested", True),  # stemmed as the text is
    ],
)
def test_the_index_mentions_a_word_with_its_accents_or_a_typo_but_not_a_neighbouring_version(word, found):
    index = KeywordIndex.build(TEXTS)
    assert index.mentions(tokenize(word)[0]) is found
    assert Vocabulary(index.terms).mentions(tokenize(word)[0]) is found  # the same without the index's lookups
    assert unmentioned(f"Is {word} mentioned in the articles at all?", index.mentions) == ([] if found else [word])


def test_a_question_naming_what_no_article_mentions_is_not_answered_and_says_which(engine):
    answer = engine.ask("What is the default value of SAVEHIST in Ojeda's zsh setup?")
    assert not answer.answered and answer.unmentioned == ("SAVEHIST",)
    assert answer.results, "the closest passages are still shown"
    assert answer.to_json()["unmentioned"] == ["SAVEHIST"]
    typed = engine.ask("What did Linus Torvals say?")  # a typo in a name the articles hold
    assert typed.unmentioned == ()


def test_a_name_only_in_an_article_s_file_name_or_title_counts_as_mentioned(engine, settings):
    (settings.corpus / "notes").mkdir()
    (settings.corpus / "notes" / "zorblat-bridge.md").write_text("# Harbour Notes\n\nThe bridge opened in 1932.\n")
    engine.update()
    assert engine.ask("When did the bridge in Zorblat's notes about the Harbour open?").unmentioned == ()
    assert engine.ask("When did the bridge in Quenthor's notes open?").unmentioned == ("Quenthor",)


def only_articles(engine, settings, articles: dict[str, str]) -> None:
    """The corpus holds `articles` (file name -> text) and nothing else, indexed."""
    for old in settings.corpus.iterdir():
        old.unlink()
    for name, text in articles.items():
        (settings.corpus / name).write_text(text)
    engine.update()


def test_a_version_the_closest_article_never_mentions_is_not_answered(engine, settings):
    manual = "# Widget 4.0 manual\n\nWidget 4.0 asks for passwords of at least eight characters.\n"
    news = "# Gadget news\n\nGadget 5.0 added a dark theme to the menus.\n"
    only_articles(engine, settings, {"widget-manual.md": manual, "gadget-news.md": news})
    answer = engine.ask("How long must passwords be in Widget 5.0?")
    assert answer.results[0].citation.source == "widget-manual.md"
    assert not answer.answered and answer.unmentioned == ("5.0",)
    assert answer.to_json()["unmentioned_in"] == "widget-manual.md"
    assert engine.ask("How long must passwords be in Widget 4.0?").unmentioned == ()
    assert engine.ask("How long must Widget passwords be?").unmentioned == ()


def test_a_year_or_number_the_closest_article_never_mentions_is_not_answered(engine, settings):
    budget = "# Our costs\n\nThe project will need about $2.9M to operate in 2017, most of it for staff.\n"
    history = "# History\n\nThe project started in 2019 with three people.\n"
    only_articles(engine, settings, {"budget.md": budget, "history.md": history})
    answer = engine.ask("How much will the project need to operate in 2021?")
    assert not answer.answered and answer.unmentioned == ("2021",)
    answer = engine.ask("How much will the project need to operate, most of it for staff, in 2019?")
    assert answer.results[0].citation.source == "budget.md"
    assert not answer.answered and answer.unmentioned == ("2019",)
    assert answer.to_json()["unmentioned_in"] == "budget.md"
    assert engine.ask("How much will the project need to operate in 2017?").unmentioned == ()
    answer = engine.ask("When did the project start, with 35 people?")
    assert answer.results[0].citation.source == "history.md"
    assert not answer.answered and answer.unmentioned == ("35",)


def test_a_name_of_several_words_the_articles_never_write_together_is_not_answered(engine, settings):
    review = "# Console review\n\nThe Xbox One X came at $499, with a series of games, a drive and a SkyDrive app.\n"
    poems = "# Poems\n\nThe men of the valley walked down many a long hollow road. Eliot wrote of Fort William Henry.\n"
    only_articles(engine, settings, {"review.md": review, "poems.md": poems})
    answer = engine.ask("What was the launch price of the Xbox Series X?")
    assert not answer.answered and answer.unmentioned == ("Xbox Series X",)
    assert answer.results, "the closest passages are still shown"
    assert engine.ask("In what year did Eliot publish The Hollow Men?").unmentioned == ("The Hollow Men",)
    assert engine.ask("What was the launch price of the Xbox One X?").unmentioned == ()
    assert engine.ask("What did Eliot write of Fort Henry?").unmentioned == ()  # words a little apart
    assert engine.ask("What did Eliot write about the Console Review?").unmentioned == ()  # an article's title
    assert engine.ask("Which app did the Xbox ship, Sky Drive?").unmentioned == ()  # the articles write it as one word
