"""Run a query against the index -> :class:`SearchResults` of plain frozen dataclasses.

Everything Whoosh-shaped stays inside ``with ix.searcher():``; callers get copies.
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
import math
import os
import re
import sys
import time
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from whoosh import collectors, highlight, scoring, sorting
from whoosh import query as wq
from whoosh.util.numeric import byte_to_length, length_to_byte

from . import indexer, query
from .errors import IndexCorruptError, NotFoundError, QueryError
from .indexer import schema
from .results import (
    FACET_NAMES,
    SORT_KEYS,
    Filters,
    Hit,
    Location,
    SearchResults,
    Segment,
    Snippet,
    TermScore,
    WordCount,
)

DEFAULT_TIMEOUT = 10.0  # seconds a search may spend collecting hits (--timeout)


# BM25 with Anserini's defaults for short documents (titles and excerpts are short).
BM25_K1 = 0.9
BM25_B = 0.4
# Pseudo-relevance feedback (Bo1, Terrier's default query expansion): the words that stand
# out in the best FEEDBACK_DOCS entries re-score the best RERANK_DEPTH entries. It never
# changes which entries match, only their order.
FEEDBACK_DOCS = 3
FEEDBACK_TERMS = 10
FEEDBACK_WEIGHT = 0.5  # the strongest expansion word counts half as much as a query word
FEEDBACK_MIN_DOCS = 2  # an expansion word occurs in at least this many feedback entries
RERANK_DEPTH = 200
_FEEDBACK_FIELD = "text"


class _BM25(scoring.BM25F):  # type: ignore[misc]
    """BM25 with BM25's own idf, log(1 + (N - n + 0.5) / (n + 0.5)) as in Lucene,
    instead of Whoosh's log(N / (n + 1)) + 1, whose floor of 1 lets a word that occurs
    almost everywhere weigh a third as much as a rare one.

    Scoring reads each segment's field lengths once, as one byte string, and a
    256-entry table of BM25 length norms (what Lucene does with its norms), where
    Whoosh reads a column per matching document (~3.5 us each)."""

    def idf(self, searcher: Any, fieldname: str, text: Any) -> float:
        parent = searcher.get_parent()
        n = parent.doc_frequency(fieldname, text)
        total = parent.doc_count_all()
        return math.log(1 + (total - n + 0.5) / (n + 0.5))

    def scorer(self, searcher: Any, fieldname: str, text: Any, qf: int = 1) -> Any:
        if not searcher.schema[fieldname].scorable:
            return scoring.WeightScorer.for_(searcher, fieldname, text)
        lengths = _lengths(searcher.reader(), fieldname)
        if lengths is None:  # not a plain segment: Whoosh's own scorer
            return scoring.BM25FScorer(searcher, fieldname, text, self.B, self.K1, qf=qf)
        parent = searcher.get_parent()
        avgfl = parent.avg_field_length(fieldname) or 1
        ti = searcher.term_info(fieldname, text)
        return _Scorer(self.idf(searcher, fieldname, text), lengths,
                       _norms(self.B, self.K1, avgfl), self.K1, ti)


class _Scorer(scoring.BaseScorer):  # type: ignore[misc]
    def __init__(self, idf: float, lengths: bytes, norms: list[float], k1: float,
                 ti: Any) -> None:
        self._c = idf * (k1 + 1)
        self._lengths, self._n, self._norms = lengths, len(lengths), norms
        self._max = self._score(ti.max_weight(), ti.min_length())

    def _score(self, weight: float, length: int) -> float:
        return float(self._c * weight / (weight + self._norms[length_to_byte(length)]))

    def supports_block_quality(self) -> bool:
        return True

    def score(self, matcher: Any) -> float:
        d, w = matcher.id(), matcher.weight()
        return float(self._c * w / (w + self._norms[self._lengths[d] if d < self._n else 0]))

    def max_quality(self) -> float:
        return float(self._max)

    def block_quality(self, matcher: Any) -> float:
        return self._score(matcher.block_max_weight(), matcher.block_min_length())


_CACHE: dict[tuple[str, str, str], Any] = {}  # (folder, segment, what) -> bytes / array


def _segment_key(reader: Any, what: str) -> tuple[str, str, str] | None:
    try:
        return (str(reader._storage.folder), reader.segment().segment_id(), what)
    except AttributeError:
        return None


def _cached(key: tuple[str, str, str], load: Any) -> Any:
    # Segment files never change once written, so their arrays can be kept for the
    # life of the process (a long-lived library user searches many times).
    if key not in _CACHE:
        if len(_CACHE) > 64:
            _CACHE.clear()
        _CACHE[key] = load()
    return _CACHE[key]


def _lengths(reader: Any, fieldname: str) -> bytes | None:
    """One byte per document: the field's length, as Whoosh encodes it."""
    key = _segment_key(reader, f"len:{fieldname}")
    if key is None:
        return None

    def load() -> bytes:
        return indexer.length_bytes(reader._perdoc, fieldname) or b""

    return _cached(key, load)  # type: ignore[no-any-return]


@functools.lru_cache(maxsize=64)
def _norms(b: float, k1: float, avgfl: float) -> list[float]:
    """BM25's k1 * (1 - b + b * length / avgfl) for each of the 256 length bytes."""
    return [k1 * ((1 - b) + b * byte_to_length(i) / avgfl) for i in range(256)]


def _groups(reader: Any) -> Any:
    """The article group (``schema`` ``group``) of every document of a segment."""
    key = _segment_key(reader, "group")

    def load() -> Any:
        col = reader.column_reader("group", translate=False)
        raw = col._dbfile.get(col._basepos, col._count * 8)
        out = array("q")
        out.frombytes(raw)
        if sys.byteorder == "little":
            out.byteswap()  # stored big-endian
        return out

    if not reader.doc_count_all():
        return []
    if key is None:
        col = reader.column_reader("group", translate=False)
        return [col[i] for i in range(reader.doc_count_all())]
    return _cached(key, load)


def weighting() -> scoring.WeightingModel:
    """The ranking function shared by ``search`` and ``eval``."""
    return _BM25(B=BM25_B, K1=BM25_K1)


def _expansion(searcher: Any, docnums: Sequence[int]) -> wq.Query | None:
    """Bo1 expansion words of the entries ``docnums`` as a weighted query, or None."""
    if len(docnums) < FEEDBACK_MIN_DOCS:
        return None
    tf: Counter[str] = Counter()
    df: Counter[str] = Counter()
    field = searcher.schema[_FEEDBACK_FIELD]
    for docnum in docnums:
        stored = searcher.stored_fields(docnum)
        words: Counter[str] = Counter()
        for name in ("title", "excerpt"):
            words.update(field.process_text(stored.get(name) or "", mode="index"))
        tf.update(words)
        df.update(words.keys())
    reader = searcher.reader()
    total = max(reader.doc_count_all(), 1)
    weights: dict[str, float] = {}
    for word, count in tf.items():
        if df[word] < FEEDBACK_MIN_DOCS:
            continue
        cf = reader.frequency(_FEEDBACK_FIELD, word)
        if cf > 0:
            p = cf / total
            weights[word] = count * math.log2((1 + p) / p) + math.log2(1 + p)
    best = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:FEEDBACK_TERMS]
    if not best:
        return None
    top = best[0][1]
    return wq.Or([wq.Term(_FEEDBACK_FIELD, word, boost=FEEDBACK_WEIGHT * weight / top)
                  for word, weight in best])


Ranking = list[tuple[int, float]]  # (document number, score), best first


def _reranked(searcher: Any, order: Ranking) -> tuple[Ranking, wq.Query | None]:
    """``order`` with its first RERANK_DEPTH re-scored with feedback from the first
    FEEDBACK_DOCS, the rest as they were; and the feedback query (None when the
    entries gave no expansion words)."""
    expansion = _expansion(searcher, [d for d, _ in order[:FEEDBACK_DOCS]])
    if expansion is None:
        return order, None
    head = order[:RERANK_DEPTH]
    extra: dict[int, float] = {}
    m = expansion.matcher(searcher)
    for docnum in sorted(d for d, _ in head):
        if not m.is_active():
            break
        if m.id() < docnum:
            m.skip_to(docnum)
        if m.is_active() and m.id() == docnum:
            extra[docnum] = float(m.score())
    position = {d: i for i, (d, _) in enumerate(head)}
    rescored = sorted(((d, score + extra.get(d, 0.0)) for d, score in head),
                      key=lambda ds: (-ds[1], position[ds[0]]))
    return rescored + order[RERANK_DEPTH:], expansion


class _SegmentFormatter(highlight.Formatter):  # type: ignore[misc]
    """Whoosh formatter that returns segments instead of marked-up strings."""

    def format_fragment(self, fragment: Any, replace: bool = False) -> Snippet:
        out: list[Segment] = []
        index, text = fragment.startchar, fragment.text
        for t in sorted(fragment.matches, key=lambda tok: (tok.startchar, -tok.endchar)):
            if t.startchar is None or t.startchar < index:
                continue
            if t.startchar > index:
                out.append((text[index:t.startchar], False))
            out.append((text[t.startchar:t.endchar], True))
            index = t.endchar
        if index < fragment.endchar:
            out.append((text[index:fragment.endchar], False))
        return tuple(out)

    def format(self, fragments: Any, replace: bool = False) -> tuple[Snippet, ...]:
        return tuple(self.format_fragment(f) for f in fragments)


def _open(index_dir: str | os.PathLike[str]) -> Any:
    return indexer.open_index(index_dir)


def _datetime(seconds: int | None) -> dt.datetime | None:
    if seconds is None:
        return None
    return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)


def _lead(text: str, width: int = 200) -> Snippet:
    if len(text) <= width:
        return ((text, False),) if text else ()
    cut = text.rfind(" ", 0, width)
    return ((text[: cut if cut > 40 else width] + " …", False),)


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
        raise QueryError(text, "empty query: give words to search for, or filters such as "
                         "--provider, --topic, --since")
    q = query.parse(text, mode="and", literal=literal)
    filter_q = query.filter_query(filters, now=now)
    request = _Request(text, literal, limit, offset, filter_q, snippets, sort, tuple(facets),
                       explain, diagnose, timeout)
    attempts = 3
    for attempt in range(attempts):
        ix = _open(index_dir)
        try:
            with ix.searcher(weighting=weighting()) as searcher:
                results = _run(searcher, q, request)
            break
        except FileNotFoundError as exc:
            # A commit removed segment files between reading the table of contents
            # and opening them: open the new commit.
            if attempt == attempts - 1:
                raise IndexCorruptError(str(index_dir), "segment files keep disappearing") from exc
    return replace(results, seconds=time.monotonic() - started)


@dataclass(frozen=True)
class _Request:
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


_FACETS = {"provider": "provider_name", "topic": "topic_label", "year": "year", "kind": "kind"}


def _search_args(req: _Request) -> dict[str, Any]:
    args: dict[str, Any] = {"limit": max(req.offset + req.limit, 1)}
    if req.sort == "relevance":  # the feedback re-orders the first RERANK_DEPTH
        args["limit"] = max(args["limit"], RERANK_DEPTH)
    if req.sort == "date":
        args["sortedby"] = [sorting.FieldFacet("published"), sorting.ScoreFacet()]
    elif req.sort == "-date":
        args["sortedby"] = [sorting.FieldFacet("published", reverse=True),
                            sorting.ScoreFacet()]
    elif req.sort == "quality":
        args["sortedby"] = [sorting.FieldFacet("quality", reverse=True), sorting.ScoreFacet()]
    if req.facets:
        args["groupedby"] = {
            name: sorting.FieldFacet(_FACETS[name], allow_overlap=(name == "topic"))
            for name in req.facets
        }
    return args


class _TimeUp(Exception):
    pass


def _deadline(seconds: float) -> float:
    """The monotonic time at which a search that may take ``seconds`` is stopped."""
    return time.monotonic() + seconds


class _Deadline(collectors.WrappingCollector):  # type: ignore[misc]
    """Innermost collector layer: stops the matching loop when the budget is spent.

    Whoosh's TimeLimitCollector must be the outermost layer and then bypasses the
    collapsing layer's own loop (duplicates come back); every layer, however,
    pulls documents through the innermost ``matches()``, so the check goes here."""

    def __init__(self, child: Any, seconds: float) -> None:
        super().__init__(child)
        self.deadline = _deadline(seconds)

    def matches(self) -> Any:
        for n, docnum in enumerate(self.child.matches()):
            if n & 255 == 255 and time.monotonic() > self.deadline:
                raise _TimeUp
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
        self._groups = _groups(segment_searcher.reader())

    def key_for(self, matcher: Any, segment_docnum: int) -> Any:
        return self._groups[segment_docnum]


def _collector(searcher: Any, req: _Request) -> Any:
    """Searcher.collector()'s layers in an order that keeps collapsing, counts and
    filters right together: deadline innermost, then facets, filter, collapse."""
    args = _search_args(req)
    if "sortedby" in args:
        c = collectors.SortingCollector(args["sortedby"], limit=args["limit"])
    elif "groupedby" in args or args["limit"] >= searcher.doc_count():
        c = collectors.UnlimitedCollector()
    else:
        # No block-quality skipping and no max-score matcher replacement: documents
        # they prune never reach the collapse layer, so totals undercounted (740 of
        # 834 articles in a test corpus); they saved ~3% at 100k.
        c = collectors.TopCollector(args["limit"], usequality=False, replace=0)
    if req.timeout:
        c = _Deadline(c, req.timeout)
    if "groupedby" in args:
        c = _Facets(c, args["groupedby"], maptype=sorting.Count)
    if req.filter_q is not None:
        # Under the collapse layer, not over it as Searcher.collector() puts it: an
        # outer FilterCollector calls collect() directly and collapsing never runs.
        c = collectors.FilterCollector(c, req.filter_q, None)
    collapse = collectors.CollapseCollector(c, _GroupFacet(), limit=1)
    return collapse, collapse


@dataclass
class _Collected:
    order: Ranking  # the first ``limit`` articles (or RERANK_DEPTH), best first
    total: int  # distinct articles matched
    facets: dict[str, tuple[tuple[str, int], ...]]


def _collect(searcher: Any, q: wq.Query, req: _Request) -> _Collected:
    """Run ``q`` under the time budget; the breadth check runs first."""
    query.check_breadth(searcher.reader(), q, req.text)
    try:
        if req.sort == "relevance" and not req.facets:
            return _collect_top(searcher, q, req)
        return _collect_layers(searcher, q, req)
    except _TimeUp:
        raise QueryError(req.text, f"the search took longer than {req.timeout:g}s "
                         "(--timeout); narrow it with more words or filters") from None


def _collect_top(searcher: Any, q: wq.Query, req: _Request) -> _Collected:
    """The common case, relevance order without facets, in one loop: every match is
    scored once and kept if it is its article's best so far (one dict entry per
    article), then the best ``limit`` are picked. Whoosh's collector stack
    (collapse -> filter -> top) scores each match twice and costs several Python
    calls per layer; this is the same result in about a third of the time."""
    allow = searcher._filter_to_comb(req.filter_q) if req.filter_q is not None else None
    deadline = _deadline(req.timeout) if req.timeout else None
    best: dict[int, tuple[float, int]] = {}
    context = searcher.context()
    seen = 0
    for sub, offset in searcher.leaf_searchers():
        m = q.matcher(sub, context)
        groups = _groups(sub.reader())
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
            if deadline is not None and not seen & 255 and time.monotonic() > deadline:
                raise _TimeUp
    depth = max(req.offset + req.limit, RERANK_DEPTH)
    top = heapq.nsmallest(depth, best.values(), key=lambda sd: (-sd[0], sd[1]))
    return _Collected([(d, float(sc)) for sc, d in top], len(best), {})


def _collect_layers(searcher: Any, q: wq.Query, req: _Request) -> _Collected:
    """Sorted or faceted searches: Whoosh's collectors, layered as :func:`_collector`."""
    collector, collapse = _collector(searcher, req)
    searcher.search_with_collector(q, collector)
    results = collector.results()
    order = [(results.docnum(i), _relevance(results.score(i)))
             for i in range(results.scored_length())]
    facets = {name: _facet_counts(results, name) for name in req.facets}
    # Whoosh's own counts are off under collapsing (a replaced duplicate counts twice)
    # and differ between sorting collectors; the collapse layer holds one list per
    # distinct article, and every entry has a group.
    return _Collected(order, len(collapse.lists), facets)


def _run(searcher: Any, q: wq.Query, req: _Request) -> SearchResults:
    found = _collect(searcher, q, req)
    partial = False
    if not found.total and query.is_plain_words(req.text, q):
        q_or = query.parse(req.text, mode="or", literal=req.literal)
        found = _collect(searcher, q_or, req)
        partial = bool(found.total)
        q = q_or
    order, expansion = found.order, None
    if req.sort == "relevance":
        order, expansion = _reranked(searcher, order)
    terms = _scored_terms(q) + _scored_terms(expansion) if req.explain else ()
    words = _highlight_words(searcher, q)
    hits = tuple(
        _hit(searcher, docnum, rank, req.snippets, words, terms, score)
        for rank, (docnum, score) in enumerate(order[req.offset:req.offset + req.limit],
                                               start=req.offset + 1)
    )
    suggestions: tuple[str, ...] = ()
    diagnosis: tuple[WordCount, ...] = ()
    if req.diagnose and (found.total == 0 or partial) and req.text.strip():
        suggestions = _suggest(searcher, req.text, q)
        diagnosis = _diagnose(searcher, req.text, req.filter_q)
    return SearchResults(
        query=req.text, parsed=str(q), total=max(found.total, len(hits)), offset=req.offset,
        limit=req.limit, hits=hits, partial=partial, sort=req.sort, facets=found.facets,
        suggestions=suggestions, diagnosis=diagnosis,
    )


def _highlight_words(searcher: Any, q: wq.Query) -> frozenset[str]:
    """The analysed words to mark in titles and excerpts: those the query looks for
    (prefixes and fuzzy terms expanded), not those it excludes."""
    reader = searcher.reader()

    def words(node: wq.Query) -> set[str]:
        return {t.decode("utf-8") if isinstance(t, bytes) else str(t)
                for f, t in node.existing_terms(reader, phrases=True, expand=True)
                if f in schema.HIGHLIGHT_FIELDS}

    excluded: set[str] = set()
    for node in query.walk(q):
        if isinstance(node, wq.Not):
            excluded |= words(node.query)
    return frozenset(words(q) - excluded)


def _facet_counts(results: Any, name: str) -> tuple[tuple[str, int], ...]:
    groups = results.groups(name)
    pairs = [(str(k), int(v)) for k, v in groups.items() if k not in (None, "", b"")]
    pairs.sort(key=lambda kv: (-kv[1], kv[0].lower()))
    return tuple(pairs)


def _scored_terms(q: wq.Query | None) -> tuple[wq.Term, ...]:
    """The terms that add to a score; feedback words keep their boosts."""
    if q is None:
        return ()
    found = {(f, t): wq.Term(f, t) for f, t in q.iter_all_terms()
             if f in schema.TEXT_FIELDS or f == "domain"}
    for leaf in q.leaves():
        if isinstance(leaf, wq.Term) and (leaf.fieldname, leaf.text) in found:
            found[leaf.fieldname, leaf.text] = leaf
    return tuple(found[k] for k in sorted(found))


def _explain(searcher: Any, docnum: int, terms: Sequence[wq.Term]
             ) -> tuple[TermScore, ...]:
    """Each term's BM25F contribution to one document's score (a word asked for and
    also found by feedback: both parts, summed)."""
    scores: dict[tuple[str, str], float] = {}
    for term in terms:
        m = term.matcher(searcher)
        if not m.is_active():
            continue
        m.skip_to(docnum)
        if m.is_active() and m.id() == docnum:
            text = term.text
            word = text.decode("utf-8") if isinstance(text, bytes) else str(text)
            key = (term.fieldname, word)
            scores[key] = scores.get(key, 0.0) + float(m.score())
    out = [TermScore(f, w, round(score, 4)) for (f, w), score in scores.items()]
    out.sort(key=lambda t: -t.score)
    return tuple(out)


def _suggest(searcher: Any, text: str, q: wq.Query) -> tuple[str, ...]:
    """Corrected query text from the index's own (unstemmed) vocabulary."""
    words = re.findall(schema.TOKEN_PATTERN, text)
    changed = False
    out_words: list[str] = []
    for word in words:
        lower = word.lower()
        if lower in schema.STOP_WORDS or len(lower) < 3 or _known(searcher, lower):
            out_words.append(word)
            continue
        best = next(iter(searcher.suggest("spell", lower, limit=1, maxdist=2, prefix=1)), "")
        if best and best != lower:
            out_words.append(best)
            changed = True
        else:
            out_words.append(word)
    if not changed:
        return ()
    suggestion = text
    for old, new in zip(words, out_words, strict=True):
        if old != new:
            suggestion = re.sub(rf"\b{re.escape(old)}\b", new, suggestion, count=1)
    return (suggestion,)


def _known(searcher: Any, word: str) -> bool:
    return bool(searcher.reader().doc_frequency("spell", word) > 0)


def _diagnose(searcher: Any, text: str, filter_q: Any) -> tuple[WordCount, ...]:
    """How many entries each word of the query matches on its own (with the filters)."""
    words = query.user_words(text)[:20]
    if len(words) < 2:
        return ()  # one word: its count is the total, already known
    out: list[WordCount] = []
    for word in words:
        alone = query.literal_query(word, mode="or")
        count = 0 if alone is wq.NullQuery else len(
            searcher.search(alone, limit=1, filter=filter_q))
        out.append(WordCount(word, count))
    return tuple(out)


def _marked(searcher: Any, text: str, words: frozenset[str], fragmenter: Any,
            top: int) -> tuple[Snippet, ...]:
    if not text or not words:
        return ()
    got = highlight.highlight(text, words, searcher.schema["text"].analyzer, fragmenter,
                              _SegmentFormatter(), top=top)
    return tuple(got or ())


def _hit(searcher: Any, docnum: int, rank: int, snippets: int, words: frozenset[str],
         terms: Sequence[wq.Term] = (), score: float = 0.0) -> Hit:
    f = searcher.stored_fields(docnum)
    excerpt = f.get("excerpt", "")
    marked: tuple[Snippet, ...] = ()
    if snippets > 0:
        marked = _marked(searcher, excerpt, words,
                         highlight.ContextFragmenter(maxchars=220, surround=60), snippets)
        if not marked:
            lead = _lead(excerpt)
            marked = (lead,) if lead else ()
    title = f.get("title", "")
    title_marked: Snippet = ()
    if title:
        got = _marked(searcher, title, words, highlight.WholeFragmenter(), 1)
        title_marked = got[0] if got else ((title, False),)
    hit = _plain_hit(searcher, f, docnum, rank, score)
    return replace(hit, title_marked=title_marked, snippets=marked,
                   explanation=_explain(searcher, docnum, terms) if terms else ())


def _relevance(score: Any) -> float:
    """A hit's relevance score; when sorted, Whoosh's score is the sort key, whose last
    part is our ScoreFacet (the negated score)."""
    if isinstance(score, tuple):
        return float(-score[-1]) if score and isinstance(score[-1], (int, float)) else 0.0
    return float(score or 0.0)


def _plain_hit(searcher: Any, f: dict[str, Any], docnum: int, rank: int,
               score: float) -> Hit:
    canonical = f.get("canonical", "")
    synthetic = canonical.startswith("entry:")
    return Hit(
        rank=rank,
        score=round(score, 4),
        id=f.get("key", ""),
        kind=f.get("kind", ""),
        path=f.get("path", ""),
        parent=f.get("parent", ""),
        title=f.get("title", ""),
        excerpt=f.get("excerpt", ""),
        provider=f.get("provider", ""),
        domain=f.get("domain", ""),
        published=_datetime(f.get("published")),
        url=f.get("url", ""),
        canonical_url="" if synthetic else canonical,
        topics=tuple(f.get("topic_list") or ()),
        quality=f.get("quality"),
        type=f.get("type", ""),
        also_in=() if synthetic else _also_in(searcher, canonical, docnum),
    )


def _also_in(searcher: Any, canonical: str, docnum: int) -> tuple[Location, ...]:
    out: list[Location] = []
    for other in searcher.document_numbers(canonical=canonical):
        if other == docnum:
            continue
        f = searcher.stored_fields(other)
        out.append(Location(f.get("key", ""), f.get("kind", ""), f.get("path", "")))
    return tuple(sorted(out, key=lambda loc: loc.id))


def entry(index_dir: str | os.PathLike[str], entry_id: str) -> Hit:
    """The indexed entry ``entry_id`` (a clipping path or ``PATH#N``) as a Hit."""
    ix = _open(index_dir)
    with ix.searcher() as searcher:
        docnum = searcher.document_number(key=entry_id)
        if docnum is None:
            raise NotFoundError(f"no entry {entry_id!r} in the index — ids are shown by "
                                "`search` (a clipping's path, or PATH#N for a related article)")
        return _plain_hit(searcher, searcher.stored_fields(docnum), docnum, 1, 0.0)


def similar(index_dir: str | os.PathLike[str], entry_id: str, *, limit: int = 10,
            snippets: int = 1) -> SearchResults:
    """Entries most like ``entry_id`` (more-like-this over title and excerpt words)."""
    started = time.monotonic()
    ix = _open(index_dir)
    with ix.searcher(weighting=weighting()) as searcher:
        docnum = searcher.document_number(key=entry_id)
        if docnum is None:
            raise NotFoundError(f"no entry {entry_id!r} in the index")
        f = searcher.stored_fields(docnum)
        text = f"{f.get('title', '')} {f.get('title', '')} {f.get('excerpt', '')}"
        exclude = {docnum, *searcher.document_numbers(canonical=f.get("canonical", ""))}
        results = searcher.more_like(docnum, "text", text=text, top=limit + len(exclude),
                                     numterms=12, normalize=True)
        words = _highlight_words(searcher, results.q)
        hits: list[Hit] = []
        seen: set[str] = set()
        for h in results:
            if h.docnum in exclude or len(hits) >= limit:
                continue
            canonical = h.get("canonical", "")
            if canonical in seen:
                continue
            seen.add(canonical)
            hits.append(_hit(searcher, h.docnum, len(hits) + 1, snippets, words,
                             score=float(h.score or 0.0)))
        parsed = f"more like {entry_id}"
    return SearchResults(query=entry_id, parsed=parsed, total=len(hits), offset=0, limit=limit,
                         hits=tuple(hits), seconds=time.monotonic() - started)


def rank_ids(index_dir: str | os.PathLike[str], texts: Sequence[str], *, depth: int = 1000
             ) -> list[list[tuple[str, str, float]]]:
    """Rank each of ``texts`` for ``eval``: its words as typed, any of them may match
    (no syntax), scored as ``search`` scores, one entry per article as ``search`` shows
    them; one searcher for all the texts.

    Per text, best first, up to ``depth`` tuples (entry id, front-matter id or "", score);
    a text with no searchable words gets none. Raises QueryError for a text too long.
    """
    ix = _open(index_dir)
    ranked: list[list[tuple[str, str, float]]] = []
    with ix.searcher(weighting=weighting()) as searcher:
        for text in texts:
            q = query.literal_query(text, mode="or")
            if q is wq.NullQuery or depth < 1:
                ranked.append([])
                continue
            req = _Request(text=text, literal=True, limit=depth, offset=0, filter_q=None,
                           snippets=0, sort="relevance", facets=(), explain=False,
                           diagnose=False, timeout=None)
            order, _ = _reranked(searcher, _collect_top(searcher, q, req).order)
            stored = searcher.stored_fields
            ranked.append([(stored(d)["key"], stored(d).get("source_id", ""), score)
                           for d, score in order[:depth]])
    return ranked


def stats(index_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Counts and facts about the index for ``status``."""
    ix = _open(index_dir)
    with ix.searcher() as s:
        clippings = sum(1 for _ in s.docs_for_query(wq.Term("kind", schema.KIND_CLIPPING)))
        related = sum(1 for _ in s.docs_for_query(wq.Term("kind", schema.KIND_RELATED)))
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
