"""Reading articles in worker processes that a hostile file cannot take down with it.

    for article, result in read_documents([(article, data), ...], settings):
        ...  # result: a Document, or a CorpusError saying in one line why the file was skipped
    doc = read_isolated(article, data, settings)  # one file; raises CorpusError

A reader is a parser of untrusted bytes (pdfium, libxml2, zip, YAML). Each
file is read by a worker process (`python -m rag.ingest.sandbox`) whose address
space is capped (RLIMIT_AS, `Settings.read_memory_mb`) and which gets
`Settings.read_seconds` per file. A file that makes its reader abort, run out
of memory or overrun is that file's skip, with one line ("took more than
60 s to read": of processor time, or twice that on the clock); the worker is replaced and every other file is read. The
workers live as long as the process that started them (a pool per limits,
reused by every update), and read `Settings.read_workers` files at a time.
A worker that holds RECYCLE_MB more memory after a file than when it started
(a parser's caches and a fragmented heap after a large file) is stopped, and
another started for the next file, so a long run's readers stay small; and
after a call that read a whole folder (RELEASE_AFTER files or more) the idle
workers are stopped, so they hold nothing while the index is written.
`read_workers=0` reads in this process instead, without the limits.

The worker speaks length-prefixed pickles over its stdin and stdout; only the
tool's own process ever writes to it, and a worker's answers are Documents
and strings.
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import pickle
import queue
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..errors import CorpusError
from .documents import ArticleFile, Document, read_document

__all__ = ["Limits", "ReaderPool", "read_documents", "read_isolated", "failure_reason"]

log = logging.getLogger(__name__)

_HEADER = struct.Struct("<Q")
_READY = b"ready\n"
STARTUP_SECONDS = 120.0  # for a worker to import the readers, on a machine that may be very busy
WALL_FACTOR = 2  # a file gets `seconds` of processor time, and twice that on the clock
RECYCLE_MB = 64.0  # growth past which a worker is replaced after its file
RELEASE_AFTER = 100  # files read in one call, past which the idle workers are stopped at its end
_KIND = {
    ".pdf": "PDF",
    ".docx": "Word file",
    ".epub": "EPUB",
    ".html": "web page",
    ".htm": "web page",
    ".md": "Markdown file",
    ".markdown": "Markdown file",
    ".txt": "text file",
}


@dataclass(frozen=True)
class Limits:
    """What reading one file may cost: memory (MB of address space), seconds, and files read at once."""

    memory_mb: int = 1024
    seconds: float = 60.0
    workers: int = 2

    @classmethod
    def of(cls, settings) -> Limits:
        return cls(settings.read_memory_mb, settings.read_seconds, settings.read_workers)

    @property
    def memory(self) -> str:
        """The memory limit in words: "1 GB", "512 MB"."""
        mb = self.memory_mb
        return f"{mb / 1024:g} GB" if mb % 1024 == 0 else f"{mb} MB"

    def too_slow(self) -> str:
        return f"took more than {self.seconds:g} s to read; split it, or raise RAG_READ_SECONDS."

    def too_big(self) -> str:
        return f"needed more than {self.memory} to read; split it, or raise RAG_READ_MEMORY_MB."


def failure_reason(exc: BaseException, suffix: str, limits: Limits = Limits()) -> str:
    """A reader's exception as one line for a person.

    >>> failure_reason(TypeError("'NoneType' object is not iterable"), ".docx")
    'damaged or unusual Word file that cannot be read (TypeError); save it again from its application.'
    """
    if isinstance(exc, CorpusError):
        return exc.reason
    if isinstance(exc, MemoryError):
        return limits.too_big()
    if isinstance(exc, RecursionError):
        return "nested too deeply to read (RecursionError); simplify or save it again."
    kind = _KIND.get(suffix.lower(), "file")
    name = exc.__class__.__name__
    return f"damaged or unusual {kind} that cannot be read ({name}); save it again from its application."


def read_here(article: ArticleFile, data: bytes, limits: Limits = Limits()) -> Document | CorpusError:
    """Read in this process: a Document, or the CorpusError that says why not (never another exception)."""
    try:
        return read_document(article, data)
    except Exception as exc:  # any reader failure is this file's skip, whatever raised it
        if not isinstance(exc, CorpusError):
            log.debug("reading %s failed", article.source, exc_info=True)
        return CorpusError(failure_reason(exc, article.path.suffix, limits), article.source)


def read_isolated(article: ArticleFile, data: bytes, settings) -> Document:
    """One article read in a worker (in this process if `settings.read_workers` is 0); raises CorpusError."""
    (_, result), *_ = read_documents([(article, data)], settings)
    if isinstance(result, CorpusError):
        raise result
    return result


def read_documents(
    items: Iterable[tuple[ArticleFile, bytes]], settings
) -> Iterator[tuple[ArticleFile, Document | CorpusError]]:
    """Each article read, in the order given, `settings.read_workers` at a time; failures as CorpusError.

    `items` is consumed lazily: only a few files' bytes are held at once. After RELEASE_AFTER files or
    more (a folder, not an edit) the idle workers are stopped: the embedding and writing that follow need
    the memory more than the next file needs a started worker.
    """
    limits = Limits.of(settings)
    if limits.workers < 1:
        for article, data in items:
            yield article, read_here(article, data, limits)
        return
    pool = shared_pool(limits)
    count = 0
    with ThreadPoolExecutor(limits.workers, thread_name_prefix="rag-read") as ex:
        window: collections.deque = collections.deque()
        for article, data in items:
            window.append((article, ex.submit(pool.read, article, data)))
            count += 1
            while len(window) > 2 * limits.workers:
                done, future = window.popleft()
                yield done, future.result()
        while window:
            done, future = window.popleft()
            yield done, future.result()
    if count >= RELEASE_AFTER:
        pool.release_idle()


_pools: dict[Limits, ReaderPool] = {}
_pools_lock = threading.Lock()


def shared_pool(limits: Limits) -> ReaderPool:
    """The process's pool of workers for `limits`, started on first use and closed at exit."""
    with _pools_lock:
        pool = _pools.get(limits)
        if pool is None:
            pool = _pools[limits] = ReaderPool(limits)
        return pool


@atexit.register
def _close_pools() -> None:
    with _pools_lock:
        for pool in _pools.values():
            pool.close()
        _pools.clear()


class ReaderPool:
    """`limits.workers` worker processes, each started when first needed and replaced when it dies.

    Thread-safe: `read` waits for a free worker.
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._workers = [_Worker(limits) for _ in range(limits.workers)]
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()  # the last used first: one caller, one warm worker
        for w in self._workers:
            self._idle.put(w)

    def read(self, article: ArticleFile, data: bytes) -> Document | CorpusError:
        worker = self._idle.get()
        try:
            return worker.read(article, data)
        finally:
            self._idle.put(worker)

    def close(self) -> None:
        for w in self._workers:
            w.stop()

    def release_idle(self) -> None:
        """Stop the workers no caller is using; each starts again when next needed."""
        idle: list[_Worker] = []
        while True:
            try:
                idle.append(self._idle.get_nowait())
            except queue.Empty:
                break
        for w in idle:
            w.stop()
            self._idle.put(w)

    def __enter__(self) -> ReaderPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Worker:
    """One `python -m rag.ingest.sandbox` process, talked to by one thread at a time."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.proc: subprocess.Popen | None = None
        self.started_mb = 0.0  # its resident memory when it said it was ready

    def read(self, article: ArticleFile, data: bytes) -> Document | CorpusError:
        request = pickle.dumps((str(article.path), article.source, article.size, article.mtime_ns, data), protocol=5)
        for attempt in (1, 2):
            try:
                self._ensure_started()
                assert self.proc is not None and self.proc.stdin is not None  # started just now
                _write_frame(self.proc.stdin, request)
                break
            except OSError:  # it died between two files, or did not start: start another, once
                self._kill()
                if attempt == 2:
                    return CorpusError("could not start a process to read it; try again.", article.source)
        result = self._answer(article)
        if self.proc is not None and _resident_mb(self.proc.pid) > self.started_mb + RECYCLE_MB:
            self.stop()
        return result

    def _answer(self, article: ArticleFile) -> Document | CorpusError:
        # the worker stops itself after `seconds` of processor time (RLIMIT_CPU); this wall-clock limit is for a
        # reader that waits instead, and leaves room for a machine so busy that a second of work takes two
        deadline = time.monotonic() + WALL_FACTOR * self.limits.seconds
        assert self.proc is not None and self.proc.stdout is not None  # started by read()
        fd = self.proc.stdout.fileno()
        try:
            size = _HEADER.unpack(_read_exactly(fd, _HEADER.size, deadline))[0]
            status, payload = pickle.loads(_read_exactly(fd, size, deadline))
        except TimeoutError:
            self._kill()
            log.info("%s: reading it took more than %g s; its worker was stopped", article.source, self.limits.seconds)
            return CorpusError(self.limits.too_slow(), article.source)
        except (EOFError, OSError, pickle.UnpicklingError):
            return CorpusError(self._crash_reason(), article.source)
        return payload if status == "ok" else CorpusError(payload, article.source)

    def _ensure_started(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return
        package_root = str(Path(__file__).resolve().parents[2])  # the folder holding rag/
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p),
            "RAG_READ_MEMORY_BYTES": str(self.limits.memory_mb * 1024 * 1024),
            "RAG_READ_SECONDS": str(self.limits.seconds),
            "OMP_NUM_THREADS": "1",  # one file, one thread: thread pools would take address space from the limit
            "OPENBLAS_NUM_THREADS": "1",
            "MALLOC_ARENA_MAX": "2",
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rag.ingest.sandbox"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # a crashing parser's last words are not for the user's terminal
            env=env,
            close_fds=True,
        )
        try:  # its imports are not the first file's time: wait for it to say it is ready
            _read_exactly(self.proc.stdout.fileno(), len(_READY), time.monotonic() + STARTUP_SECONDS)  # type: ignore[union-attr]
        except (TimeoutError, EOFError, OSError):
            self._kill()
            raise OSError("the reading process did not start") from None
        self.started_mb = _resident_mb(self.proc.pid)

    def _crash_reason(self) -> str:
        """Why the worker died mid-file, in words; waits for it, and notes its peak memory."""
        proc, self.proc = self.proc, None
        assert proc is not None  # it was running the file
        peak = _reap(proc)
        code = proc.returncode
        log.info("a reader's worker stopped (exit %s, peak %.0f MB)", code, peak / 1e6)
        if code == -signal.SIGXCPU:
            return self.limits.too_slow()
        if peak >= self.limits.memory_mb * 1024 * 1024 // 2:
            return self.limits.too_big()  # an allocation failed inside a parser, which then aborted
        what = signal.Signals(-code).name if code is not None and code < 0 and -code in signal.valid_signals() else code
        return f"its reader crashed on it ({what}); the file is damaged or built to break readers."

    def _kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            proc.kill()
            proc.wait()
            _close(proc)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            proc.stdin.close()  # type: ignore[union-attr]  # started with a pipe: the worker ends when its input does
            proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        _close(proc)


def _resident_mb(pid: int) -> float:
    """Resident memory of process `pid` in MB (0 where /proc cannot tell)."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def _reap(proc: subprocess.Popen) -> int:
    """Wait for a worker that stopped answering (killing it if it lingers); returns its peak memory in bytes."""
    deadline = time.monotonic() + 1.0
    try:
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.01)
        proc.returncode = os.waitstatus_to_exitcode(status)
        peak = usage.ru_maxrss * 1024
    except ChildProcessError:  # reaped already
        proc.wait()
        peak = 0
    _close(proc)
    return peak


def _close(proc: subprocess.Popen) -> None:
    for f in (proc.stdin, proc.stdout):
        try:
            f.close()  # type: ignore[union-attr]  # both are pipes
        except OSError:
            pass


def _write_frame(f, payload: bytes) -> None:
    f.write(_HEADER.pack(len(payload)))
    f.write(payload)
    f.flush()


def _read_exactly(fd: int, n: int, deadline: float | None) -> bytes:
    """`n` bytes from `fd`; EOFError if it closes first, TimeoutError past `deadline`."""
    chunks, left = [], n
    while left:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise TimeoutError
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


# -- the worker ------------------------------------------------------------


def _worker() -> None:
    """Read articles sent on stdin until it closes; answer each on stdout."""
    import resource

    limit = int(os.environ.get("RAG_READ_MEMORY_BYTES", "0"))
    if limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a parser that aborts writes no core file of its memory
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the tool, which then closes this worker's input
    requests, answers = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)  # whatever a library prints must not break the frames
    seconds = float(os.environ.get("RAG_READ_SECONDS", "60"))
    limits = Limits(memory_mb=max(limit // (1024 * 1024), 1), seconds=seconds)
    out = os.fdopen(answers, "wb")
    _preload()
    out.write(_READY)
    out.flush()
    while True:
        try:
            size = _HEADER.unpack(_read_exactly(requests, _HEADER.size, None))[0]
            path, source, size_, mtime_ns, data = pickle.loads(_read_exactly(requests, size, None))
        except EOFError:
            return
        _cpu_limit(seconds)
        peak = _address_space_peak()
        result = read_here(ArticleFile(Path(path), source, size_, mtime_ns), data, limits)
        if isinstance(result, CorpusError) and limit and peak < limit * 15 // 16 <= _address_space_peak():
            # a parser that cannot allocate may say so in its own words (libxml2: "XPathEvalError: unknown error")
            result = CorpusError(limits.too_big(), source)
        del data
        answer = ("ok", result) if isinstance(result, Document) else ("fail", result.reason)
        try:
            payload = pickle.dumps(answer, protocol=5)
        except MemoryError:
            payload = pickle.dumps(("fail", limits.too_big()), protocol=5)
        _write_frame(out, payload)


def _address_space_peak() -> int:
    """The most address space this process has held so far, in bytes (what RLIMIT_AS caps); 0 if unknown."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmPeak:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _preload() -> None:
    """Import the parsers and read a small page and note now, so that a file's time limit is spent reading
    it, not loading what its reader loads on first use (trafilatura takes seconds on a busy machine)."""
    import importlib

    from .readers import read

    for name in ("pypdfium2", "docx", "ebooklib.epub", "frontmatter"):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a parser that cannot load fails on its first file, with the reason
            log.debug("cannot preload %s", name, exc_info=True)
    page = b"<html><head><title>Warm</title></head><body><article><p>A first page, read to warm up.</p></article>"
    for suffix, data in ((".html", page), (".md", b"---\ntitle: Warm\n---\n# Warm\n\nA *first* note.\n")):
        try:
            read(suffix, data, "warm-up" + suffix)
        except Exception:  # noqa: BLE001
            log.debug("cannot warm up %s", suffix, exc_info=True)


def _cpu_limit(seconds: float) -> None:
    """Let the next file take `seconds` of processor time at most: past it, the kernel stops this worker."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(usage.ru_utime + usage.ru_stime + seconds) + 1
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))


if __name__ == "__main__":
    _worker()
