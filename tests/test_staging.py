"""The staging folder: texts and rows written as they come and read back a slice at a time."""

import numpy as np

from rag.index.staging import Staging


def test_texts_and_rows_come_back_as_written_and_the_folder_goes(tmp_path):
    with Staging(tmp_path) as staged:
        staged.passages.extend(["Ünïcode first.", "", "third"])
        staged.passages.extend(["fourth"])
        rows = staged.rows("vectors", 3, np.float32)
        rows.append(np.arange(6, dtype=np.float32).reshape(2, 3))
        rows.append(np.full((1, 3), 7, dtype=np.float32))
        assert staged.passages.get(0, 4) == ["Ünïcode first.", "", "third", "fourth"]
        assert staged.passages.get(2, 2) == ["third", "fourth"] and staged.passages.get(1, 0) == []
        read = rows.read()
        assert len(read) == 3 and read[1:3].tolist() == [[3, 4, 5], [7, 7, 7]] and read[0].tolist() == [0, 1, 2]
        assert [p.name for p in tmp_path.iterdir()][0].startswith(".tmp-")  # what the next update removes if killed
    assert list(tmp_path.iterdir()) == []


def test_an_update_with_nothing_to_stage_writes_nothing(tmp_path):
    with Staging(tmp_path) as staged:
        assert len(staged.passages) == 0 and staged.rows("vectors", 4, np.float32).read().shape == (0, 4)
        assert list(tmp_path.iterdir()) == []
