"""Files replaced whole: the old bytes or the new ones, and no leftover on failure."""

from __future__ import annotations

import pytest

from rag.atomic import replacing, write_atomic


@pytest.mark.parametrize("durable", [False, True])
def test_a_file_is_replaced_whole_and_leaves_no_temporary_file(tmp_path, durable):
    path = tmp_path / "notes.json"
    write_atomic(path, "first", durable=durable)
    write_atomic(path, b"second", durable=durable)
    assert path.read_bytes() == b"second"
    assert [p.name for p in tmp_path.iterdir()] == ["notes.json"]


def test_a_failed_write_keeps_the_old_content(tmp_path):
    path = tmp_path / "page.png"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError), replacing(path) as tmp:
        assert tmp.parent == path.parent and tmp.name.startswith(".")  # hidden from the corpus scan
        tmp.write_bytes(b"half")
        raise RuntimeError("disk full")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["page.png"]
