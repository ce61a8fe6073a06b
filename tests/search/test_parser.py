"""searchkit.search.parser: query syntax, fields, and the plain-word fast path."""

from __future__ import annotations

from pathlib import Path

import pytest

from searchkit import QueryError, search
from tests.search.conftest import names


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

@pytest.mark.parametrize("text", ["facial recognition airports", "U.S. customs",
                                  "café protesting", "the border", "police Maine"])
def test_plain_word_fast_path_ranks_exactly_like_the_parser(seeds_index: Path,
                                                            text: str) -> None:
    fast = search.search(seeds_index, text, limit=50)
    parsed = search.search(seeds_index, f"({text})", limit=50)  # parentheses: full parser
    assert [(h.id, h.score) for h in fast.hits] == [(h.id, h.score) for h in parsed.hits]
    assert fast.total == parsed.total

def test_fuzzy_proximity_and_prefix(seeds_index: Path) -> None:
    assert names(seeds_index, "excerpt:biometrc~ kind:clipping") == {
        "001_d337aeb0c984cb4a.txt", "002_36246a49f00582d8.txt"}
    assert names(seeds_index, "excerpt:recgnition~2 kind:clipping")
    assert names(seeds_index, 'title:"recognition airports"~8') == set()
    assert names(seeds_index, 'excerpt:"facial airports"~30') == {
        "001_d337aeb0c984cb4a.txt#1", "003_06c42d1ff0946df3.txt"}
    assert names(seeds_index, "bi*") == names(seeds_index, "bi* OR bi*")
    with pytest.raises(QueryError, match="at least 2 letters"):
        search.search(seeds_index, "b*")
