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
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from .config import DEFAULT_QUICK_CHECK_FILES, OpenSearchSettings
from .errors import ConfigError
from .results import (
    CitedResults,
    EntryRef,
    Filters,
    FolderDiff,
    Freshness,
    Hit,
    IndexReport,
    SearchResults,
    Story,
    UrlLookup,
)
from .vocabulary import DEFAULT_TIMEOUT

Progress = Callable[[int, int], None]

ENGINES = ("whoosh", "opensearch")
DEFAULT_ENGINE = "whoosh"


@dataclass(frozen=True)
class SearchRequest:
    """One search, as the user asked for it (engine-neutral; saved searches keep these)."""

    text: str
    limit: int | None = 10  # None: every hit
    offset: int = 0
    filters: Filters = field(default_factory=Filters)
    literal: bool = False
    snippets: int = 1
    sort: str = "relevance"
    facets: tuple[str, ...] = ()
    explain: bool = False
    diagnose: bool = True
    # Plain words: fill a page that whole matches leave short with partial matches
    # (after them, marked), or show only partial ones when nothing has every word.
    fallback: bool = True
    timeout: float | None = DEFAULT_TIMEOUT  # seconds for the whole search; None: none
    now: dt.datetime | None = None
    timeline: str | None = None  # a bucket (day, week, month, year, auto): count per period
    by_story: bool = False  # one row per story (searchkit.bystory); totals count stories


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

    def story(self, story_id: str) -> Story:
        """A story's members, oldest first (ids: ``Hit.story``)."""

    def rank_ids(self, texts: Sequence[str], *, depth: int = 1000
                 ) -> list[list[tuple[str, str, float]]]:
        """For evaluation: each text's ranking as (entry id, clipping id, score)."""

    def cited(self, text: str = "", *, filters: Filters | None = None, limit: int = 10,
              timeout: float | None = DEFAULT_TIMEOUT) -> CitedResults:
        """The articles cited by the most clippings matching ``text`` and ``filters``."""

    def cited_by(self, entry_id: str) -> tuple[EntryRef, ...]:
        """The clippings whose related articles include the article of ``entry_id``."""

    def lookup(self, urls: Sequence[str]) -> tuple[UrlLookup, ...]:
        """For each (well-formed) URL, the entries holding its article under any variant."""

    def stats(self) -> dict[str, Any]:
        """Counts and facts about the index (entries, segments, size, last update)."""

    def arrival_mark(self) -> dt.datetime | None:
        """The arrival time of the newest commit: every entry it holds arrived at or
        before it, every entry a later commit adds after it (None: no commit has one)."""


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
        if r.by_story:  # every match, then one row per story
            return _by_story(r, search.search(
                self.index_dir, r.text, limit=sys.maxsize, offset=0, filters=r.filters,
                literal=r.literal, snippets=r.snippets, sort=r.sort, facets=(),
                explain=r.explain, diagnose=r.diagnose, fallback=r.fallback, fill=False,
                now=r.now, timeout=r.timeout))
        results = search.search(
            self.index_dir, r.text, limit=sys.maxsize if r.limit is None else r.limit,
            offset=r.offset, filters=r.filters, literal=r.literal, snippets=r.snippets,
            sort=r.sort, facets=r.facets, explain=r.explain, diagnose=r.diagnose,
            fallback=r.fallback, fill=r.limit is not None,  # a page, not every match
            now=r.now, timeout=r.timeout, timeline=r.timeline)
        return results if r.limit is not None else replace(results, limit=len(results.hits))

    def story(self, story_id: str) -> Story:
        from .search import story

        return story.story(self.index_dir, story_id)

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

    def arrival_mark(self) -> dt.datetime | None:
        from .indexer import arrivals, open_index

        mark = arrivals.mark_of(open_index(self.index_dir).schema)
        return dt.datetime.fromtimestamp(mark / 1000, tz=dt.timezone.utc) if mark else None

    def cited(self, text: str = "", *, filters: Filters | None = None, limit: int = 10,
              timeout: float | None = DEFAULT_TIMEOUT) -> CitedResults:
        from .search import citations

        return citations.cited(self.index_dir, text, filters=filters, limit=limit,
                               timeout=timeout)

    def cited_by(self, entry_id: str) -> tuple[EntryRef, ...]:
        from .search import citations

        return citations.cited_by(self.index_dir, entry_id)

    def lookup(self, urls: Sequence[str]) -> tuple[UrlLookup, ...]:
        from .search import citations

        return citations.lookup(self.index_dir, urls)


def _by_story(r: SearchRequest, every: SearchResults) -> SearchResults:
    """One row per story of ``every`` match; the timeline counts stories by their first
    member's date."""
    from . import bystory, timeline

    results = bystory.collapse(every, limit=r.limit, offset=r.offset, facets=r.facets)
    if r.timeline is None:
        return results
    per_day: dict[int, int] = {}
    undated = 0
    seen: set[str] = set()
    for h in every.hits:
        key = h.story or h.id
        if key in seen:
            continue
        seen.add(key)
        first = h.story_first.published if h.story_first else h.published
        if first is None:
            undated += 1
        else:
            day = int(first.timestamp()) // 86_400
            per_day[day] = per_day.get(day, 0) + 1
    return replace(results, timeline=timeline.build(per_day, undated,
                                                    timeline.Bucket(r.timeline)))


def open_engine(location: str | os.PathLike[str], kind: str = DEFAULT_ENGINE,
                opensearch: OpenSearchSettings | None = None) -> Engine:
    """The engine ``kind`` for the index at ``location`` (a folder, for whoosh); for
    opensearch, the cluster and index in ``opensearch`` (``location`` is unused).
    The OpenSearch client is imported only here, only for that engine."""
    if kind == "whoosh":
        return WhooshEngine(location)
    if kind == "opensearch":
        if opensearch is None:
            raise ConfigError("the opensearch engine needs a cluster URL: give "
                              "--opensearch-url or set SEARCHKIT_OPENSEARCH_URL")
        from .opensearch_engine import OpenSearchEngine

        return OpenSearchEngine(opensearch)
    raise ConfigError(f"unknown engine {kind!r}; use one of: {', '.join(ENGINES)}")
