"""One update of an index at a time: an exclusive lock on its folder, released by the OS if its holder dies."""

from __future__ import annotations

import logging
from pathlib import Path

from ..errors import IndexBusyError

__all__ = ["LOCK_TIMEOUT", "index_lock", "Locked"]

log = logging.getLogger(__name__)

LOCK_TIMEOUT = 600.0


def index_lock(index_dir: Path, timeout: float = LOCK_TIMEOUT):
    """An exclusive lock on the index folder; released by the OS if its holder dies."""
    from filelock import FileLock

    index_dir.mkdir(parents=True, exist_ok=True)
    return FileLock(str(index_dir / ".lock"), timeout=timeout)


class Locked:
    """`with Locked(folder) as lock:` holds the lock, waiting (and warning) while another process has it;
    `lock.waited` says whether it had to."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        self.lock = index_lock(index_dir)
        self.waited = False

    def __enter__(self):
        from filelock import Timeout

        try:
            self.lock.acquire(timeout=0)
        except Timeout:
            self.waited = True
            log.warning("another process is updating the index in %r; waiting for it to finish", str(self.index_dir))
            try:
                self.lock.acquire(timeout=LOCK_TIMEOUT)
            except Timeout:
                raise IndexBusyError(
                    f"another process has been updating the index in {str(self.index_dir)!r} for "
                    f"{LOCK_TIMEOUT / 60:g} minutes: wait for it to finish, then try again."
                ) from None
        return self

    def __exit__(self, *exc):
        self.lock.release()
