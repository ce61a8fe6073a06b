"""searchkit.search.hits: hit values, marked snippets, also-in, explain."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from searchkit import indexer, search
from tests.conftest import Corpus


def test_hit_fields_are_plain_values(seeds_index: Path) -> None:
    hit = search.search(seeds_index, "title:cbp plans broader").hits[0]
    assert hit.id == "000_d147ebc2d70e439b.txt"
    assert (hit.provider, hit.domain, hit.quality, hit.type) == ("GCN", "gcn.com", 39, "article")
    assert hit.published == dt.datetime(2020, 11, 23, 21, 25, tzinfo=dt.timezone.utc)
    assert hit.topics == ("Computer Vision", "AI")
    assert any(matched for _, matched in hit.title_marked)

def test_snippets_mark_matched_words(seeds_index: Path) -> None:
    hit = search.search(seeds_index, "airports", snippets=2).hits[0]
    marked = [t for snippet in hit.snippets for t, m in snippet if m]
    assert marked and all(t.lower().startswith("airport") for t in marked)

def test_same_article_in_two_places_appears_once_with_where_else(seeds_index: Path) -> None:
    results = search.search(seeds_index, "maine legislature police", limit=20)
    pressherald = [h for h in results.hits if "pressherald.com" in h.url]
    assert len(pressherald) == 1
    other = {loc.id for loc in pressherald[0].also_in}
    assert other and other <= {"004_97f99700f6cf9e75.txt#3", "004_97f99700f6cf9e75.txt#4"}
    assert pressherald[0].id not in other

def test_snippets_count(corpus: Corpus, index_dir: Path) -> None:
    filler = " ".join(["lorem"] * 60)
    corpus.add("a.md", title="t", excerpt=f"zebra one {filler} zebra two {filler} zebra three")
    indexer.update(corpus.root, index_dir)
    for n in (0, 1, 2):
        hit = search.search(index_dir, "zebra", snippets=n).hits[0]
        assert len(hit.snippets) == n

def test_explain_breaks_the_score_down(seeds_index: Path) -> None:
    hit = search.search(seeds_index, "facial recognition airports", explain=True).hits[0]
    fields = {(t.field, t.term) for t in hit.explanation}
    assert ("text", "airport") in fields and ("text", "facial") in fields
    assert sum(t.score for t in hit.explanation) == pytest.approx(hit.score, rel=1e-3)
