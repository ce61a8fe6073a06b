"""The entry points of searchkit.search: search, entry, similar (library calls)."""

from __future__ import annotations

from pathlib import Path

import pytest

from searchkit import QueryError, indexer, search
from tests.conftest import Corpus


def test_facial_recognition_airports_ranks_the_two_airport_articles_first(
        seeds_index: Path) -> None:
    results = search.search(seeds_index, "facial recognition airports")
    top = {h.id for h in results.hits[:2]}
    assert top == {"003_06c42d1ff0946df3.txt", "001_d337aeb0c984cb4a.txt#1"}
    by_id = {h.id: h for h in results.hits}
    assert by_id["003_06c42d1ff0946df3.txt"].title.startswith("Customs and Border Protection")
    related = by_id["001_d337aeb0c984cb4a.txt#1"]
    assert related.kind == "related" and related.parent == "001_d337aeb0c984cb4a.txt"
    assert "notify air travelers" in related.title
    assert not results.partial

def test_partial_matches_when_nothing_has_every_word(seeds_index: Path) -> None:
    results = search.search(seeds_index, "airports zebra")
    assert results.partial and results.hits
    assert all("airport" in (h.title + h.excerpt).lower() for h in results.hits)

@pytest.mark.parametrize("text", ["facial NOT recognition", "zebra OR unicorn",
                                  '"recognition facial"', "airports AND zebra"])
def test_operators_never_fall_back_to_partial_matches(seeds_index: Path, text: str) -> None:
    results = search.search(seeds_index, text)
    assert (results.total, results.partial) == (0, False)

def test_no_hits(seeds_index: Path) -> None:
    results = search.search(seeds_index, "zebra")
    assert (results.total, results.hits, results.partial) == (0, (), False)

def test_literal_mode_searches_words_as_typed(seeds_index: Path) -> None:
    results = search.search(seeds_index, "nosuchfield: airports", literal=True)
    assert results.hits and not any("nosuchfield" in h.title for h in results.hits)

def test_paging(corpus: Corpus, index_dir: Path) -> None:
    for i in range(7):
        corpus.add(f"{i}.md", title=f"common {'word ' * i}", webUrl=f"https://x.com/{i}")
    indexer.update(corpus.root, index_dir)
    first = search.search(index_dir, "common", limit=3)
    rest = search.search(index_dir, "common", limit=10, offset=3)
    assert first.total == rest.total == 7
    assert [h.rank for h in rest.hits] == [4, 5, 6, 7]
    assert not {h.id for h in first.hits} & {h.id for h in rest.hits}

def test_accents_and_stems_match_both_ways(corpus: Corpus, index_dir: Path) -> None:
    corpus.add("a.md", title="Café owners protesting", webUrl="https://x.com/a")
    indexer.update(corpus.root, index_dir)
    assert [h.id for h in search.search(index_dir, "cafe protests").hits] == ["a.md"]
    assert [h.id for h in search.search(index_dir, "CAFÉ protested").hits] == ["a.md"]

def test_empty_query_without_filters_is_an_error(dated: Path) -> None:
    with pytest.raises(QueryError, match="empty query"):
        search.search(dated, "  ")

def test_entry_and_similar(seeds_index: Path) -> None:
    entry = search.entry(seeds_index, "004_97f99700f6cf9e75.txt#3")
    assert entry.kind == "related" and entry.parent == "004_97f99700f6cf9e75.txt"
    assert [loc.id for loc in entry.also_in] == ["004_97f99700f6cf9e75.txt#4"]
    similar = search.similar(seeds_index, "004_97f99700f6cf9e75.txt#3", limit=3)
    ids = [h.id for h in similar.hits]
    assert len(ids) == 3 and "004_97f99700f6cf9e75.txt#3" not in ids
    assert "004_97f99700f6cf9e75.txt#4" not in ids  # same article, other place
    assert "004_97f99700f6cf9e75.txt#1" in ids  # Maine limiting police use: same story
