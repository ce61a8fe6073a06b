"""searchkit.search.collecting: sorting, facets, one entry per article."""

from __future__ import annotations

from pathlib import Path

import pytest

from searchkit import QueryError, indexer, search
from searchkit.results import Filters
from tests.conftest import Corpus


def test_sorting(dated: Path) -> None:
    clip = Filters(kinds=("clipping",))
    oldest = [h.id for h in search.search(dated, "story", filters=clip, sort="date").hits]
    assert oldest[:3] == ["jan31.md", "feb01.md", "leap.md"]
    newest = [h.id for h in search.search(dated, "story", filters=clip, sort="-date").hits]
    assert newest == oldest[::-1]
    best = [h.quality for h in search.search(dated, "story", filters=clip, sort="quality").hits]
    assert best == sorted(best, reverse=True)
    assert all(h.score > 0 for h in search.search(dated, "story", sort="-date").hits)
    with pytest.raises(QueryError, match="unknown sort"):
        search.search(dated, "story", sort="newest")

def test_facets_count_every_hit_and_each_topic(dated: Path) -> None:
    results = search.search(dated, "story", limit=1,
                            facets=["provider", "topic", "year", "kind"])
    assert len(results.hits) == 1
    assert dict(results.facets["topic"]) == {"Sport": 4, "Economy": 3, "Politics": 3}
    assert dict(results.facets["provider"]) == {"Morning Post": 4, "The Daily News": 3}
    assert dict(results.facets["year"]) == {"2020": 4, "2021": 2, "2022": 1}
    assert dict(results.facets["kind"]) == {"clipping": 7}

@pytest.fixture
def duplicated(corpus: Corpus, index_dir: Path) -> Path:
    """60 clippings whose related articles repeat 8 shared URLs across files."""
    for n in range(60):
        corpus.add(f"c{n:02}.md", title=f"election report {n}", excerpt="election " * (n % 7 + 1),
                   webUrl=f"https://news.example/{n}", quality=n,
                   publishedDateTime=f"2020-{n % 12 + 1:02}-01T00:00:00Z",
                   related=[{"title": f"election follow-up {(n + k) % 8}",
                             "webUrl": f"https://shared.example/{(n + k) % 8}/",
                             "quality": (n * k) % 100} for k in range(3)])
    indexer.update(corpus.root, index_dir)
    return index_dir

def _distinct_articles(index_dir: Path, kinds: tuple[str, ...]) -> int:
    from whoosh import query as wq

    ix = indexer.open_index(index_dir)
    with ix.searcher() as s:
        docs = s.docs_for_query(wq.Term("excerpt", "elect") | wq.Term("title", "elect"))
        return len({s.stored_fields(d)["canonical"] for d in docs
                    if not kinds or s.stored_fields(d)["kind"] in kinds})

@pytest.mark.parametrize("sort", ["relevance", "-date", "quality"])
@pytest.mark.parametrize("kinds", [(), ("clipping",), ("related",)])
def test_totals_count_each_article_once_whatever_the_sort_and_filters(
        duplicated: Path, sort: str, kinds: tuple[str, ...]) -> None:
    results = search.search(duplicated, "election", sort=sort, limit=5, facets=["kind"],
                            filters=Filters(kinds=kinds))
    expected = _distinct_articles(duplicated, kinds)
    assert results.total == expected
    assert sum(n for _, n in results.facets["kind"]) == expected
    assert len({h.canonical_url for h in results.hits}) == len(results.hits) == 5
    everything = search.search(duplicated, "election", sort=sort, limit=200,
                               filters=Filters(kinds=kinds))
    assert len(everything.hits) == expected
