"""Serving the web chat: which address, which port, which password.

    serve(Settings.load())     # what `python app.py` and `rag serve` run

The chat listens on this computer only unless a password is set
(RAG_AUTH=user:password) or --open says to serve without one.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
import socket
from collections.abc import Callable

from ..config import Settings
from ..errors import ConfigError
from ..messages import no_articles, update_summary

__all__ = ["serve", "check_exposure", "check_port", "launch_options"]

log = logging.getLogger(__name__)


def check_exposure(host: str, credentials: tuple[str, str] | None, open_: bool) -> None:
    """Refuse to serve on an address other computers can reach unless a password is set or --open given."""
    if credentials or open_ or _is_loopback(host):
        return
    raise ConfigError(
        f"refusing to serve on {host} without a password, since other computers could reach it: "
        "set RAG_AUTH=user:password, or pass --open to serve without one."
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(settings: Settings, open_: bool = False, notify: Callable[[str], None] = print, watch: bool = True) -> None:
    """Bring the index up to date, then serve the chat until interrupted; with `watch`, follow the corpus folder."""
    credentials = settings.credentials
    check_exposure(settings.host, credentials, open_)
    check_port(settings.host, settings.port)
    from ..engine import Engine
    from ..watch import CorpusWatcher
    from .chat import build_app

    # The page is built with analytics_enabled=False; Gradio's other telemetry calls read this variable.
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

    engine = Engine(settings)
    report = engine.ensure_current(notify)
    if report is not None:
        notify(update_summary(report))
        if report.skipped:
            notify(f"{len(report.skipped)} file(s) skipped; `rag index` lists them with the reasons.")
    if not engine.store().manifest.documents:
        notify(f"Note: {no_articles(settings.corpus)[:-1]}, or add them on the page.")
    engine.embedder  # noqa: B018 - load the model now rather than on the first question
    watcher = CorpusWatcher(engine).start() if watch else None
    app = build_app(engine, watcher).queue(default_concurrency_limit=2)
    try:
        app.launch(prevent_thread_lock=True, **launch_options(settings))
    except OSError as exc:
        raise ConfigError(f"cannot listen on {settings.host}:{settings.port} ({exc}).") from None
    url = f"http://{settings.host}:{settings.port}"
    password = " (password required)" if credentials else ""
    following = f"; indexing what is saved into {settings.corpus}" if watch else ""
    notify(f"Web chat on {url}{password}{following}; press Ctrl+C to stop.")
    try:
        app.block_thread()
    finally:
        if watcher is not None:
            watcher.stop()


def check_port(host: str, port: int) -> None:
    """Fail early, before the index is loaded, when the address cannot be listened on."""
    try:
        socket.create_server((host, port)).close()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            hint = f"port {port} is taken (is the chat already running?): pass --port N"
        else:
            reason = (exc.strerror or str(exc)).split(" (while attempting")[0]
            hint = f"{reason}: check --host"
        raise ConfigError(f"cannot listen on {host}:{port}; {hint}.") from None


def launch_options(settings: Settings) -> dict:
    """Keyword arguments for gr.Blocks.launch: address, password, upload limit, the page's look."""
    from .chat import page_options, pages_folder

    return {
        "allowed_paths": [str(pages_folder(settings))],  # PDF pages rendered for the answers, nothing else
        "server_name": settings.host,
        "server_port": settings.port,
        "auth": settings.credentials,
        "auth_message": "This chat is password protected.",
        "max_file_size": f"{settings.max_upload_mb}mb",
        **page_options(),
        "footer_links": ["api"],
        "ssr_mode": False,
        "mcp_server": False,
        "quiet": True,
        "show_error": True,
    }
