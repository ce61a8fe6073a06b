"""Bo1 pseudo-relevance feedback, engine-neutral: the constants, the choice of
feedback words, Terrier's Bo1 weight (as Whoosh's ``classify.Bo1Model`` computes it)
and the re-scoring of the head of a ranking. The Whoosh side
(:mod:`searchkit.search.ranking`) and the OpenSearch side
(:mod:`searchkit.opensearch_engine.feedback`) differ only in where the term
frequencies come from."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

FEEDBACK_DOCS = 3
FEEDBACK_TERMS = 10
FEEDBACK_WEIGHT = 0.5  # the strongest expansion word counts half as much as a query word
FEEDBACK_MIN_DOCS = 2  # an expansion word occurs in at least this many feedback entries
RERANK_DEPTH = 200
FEEDBACK_FIELD = "text"

T = TypeVar("T")


def pooled(vectors: Iterable[Mapping[str, int]]) -> Counter[str]:
    """The words of the feedback entries ``vectors`` that occur in at least
    FEEDBACK_MIN_DOCS of them, with their summed frequencies."""
    vectors = list(vectors)
    df = Counter(word for words in vectors for word in words)
    top: Counter[str] = Counter()
    for words in vectors:
        for w, k in words.items():
            if df[w] >= FEEDBACK_MIN_DOCS:
                top[w] += k
    return top


def weight(weight_in_top: float, cf: int, n: int) -> float:
    """Bo1's weight of a word: ``weight_in_top`` its frequency in the feedback
    entries, ``cf`` in the collection of ``n`` entries."""
    f = cf / n
    return weight_in_top * math.log2((1.0 + f) / f) + math.log2(1.0 + f)


def normalizer(best: float, n: int) -> float:
    """Bo1's normaliser of the best weight (Whoosh's ``Bo1Model.normalizer``)."""
    f = best / n
    return (best * math.log((1.0 + f) / f) + math.log(1.0 + f)) / math.log(2.0)


def best_terms(top: Mapping[str, int], cf: Mapping[str, int], n: int, number: int,
               normalize: bool = False) -> list[tuple[str, float]]:
    """The ``number`` best words of ``top`` by Bo1 (words with no collection
    frequency are left out), each with its weight over the best weight (or, with
    ``normalize``, over Bo1's normaliser of it) — Whoosh's ``expanded_terms``."""
    scored = [(weight(k, cf[w], n), w) for w, k in top.items() if cf.get(w)]
    if not scored:
        return []
    best = max(s for s, _ in scored)
    norm = normalizer(best, n) if normalize else best
    scored.sort(key=lambda sw: (-sw[0], sw[1]))
    return [(w, s / norm) for s, w in scored[:number]]


def rescored(ranked: list[tuple[T, float]], extra: Mapping[object, float],
             key: Callable[[T], object]) -> list[tuple[T, float]]:
    """``ranked`` with each of its first RERANK_DEPTH entries' score raised by its
    ``extra`` (by ``key``), re-sorted (ties keep their order), the rest as they were."""
    head = ranked[:RERANK_DEPTH]
    position = {key(h): i for i, (h, _) in enumerate(head)}
    head = sorted(((h, s + extra.get(key(h), 0.0)) for h, s in head),
                  key=lambda hs: (-hs[1], position[key(hs[0])]))
    return head + ranked[RERANK_DEPTH:]
