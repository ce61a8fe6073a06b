"""Searching the bundled seeds and small corpora through the library."""

from __future__ import annotations

import datetime as dt
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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("provider:gcn", {"000_d147ebc2d70e439b.txt"}),
        ("provider:go.com", {"003_06c42d1ff0946df3.txt"}),
        ("domain:wsj.com", {"003_06c42d1ff0946df3.txt#1"}),
        ('topic:"natural language"', {"004_97f99700f6cf9e75.txt"}),
        ("published:2019", {"003_06c42d1ff0946df3.txt", "003_06c42d1ff0946df3.txt#1"}),
        ("published:2019-12-05", {"003_06c42d1ff0946df3.txt"}),
        ("quality:>=60 kind:clipping", set()),
        ("quality:>58 kind:clipping", {"004_97f99700f6cf9e75.txt"}),
        ("url:http://www.gcn.com/articles/2020/11/23/cbp-facial-recognition-rule-change.aspx/",
         {"000_d147ebc2d70e439b.txt"}),
        ("facial NOT recognition", set()),
        ('"border crossings"', {"002_36246a49f00582d8.txt", "004_97f99700f6cf9e75.txt"}),
        # the related article (its clipping's own text does not mention prisons)
        ("prison*", {"000_d147ebc2d70e439b.txt#2"}),
        ("prison* kind:related", {"000_d147ebc2d70e439b.txt#2"}),
    ],
)
def test_field_and_syntax_queries(seeds_index: Path, text: str, expected: set[str]) -> None:
    assert {h.id for h in search.search(seeds_index, text, limit=50).hits} == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("nosuchfield:x", "unknown field 'nosuchfield:'"),
        ("published:garbage", "not a date"),
        ('"unclosed', "unclosed quote"),
        ("(a OR b", "unclosed '('"),
        ("a*", "at least 2 letters"),
        ("*", "matches everything"),
    ],
)
def test_invalid_queries_raise_query_error(seeds_index: Path, text: str, problem: str) -> None:
    with pytest.raises(QueryError) as info:
        search.search(seeds_index, text)
    assert problem in str(info.value)


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


@pytest.mark.parametrize("text", ["facial recognition airports", "U.S. customs",
                                  "café protesting", "the border", "police Maine"])
def test_plain_word_fast_path_ranks_exactly_like_the_parser(seeds_index: Path,
                                                            text: str) -> None:
    fast = search.search(seeds_index, text, limit=50)
    parsed = search.search(seeds_index, f"({text})", limit=50)  # parentheses: full parser
    assert [(h.id, h.score) for h in fast.hits] == [(h.id, h.score) for h in parsed.hits]
    assert fast.total == parsed.total
