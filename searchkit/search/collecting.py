"""Collecting: the matches of a query -> the best articles, their total and facet counts.

Entries with the same canonical URL are one article: only its best entry is kept
(collapsing by the ``group`` column). Collecting consults the request's
:class:`.Deadline` as it goes (and the postings consult it on their own).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Any

from whoosh import collectors, sorting
from whoosh import query as wq

from ..vocabulary import FACETS, SortKey
from . import columns
from .bo1 import RERANK_DEPTH
from .deadline import NO_DEADLINE, Deadline
from .ranking import Ranking

STAGE = "collecting hits"


@dataclass(frozen=True)
class Request:
    """What one search asks for, besides the query itself."""

    text: str
    literal: bool
    limit: int
    offset: int
    filter_q: Any
    snippets: int
    sort: str
    facets: tuple[str, ...]
    explain: bool
    diagnose: bool
    timeout: float | None
    deadline: Deadline = NO_DEADLINE  # the search's one budget, made when it starts


@dataclass
class Collected:
    order: Ranking  # the first ``limit`` articles (or RERANK_DEPTH), best first
    total: int  # distinct articles matched
    facets: dict[str, tuple[tuple[str, int], ...]]


def collect(searcher: Any, q: wq.Query, req: Request) -> Collected:
    """Run ``q`` (its patterns already expanded) under the request's deadline
    (:class:`.TimeUp` when it is spent)."""
    req.deadline.check(STAGE)
    if req.sort == SortKey.relevance and not req.facets:
        return collect_top(searcher, q, req)
    return _collect_layers(searcher, q, req)


def collect_top(searcher: Any, q: wq.Query, req: Request) -> Collected:
    """The common case, relevance order without facets, in one loop: every match is
    scored once and kept if it is its article's best so far (one dict entry per
    article), then the best ``limit`` are picked. Whoosh's collector stack
    (collapse -> filter -> top) scores each match twice and costs several Python
    calls per layer; this gives the same result faster."""
    allow = searcher._filter_to_comb(req.filter_q) if req.filter_q is not None else None
    check = req.deadline.check
    best: dict[int, tuple[float, int]] = {}
    context = searcher.context()
    seen = 0
    for sub, offset in searcher.leaf_searchers():
        m = q.matcher(sub, context)
        groups = columns.groups(sub.reader())
        get = best.get
        while m.is_active():
            d = m.id()
            if allow is None or d + offset in allow:
                score = m.score()
                g = groups[d]
                cur = get(g)
                if cur is None or score > cur[0]:
                    best[g] = (score, d + offset)
            m.next()
            seen += 1
            if not seen & 255:
                check(STAGE)
    depth = max(req.offset + req.limit, RERANK_DEPTH)
    top = heapq.nsmallest(depth, best.values(), key=lambda sd: (-sd[0], sd[1]))
    return Collected([(d, float(sc)) for sc, d in top], len(best), {})


def without_articles(searcher: Any, order: Ranking, articles: Ranking) -> Ranking:
    """``order`` without the entries of the articles in ``articles`` (one entry of an
    article may match every word and another only some: the article is then a whole
    match, and its other entry no partial one)."""
    group = _groups_of(searcher, [d for d, _ in order] + [d for d, _ in articles])
    taken = {group[d] for d, _ in articles}
    return [(d, score) for d, score in order if group[d] not in taken]


def _groups_of(searcher: Any, docnums: list[int]) -> dict[int, int]:
    """The article group of each of ``docnums`` (global document numbers)."""
    wanted = sorted(set(docnums))
    out: dict[int, int] = {}
    i = 0
    for sub, offset in searcher.leaf_searchers():
        end = offset + sub.reader().doc_count_all()
        groups = columns.groups(sub.reader())
        while i < len(wanted) and wanted[i] < end:
            out[wanted[i]] = groups[wanted[i] - offset]
            i += 1
    return out


# ---------------------------------------------------------------- Whoosh's collectors


def _collect_layers(searcher: Any, q: wq.Query, req: Request) -> Collected:
    """Sorted or faceted searches: Whoosh's collectors, layered as :func:`_collector`."""
    collapse = _collector(searcher, req)
    searcher.search_with_collector(q, collapse)
    results = collapse.results()
    order = [(results.docnum(i), _relevance(results.score(i)))
             for i in range(results.scored_length())]
    facets = {name: _facet_counts(results, name) for name in req.facets}
    # Whoosh's own counts are off under collapsing (a replaced duplicate counts twice)
    # and differ between sorting collectors; the collapse layer holds one list per
    # distinct article, and every entry has a group.
    return Collected(order, len(collapse.lists), facets)


def _search_args(req: Request) -> dict[str, Any]:
    args: dict[str, Any] = {"limit": max(req.offset + req.limit, 1)}
    if req.sort == SortKey.relevance:  # the feedback re-orders the first RERANK_DEPTH
        args["limit"] = max(args["limit"], RERANK_DEPTH)
    if req.sort == SortKey.date:
        args["sortedby"] = [sorting.FieldFacet("published"), sorting.ScoreFacet()]
    elif req.sort == SortKey.newest:
        args["sortedby"] = [sorting.FieldFacet("published", reverse=True),
                            sorting.ScoreFacet()]
    elif req.sort == SortKey.quality:
        args["sortedby"] = [sorting.FieldFacet("quality", reverse=True), sorting.ScoreFacet()]
    if req.facets:
        args["groupedby"] = {
            name: sorting.FieldFacet(FACETS[name], allow_overlap=(name == "topic"))
            for name in req.facets
        }
    return args


def _collector(searcher: Any, req: Request) -> Any:
    """Searcher.collector()'s layers in an order that keeps collapsing, counts and
    filters right together: deadline innermost, then facets, filter, collapse (the
    outermost layer, returned)."""
    args = _search_args(req)
    if "sortedby" in args:
        c = collectors.SortingCollector(args["sortedby"], limit=args["limit"])
    elif "groupedby" in args or args["limit"] >= searcher.doc_count():
        c = collectors.UnlimitedCollector()
    else:
        # No block-quality skipping and no max-score matcher replacement: documents
        # they prune never reach the collapse layer, so totals undercounted; what they
        # saved is in benchmarks/README.md.
        c = collectors.TopCollector(args["limit"], usequality=False, replace=0)
    if req.deadline.seconds is not None:
        c = _Deadline(c, req.deadline)
    if "groupedby" in args:
        c = _Facets(c, args["groupedby"], maptype=sorting.Count)
    if req.filter_q is not None:
        # Under the collapse layer, not over it as Searcher.collector() puts it: an
        # outer FilterCollector calls collect() directly and collapsing never runs.
        c = collectors.FilterCollector(c, req.filter_q, None)
    return collectors.CollapseCollector(c, _GroupFacet(), limit=1)


class _Deadline(collectors.WrappingCollector):  # type: ignore[misc]
    """Innermost collector layer: stops the matching loop when the budget is spent.

    Whoosh's TimeLimitCollector must be the outermost layer and then bypasses the
    collapsing layer's own loop (duplicates come back); every layer, however,
    pulls documents through the innermost ``matches()``, so the check goes here."""

    def __init__(self, child: Any, deadline: Deadline) -> None:
        super().__init__(child)
        self.deadline = deadline

    def matches(self) -> Any:
        for n, docnum in enumerate(self.child.matches()):
            if n & 255 == 255:
                self.deadline.check(STAGE)
            yield docnum


class _Facets(collectors.FacetCollector):  # type: ignore[misc]
    """Facet counts that stay right when the collapse layer swaps a duplicate for a
    better one: Whoosh's FacetCollector counts every collect() and ignores remove()."""

    def prepare(self, top_searcher: Any, q: Any, context: Any) -> None:
        super().prepare(top_searcher, q, context)
        self._keys: dict[int, list[tuple[str, Any]]] = {}

    def collect(self, sub_docnum: int) -> Any:
        sortkey = super().collect(sub_docnum)
        matcher, global_docnum = self.child.matcher, sub_docnum + self.child.offset
        keys: list[tuple[str, Any]] = []
        for name, categorizer in self.categorizers.items():
            if categorizer.allow_overlap:
                keys += [(name, categorizer.key_to_name(k))
                         for k in categorizer.keys_for(matcher, sub_docnum)]
            else:
                keys.append((name, categorizer.key_to_name(
                    categorizer.key_for(matcher, sub_docnum))))
        self._keys[global_docnum] = keys
        return sortkey

    def remove(self, global_docnum: int) -> None:
        for name, key in self._keys.pop(global_docnum, ()):
            counts = self.facetmaps[name].dict
            counts[key] -= 1
            if counts[key] <= 0:
                del counts[key]
        self.child.remove(global_docnum)


class _GroupFacet(sorting.FacetType):  # type: ignore[misc]
    """Collapse key: the article group column (one array per segment)."""

    def categorizer(self, global_searcher: Any) -> Any:
        return _GroupCategorizer()


class _GroupCategorizer(sorting.Categorizer):  # type: ignore[misc]
    def set_searcher(self, segment_searcher: Any, docoffset: int) -> None:
        self._groups = columns.groups(segment_searcher.reader())

    def key_for(self, matcher: Any, segment_docnum: int) -> Any:
        return self._groups[segment_docnum]


def _relevance(score: Any) -> float:
    """A hit's relevance score; when sorted, Whoosh's score is the sort key, whose last
    part is our ScoreFacet (the negated score)."""
    if isinstance(score, tuple):
        return float(-score[-1]) if score and isinstance(score[-1], (int, float)) else 0.0
    return float(score or 0.0)


def _facet_counts(results: Any, name: str) -> tuple[tuple[str, int], ...]:
    """(value, count) pairs: years in order (oldest first), any other facet by count."""
    groups = results.groups(name)
    pairs = [(str(k), int(v)) for k, v in groups.items() if k not in (None, "", b"")]
    if name == "year":
        pairs.sort(key=lambda kv: (len(kv[0]), kv[0]))
    else:
        pairs.sort(key=lambda kv: (-kv[1], kv[0].lower()))
    return tuple(pairs)
