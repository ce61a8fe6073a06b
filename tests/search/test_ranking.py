"""searchkit.search.ranking: BM25 scores and the Bo1 feedback words."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from searchkit import indexer, search
from searchkit.search import collecting, parser, ranking


def _bo1_by_hand(searcher: Any, docnums: Sequence[int]) -> list[tuple[str, float]]:
    """Bo1 as searchkit computed it before using Whoosh's Expander: (word, boost)."""
    if len(docnums) < ranking.FEEDBACK_MIN_DOCS:
        return []
    tf: Counter[str] = Counter()
    df: Counter[str] = Counter()
    field = searcher.schema[ranking.FEEDBACK_FIELD]
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
        if df[word] < ranking.FEEDBACK_MIN_DOCS:
            continue
        cf = reader.frequency(ranking.FEEDBACK_FIELD, word)
        if cf > 0:
            p = cf / total
            weights[word] = count * math.log2((1 + p) / p) + math.log2(1 + p)
    best = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:ranking.FEEDBACK_TERMS]
    if not best:
        return []
    top = best[0][1]
    return [(word, ranking.FEEDBACK_WEIGHT * weight / top) for word, weight in best]


@pytest.mark.parametrize("text", ["facial recognition airports", "border", "police",
                                  "maine legislature police", "technology", "customs",
                                  "biometric data privacy", "zebra"])
def test_expander_gives_the_words_and_boosts_of_bo1_by_hand(seeds_index: Path,
                                                            text: str) -> None:
    ix = indexer.open_index(seeds_index)
    with ix.searcher(weighting=ranking.weighting()) as searcher:
        q = parser.literal_query(text, mode="or")
        req = collecting.Request(text=text, literal=True, limit=10, offset=0, filter_q=None,
                                 snippets=0, sort="relevance", facets=(), explain=False,
                                 diagnose=False, timeout=None)
        order = collecting.collect_top(searcher, q, req).order
        docnums = [d for d, _ in order[:ranking.FEEDBACK_DOCS]]
        expected = _bo1_by_hand(searcher, docnums)
        got = ranking.expansion(searcher, docnums)
    if not expected:
        assert got is None
        return
    assert got is not None
    pairs = [(t.text, t.boost) for t in got.subqueries]
    assert [w for w, _ in pairs] == [w for w, _ in expected]
    assert [b for _, b in pairs] == pytest.approx([b for _, b in expected], rel=1e-12)
    assert pairs[0][1] == ranking.FEEDBACK_WEIGHT


def test_feedback_reorders_but_never_adds_hits(seeds_index: Path) -> None:
    results = search.search(seeds_index, "facial recognition airports", limit=50)
    literal = search.search(seeds_index, "facial recognition airports", limit=50, sort="date")
    assert {h.id for h in results.hits} == {h.id for h in literal.hits}
    assert [h.score for h in results.hits] == sorted((h.score for h in results.hits),
                                                     reverse=True)


def test_one_feedback_entry_gives_no_expansion(seeds_index: Path) -> None:
    ix = indexer.open_index(seeds_index)
    with ix.searcher(weighting=ranking.weighting()) as searcher:
        assert ranking.expansion(searcher, [0]) is None
        assert ranking.reranked(searcher, [(0, 1.0)]) == ([(0, 1.0)], None)
