"""The OpenSearch engine (issue #17): an index on a cluster behind the engine seam.

Only the modules of this package import the OpenSearch client (``opensearchpy``), and
only when ``--engine opensearch`` is used: :func:`searchkit.engine.open_engine`
imports this package lazily. Queries are parsed by the one parser
(:mod:`searchkit.search.parser`) and written in the DSL by
:mod:`searchkit.search.dsl`; clippings are scanned, diffed and loaded by the same
neutral modules as for Whoosh.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from typing import Any

from ..config import DEFAULT_QUICK_CHECK_FILES
from ..config import OpenSearchSettings as Settings
from ..engine import Progress, SearchRequest
from ..errors import ConfigError, IndexMissingError
from ..results import (
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
from ..vocabulary import DEFAULT_TIMEOUT, KIND_CLIPPING, KIND_RELATED
from . import client as clients
from . import querying, sync

# Operations of the engine seam the OpenSearch engine does not have yet (README).
NOT_YET = ("story", "cited", "saved searches' new (arrival marks)")


def not_supported(what: str) -> ConfigError:
    return ConfigError(f"{what} is not supported by the opensearch engine yet; use the "
                       "whoosh engine (--engine whoosh) for it")


class OpenSearchEngine:
    """An index on an OpenSearch cluster (``settings.url``, ``settings.index``)."""

    name = "opensearch"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client = clients.connect(settings)

    @property
    def location(self) -> str:
        return sync.location(self.settings)

    def _meta(self) -> dict[str, Any] | None:
        with clients.cluster_errors(self.settings):
            return sync.index_meta(self.client, self.settings)

    def exists(self) -> bool:
        meta = self._meta()
        if meta is None:
            return False
        if sync.check_meta(self.settings, meta) is not None:
            from ..errors import ClusterMappingError

            raise ClusterMappingError(
                self.settings.url, f"index {self.settings.index!r} was written by another "
                f"mapping version ({meta.get('searchkit_mapping')})",
                "run `searchkit index FOLDER --engine opensearch --rebuild`")
        return True

    def recorded_folder(self) -> str | None:
        meta = self._meta()
        folder = (meta or {}).get("folder")
        return folder if isinstance(folder, str) else None

    def diff(self, folder: str | os.PathLike[str]) -> FolderDiff:
        return sync.diff(self.client, self.settings, os.fspath(folder))

    def update(self, folder: str | os.PathLike[str], *, rebuild: bool = False,
               lock_timeout: float = 10.0, progress: Progress | None = None) -> IndexReport:
        return sync.update(self.client, self.settings, os.fspath(folder), rebuild=rebuild,
                           progress=progress)

    def refresh(self, folder: str | os.PathLike[str], *, progress: Progress | None = None,
                quick_check_files: int | None = DEFAULT_QUICK_CHECK_FILES) -> Freshness:
        """Build a missing index, sync a stale one (a full scan: no quick check)."""
        folder_s = os.fspath(folder)
        exists = self._meta() is not None
        if not os.path.isdir(folder_s):
            if exists:
                return Freshness("no-folder", folder_s)
            raise IndexMissingError(self.location, "run `searchkit index FOLDER --engine "
                                    f"opensearch` (there is no clippings folder at "
                                    f"{folder_s})")
        if not exists:
            built = self.update(folder_s, progress=progress)
            return Freshness("built", folder_s, built, new_failures=built.failed)
        found = self.diff(folder_s)
        if found.is_empty:
            return Freshness("fresh", folder_s)
        report = self.update(folder_s, progress=progress)
        return Freshness("updated", folder_s, report, new_failures=report.failed)

    def search(self, request: SearchRequest) -> SearchResults:
        r = request
        if r.by_story:
            raise not_supported("--by-story")
        limit = max(self._count(), 1) if r.limit is None else r.limit  # None: every hit
        asked = querying.Asked(
            r.text, limit, r.offset, r.filters, r.literal, r.snippets, r.sort, r.facets,
            r.explain, r.diagnose, r.fallback, r.now, r.timeline)
        return querying.search(self.client, self.settings, asked)

    def _count(self) -> int:
        with clients.cluster_errors(self.settings):
            return int(self.client.count(index=self.settings.index)["count"])

    def entry(self, entry_id: str) -> Hit:
        return querying.entry(self.client, self.settings, entry_id)

    def similar(self, entry_id: str, *, limit: int = 10) -> SearchResults:
        return querying.similar(self.client, self.settings, entry_id, limit)

    def story(self, story_id: str) -> Story:
        raise not_supported("`searchkit story`")

    def rank_ids(self, texts: Sequence[str], *, depth: int = 1000
                 ) -> list[list[tuple[str, str, float]]]:
        return querying.rank_ids(self.client, self.settings, texts, depth)

    def cited(self, text: str = "", *, filters: Filters | None = None, limit: int = 10,
              timeout: float | None = DEFAULT_TIMEOUT) -> CitedResults:
        raise not_supported("`searchkit cited`")

    def cited_by(self, entry_id: str) -> tuple[EntryRef, ...]:
        src = querying.source_of(self.client, self.settings, entry_id)
        canonical = src.get("canonical", "")
        if not canonical or canonical.startswith("entry:"):
            return ()
        return self._refs({"bool": {"filter": [{"term": {"cites": canonical}},
                                               {"term": {"kind": KIND_CLIPPING}}]}})

    def lookup(self, urls: Sequence[str]) -> tuple[UrlLookup, ...]:
        from ..documents import canonical_url

        out: list[UrlLookup] = []
        for url in urls:
            canonical = canonical_url(url)
            out.append(UrlLookup(url, canonical,
                                 self._refs({"term": {"canonical": canonical}})))
        return tuple(out)

    def _refs(self, query: dict[str, Any]) -> tuple[EntryRef, ...]:
        with clients.cluster_errors(self.settings):
            answer = self.client.search(index=self.settings.index, body={
                "query": query, "size": 10_000,
                "_source": ["key", "kind", "title", "provider", "published", "url"]})
        refs = []
        for h in answer["hits"]["hits"]:
            hit = querying.plain_hit(h["_source"], 1, 0.0)
            refs.append(EntryRef(hit.id, hit.kind, hit.title, hit.provider, hit.published,
                                 hit.url))
        return tuple(sorted(refs, key=lambda e: e.id))

    def stats(self) -> dict[str, Any]:
        meta = self._meta() or {}
        with clients.cluster_errors(self.settings):
            def count(kind: str) -> int:
                return int(self.client.count(index=self.settings.index, body={
                    "query": {"term": {"kind": kind}}})["count"])

            clippings, related = count(KIND_CLIPPING), count(KIND_RELATED)
            shards = self.client.indices.get_settings(index=self.settings.index)
        settings = next(iter(shards.values()))["settings"]["index"]
        updated = meta.get("updated")
        return {
            "entries": clippings + related,
            "clippings": clippings,
            "related": related,
            "segments": int(settings.get("number_of_shards", 1)),  # shards, here
            "folder": meta.get("folder"),
            "generation": None,
            "last_modified": dt.datetime.fromtimestamp(updated, tz=dt.timezone.utc)
            if isinstance(updated, (int, float)) else None,
            "schema_version": meta.get("searchkit_mapping"),
        }

    def arrival_mark(self) -> dt.datetime | None:
        return None


__all__ = ["NOT_YET", "OpenSearchEngine"]
