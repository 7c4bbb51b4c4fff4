"""Reads that a writer keeps replacing are tried again a few times, then reported in words."""

import pytest

from rag.errors import IndexStateError
from rag.index.retry import attempts


def read_when_steady(steady_from: int, tries: int) -> tuple[str, list[int]]:
    seen = []
    for n in attempts("index 'x'", tries=tries, pause=0):
        seen.append(n)
        if n >= steady_from:
            return "read", seen
    raise AssertionError("not reached: the last attempt raises")


def test_a_read_that_holds_stops_trying():
    assert read_when_steady(steady_from=2, tries=5) == ("read", [0, 1, 2])


def test_a_read_that_never_holds_says_so():
    with pytest.raises(IndexStateError) as caught:
        read_when_steady(steady_from=99, tries=3)
    assert "index 'x' keeps changing while being read" in str(caught.value)
    assert "try again" in str(caught.value)
