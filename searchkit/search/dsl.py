"""A parsed query (the one parser's Whoosh query) -> the OpenSearch query DSL, as dicts.

The OpenSearch engine (:mod:`searchkit.opensearch_engine`) never parses query text
itself: :func:`searchkit.search.parser.parse` and :func:`.filters.filter_query` build
the Whoosh query, and this module writes the same query in the DSL. Term values are
already analysed by the parser (lower case, accents folded, Porter2 stems), so words
become ``term`` queries on the index's analysed fields, not ``match`` queries that
would analyse a stem a second time. No OpenSearch client here: plain dicts out.

=====================  ===============================================================
Whoosh               DSL
=====================  ===============================================================
Term                 ``term`` (boost kept)
And / Or / Not       ``bool`` must / should (one at least) / must_not
AndNot / AndMaybe    ``bool`` must + must_not / must + should
Phrase (slop)        ``span_near`` of ``span_term`` in order, slop - 1 (Whoosh counts
                     adjacent words as slop 1, Lucene as 0)
Prefix / Wildcard    ``prefix`` / ``wildcard``
FuzzyTerm            ``fuzzy`` (edits, prefix length, no transpositions)
NumericRange         ``range`` (``day`` ranges become ``published`` seconds)
Every                ``match_all`` (or ``exists`` on a field)
=====================  ===============================================================
"""

from __future__ import annotations

from typing import Any

from whoosh import query as wq

from ..vocabulary import MAX_EXPANSION

Dsl = dict[str, Any]

MATCH_ALL: Dsl = {"match_all": {}}
MATCH_NONE: Dsl = {"match_none": {}}
_DAY = 86_400


class UntranslatableQuery(ValueError):
    """A Whoosh query node this module has no DSL for (a bug: the parser made it)."""


def translate(q: wq.Query) -> Dsl:
    """The DSL for the parsed query ``q``."""
    if q is wq.NullQuery or isinstance(q, type(wq.NullQuery)):
        return MATCH_NONE
    if isinstance(q, wq.Every):
        return {"exists": {"field": q.fieldname}} if q.fieldname else MATCH_ALL
    if isinstance(q, wq.ConstantScoreQuery):
        return {"constant_score": {"filter": translate(q.child), "boost": q.boost}}
    if isinstance(q, wq.AndNot):
        return {"bool": {"must": [translate(q.a)], "must_not": [translate(q.b)]}}
    if isinstance(q, wq.AndMaybe):
        return {"bool": {"must": [translate(q.a)], "should": [translate(q.b)]}}
    if isinstance(q, wq.Not):
        return {"bool": {"must": [MATCH_ALL], "must_not": [translate(q.query)]}}
    if isinstance(q, wq.And):
        return _and(q.subqueries, q.boost)
    if isinstance(q, wq.Or):
        return _or(q.subqueries, q.boost)
    if isinstance(q, wq.NumericRange):
        return _range(q)
    if isinstance(q, wq.Phrase):
        return _phrase(q)
    if isinstance(q, wq.FuzzyTerm):
        return {"fuzzy": {q.fieldname: _boosted({
            "value": _text(q.text), "fuzziness": int(q.maxdist),
            "prefix_length": int(q.prefixlength), "transpositions": False,
            "max_expansions": MAX_EXPANSION}, q.boost)}}
    if isinstance(q, wq.Prefix):
        return {"prefix": {q.fieldname: _boosted({"value": _text(q.text)}, q.boost)}}
    if isinstance(q, wq.Wildcard):
        return {"wildcard": {q.fieldname: _boosted({"value": _text(q.text)}, q.boost)}}
    if isinstance(q, wq.Term):
        return {"term": {q.fieldname: _boosted({"value": _text(q.text)}, q.boost)}}
    raise UntranslatableQuery(f"no query DSL for {type(q).__name__}: {q!r}")


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _boosted(body: Dsl, boost: float) -> Dsl:
    if boost != 1.0:
        body["boost"] = float(boost)
    return body


def _and(children: list[wq.Query], boost: float) -> Dsl:
    must: list[Dsl] = []
    must_not: list[Dsl] = []
    for child in children:
        if isinstance(child, wq.Not):  # And([a, Not(b)]): a without b
            must_not.append(translate(child.query))
        else:
            must.append(translate(child))
    body: Dsl = {"must": must or [MATCH_ALL]}
    if must_not:
        body["must_not"] = must_not
    return {"bool": _boosted(body, boost)}


def _or(children: list[wq.Query], boost: float) -> Dsl:
    return {"bool": _boosted({"should": [translate(c) for c in children],
                              "minimum_should_match": 1}, boost)}


def _phrase(q: wq.Phrase) -> Dsl:
    words = [_text(w) for w in q.words]
    if len(words) == 1:
        return {"term": {q.fieldname: _boosted({"value": words[0]}, q.boost)}}
    clauses = [{"span_term": {q.fieldname: w}} for w in words]
    return {"span_near": _boosted({"clauses": clauses, "slop": max(int(q.slop) - 1, 0),
                                   "in_order": True}, q.boost)}


def _range(q: wq.NumericRange) -> Dsl:
    """Whoosh's inclusive (or exclusive) bounds; ``day`` (whole days) is the index's
    ``published`` (epoch seconds) here."""
    field, start, end = q.fieldname, q.start, q.end
    lo_key = "gt" if q.startexcl else "gte"
    hi_key = "lt" if q.endexcl else "lte"
    if field == "day":  # [first day, last day] -> [its first second, the last one]
        field = "published"
        if start is not None:
            start = int(start) * _DAY if not q.startexcl else (int(start) + 1) * _DAY
            lo_key = "gte"
        if end is not None:
            end = (int(end) + 1) * _DAY if not q.endexcl else int(end) * _DAY
            hi_key = "lt"
    body: Dsl = {}
    if start is not None:
        body[lo_key] = int(start)
    if end is not None:
        body[hi_key] = int(end)
    if field == "published":
        body["format"] = "epoch_second"
    if not body:
        return {"exists": {"field": field}}
    return {"range": {field: body}}

