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
from dataclasses import dataclass, replace
from typing import Any

from whoosh import query as wq

from .. import timeline as timelines
from ..errors import IndexCorruptError, NotFoundError, QueryError
from ..indexer import open_index, schema
from ..indexer.check import reports_damage
from ..results import Filters, Hit, SearchResults, WordCount
from ..vocabulary import (
    DEFAULT_TIMEOUT,
    KIND_CLIPPING,
    KIND_RELATED,
    SortKey,
)
from . import citations, collecting, hits, parser, story, suggest
from .collecting import Request
from .deadline import Deadline, DeadlineSearcher, TimeUp
from .expand import Expander
from .filters import filter_query
from .ranking import Ranking, reranked, weighting

__all__ = ["DEFAULT_TIMEOUT", "Filters", "entry", "rank_ids", "search", "similar", "stats",
           "weighting"]

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
    fallback: bool = True,
    fill: bool = False,
    now: dt.datetime | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    timeline: str | None = None,
) -> SearchResults:
    """Search ``text`` (query syntax unless ``literal``).

    All words must match; with ``fallback``, plain words (no operators or phrases) that
    no entry has all of give the best partial matches instead, with ``partial=True``;
    with ``fill`` too (what ``search`` shows on a page), a page that whole matches leave
    short is filled with the best partial matches, after them (relevance order only),
    each hit marked ``partial``. ``total`` counts whole matches, ``partial_total`` the
    partial ones there are to show. ``filters`` combine with the query (which may then
    be empty); ``facets`` count all hits by provider, topic, year or kind; ``diagnose``
    adds suggestions and per-word counts when nothing (or almost nothing) matches.

    ``timeout`` seconds (None or 0: no limit) bound the whole search: one
    :class:`.Deadline`, made here, is consulted while patterns are expanded, hits
    collected (the postings themselves look at it), feedback and hits built, and a
    QueryError says which stage ran out. Suggestions and per-word counts that run out
    of time are left out instead, with a note in ``notes``: the hits came in time.

    ``timeline`` (a :class:`searchkit.timeline.Bucket` name, ``auto`` included) counts
    every match per period, as ``total`` counts them (one per article).
    """
    started = time.monotonic()
    deadline = Deadline(timeout)
    filters = filters or Filters()
    parser.check_request(text, sort, timeline, facets, filters)
    q = parser.parse(text, mode="and", literal=literal)
    request = Request(text, literal, limit, offset, filter_query(filters, now=now), snippets,
                      sort, tuple(facets), explain, diagnose, timeout, deadline)
    for attempt in range(_OPEN_ATTEMPTS):
        ix = open_index(index_dir)
        try:
            with DeadlineSearcher(ix.reader(), deadline=deadline, weighting=weighting(),
                                  fromindex=ix) as searcher, \
                    story.pinned(index_dir, searcher.reader()) as stories:
                results = story.attach_to(stories, _run(searcher, q, request, fallback,
                                                        timeline, fill))
            break
        except TimeUp as up:
            raise QueryError(text, f"the search took longer than {timeout:g}s (--timeout) "
                             f"while {up.stage}; narrow it with more words or filters, or "
                             "allow more time with --timeout") from None
        except FileNotFoundError as exc:
            # A commit removed segment files between reading the table of contents
            # and opening them: open the new commit.
            if attempt == _OPEN_ATTEMPTS - 1:
                raise IndexCorruptError(str(index_dir), "segment files keep disappearing") from exc
    return replace(results, seconds=time.monotonic() - started)


def _run(searcher: Any, q: wq.Query, req: Request, fallback: bool = True,
         timeline: str | None = None, fill: bool = True) -> SearchResults:
    """Whole matches (every word), best first; with ``fallback``, plain words that have
    fewer whole matches than the page needs fill it from the any-word ranking, after
    them (``fill``, relevance order only), or, when none has every word, make it."""
    deadline = req.deadline
    expander = Expander(searcher.reader(), req.text, deadline)
    run_q = expander.expand(q)  # what is matched; ``q`` is what is shown
    found = collecting.collect(searcher, run_q, req)
    words = hits.highlight_words(searcher, run_q)  # the same words for every tier
    whole = _tier(searcher, run_q, found.order, req, words)
    total, facets = found.total, found.facets
    rest: _Tier | None = None  # the partial matches, after the whole ones
    partial_total = 0
    if fallback and parser.is_plain_words(req.text, q) and (not total or (
            fill and req.sort == SortKey.relevance and total < req.offset + req.limit)):
        q_any = parser.parse(req.text, mode="or", literal=req.literal)
        run_any = expander.expand(q_any)
        if not total:  # every hit is partial: as the request sorts and facets them
            some = collecting.collect(searcher, run_any, req)
            rest = _tier(searcher, run_any, some.order, req, words)
            q, run_q, facets = q_any, run_any, some.facets
        else:  # the any-word ranking (with its own feedback), whole matches left out
            some = collecting.collect_top(searcher, run_any,
                                          replace(req, limit=req.limit + total))
            rest = _tier(searcher, run_any, some.order, req, words, without=found.order)
        partial_total = some.total - total
    counted = None
    if timeline is not None:  # every match, not only those shown
        per_day, undated = citations.day_counts(searcher, run_q, req.filter_q, deadline)
        counted = timelines.build(per_day, undated, timelines.Bucket(timeline))
    order = [(d, score, whole) for d, score in whole.order]
    if rest is not None:
        order += [(d, score, rest) for d, score in rest.order]
    shown: list[Hit] = []
    for rank, (docnum, score, tier) in enumerate(order[req.offset:req.offset + req.limit],
                                                 start=req.offset + 1):
        deadline.check("building the hits")
        hit = hits.hit(searcher, docnum, rank, req.snippets, tier.words, tier.terms, score)
        shown.append(replace(hit, partial=True) if tier is rest else hit)
    suggestions: tuple[str, ...] = ()
    diagnosis: tuple[WordCount, ...] = ()
    notes: tuple[str, ...] = ()
    if req.diagnose and total == 0 and req.text.strip():
        left_out = "spelling suggestions and per-word counts"
        try:
            suggestions = suggest.suggestions(searcher, req.text, deadline)
            left_out = "per-word counts"
            diagnosis = suggest.diagnosis(searcher, req.text, req.filter_q, deadline)
        except TimeUp:
            notes = (f"{left_out} left out: the search reached its time limit "
                     f"({req.timeout:g}s, --timeout)",)
    whole_shown = sum(1 for h in shown if not h.partial)
    return SearchResults(
        query=req.text, parsed=str(q), total=max(total, whole_shown), offset=req.offset,
        limit=req.limit, hits=tuple(shown), partial=not total and partial_total > 0,
        partial_total=partial_total, sort=req.sort, facets=facets, suggestions=suggestions,
        diagnosis=diagnosis, notes=notes, timeline=counted,
    )


@dataclass(frozen=True)
class _Tier:
    """Hits ranked together: the whole matches, or the partial ones after them. Each
    tier is re-ranked with its own feedback, so feedback never moves a hit across."""

    order: Ranking
    words: frozenset[str]  # to mark in titles and snippets
    terms: tuple[hits.ScoredTerm, ...]  # for --explain


def _tier(searcher: Any, run_q: wq.Query, order: Ranking, req: Request,
          words: frozenset[str], without: Ranking | None = None) -> _Tier:
    """``order`` re-ranked with its own feedback (relevance order), then ``without``
    the articles of another tier."""
    expansion = None
    if req.sort == SortKey.relevance and order:
        req.deadline.check("re-ranking with feedback")
        order, expansion = reranked(searcher, order)
    if without:
        order = collecting.without_articles(searcher, order, without)
    terms = (hits.scored_terms(run_q) + hits.scored_terms(expansion, feedback=True)
             if req.explain else ())
    return _Tier(order, words, terms)


@reports_damage
def entry(index_dir: str | os.PathLike[str], entry_id: str) -> Hit:
    """The indexed entry ``entry_id`` (a clipping path or ``PATH#N``) as a Hit."""
    _check_id(entry_id)
    ix = open_index(index_dir)
    with ix.searcher() as searcher:
        docnum = searcher.document_number(key=entry_id)
        if docnum is None:
            raise NotFoundError(f"no entry {entry_id!r} in the index — ids are shown by "
                                "`search` (a clipping's path, or PATH#N for a related article)")
        return story.attach_hit(index_dir, searcher.reader(), hits.plain_hit(
            searcher, searcher.stored_fields(docnum), docnum, 1, 0.0))


@reports_damage
def similar(index_dir: str | os.PathLike[str], entry_id: str, *, limit: int = 10,
            snippets: int = 1) -> SearchResults:
    """Entries most like ``entry_id`` (more-like-this over title and excerpt words)."""
    _check_id(entry_id)
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
        found = SearchResults(query=entry_id, parsed=parsed, total=len(shown), offset=0,
                              limit=limit, hits=tuple(shown))
        found = story.attach(index_dir, searcher.reader(), found)
    return replace(found, seconds=time.monotonic() - started)


def _check_id(entry_id: str) -> None:
    """Ids are text: one with bytes that are not UTF-8 (``a\\xff.md`` from a shell
    arrives with surrogate escapes) names no entry, as the index lists none such."""
    try:
        entry_id.encode("utf-8")
    except UnicodeEncodeError:
        shown = entry_id.encode("utf-8", "surrogateescape").decode("utf-8",
                                                                    "backslashreplace")
        raise NotFoundError(f"no entry '{shown}' in the index: ids are UTF-8 text, and "
                            "files whose names are not are skipped when indexing (rename "
                            "them)") from None


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
            stored = [(searcher.stored_fields(d), score) for d, score in order[:depth]]
            ranked.append([(f["key"], f.get("source_id", ""), score) for f, score in stored])
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
