"""Ranking: BM25 with norms read per segment, and Bo1 pseudo-relevance feedback.

BM25 with Anserini's defaults for short documents (titles and excerpts are short).
Feedback (Bo1, Terrier's default query expansion): the words that stand out in the
best FEEDBACK_DOCS entries re-score the best RERANK_DEPTH entries. It never changes
which entries match, only their order.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

from whoosh import classify, scoring
from whoosh import query as wq
from whoosh.util.numeric import byte_to_length, length_to_byte

from . import bo1, columns
from .bo1 import (
    FEEDBACK_DOCS,
    FEEDBACK_FIELD,
    FEEDBACK_MIN_DOCS,
    FEEDBACK_TERMS,
    FEEDBACK_WEIGHT,
    RERANK_DEPTH,
)

BM25_K1 = 0.9
BM25_B = 0.4
_FEEDBACK_SOURCES = ("title", "excerpt")  # stored fields whose words feed back

Ranking = list[tuple[int, float]]  # (document number, score), best first


class _BM25(scoring.BM25F):  # type: ignore[misc]
    """BM25 with BM25's own idf, log(1 + (N - n + 0.5) / (n + 0.5)) as in Lucene,
    instead of Whoosh's log(N / (n + 1)) + 1, whose floor of 1 lets a word that occurs
    almost everywhere weigh a third as much as a rare one.

    Scoring reads each segment's field lengths once, as one byte string, and a
    256-entry table of BM25 length norms (what Lucene does with its norms), where
    Whoosh reads a column per matching document."""

    def idf(self, searcher: Any, fieldname: str, text: Any) -> float:
        parent = searcher.get_parent()
        n = parent.doc_frequency(fieldname, text)
        total = parent.doc_count_all()
        return math.log(1 + (total - n + 0.5) / (n + 0.5))

    def scorer(self, searcher: Any, fieldname: str, text: Any, qf: int = 1) -> Any:
        if not searcher.schema[fieldname].scorable:
            return scoring.WeightScorer.for_(searcher, fieldname, text)
        lengths = columns.lengths(searcher.reader(), fieldname)
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


@functools.lru_cache(maxsize=64)
def _norms(b: float, k1: float, avgfl: float) -> list[float]:
    """BM25's k1 * (1 - b + b * length / avgfl) for each of the 256 length bytes."""
    return [k1 * ((1 - b) + b * byte_to_length(i) / avgfl) for i in range(256)]


def weighting() -> scoring.WeightingModel:
    """The ranking function shared by ``search`` and ``eval``."""
    return _BM25(B=BM25_B, K1=BM25_K1)


# ---------------------------------------------------------------- feedback


def expansion(searcher: Any, docnums: Sequence[int]) -> wq.Query | None:
    """Bo1 expansion words of the entries ``docnums`` as a weighted query, or None.

    Whoosh's Bo1 Expander weighs the words; the rule that a word must occur in
    FEEDBACK_MIN_DOCS entries is ours (the Expander has none), so only those words
    are given to it, and its weights are normalised by the best of them."""
    if len(docnums) < FEEDBACK_MIN_DOCS:
        return None
    field = searcher.schema[FEEDBACK_FIELD]
    vectors: list[Counter[str]] = []
    for docnum in docnums:
        stored = searcher.stored_fields(docnum)
        words: Counter[str] = Counter()
        for name in _FEEDBACK_SOURCES:
            words.update(field.process_text(stored.get(name) or "", mode="index"))
        vectors.append(words)
    expander = classify.Expander(searcher.reader(), FEEDBACK_FIELD, classify.Bo1Model)
    expander.add(bo1.pooled(vectors).items())
    best = expander.expanded_terms(FEEDBACK_TERMS, normalize=False)  # weight / best weight
    if not best:
        return None
    return wq.Or([wq.Term(FEEDBACK_FIELD, word, boost=FEEDBACK_WEIGHT * weight)
                  for word, weight in best])


def reranked(searcher: Any, order: Ranking) -> tuple[Ranking, wq.Query | None]:
    """``order`` with its first RERANK_DEPTH re-scored with feedback from the first
    FEEDBACK_DOCS, the rest as they were; and the feedback query (None when the
    entries gave no expansion words)."""
    feedback = expansion(searcher, [d for d, _ in order[:FEEDBACK_DOCS]])
    if feedback is None:
        return order, None
    extra: dict[object, float] = {}
    m = feedback.matcher(searcher)
    for docnum in sorted(d for d, _ in order[:RERANK_DEPTH]):
        if not m.is_active():
            break
        if m.id() < docnum:
            m.skip_to(docnum)
        if m.is_active() and m.id() == docnum:
            extra[docnum] = float(m.score())
    return bo1.rescored(order, extra, lambda d: d), feedback
