"""Following the corpus folder: each burst of saved, copied or deleted articles becomes one update.

    watcher = CorpusWatcher(engine)            # engine.update() is what it runs
    watcher.start()                            # in a thread (the web chat), or
    watcher.run()                              # in this one until Ctrl-C (`rag index --watch`)
    watcher.status()                           # WatchStatus: "indexing 3 articles..." or the last report

Changes are gathered until the folder has been quiet for SETTLE_MS (a file
being copied or saved in pieces is taken once it has settled; a git pull or
a copy of 500 files arrives as one set, up to BURST_MS long), then the index
is updated once. Changes that arrive during an update are gathered for the
next one. An article that cannot be read is skipped with its reason, as by
`rag index`; an update that fails is reported in the status and the watch
goes on. watchfiles (inotify, FSEvents or ReadDirectoryChangesW) does the watching.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from watchfiles import DefaultFilter, watch

from .errors import RagError
from .index.report import IndexReport
from .ingest.documents import ARTICLE_TYPES
from .messages import changes

__all__ = ["CorpusWatcher", "WatchStatus", "SETTLE_MS", "BURST_MS"]

log = logging.getLogger(__name__)

SETTLE_MS = 400  # quiet time that ends a burst
BURST_MS = 30_000  # a burst longer than this is indexed in parts
RETRY_SECONDS = 2.0  # after the watch itself failed (the folder was removed, say)
# An update with nothing to do: the web chat or another `rag index` had indexed the changes, or the files
# were saved again unchanged.
NOTHING_AFTER_WAITING = "Nothing left to index: another process indexed these changes while this one waited."
NOTHING_CHANGED = "Nothing to index: the index already holds the corpus folder as it is."


@dataclass(frozen=True)
class WatchStatus:
    """What the watcher is doing, for a status line; `version` grows with every change of it."""

    version: int = 0
    indexing: int = 0  # articles in the update under way (0: none under way)
    report: IndexReport | None = None  # of the last update
    error: str | None = None  # why the last update failed, if it did
    at: float = field(default_factory=time.time)

    def line(self) -> str:
        """One line for a person: "Indexing 3 articles..." or what the last update did."""
        if self.indexing:
            return f"Indexing {self.indexing} article{'s' if self.indexing != 1 else ''}..."
        if self.error:
            return f"Could not update the index: {self.error}"
        if self.report is None:
            return "Watching the corpus folder for changes."
        r = self.report
        if not r.changed and not r.skipped:
            return NOTHING_AFTER_WAITING if r.waited else NOTHING_CHANGED
        skipped = f"; {len(r.skipped)} skipped" if r.skipped else ""
        return f"{changes(r)}{skipped}; {r.passages_total} passages in the index."


class CorpusWatcher:
    """Runs `engine.update()` after each burst of changes to `engine.settings.corpus`."""

    def __init__(self, engine, on_update: Callable[[WatchStatus], None] | None = None) -> None:
        self.engine = engine
        self.corpus = Path(engine.settings.corpus)
        self.index = Path(engine.settings.index).resolve()
        self.on_update = on_update
        self._status = WatchStatus()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.watching = threading.Event()  # set once the folder is being watched
        self._default = DefaultFilter()  # version control folders, editors' swap and backup files

    def status(self) -> WatchStatus:
        with self._lock:
            return self._status

    def start(self) -> CorpusWatcher:
        """Watch in a daemon thread; stop() ends it."""
        self._thread = threading.Thread(target=self.run, name="rag-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        """Watch until stop() (or Ctrl-C, which is raised): one update per burst of changes."""
        while not self._stop.is_set():
            try:
                for changes in watch(
                    self.corpus,
                    watch_filter=self._relevant,
                    step=SETTLE_MS,
                    debounce=BURST_MS,
                    stop_event=self._stop,
                    rust_timeout=1000,
                    yield_on_timeout=True,
                    raise_interrupt=True,
                ):
                    self.watching.set()
                    if changes:
                        self.update(len({path for _, path in changes}))
            except (OSError, RuntimeError) as exc:  # the corpus folder is gone or cannot be watched
                log.warning("cannot watch %s (%s); trying again", self.corpus, exc)
                self._stop.wait(RETRY_SECONDS)

    def update(self, articles: int) -> WatchStatus:
        """One update for a burst that touched `articles` articles; never raises for an expected failure."""
        self._set(indexing=max(articles, 1), error=None)
        try:
            report = self.engine.update()
        except RagError as exc:
            log.warning("could not update the index: %s", exc)
            return self._set(indexing=0, error=str(exc))
        except Exception as exc:  # the watch must go on whatever one update met
            log.exception("updating the index failed")
            return self._set(indexing=0, error=f"{exc.__class__.__name__}: {exc}")
        for s in report.skipped:
            log.warning("skipped %s: %s", s.source, s.reason)
        return self._set(indexing=0, report=report, error=None)

    def _set(self, **changes) -> WatchStatus:
        with self._lock:
            self._status = status = replace(self._status, version=self._status.version + 1, at=time.time(), **changes)
        if self.on_update:
            self.on_update(status)
        return status

    def _relevant(self, change, path: str) -> bool:
        """Articles only: not editors' temporary files, hidden files, or the index if it sits in the corpus."""
        p = Path(path)
        if p.suffix.lower() not in ARTICLE_TYPES or p.name.startswith("."):
            return False
        return not p.resolve().is_relative_to(self.index) and self._default(change, path)
