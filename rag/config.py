"""All settings in one place: defaults, then environment, then explicit options."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from .errors import ConfigError

__all__ = ["Settings", "DEFAULT_MODEL", "MilvusLocation", "parse_store_url"]

DEFAULT_MODEL = "all-MiniLM-L6-v2"
# How articles are cut into passages (ingest/chunking.py), recorded in the index: a new rule rebuilds it.
# 2: no passage ends with a heading, and none parts a line ending in ":" from what it introduces;
# 3: a passage that starts with a heading repeats nothing of the section before it, and the last lines of a
# section stay with it (up to a quarter over the size) rather than lead the next section's passage.
# 4: so do the last lines of a text without headings.
CHUNKING_RULE = 4

# Environment variable -> (field name, type)
_ENV = {
    "RAG_CORPUS": ("corpus", Path),
    "RAG_INDEX": ("index", Path),
    "RAG_STORE": ("store", str),
    "RAG_MODEL": ("model", str),
    "RAG_CHUNK_SIZE": ("chunk_size", int),
    "RAG_CHUNK_OVERLAP": ("chunk_overlap", int),
    "RAG_TOP_K": ("k", int),
    "RAG_HOST": ("host", str),
    "RAG_PORT": ("port", int),
    "RAG_AUTH": ("auth", str),
    "RAG_MAX_UPLOAD_MB": ("max_upload_mb", int),
    "RAG_MAX_FILE_MB": ("max_file_mb", float),
    "RAG_FOLLOW_LINKS": ("follow_links", "flag"),
    "RAG_READ_MEMORY_MB": ("read_memory_mb", int),
    "RAG_READ_SECONDS": ("read_seconds", float),
    "RAG_READ_WORKERS": ("read_workers", int),
}

_KIND = {int: "a whole number", float: "a number", str: "text", Path: "a path", "flag": "1 or 0 (yes or no)"}
_FLAG = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}
_SECRET = {"RAG_AUTH", "RAG_STORE"}  # named in messages, never shown (a store URL may hold a password)


@dataclass(frozen=True)
class Settings:
    """Where the articles and the index live, and how passages are made.

    >>> Settings(chunk_size=400).chunk_size
    400
    """

    corpus: Path = field(default_factory=lambda: Path("corpus"))
    index: Path = field(default_factory=lambda: Path("index"))
    store: str | None = field(default=None, repr=False)  # milvus://... (may hold a password); None: the folder `index`
    model: str = DEFAULT_MODEL
    chunk_size: int = 600  # target passage length in characters
    chunk_overlap: int = 120  # characters of trailing sentences repeated
    k: int = 5
    host: str = "127.0.0.1"
    port: int = 7860
    auth: str | None = field(default=None, repr=False)  # "user:password" for the web chat
    max_upload_mb: int = 20  # largest article the web chat accepts
    max_file_mb: float = 20.0  # larger articles are skipped, not read (a 50 MB text is ~100k passages)
    follow_links: bool = False  # read files that links in the corpus lead to outside it
    read_memory_mb: int = 1024  # memory one article may take to read (its worker's address space)
    read_seconds: float = 60.0  # time one article may take to read
    read_workers: int = 2  # articles read at once, each in a worker process; 0: in this process, without limits

    def __post_init__(self) -> None:
        if self.store:
            parse_store_url(self.store)  # raises ConfigError with the accepted forms
        if self.chunk_size < 50:
            raise ConfigError(f"chunk size {self.chunk_size} is too small: use at least 50 characters.", "chunk_size")
        if not 0 <= self.chunk_overlap < self.chunk_size // 2:
            raise ConfigError(
                f"chunk overlap {self.chunk_overlap} must be between 0 and half "
                f"the chunk size ({self.chunk_size // 2}).",
                "chunk_overlap",
            )
        if not 1 <= self.k <= 100:
            raise ConfigError(f"-k must be between 1 and 100, not {self.k}.", "k")
        if not 0 < self.port < 65536:
            raise ConfigError(f"port {self.port} is not a valid port number (1-65535).", "port")
        if self.max_upload_mb < 1:
            raise ConfigError(f"the upload limit must be at least 1 MB, not {self.max_upload_mb}.", "max_upload_mb")
        if self.auth and not _valid_auth(self.auth):
            raise ConfigError("the web chat password must be given as user:password (RAG_AUTH=user:password).", "auth")
        if not 0 < self.max_file_mb < float("inf"):
            raise ConfigError(
                f"the article size limit must be a positive number of MB, not {self.max_file_mb}.", "max_file_mb"
            )
        if self.read_memory_mb < 256:
            raise ConfigError(
                f"the reading memory limit must be at least 256 MB, not {self.read_memory_mb}.", "read_memory_mb"
            )
        if not 0 < self.read_seconds < float("inf"):
            raise ConfigError(
                f"the reading time limit must be a positive number of seconds, not {self.read_seconds}.", "read_seconds"
            )
        if not 0 <= self.read_workers <= 64:
            raise ConfigError(f"read workers must be between 0 and 64, not {self.read_workers}.", "read_workers")
        if not self.model.strip():
            raise ConfigError("the model name is empty: leave it out to use the bundled model.", "model")

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, **options: object) -> Settings:
        """Defaults, overridden by RAG_* environment variables, overridden by options that are not None."""
        env: Mapping[str, str] = os.environ if environ is None else environ
        values: dict[str, object] = {}
        from_env: dict[str, str] = {}  # field -> the variable that set it
        for var, (name, kind) in _ENV.items():
            raw = env.get(var, "")
            if not raw.strip():
                continue
            raw = raw if var in _SECRET else raw.strip()
            try:
                values[name] = _flag(raw) if kind == "flag" else kind(raw)  # type: ignore[operator]  # a type
            except ValueError:
                raise ConfigError(f"{_shown(var, raw)} is not {_KIND[kind]}: fix it or unset it.", name) from None
            from_env[name] = var
        given = {k: v for k, v in options.items() if v is not None}
        values.update(given)
        for name in ("corpus", "index"):
            if name in values:
                values[name] = Path(values[name])  # type: ignore[arg-type]
        try:
            return cls(**values)  # type: ignore[arg-type]
        except ConfigError as exc:
            var = from_env.get(exc.setting or "", "")
            if var and exc.setting not in given:
                raise ConfigError(f"{_shown(var, env[var].strip())} is invalid: {exc}", exc.setting) from None
            raise

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1_000_000)

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def credentials(self) -> tuple[str, str] | None:
        """(user, password) from `auth`, or None when no password is set."""
        if not self.auth:
            return None
        user, _, password = self.auth.partition(":")
        return user, password

    @property
    def chunking(self) -> dict[str, int]:
        return {"size": self.chunk_size, "overlap": self.chunk_overlap, "rule": CHUNKING_RULE}

    @property
    def location(self) -> MilvusLocation | None:
        """Where in Milvus the index lives, or None for the index folder."""
        return parse_store_url(self.store) if self.store else None


@dataclass(frozen=True)
class MilvusLocation:
    """Where the index lives in Milvus: `uri` for MilvusClient, a collection name prefix."""

    uri: str  # a path ending in .db (Milvus Lite) or http://host:port
    token: str = field(default="", repr=False)  # user:password, for a server with authentication
    name: str = "rag"

    @property
    def lite(self) -> bool:
        return self.uri.endswith(".db")

    def __str__(self) -> str:
        return f"Milvus Lite file {self.uri}" if self.lite else f"Milvus at {self.uri}"

    def url(self) -> str:
        """The store URL for this location, as --store takes it."""
        where = self.uri if self.lite else (f"{self.token}@" if self.token else "") + self.uri.removeprefix("http://")
        return f"milvus://{where}?collection={self.name}"


def parse_store_url(url: str) -> MilvusLocation:
    """milvus:///path/to/file.db (Milvus Lite) or milvus://[user:password@]host[:port] (a server).

    `?collection=NAME` keeps several indexes apart in one Milvus (default "rag").

    >>> parse_store_url("milvus://db.internal?collection=news")
    MilvusLocation(uri='http://db.internal:19530', name='news')
    """
    parts = urlsplit(url)
    shown = url.replace(f":{parts.password}@", ":***@") if parts.password else url
    hint = "use milvus:///path/to/file.db for Milvus Lite or milvus://host:19530 for a Milvus server."
    if parts.scheme != "milvus":
        raise ConfigError(f"store {shown!r} is not a Milvus URL: {hint}", "store")
    name = parse_qs(parts.query).get("collection", ["rag"])[0]
    if not name[:1].isalpha() or not name.replace("_", "").isalnum() or not name.isascii() or len(name) > 64:
        message = f"collection name {name!r}: use letters, digits and _ (64 at most), starting with a letter."
        raise ConfigError(message, "store")
    if not parts.netloc:
        if not parts.path.endswith(".db"):
            raise ConfigError(f"store {shown!r}: a Milvus Lite file name must end in .db; {hint}", "store")
        return MilvusLocation(parts.path, "", name)
    try:
        host, port = parts.hostname, parts.port or 19530
    except ValueError:
        raise ConfigError(f"store {shown!r} has an invalid port: {hint}", "store") from None
    if not host:
        raise ConfigError(f"store {shown!r} names no host: {hint}", "store")
    token = f"{parts.username}:{parts.password or ''}" if parts.username else ""
    return MilvusLocation(f"http://{host}:{port}", token, name)


def _shown(var: str, value: str) -> str:
    """How a variable is named in a message: with its value, unless the value is a secret."""
    return var if var in _SECRET else f"{var}={value!r}"


def _flag(raw: str) -> bool:
    try:
        return _FLAG[raw.strip().lower()]
    except KeyError:
        raise ValueError(raw) from None


def _valid_auth(auth: str) -> bool:
    user, sep, password = auth.partition(":")
    return bool(user and sep and password)
