"""Errors the tool raises, each written for the person who reads it.

    RagError                 base: every expected failure
    ├── ConfigError          a setting is invalid (unknown model, bad -k, ...)
    ├── CorpusError          the corpus folder or an article cannot be used
    ├── IndexStateError      the index on disk is missing, damaged or foreign
    ├── IndexBusyError       another process holds the index lock
    └── InputError           a question or an uploaded file is unusable
        └── EmptyQuestionError   the question has nothing in it

Library code raises these; the CLI and the web app catch them and show the
message without a traceback.
"""

from __future__ import annotations

__all__ = [
    "RagError",
    "ConfigError",
    "CorpusError",
    "IndexStateError",
    "IndexBusyError",
    "InputError",
    "EmptyQuestionError",
]


class RagError(Exception):
    """An expected failure with a message that says what to do."""


class ConfigError(RagError):
    """A setting is invalid; `setting` names the field when one is to blame."""

    def __init__(self, message: str, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


class CorpusError(RagError):
    """The corpus folder or an article cannot be used.

    With `source`, the message reads "source: reason" and `reason` alone is
    what the index report lists next to the skipped file.
    """

    def __init__(self, reason: str, source: str | None = None) -> None:
        super().__init__(f"{source}: {reason}" if source else reason)
        self.reason = reason
        self.source = source


REBUILD = "run `rag index --full` to rebuild it from the corpus."


class IndexStateError(RagError):
    """The index on disk is missing, damaged or was built differently.

    `problem` says what is wrong ("index/ is damaged (texts.bin is missing)");
    the message adds what to do. Code that repairs the index by itself reports
    the problem alone.
    """

    def __init__(self, problem: str, remedy: str = REBUILD) -> None:
        super().__init__(f"{problem}: {remedy}" if remedy else problem)
        self.problem = problem


class IndexBusyError(RagError):
    """Another process is updating the index."""


class InputError(RagError):
    """A question or an uploaded file is unusable."""


class EmptyQuestionError(InputError):
    """The question is empty; the CLI and the web chat add an example question from the corpus."""
