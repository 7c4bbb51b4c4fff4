"""Errors the tool raises, each written for the person who reads it.

    RagError                 base: every expected failure
    ├── ConfigError          a setting is invalid (unknown model, bad -k, ...)
    ├── CorpusError          the corpus folder or an article cannot be used
    ├── IndexStateError      the index on disk is missing, damaged or foreign
    ├── IndexBusyError       another process holds the index lock
    └── InputError           a question or an uploaded file is unusable

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
]


class RagError(Exception):
    """An expected failure with a message that says what to do."""


class ConfigError(RagError):
    """A setting is invalid."""


class CorpusError(RagError):
    """The corpus folder or an article cannot be used."""


class IndexStateError(RagError):
    """The index on disk is missing, damaged or was built differently."""


class IndexBusyError(RagError):
    """Another process is updating the index."""


class InputError(RagError):
    """A question or an uploaded file is unusable."""
