"""Reading what a writer may replace meanwhile: try again, a few times, then say so.

    for _ in attempts(f"index {name!r}"):
        gen = live_generation(index_dir)
        manifest = read(gen)
        if live_generation(index_dir) == gen:
            return manifest   # read whole
        # else a writer replaced it meanwhile: falling through tries again

After the last attempt falls through, the loop raises IndexStateError
("index 'x' keeps changing while being read", "try again.").
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from ..errors import IndexStateError

__all__ = ["attempts"]


def attempts(where: str, tries: int = 20, pause: float = 0.005) -> Iterator[int]:
    """Attempt numbers 0 .. tries - 1, waiting `pause` x the number of the attempt that fell through before the next."""
    for attempt in range(tries):
        yield attempt
        if pause:
            time.sleep(pause * attempt)
    raise IndexStateError(f"{where} keeps changing while being read", "try again.")
