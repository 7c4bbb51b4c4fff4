"""What an update reads and embeds, written to disk as it comes, so its memory does not grow with the folder.

    with Staging(folder) as staged:        # a temporary folder, removed on leaving
        staged.passages.extend(texts)      # texts, kept back to back in one file
        staged.passages.get(first, count)  # -> list[str]
        staged.vectors.append(rows)        # rows of one width and dtype, appended to one file
        staged.vectors.read()              # -> all of them, read a slice at a time (RowsOnDisk)

The folder is made inside the index folder, named as the writer's own
temporaries are (`.tmp-...`), so one left by a killed update is removed by
the next (faiss/generations.py); an index kept in Milvus stages in the
system's temporary folder instead.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np

__all__ = ["Staging", "TextRows", "ArrayRows", "RowsOnDisk", "Rows", "NpyWriter"]


class TextRows:
    """Texts appended to a file, UTF-8, back to back, with the byte offset where each ends.

    The file is made by the first text (`path_of()` names it)."""

    def __init__(self, path_of: Callable[[], Path]) -> None:
        self._path_of = path_of
        self._file: BinaryIO | None = None
        self._ends: list[np.ndarray] = []  # int64 runs of end offsets, one run per extend()
        self._size = 0
        self._offsets: np.ndarray | None = np.zeros(1, dtype=np.int64)

    @property
    def _out(self) -> BinaryIO:
        if self._file is None:
            self._file = self._path_of().open("w+b")
        return self._file

    def extend(self, texts: list[str]) -> None:
        ends = np.empty(len(texts), dtype=np.int64)
        for i, text in enumerate(texts):
            self._size += self._out.write(text.encode("utf-8"))
            ends[i] = self._size
        self._ends.append(ends)
        self._offsets = None

    def __len__(self) -> int:
        return sum(len(e) for e in self._ends)

    def offsets(self) -> np.ndarray:
        """Where each text begins, and the end of the last (N + 1)."""
        if self._offsets is None:
            self._offsets = np.concatenate([np.zeros(1, dtype=np.int64), *self._ends])
            self._ends = [self._offsets[1:]]
        return self._offsets

    def get(self, first: int, count: int) -> list[str]:
        """Texts first .. first + count - 1, read in one go."""
        bounds = self.offsets()[first : first + count + 1].tolist()
        if count <= 0:
            return []
        self._out.flush()
        self._out.seek(bounds[0])
        data = self._out.read(bounds[-1] - bounds[0])
        self._out.seek(0, 2)
        return [data[a - bounds[0] : b - bounds[0]].decode("utf-8") for a, b in zip(bounds, bounds[1:], strict=False)]

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


class RowsOnDisk:
    """Rows of a file, read a slice at a time with plain reads: nothing stays mapped, so reading all of
    them, a slice after another, does not grow the process's memory as a memory map would."""

    def __init__(self, path: Path, offset: int, rows: int, width: int, dtype) -> None:
        self.path, self.offset, self.dtype = path, offset, np.dtype(dtype)
        self.shape = (rows, width)

    @classmethod
    def npy(cls, path: Path) -> RowsOnDisk:
        """The 2-d array of a .npy file; a 1-d one as rows of one value."""
        with path.open("rb") as f:
            version = np.lib.format.read_magic(f)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read(f)
            if fortran or len(shape) not in (1, 2):
                raise ValueError(f"{path} does not hold rows")
            return cls(path, f.tell(), shape[0], shape[1] if len(shape) == 2 else 1, dtype)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: int | slice) -> np.ndarray:
        one = not isinstance(rows, slice)
        a, b, step = rows.indices(len(self)) if isinstance(rows, slice) else (int(rows), int(rows) + 1, 1)
        if step != 1 or not 0 <= a <= len(self):
            raise IndexError("rows are read in runs")
        width = self.shape[1] * self.dtype.itemsize
        with self.path.open("rb") as f:
            f.seek(self.offset + a * width)
            out = np.frombuffer(f.read(max(b - a, 0) * width), dtype=self.dtype).reshape(-1, self.shape[1])
        return out[0] if one else out


Rows = np.ndarray | RowsOnDisk  # rows in memory, or in a file read a slice at a time


class NpyWriter:
    """A .npy file of `shape`, written a batch of rows (along the first axis) at a time, with plain writes:
    what is written does not stay in the process's memory, as it would through a memory map."""

    def __init__(self, path: Path, shape: tuple[int, ...], dtype) -> None:
        self.path, self.shape, self.dtype = path, shape, np.dtype(dtype)
        self.out = path.open("wb")
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": shape}
        np.lib.format.write_array_header_1_0(self.out, header)  # as np.save writes it
        self.written = 0

    def write(self, rows: np.ndarray) -> None:
        rows = np.ascontiguousarray(rows, dtype=self.dtype).reshape(-1, *self.shape[1:])
        self.out.write(rows.tobytes())
        self.written += len(rows)

    def __enter__(self) -> NpyWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.out.close()
        if exc[0] is None and self.written != self.shape[0]:
            raise AssertionError(f"{self.path.name}: {self.written} rows written of {self.shape[0]}")


class ArrayRows:
    """Rows of `width` values of one dtype, appended to a file and read back a slice at a time."""

    def __init__(self, path_of: Callable[[], Path], width: int, dtype) -> None:
        self._path_of, self.width, self.dtype = path_of, width, np.dtype(dtype)
        self._out: BinaryIO | None = None  # made by the first rows
        self.rows = 0

    def append(self, rows: np.ndarray) -> None:
        rows = np.ascontiguousarray(rows, dtype=self.dtype).reshape(-1, self.width)
        if self._out is None:
            self._out = self._path_of().open("wb")
        self._out.write(rows.tobytes())
        self.rows += len(rows)

    def read(self) -> Rows:
        """Every row so far, to be read a slice at a time."""
        if self._out is None:
            return np.zeros((0, self.width), dtype=self.dtype)
        self._out.flush()
        return RowsOnDisk(Path(self._out.name), 0, self.rows, self.width, self.dtype)

    def close(self) -> None:
        if self._out is not None:
            self._out.close()


class Staging:
    """The fresh passages of an update, their sentences, and what was embedded for them, on disk.

    The folder is made when the first file is: an update with nothing new writes nothing."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.path: Path | None = None
        self.passages = TextRows(self._file("passages.bin"))
        self.sentences = TextRows(self._file("sentences.bin"))  # the texts embedded for them (split_sentences)
        self.counts = ArrayRows(self._file("counts.bin"), 1, np.int64)  # sentence texts of each passage
        self.spans = ArrayRows(self._file("spans.bin"), 2, np.int32)  # each sentence row's span in its passage
        self._arrays: list[ArrayRows] = [self.counts, self.spans]

    def _file(self, name: str) -> Callable[[], Path]:
        def path() -> Path:
            if self.path is None:
                self.path = Path(tempfile.mkdtemp(prefix=".tmp-stage-", dir=self.folder))
            return self.path / name

        return path

    def rows(self, name: str, width: int, dtype) -> ArrayRows:
        """Another file of rows in the staging folder."""
        rows = ArrayRows(self._file(f"{name}.bin"), width, dtype)
        self._arrays.append(rows)
        return rows

    def close(self) -> None:
        parts: list[TextRows | ArrayRows] = [self.passages, self.sentences, *self._arrays]
        for part in parts:
            part.close()
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
