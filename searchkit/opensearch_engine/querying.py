"""Searches on an OpenSearch index: the one parser's query in the DSL, one hit per
article (``collapse`` on the canonical URL), facets and timelines as aggregations
counting distinct articles, snippets from the highlighter, and the Whoosh side's
pseudo-relevance feedback (Bo1, :mod:`.feedback`) re-ranking the best hits.

Scores are Lucene's BM25 as OpenSearch gives them: with the same k1, b and idf they
are on the Whoosh side's scale (the seeds' scores agree to the third digit).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from opensearchpy import OpenSearch

from .. import timeline as timelines
from ..config import OpenSearchSettings as Settings
from ..errors import NotFoundError
from ..results import Filters, Hit, Location, SearchResults, Snippet, TermScore, WordCount
from ..search import dsl, parser
from ..search.bo1 import RERANK_DEPTH
from ..search.filters import filter_query
from ..vocabulary import FACETS, SortKey
from . import feedback
from .client import cluster_errors

ARTICLES = {"cardinality": {"field": "canonical", "precision_threshold": 40_000}}
PRE, POST = "\ue000", "\ue001"  # private-use marks (Java trims control characters)
SNIPPET_CHARS = 220
EXPLAIN_FIELDS = ("text", "domain")


@dataclass(frozen=True)
class Asked:
    text: str
    limit: int
    offset: int
    filters: Filters
    literal: bool
    snippets: int
    sort: str
    facets: tuple[str, ...]
    explain: bool
    diagnose: bool
    fallback: bool
    now: dt.datetime | None
    timeline: str | None


def search(client: OpenSearch, settings: Settings, r: Asked) -> SearchResults:
    started = time.monotonic()
    parser.check_request(r.text, r.sort, r.timeline, r.facets, r.filters)
    q = parser.parse(r.text, mode="and", literal=r.literal)
    fq = filter_query(r.filters, now=r.now)
    with cluster_errors(settings):
        answer = _run(client, settings, q, fq, r)
        partial = False
        if r.fallback and not _total(answer) and parser.is_plain_words(r.text, q):
            q = parser.parse(r.text, mode="or", literal=r.literal)
            answer = _run(client, settings, q, fq, r)
            partial = bool(_total(answer))
        ranked = [(h, _score(h)) for h in answer["hits"]["hits"]]
        fb_scores: dict[str, list[TermScore]] = {}
        if r.sort == SortKey.relevance.value and ranked:
            ranked, fb_scores = feedback.rerank(client, settings, ranked, r.explain)
        shown = ranked[r.offset:r.offset + r.limit]
        also = _also_in(client, settings, [h for h, _ in shown])
        hits = tuple(_hit(h, rank, score, r.snippets, also, fb_scores.get(h["_id"], []),
                          r.explain)
                     for rank, (h, score) in enumerate(shown, start=r.offset + 1))
        total = _total(answer)
        diagnosis: tuple[WordCount, ...] = ()
        if r.diagnose and (not total or partial) and r.text.strip():
            diagnosis = _diagnosis(client, settings, r.text, fq)
    aggs = answer.get("aggregations", {})
    counted = None
    if r.timeline is not None:
        per_day = {int(b["key"]) // 86_400_000: int(b["articles"]["value"])
                   for b in aggs["days"]["buckets"]}
        counted = timelines.build(per_day, int(aggs["undated"]["articles"]["value"]),
                                  timelines.Bucket(r.timeline))
    return SearchResults(
        query=r.text, parsed=str(q), total=max(total, len(hits)), offset=r.offset,
        limit=r.limit, hits=hits, partial=partial, sort=r.sort,
        facets={name: _facet(name, aggs[f"facet_{name}"]) for name in r.facets},
        diagnosis=diagnosis, timeline=counted, seconds=time.monotonic() - started)


def query_body(q: Any, fq: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"must": [dsl.translate(q)]}
    if fq is not None:
        body["filter"] = [dsl.translate(fq)]
    return {"bool": body}


def _run(client: OpenSearch, settings: Settings, q: Any, fq: Any, r: Asked
         ) -> dict[str, Any]:
    size = r.offset + r.limit
    if r.sort == SortKey.relevance.value:
        size = max(size, RERANK_DEPTH) if r.limit else 0
    body: dict[str, Any] = {
        "query": query_body(q, fq), "size": size, "track_total_hits": True,
        "collapse": {"field": "canonical"}, "explain": r.explain,
        "aggs": {"articles": ARTICLES},
    }
    if r.sort == SortKey.date.value:
        body["sort"] = [{"published": {"order": "asc", "missing": "_last"}}, "_score"]
    elif r.sort == SortKey.newest.value:  # Whoosh sorts the undated as latest
        body["sort"] = [{"published": {"order": "desc", "missing": "_first"}}, "_score"]
    elif r.sort == SortKey.quality.value:
        body["sort"] = [{"quality": {"order": "desc", "missing": "_last"}}, "_score"]
    if "sort" in body:
        body["track_scores"] = True
    for name in r.facets:
        body["aggs"][f"facet_{name}"] = {
            "terms": {"field": FACETS[name], "size": 1_000},
            "aggs": {"articles": ARTICLES}}
    if r.timeline is not None:
        body["aggs"]["days"] = {"date_histogram": {"field": "published",
                                                   "calendar_interval": "day",
                                                   "min_doc_count": 1},
                                "aggs": {"articles": ARTICLES}}
        body["aggs"]["undated"] = {"missing": {"field": "published"},
                                   "aggs": {"articles": ARTICLES}}
    if r.snippets or r.limit:
        body["highlight"] = {
            "highlight_query": dsl.translate(q), "require_field_match": False,
            "pre_tags": [PRE], "post_tags": [POST], "type": "unified",
            "fields": {"title": {"number_of_fragments": 0},
                       "excerpt": {"fragment_size": SNIPPET_CHARS,
                                   "number_of_fragments": max(r.snippets, 1)}}}
    answer: dict[str, Any] = client.search(index=settings.index, body=body)
    return answer


def _total(answer: dict[str, Any]) -> int:
    if not answer["hits"]["total"]["value"]:
        return 0
    return int(answer["aggregations"]["articles"]["value"])


def _score(h: dict[str, Any]) -> float:
    return float(h.get("_score") or 0.0)


def _facet(name: str, agg: dict[str, Any]) -> tuple[tuple[str, int], ...]:
    pairs = [(str(b["key"]), int(b["articles"]["value"])) for b in agg["buckets"]
             if str(b["key"])]
    if name == "year":
        pairs.sort(key=lambda kv: (len(kv[0]), kv[0]))
    else:
        pairs.sort(key=lambda kv: (-kv[1], kv[0].lower()))
    return tuple(pairs)


# ---------------------------------------------------------------- hits


def _segments(marked: str) -> Snippet:
    out: list[tuple[str, bool]] = []
    for n, part in enumerate(marked.split(PRE)):
        if n == 0:
            if part:
                out.append((part, False))
            continue
        hit, _, rest = part.partition(POST)
        out.append((hit, True))
        if rest:
            out.append((rest, False))
    return tuple(out)


def _lead(text: str, width: int = 200) -> Snippet:
    if len(text) <= width:
        return ((text, False),) if text else ()
    cut = text.rfind(" ", 0, width)
    return ((text[: cut if cut > 40 else width] + " …", False),)


def plain_hit(src: dict[str, Any], rank: int, score: float,
              also_in: tuple[Location, ...] = ()) -> Hit:
    canonical = src.get("canonical", "")
    synthetic = canonical.startswith("entry:")
    published = src.get("published")
    arrived = src.get("arrived")
    return Hit(
        rank=rank, score=round(score, 4), id=src.get("key", ""), kind=src.get("kind", ""),
        path=src.get("path", ""), parent=src.get("parent", ""), title=src.get("title", ""),
        excerpt=src.get("excerpt", ""), provider=src.get("provider", ""),
        domain=src.get("domain", ""),
        published=None if published is None else dt.datetime.fromtimestamp(
            int(published), tz=dt.timezone.utc),
        url=src.get("url", ""), canonical_url="" if synthetic else canonical,
        topics=tuple(src.get("topic_list") or ()), quality=src.get("quality"),
        type=src.get("type", ""), also_in=() if synthetic else also_in,
        arrived=None if arrived is None else dt.datetime.fromtimestamp(
            int(arrived) / 1000, tz=dt.timezone.utc))


def _hit(h: dict[str, Any], rank: int, score: float, snippets: int,
         also: dict[str, tuple[Location, ...]], fb: list[TermScore], explain: bool) -> Hit:
    src = h["_source"]
    marks = h.get("highlight", {})
    title = src.get("title", "")
    title_marked: Snippet = ()
    if title:
        got = marks.get("title")
        title_marked = _segments(got[0]) if got else ((title, False),)
    marked: tuple[Snippet, ...] = ()
    if snippets > 0:
        marked = tuple(_segments(f) for f in marks.get("excerpt", [])[:snippets])
        if not marked:
            lead = _lead(src.get("excerpt", ""))
            marked = (lead,) if lead else ()
    explanation: tuple[TermScore, ...] = ()
    if explain:
        shares = summarise(h.get("_explanation") or {}) + fb
        explanation = tuple(sorted(shares, key=lambda t: -t.score))
    hit = plain_hit(src, rank, score, also.get(src.get("canonical", ""), ()))
    return replace(hit, title_marked=title_marked, snippets=marked,
                   explanation=explanation)


def summarise(node: dict[str, Any], feedback_terms: bool = False) -> list[TermScore]:
    """OpenSearch's explanation as our TermScore list: each ``weight(field:term in N)``
    leaf on a field whose shares Whoosh shows too, summed per term."""
    shares: dict[tuple[str, str], float] = {}
    stack = [node]
    while stack:
        n = stack.pop()
        desc = str(n.get("description", ""))
        if desc.startswith("weight(") and " in " in desc:
            inner = desc[len("weight("):desc.rfind(" in ")]
            field, _, term = inner.partition(":")
            if field in EXPLAIN_FIELDS and term and " " not in term:
                key = (field, term)
                shares[key] = shares.get(key, 0.0) + float(n.get("value", 0.0))
                continue
        stack.extend(n.get("details", []))
    return [TermScore(f, t, round(v, 4), feedback_terms) for (f, t), v in shares.items()]


def _also_in(client: OpenSearch, settings: Settings, shown: list[dict[str, Any]]
             ) -> dict[str, tuple[Location, ...]]:
    """For each shown hit's article, the entries holding it (the hit itself left out
    when the hit is built)."""
    canonicals = sorted({h["_source"].get("canonical", "") for h in shown} - {""})
    canonicals = [c for c in canonicals if not c.startswith("entry:")]
    if not canonicals:
        return {}
    answer = client.search(index=settings.index, body={
        "query": {"terms": {"canonical": canonicals}}, "size": 10_000,
        "_source": ["key", "kind", "path", "canonical"]})
    by: dict[str, list[Location]] = {}
    for h in answer["hits"]["hits"]:
        src = h["_source"]
        by.setdefault(src["canonical"], []).append(
            Location(src.get("key", ""), src.get("kind", ""), src.get("path", "")))
    ids = {h["_source"].get("canonical", ""): h["_id"] for h in shown}
    return {c: tuple(sorted((loc for loc in locs if loc.id != ids.get(c)),
                            key=lambda loc: loc.id))
            for c, locs in by.items()}


def _diagnosis(client: OpenSearch, settings: Settings, text: str, fq: Any
               ) -> tuple[WordCount, ...]:
    from ..search.suggest import _MAX_DIAGNOSED_WORDS

    queries = [(word, parser.literal_query(word, mode="or"))
               for word in parser.user_words(text)[:_MAX_DIAGNOSED_WORDS]]
    queries = [(w, q) for w, q in queries if not dsl.translate(q) == dsl.MATCH_NONE]
    if len(queries) < 2:
        return ()
    return tuple(WordCount(word, int(client.count(index=settings.index, body={
        "query": query_body(q, fq)})["count"])) for word, q in queries)


# ---------------------------------------------------------------- entries


def check_id(entry_id: str) -> None:
    try:
        entry_id.encode("utf-8")
    except UnicodeEncodeError:
        raise NotFoundError(f"no entry {entry_id!r} in the index: ids are UTF-8 text"
                            ) from None


def source_of(client: OpenSearch, settings: Settings, entry_id: str) -> dict[str, Any]:
    check_id(entry_id)
    with cluster_errors(settings):
        answer = client.search(index=settings.index, body={
            "query": {"term": {"key": entry_id}}, "size": 1})
    found = answer["hits"]["hits"]
    if not found:
        raise NotFoundError(f"no entry {entry_id!r} in the index — ids are shown by "
                            "`search` (a clipping's path, or PATH#N for a related article)")
    src: dict[str, Any] = found[0]["_source"]
    return src


def entry(client: OpenSearch, settings: Settings, entry_id: str) -> Hit:
    src = source_of(client, settings, entry_id)
    with cluster_errors(settings):
        also = _also_in(client, settings, [{"_id": entry_id, "_source": src}])
    return plain_hit(src, 1, 0.0, also.get(src.get("canonical", ""), ()))


def similar(client: OpenSearch, settings: Settings, entry_id: str, limit: int
            ) -> SearchResults:
    """Entries most like ``entry_id``: Bo1's key terms of its title (twice) and
    excerpt, as Whoosh's ``more_like`` picks them, as one query."""
    started = time.monotonic()
    src = source_of(client, settings, entry_id)
    with cluster_errors(settings):
        q = feedback.key_terms_query(client, settings, entry_id)
        if q is None:
            hits: tuple[Hit, ...] = ()
        else:
            canonical = src.get("canonical", "")
            answer = client.search(index=settings.index, body={
                "query": {"bool": {"should": q, "minimum_should_match": 1,
                                   "must_not": [{"term": {"canonical": canonical}},
                                                {"term": {"key": entry_id}}]}},
                "size": limit, "collapse": {"field": "canonical"},
                "highlight": {"highlight_query": {"bool": {"should": q}},
                              "require_field_match": False, "pre_tags": [PRE],
                              "post_tags": [POST],
                              "fields": {"title": {"number_of_fragments": 0},
                                         "excerpt": {"fragment_size": SNIPPET_CHARS,
                                                     "number_of_fragments": 1}}}})
            shown = answer["hits"]["hits"]
            also = _also_in(client, settings, shown)
            hits = tuple(_hit(h, n, _score(h), 1, also, [], False)
                         for n, h in enumerate(shown, start=1))
    return SearchResults(query=entry_id, parsed=f"more like {entry_id}", total=len(hits),
                         offset=0, limit=limit, hits=hits,
                         seconds=time.monotonic() - started)


def rank_ids(client: OpenSearch, settings: Settings, texts: Sequence[str], depth: int
             ) -> list[list[tuple[str, str, float]]]:
    out: list[list[tuple[str, str, float]]] = []
    with cluster_errors(settings):
        for text in texts:
            q = parser.literal_query(text, mode="or")
            translated = dsl.translate(q)
            if translated == dsl.MATCH_NONE or depth < 1:
                out.append([])
                continue
            answer = client.search(index=settings.index, body={
                "query": translated, "size": max(depth, RERANK_DEPTH),
                "collapse": {"field": "canonical"}, "_source": ["key", "source_id"]})
            ranked = [(h, _score(h)) for h in answer["hits"]["hits"]]
            ranked, _ = feedback.rerank(client, settings, ranked, False)
            out.append([(h["_source"].get("key", ""), h["_source"].get("source_id") or "",
                         score) for h, score in ranked[:depth]])
    return out
