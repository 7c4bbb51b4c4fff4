"""Question answering over a folder of articles: extractive, cited passages.

from rag import Engine, Settings
engine = Engine(Settings(corpus=Path("corpus"), index=Path("index")))
answer = engine.ask("Who led the Rust for Linux effort?")
"""

from __future__ import annotations

from .config import Settings
from .errors import RagError

__all__ = ["Engine", "Settings", "RagError"]


def __getattr__(name: str):
    # Engine pulls in numpy and the stores; load it on first use so `rag --help` stays quick.
    if name == "Engine":
        from .engine import Engine

        return Engine
    raise AttributeError(name)
