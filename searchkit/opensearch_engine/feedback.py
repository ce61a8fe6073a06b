"""Bo1 pseudo-relevance feedback on OpenSearch, as the Whoosh side does it
(:mod:`searchkit.search.ranking`): the words that stand out in the best
FEEDBACK_DOCS entries (their title and excerpt, analysed as indexed) re-score the
best RERANK_DEPTH entries; and Whoosh's ``more_like`` key terms for ``similar``.

Term frequencies come from the term vectors API (computed from the source, since the
mapping stores none), collection frequencies from its term statistics on ``text``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from opensearchpy import OpenSearch

from ..config import OpenSearchSettings as Settings
from ..results import TermScore
from ..search import bo1
from ..search.bo1 import (
    FEEDBACK_DOCS,
    FEEDBACK_FIELD,
    FEEDBACK_MIN_DOCS,
    FEEDBACK_TERMS,
    FEEDBACK_WEIGHT,
    RERANK_DEPTH,
)

Ranked = list[tuple[dict[str, Any], float]]
SIMILAR_TERMS = 12
_SOURCES = ("title", "excerpt")


def _vectors(client: OpenSearch, settings: Settings, ids: list[str]
             ) -> tuple[list[dict[str, dict[str, int]]], dict[str, int], int]:
    """Per id: field -> term -> frequency (title, excerpt); each term's frequency in
    the whole ``text`` field; and the number of entries."""
    answer = client.mtermvectors(index=settings.index, body={"ids": ids, "parameters": {
        "fields": [*_SOURCES, FEEDBACK_FIELD], "term_statistics": True,
        "field_statistics": True, "positions": False, "offsets": False}})
    per_doc: list[dict[str, dict[str, int]]] = []
    cf: dict[str, int] = {}
    docs = 0
    for doc in answer.get("docs", []):
        vectors = doc.get("term_vectors", {})
        fields: dict[str, dict[str, int]] = {}
        for name in _SOURCES:
            terms = vectors.get(name, {}).get("terms", {})
            fields[name] = {t: int(v.get("term_freq", 1)) for t, v in terms.items()}
        text = vectors.get(FEEDBACK_FIELD, {})
        docs = max(docs, int(text.get("field_statistics", {}).get("doc_count", 0)))
        for t, v in text.get("terms", {}).items():
            cf[t] = max(cf.get(t, 0), int(v.get("ttf", 0)))
        per_doc.append(fields)
    count = int(client.count(index=settings.index)["count"])
    return per_doc, cf, max(count, docs, 1)


def expansion(client: OpenSearch, settings: Settings, ids: list[str]
              ) -> list[tuple[str, float]]:
    """Bo1 expansion words of the entries ``ids`` with weights (the best is 1)."""
    if len(ids) < FEEDBACK_MIN_DOCS:
        return []
    per_doc, cf, n = _vectors(client, settings, ids)
    vectors: list[Counter[str]] = []
    for doc in per_doc:
        words: Counter[str] = Counter()
        for name in _SOURCES:
            words.update(doc[name])
        vectors.append(words)
    return bo1.best_terms(bo1.pooled(vectors), cf, n, FEEDBACK_TERMS)


def rerank(client: OpenSearch, settings: Settings, ranked: Ranked, explain: bool
           ) -> tuple[Ranked, dict[str, list[TermScore]]]:
    """``ranked`` with its first RERANK_DEPTH re-scored by the feedback words; with
    ``explain``, each re-scored entry's feedback shares."""
    words = expansion(client, settings, [h["_id"] for h, _ in ranked[:FEEDBACK_DOCS]])
    if not words:
        return ranked, {}
    head = ranked[:RERANK_DEPTH]
    answer = client.search(index=settings.index, body={
        "query": {"bool": {
            "should": [{"term": {FEEDBACK_FIELD: {"value": w,
                                                  "boost": FEEDBACK_WEIGHT * weight}}}
                       for w, weight in words],
            "minimum_should_match": 1,
            "filter": [{"ids": {"values": [h["_id"] for h, _ in head]}}]}},
        "size": len(head), "_source": False, "explain": explain})
    extra = {h["_id"]: float(h["_score"] or 0.0)
             for h in answer["hits"]["hits"]}
    shares: dict[str, list[TermScore]] = {}
    if explain:
        from .querying import summarise

        shares = {h["_id"]: summarise(h.get("_explanation") or {}, feedback_terms=True)
                  for h in answer["hits"]["hits"]}
    return bo1.rescored(ranked, extra, lambda h: h["_id"]), shares


def key_terms_query(client: OpenSearch, settings: Settings, entry_id: str
                    ) -> list[dict[str, Any]] | None:
    """Whoosh's ``more_like`` query for one entry: its title (twice) and excerpt's
    SIMILAR_TERMS best words by Bo1, normalised as Whoosh normalises them."""
    per_doc, cf, n = _vectors(client, settings, [entry_id])
    if not per_doc:
        return None
    fields = per_doc[0]
    weights: Counter[str] = Counter()
    for t, k in fields.get("title", {}).items():
        weights[t] += 2 * k
    for t, k in fields.get("excerpt", {}).items():
        weights[t] += k
    best = bo1.best_terms(weights, cf, n, SIMILAR_TERMS, normalize=True)
    if not best:
        return None
    return [{"term": {FEEDBACK_FIELD: {"value": w, "boost": s}}} for w, s in best]
