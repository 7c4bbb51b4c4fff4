"""Talking to Milvus: one client per Milvus and process, and its failures in words."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from ...config import MilvusLocation
from ...errors import ConfigError, IndexBusyError, IndexStateError

__all__ = ["milvus_client", "milvus_errors", "loaded"]


@lru_cache(maxsize=8)
def milvus_client(uri: str, token: str):
    """One client per Milvus and process (Milvus Lite serves a file from inside this process)."""
    from pymilvus import MilvusClient
    from pymilvus.exceptions import MilvusException

    location = MilvusLocation(uri, token)
    quiet = logging.getLogger("milvus_lite.server_manager")  # logs a traceback before pymilvus raises
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        if location.lite:
            Path(uri).parent.mkdir(parents=True, exist_ok=True)
            # Milvus Lite's in-process server refuses keep-alive pings between calls ("too_many_pings").
            return MilvusClient(uri=uri, timeout=30, grpc_options={"grpc.keepalive_permit_without_calls": 0})
        return MilvusClient(uri=uri, token=token, timeout=30)
    except MilvusException as exc:
        if location.lite and _lite_busy(Path(uri)):
            raise IndexBusyError(
                f"{location} is open in another process (a Milvus Lite file serves one process at a time): "
                "stop that process, or use a Milvus server."
            ) from None
        raise ConfigError(f"cannot open {location} ({exc.message}): check --store / RAG_STORE.", "store") from None
    finally:
        quiet.setLevel(level)


def _lite_busy(path: Path) -> bool:
    import fcntl

    try:
        with (path / "LOCK").open("a") as f:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(f, fcntl.LOCK_UN)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False


@contextmanager
def milvus_errors(location: MilvusLocation) -> Iterator[None]:
    """Milvus failures as IndexStateError, with where they happened."""
    from pymilvus.exceptions import MilvusException

    try:
        yield
    except MilvusException as exc:
        raise IndexStateError(
            f"{location} failed ({exc.message})", "check that it is running, then try again."
        ) from None


def loaded(client, collection: str) -> None:
    """Make sure `collection` is loaded, so it can be searched and read."""
    from pymilvus.client.types import LoadState

    if client.get_load_state(collection)["state"] != LoadState.Loaded:
        client.load_collection(collection)
