"""The only place that reads environment variables and resolves default paths.

Library code never reads the environment or the user's config folder: the CLI resolves
a :class:`Config` here and passes explicit paths down.

Which index a command uses (:func:`locate_index`), first match wins:

1. ``--index DIR``, then ``SEARCHKIT_INDEX``;
2. the nearest ``index/`` folder that is searchkit's, from the current directory up
   (one of the user's own folders holding the marker :data:`INDEX_MARKER` or a
   committed index);
3. the index ``searchkit index`` last built, recorded in the user's config folder
   (:func:`record_default`; ``SEARCHKIT_CONFIG_DIR`` moves that folder), unless the
   user named another clippings folder than the one recorded with it;
4. ``./index``.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

ENV_INDEX = "SEARCHKIT_INDEX"
ENV_SEEDS = "SEARCHKIT_SEEDS"
ENV_CONFIG_DIR = "SEARCHKIT_CONFIG_DIR"
DEFAULT_INDEX = "index"
DEFAULT_SEEDS = "seeds"
ENV_QUICK_CHECK = "SEARCHKIT_QUICK_CHECK_FILES"
# Which engine holds the index (issue #17): whoosh (an index folder, the default) or
# opensearch (an index on a cluster; URL, credentials and CA below).
ENV_ENGINE = "SEARCHKIT_ENGINE"
ENV_OPENSEARCH_URL = "SEARCHKIT_OPENSEARCH_URL"
ENV_OPENSEARCH_USER = "SEARCHKIT_OPENSEARCH_USER"
ENV_OPENSEARCH_PASSWORD = "SEARCHKIT_OPENSEARCH_PASSWORD"
ENV_OPENSEARCH_INDEX = "SEARCHKIT_OPENSEARCH_INDEX"
ENV_OPENSEARCH_CA = "SEARCHKIT_OPENSEARCH_CA"
DEFAULT_OPENSEARCH_INDEX = "searchkit"
ENGINE_NAMES = ("whoosh", "opensearch")
# From this many clippings on, search looks for changes by folder timestamps only.
DEFAULT_QUICK_CHECK_FILES = 20_000
# The file that marks a folder as searchkit's index (written by the indexer, which owns it).
INDEX_MARKER = "searchkit-index.json"
# In the user's config folder: the index `searchkit index` last built, and its folder.
DEFAULT_INDEX_FILE = "default-index.json"


class IndexSource(str, Enum):
    """Why a command uses the index it uses (``searchkit status`` says)."""

    OPTION = "option"
    ENV = "env"
    ABOVE = "above"
    RECORDED = "recorded"
    CWD = "cwd"

    @property
    def reason(self) -> str:
        return _REASONS[self]


_REASONS = {
    IndexSource.OPTION: "from --index",
    IndexSource.ENV: f"from {ENV_INDEX}",
    IndexSource.ABOVE: "found above the current directory",
    IndexSource.RECORDED: "recorded default",
    IndexSource.CWD: "./index",
}


@dataclass(frozen=True)
class Config:
    index_dir: Path
    seeds_dir: Path
    index_source: IndexSource = IndexSource.CWD


def resolve(
    index: str | os.PathLike[str] | None = None,
    seeds: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    is_index: Callable[[Path], bool] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> Config:
    """The index as :func:`locate_index` finds it; the clippings folder from the
    argument, then ``SEARCHKIT_SEEDS``, then ``./seeds``."""
    env = os.environ if environ is None else environ
    named = seeds or env.get(ENV_SEEDS)
    index_dir, source = locate_index(index, environ=env, is_index=is_index, cwd=cwd,
                                     folder=named)
    seeds_dir = Path(named or DEFAULT_SEEDS)
    return Config(index_dir=index_dir, seeds_dir=seeds_dir, index_source=source)


def locate_index(
    index: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    is_index: Callable[[Path], bool] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    folder: str | os.PathLike[str] | None = None,
) -> tuple[Path, IndexSource]:
    """The index folder to use and why (the order is in this module's docstring).

    ``is_index`` tells a committed index (the engine knows its files); a folder holding
    :data:`INDEX_MARKER` is searchkit's without asking it. ``folder``: the clippings
    folder the user named, if any; the recorded default is only used for its own."""
    env = os.environ if environ is None else environ
    if index:
        return Path(index), IndexSource.OPTION
    if env.get(ENV_INDEX):
        return Path(env[ENV_INDEX]), IndexSource.ENV
    here = Path(os.getcwd() if cwd is None else cwd)
    local = Path(DEFAULT_INDEX) if cwd is None else here / DEFAULT_INDEX

    def ours(path: Path) -> bool:
        return is_searchkit_index(path, is_index)

    if ours(here / DEFAULT_INDEX):
        return local, IndexSource.CWD
    for parent in Path(os.path.abspath(here)).parents:
        if ours(parent / DEFAULT_INDEX):
            return parent / DEFAULT_INDEX, IndexSource.ABOVE
    recorded = recorded_default(env)
    if recorded is not None and ours(recorded[0]) and (
            folder is None or os.path.abspath(folder) == recorded[1]):
        return recorded[0], IndexSource.RECORDED
    return local, IndexSource.CWD


def is_searchkit_index(path: Path, is_index: Callable[[Path], bool] | None = None) -> bool:
    """A folder of the user's own that holds the marker or (``is_index``) an index.

    Folders of other users are passed over: an index holds pickled data, so one
    planted above the current directory must not be picked up by walking into it."""
    try:
        st = path.stat()
    except OSError:
        return False
    if not path.is_dir() or (hasattr(os, "geteuid") and st.st_uid != os.geteuid()):
        return False
    if (path / INDEX_MARKER).is_file():
        return True
    return bool(is_index and is_index(path))


def config_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The user's searchkit config folder: ``SEARCHKIT_CONFIG_DIR``, else the
    platform's (``~/.config/searchkit`` on Linux)."""
    env = os.environ if environ is None else environ
    if env.get(ENV_CONFIG_DIR):
        return Path(env[ENV_CONFIG_DIR])
    import platformdirs  # only when needed: it costs a few ms to import

    return Path(platformdirs.user_config_dir("searchkit", appauthor=False))


def recorded_default(environ: Mapping[str, str] | None = None) -> tuple[Path, str] | None:
    """The index ``searchkit index`` last built and the absolute path of its clippings
    folder, if it recorded them (a damaged record counts as none: the next
    ``searchkit index`` rewrites it)."""
    path = config_dir(environ) / DEFAULT_INDEX_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    index, folder = data.get("index"), data.get("folder")
    if not (isinstance(index, str) and isinstance(folder, str)
            and os.path.isabs(index) and os.path.isabs(folder)):
        return None
    return Path(index), folder


def record_default(index_dir: str | os.PathLike[str], folder: str | os.PathLike[str],
                   environ: Mapping[str, str] | None = None) -> Path:
    """Record ``index_dir`` (built from ``folder``) as the default index; returns the
    file written. Raises :class:`ConfigError` naming the file when it cannot be written."""
    from .errors import ConfigError

    where = config_dir(environ)
    path = where / DEFAULT_INDEX_FILE
    record = {"index": os.path.abspath(index_dir), "folder": os.path.abspath(folder)}
    temp = where / f"{DEFAULT_INDEX_FILE}.{os.getpid()}.tmp"
    try:
        where.mkdir(mode=0o700, parents=True, exist_ok=True)
        temp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        os.replace(temp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise ConfigError(f"cannot record the default index in {path}: "
                          f"{exc.strerror or exc}; set {ENV_CONFIG_DIR} to a folder "
                          f"you can write") from None
    return path


def use_color(stream_is_tty: bool, environ: Mapping[str, str] | None = None) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):
        return False
    if env.get("TERM") == "dumb":
        return False
    return stream_is_tty


@dataclass(frozen=True)
class OpenSearchSettings:
    """Where an OpenSearch index lives and how to reach it (no secrets in ``repr``)."""

    url: str
    index: str = DEFAULT_OPENSEARCH_INDEX
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None  # a PEM bundle to verify the cluster's certificate with
    verify: bool = True  # TLS verification; only tests against plain-HTTP nodes need less
    shards: int = 1  # primary shards of a new index (replicas: 0-1, as nodes allow)


@dataclass(frozen=True)
class EngineChoice:
    """The engine a command uses, and for OpenSearch the cluster's settings."""

    kind: str = "whoosh"
    opensearch: OpenSearchSettings | None = None


def resolve_engine(kind: str | None = None, url: str | None = None, index: str | None = None,
                   ca_file: str | None = None, environ: Mapping[str, str] | None = None
                   ) -> EngineChoice:
    """The engine from the option, else ``SEARCHKIT_ENGINE``, else whoosh; for
    opensearch the URL (option, else ``SEARCHKIT_OPENSEARCH_URL``), the index name
    (option, ``SEARCHKIT_OPENSEARCH_INDEX``, else ``searchkit``), the CA file and the
    basic-auth user and password (``SEARCHKIT_OPENSEARCH_USER``/``_PASSWORD``, only
    from the environment: a password on the command line shows in ``ps``)."""
    from .errors import ConfigError

    env = os.environ if environ is None else environ
    name = (kind or env.get(ENV_ENGINE) or "whoosh").strip().lower()
    if name not in ENGINE_NAMES:
        raise ConfigError(f"unknown engine {name!r} (--engine or {ENV_ENGINE}); use one of: "
                          f"{', '.join(ENGINE_NAMES)}")
    if name == "whoosh":
        return EngineChoice()
    where = (url or env.get(ENV_OPENSEARCH_URL) or "").strip().rstrip("/")
    if not where:
        raise ConfigError(f"--engine opensearch needs the cluster's URL: give "
                          f"--opensearch-url https://HOST:9200 or set {ENV_OPENSEARCH_URL}")
    if not where.startswith(("http://", "https://")):
        raise ConfigError(f"OpenSearch URL {where!r} must start with http:// or https://")
    name_ = (index or env.get(ENV_OPENSEARCH_INDEX) or DEFAULT_OPENSEARCH_INDEX).strip()
    ca = ca_file or env.get(ENV_OPENSEARCH_CA) or None
    if ca is not None and not os.path.isfile(ca):
        raise ConfigError(f"--opensearch-ca {ca}: no such file; give the PEM file of the "
                          "cluster's certificate authority")
    return EngineChoice("opensearch", OpenSearchSettings(
        url=where, index=name_, user=env.get(ENV_OPENSEARCH_USER) or None,
        password=env.get(ENV_OPENSEARCH_PASSWORD) or None, ca_file=ca))
