"""The engine seam: what the CLI and the rest of the library call to index and search.

An engine keeps an index in step with a clippings folder (driven by the engine-neutral
folder scan and diff, :mod:`searchkit.scan`) and answers the query language (one
parser, :mod:`searchkit.search.parser`) with plain dataclasses from
:mod:`searchkit.results`. Whoosh, embedded, is the first implementation; this module
imports no engine library itself, only the engine's own modules, and those lazily, so
that commands that never touch an index (``--help``, ``fields``) stay fast.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .config import DEFAULT_QUICK_CHECK_FILES
from .errors import ConfigError
from .results import Filters, FolderDiff, Freshness, Hit, IndexReport, SearchResults

Progress = Callable[[int, int], None]

ENGINES = ("whoosh",)
DEFAULT_ENGINE = "whoosh"


@dataclass(frozen=True)
class SearchRequest:
    """One search, as the user asked for it (engine-neutral; saved searches keep these)."""

    text: str
    limit: int = 10
    offset: int = 0
    filters: Filters = field(default_factory=Filters)
    literal: bool = False
    snippets: int = 1
    sort: str = "relevance"
    facets: tuple[str, ...] = ()
    explain: bool = False
    diagnose: bool = True
    timeout: float | None = 10.0
    now: dt.datetime | None = None


class Engine(Protocol):
    """An index of one clippings folder, and the searches over it."""

    @property
    def location(self) -> str:
        """Where the index lives, as the user names it (a folder, a URL)."""

    def exists(self) -> bool:
        """True when a committed index is there."""

    def recorded_folder(self) -> str | None:
        """The clippings folder the index was built from, if any."""

    def diff(self, folder: str | os.PathLike[str]) -> FolderDiff:
        """What ``update`` would do for ``folder``; never writes."""

    def update(self, folder: str | os.PathLike[str], *, rebuild: bool = False,
               lock_timeout: float = 10.0, progress: Progress | None = None) -> IndexReport:
        """Bring the index in step with ``folder`` in one commit."""

    def refresh(self, folder: str | os.PathLike[str], *, progress: Progress | None = None,
                quick_check_files: int | None = DEFAULT_QUICK_CHECK_FILES) -> Freshness:
        """Update when stale, cheaply; answer from the current commit when busy."""

    def search(self, request: SearchRequest) -> SearchResults:
        """Run one search."""

    def entry(self, entry_id: str) -> Hit:
        """One entry by id (a clipping's path, or ``PATH#N``)."""

    def similar(self, entry_id: str, *, limit: int = 10) -> SearchResults:
        """The entries most like ``entry_id``."""

    def rank_ids(self, texts: Sequence[str], *, depth: int = 1000
                 ) -> list[list[tuple[str, str, float]]]:
        """For evaluation: each text's ranking as (entry id, clipping id, score)."""

    def stats(self) -> dict[str, Any]:
        """Counts and facts about the index (entries, segments, size, last update)."""


class WhooshEngine:
    """The embedded engine: an index folder written and read with Whoosh."""

    name = "whoosh"

    def __init__(self, index_dir: str | os.PathLike[str]) -> None:
        self.index_dir = os.fspath(index_dir)

    @property
    def location(self) -> str:
        return self.index_dir

    def exists(self) -> bool:
        from . import indexer

        return indexer.index_exists(self.index_dir)

    def recorded_folder(self) -> str | None:
        from . import indexer

        return indexer.recorded_folder(self.index_dir)

    def diff(self, folder: str | os.PathLike[str]) -> FolderDiff:
        from . import indexer

        return indexer.diff_index(folder, self.index_dir)

    def update(self, folder: str | os.PathLike[str], *, rebuild: bool = False,
               lock_timeout: float = 10.0, progress: Progress | None = None) -> IndexReport:
        from . import indexer

        return indexer.update(folder, self.index_dir, rebuild=rebuild,
                              lock_timeout=lock_timeout, progress=progress)

    def refresh(self, folder: str | os.PathLike[str], *, progress: Progress | None = None,
                quick_check_files: int | None = DEFAULT_QUICK_CHECK_FILES) -> Freshness:
        from . import indexer

        return indexer.refresh(folder, self.index_dir, progress=progress,
                               quick_check_files=quick_check_files)

    def search(self, request: SearchRequest) -> SearchResults:
        from . import search

        r = request
        return search.search(
            self.index_dir, r.text, limit=r.limit, offset=r.offset, filters=r.filters,
            literal=r.literal, snippets=r.snippets, sort=r.sort, facets=r.facets,
            explain=r.explain, diagnose=r.diagnose, now=r.now, timeout=r.timeout)

    def entry(self, entry_id: str) -> Hit:
        from . import search

        return search.entry(self.index_dir, entry_id)

    def similar(self, entry_id: str, *, limit: int = 10) -> SearchResults:
        from . import search

        return search.similar(self.index_dir, entry_id, limit=limit)

    def rank_ids(self, texts: Sequence[str], *, depth: int = 1000
                 ) -> list[list[tuple[str, str, float]]]:
        from . import search

        return search.rank_ids(self.index_dir, texts, depth=depth)

    def stats(self) -> dict[str, Any]:
        from . import search

        return search.stats(self.index_dir)


def open_engine(location: str | os.PathLike[str], kind: str = DEFAULT_ENGINE) -> Engine:
    """The engine ``kind`` for the index at ``location``."""
    if kind == "whoosh":
        return WhooshEngine(location)
    raise ConfigError(f"unknown engine {kind!r}; use one of: {', '.join(ENGINES)}")
