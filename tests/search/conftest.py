"""Fixtures of the search tests: a small corpus of dated clippings."""

from __future__ import annotations

from pathlib import Path

import pytest

from searchkit import indexer, search
from tests.conftest import Corpus

DATED = {
    "jan31.md": "2020-01-31T23:59:59Z",
    "feb01.md": "2020-02-01T00:00:00Z",
    "leap.md": "2020-02-29T12:00:00Z",
    "mar01.md": "2020-03-01T00:00:00Z",
    "ny-morning.md": "2021-05-05T10:00:00-05:00",  # 15:00 UTC, May 5th
    "ny-night.md": "2021-05-05T23:30:00-05:00",  # 04:30 UTC, May 6th
    "dec31.md": "2021-12-31T23:00:00-02:00",  # 2022-01-01T01:00 UTC
}

@pytest.fixture
def dated(corpus: Corpus, index_dir: Path) -> Path:
    for n, (name, when) in enumerate(DATED.items()):
        corpus.add(name, title=f"story {name}", publishedDateTime=when,
                   webUrl=f"https://example.com/{name}", quality=10 * n,
                   provider={"name": "The Daily News" if n % 2 else "Morning Post",
                             "domain": "dailynews.com" if n % 2 else "post.co.uk"},
                   topics=["Economy", "Politics"] if n % 3 == 0 else ["Sport"],
                   related=[{"title": f"follow-up {name}", "webUrl": f"https://r.org/{name}",
                             "publishedDateTime": when}] if n == 0 else [])
    indexer.update(corpus.root, index_dir)
    return index_dir

def names(index_dir: Path, text: str, **kw: object) -> set[str]:
    results = search.search(index_dir, text, limit=100, **kw)  # type: ignore[arg-type]
    return {h.id for h in results.hits}
