"""Run a query against the index -> :class:`SearchResults` of plain frozen dataclasses.

A query string travels: :func:`search` -> :func:`.parser.parse` (and
:func:`.filters.filter_query` for the filters) -> :func:`.collecting.collect` (top-k,
one entry per article, facets, time budget) -> :func:`.ranking.reranked` (feedback)
-> :func:`.hits.hit` for each hit shown -> :mod:`.suggest` when nothing matched.
Everything Whoosh-shaped stays inside ``with ix.searcher():``; callers get copies.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from whoosh import query as wq

from ..errors import IndexCorruptError, NotFoundError, QueryError
from ..indexer import open_index, schema
from ..indexer.check import reports_damage
from ..results import Filters, Hit, SearchResults, WordCount
from ..vocabulary import FACET_NAMES, FILTERS, KIND_CLIPPING, KIND_RELATED, SORT_KEYS, SortKey
from . import collecting, hits, parser, suggest
from .collecting import Request
from .filters import filter_query
from .ranking import reranked, weighting

__all__ = ["DEFAULT_TIMEOUT", "Filters", "entry", "rank_ids", "search", "similar", "stats",
           "weighting"]

DEFAULT_TIMEOUT = 10.0  # seconds a search may spend collecting hits (--timeout)
_OPEN_ATTEMPTS = 3


@reports_damage
def search(
    index_dir: str | os.PathLike[str],
    text: str,
    *,
    limit: int = 10,
    offset: int = 0,
    filters: Filters | None = None,
    literal: bool = False,
    snippets: int = 1,
    sort: str = "relevance",
    facets: Sequence[str] = (),
    explain: bool = False,
    diagnose: bool = True,
    now: dt.datetime | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> SearchResults:
    """Search ``text`` (query syntax unless ``literal``).

    All words must match; when nothing matches them all, the best partial matches come
    back with ``partial=True``. ``filters`` combine with the query (which may then be
    empty); ``facets`` count all hits by provider, topic, year or kind; ``diagnose``
    adds suggestions and per-word counts when nothing (or almost nothing) matches.
    Collecting hits stops with a QueryError after ``timeout`` seconds (None: no limit).
    """
    started = time.monotonic()
    filters = filters or Filters()
    if sort not in SORT_KEYS:
        raise QueryError(text, f"unknown sort {sort!r}; use one of {', '.join(SORT_KEYS)}")
    unknown = [f for f in facets if f not in FACET_NAMES]
    if unknown:
        raise QueryError(text, f"unknown facet {unknown[0]!r}; use {', '.join(FACET_NAMES)}")
    if not text.strip() and not filters.active:
        such_as = ", ".join(FILTERS[name] for name in ("providers", "topics", "since"))
        raise QueryError(text, "empty query: give words to search for, or filters such as "
                         f"{such_as}")
    q = parser.parse(text, mode="and", literal=literal)
    request = Request(text, literal, limit, offset, filter_query(filters, now=now), snippets,
                      sort, tuple(facets), explain, diagnose, timeout)
    for attempt in range(_OPEN_ATTEMPTS):
        ix = open_index(index_dir)
        try:
            with ix.searcher(weighting=weighting()) as searcher:
                results = _run(searcher, q, request)
            break
        except FileNotFoundError as exc:
            # A commit removed segment files between reading the table of contents
            # and opening them: open the new commit.
            if attempt == _OPEN_ATTEMPTS - 1:
                raise IndexCorruptError(str(index_dir), "segment files keep disappearing") from exc
    return replace(results, seconds=time.monotonic() - started)


def _run(searcher: Any, q: wq.Query, req: Request) -> SearchResults:
    found = collecting.collect(searcher, q, req)
    partial = False
    if not found.total and parser.is_plain_words(req.text, q):
        q_or = parser.parse(req.text, mode="or", literal=req.literal)
        found = collecting.collect(searcher, q_or, req)
        partial = bool(found.total)
        q = q_or
    order, expansion = found.order, None
    if req.sort == SortKey.relevance:
        order, expansion = reranked(searcher, order)
    terms = (hits.scored_terms(q) + hits.scored_terms(expansion, feedback=True)
             if req.explain else ())
    words = hits.highlight_words(searcher, q)
    shown = tuple(
        hits.hit(searcher, docnum, rank, req.snippets, words, terms, score)
        for rank, (docnum, score) in enumerate(order[req.offset:req.offset + req.limit],
                                               start=req.offset + 1)
    )
    suggestions: tuple[str, ...] = ()
    diagnosis: tuple[WordCount, ...] = ()
    if req.diagnose and (found.total == 0 or partial) and req.text.strip():
        suggestions = suggest.suggestions(searcher, req.text)
        diagnosis = suggest.diagnosis(searcher, req.text, req.filter_q)
    return SearchResults(
        query=req.text, parsed=str(q), total=max(found.total, len(shown)), offset=req.offset,
        limit=req.limit, hits=shown, partial=partial, sort=req.sort, facets=found.facets,
        suggestions=suggestions, diagnosis=diagnosis,
    )


@reports_damage
def entry(index_dir: str | os.PathLike[str], entry_id: str) -> Hit:
    """The indexed entry ``entry_id`` (a clipping path or ``PATH#N``) as a Hit."""
    ix = open_index(index_dir)
    with ix.searcher() as searcher:
        docnum = searcher.document_number(key=entry_id)
        if docnum is None:
            raise NotFoundError(f"no entry {entry_id!r} in the index — ids are shown by "
                                "`search` (a clipping's path, or PATH#N for a related article)")
        return hits.plain_hit(searcher, searcher.stored_fields(docnum), docnum, 1, 0.0)


@reports_damage
def similar(index_dir: str | os.PathLike[str], entry_id: str, *, limit: int = 10,
            snippets: int = 1) -> SearchResults:
    """Entries most like ``entry_id`` (more-like-this over title and excerpt words)."""
    started = time.monotonic()
    ix = open_index(index_dir)
    with ix.searcher(weighting=weighting()) as searcher:
        docnum = searcher.document_number(key=entry_id)
        if docnum is None:
            raise NotFoundError(f"no entry {entry_id!r} in the index")
        f = searcher.stored_fields(docnum)
        text = f"{f.get('title', '')} {f.get('title', '')} {f.get('excerpt', '')}"
        exclude = {docnum, *searcher.document_numbers(canonical=f.get("canonical", ""))}
        results = searcher.more_like(docnum, "text", text=text, top=limit + len(exclude),
                                     numterms=12, normalize=True)
        words = hits.highlight_words(searcher, results.q)
        shown: list[Hit] = []
        seen: set[str] = set()
        for h in results:
            if h.docnum in exclude or len(shown) >= limit:
                continue
            canonical = h.get("canonical", "")
            if canonical in seen:
                continue
            seen.add(canonical)
            shown.append(hits.hit(searcher, h.docnum, len(shown) + 1, snippets, words,
                                  score=float(h.score or 0.0)))
        parsed = f"more like {entry_id}"
    return SearchResults(query=entry_id, parsed=parsed, total=len(shown), offset=0,
                         limit=limit, hits=tuple(shown), seconds=time.monotonic() - started)


@reports_damage
def rank_ids(index_dir: str | os.PathLike[str], texts: Sequence[str], *, depth: int = 1000
             ) -> list[list[tuple[str, str, float]]]:
    """Rank each of ``texts`` for ``eval``: its words as typed, any of them may match
    (no syntax), scored as ``search`` scores, one entry per article as ``search`` shows
    them; one searcher for all the texts.

    Per text, best first, up to ``depth`` tuples (entry id, front-matter id or "", score);
    a text with no searchable words gets none. Raises QueryError for a text too long.
    """
    ix = open_index(index_dir)
    ranked: list[list[tuple[str, str, float]]] = []
    with ix.searcher(weighting=weighting()) as searcher:
        for text in texts:
            q = parser.literal_query(text, mode="or")
            if q is wq.NullQuery or depth < 1:
                ranked.append([])
                continue
            req = Request(text=text, literal=True, limit=depth, offset=0, filter_q=None,
                          snippets=0, sort=SortKey.relevance.value, facets=(), explain=False,
                          diagnose=False, timeout=None)
            order, _ = reranked(searcher, collecting.collect_top(searcher, q, req).order)
            stored = searcher.stored_fields
            ranked.append([(stored(d)["key"], stored(d).get("source_id", ""), score)
                           for d, score in order[:depth]])
    return ranked


@reports_damage
def stats(index_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Counts and facts about the index for ``status``."""
    ix = open_index(index_dir)
    with ix.searcher() as s:
        clippings = sum(1 for _ in s.docs_for_query(wq.Term("kind", KIND_CLIPPING)))
        related = sum(1 for _ in s.docs_for_query(wq.Term("kind", KIND_RELATED)))
        return {
            "entries": s.doc_count(),
            "clippings": clippings,
            "related": related,
            "segments": len(s.reader().leaf_readers()),
            "folder": schema.folder_of(ix.schema),
            "generation": ix.latest_generation(),
            "last_modified": dt.datetime.fromtimestamp(ix.last_modified(), tz=dt.timezone.utc),
            "schema_version": schema.version_of(ix.schema),
        }
