"""searchkit.search.filters: dates and numbers in queries, and Filters."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from searchkit import QueryError, search
from searchkit.results import Filters
from tests.search.conftest import names

UTC = dt.timezone.utc

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("published:2020-01 kind:clipping", {"jan31.md"}),
        ("published:2020-02", {"feb01.md", "leap.md"}),
        ("published:2020-02-29", {"leap.md"}),
        ("published:2020-02-28", set()),
        ("published:[2020-01 TO 2020-02] kind:clipping", {"jan31.md", "feb01.md", "leap.md"}),
        ("published:{2020-01 TO 2020-03}", {"feb01.md", "leap.md"}),
        ("published:>=2020-02-29 published:<2021", {"leap.md", "mar01.md"}),
        ("published:<2020-02 kind:clipping", {"jan31.md"}),
        ("published:<=2020-02 kind:clipping", {"jan31.md", "feb01.md", "leap.md"}),
        ("published:>2021-05-05", {"ny-night.md", "dec31.md"}),
        ("published:2021-05-05", {"ny-morning.md"}),  # the night one is May 6th in UTC
        ("published:2021-05-06", {"ny-night.md"}),
        ("published:2022", {"dec31.md"}),  # Dec 31st at -02:00 is 2022 in UTC
        ("published:2021-05-05T15:00:00Z", {"ny-morning.md"}),
        ("published:2021-05-05T10:00:00-05:00", {"ny-morning.md"}),
        ('published:"[2021-05-05T09:00:00-05:00 TO 2021-05-05T15:00:00Z]"', {"ny-morning.md"}),
        ("published:[2021-05-05T09:00:00-05:00 TO 2021-05-05T15:00:00Z]", {"ny-morning.md"}),
        ("year:2020 kind:clipping", {"jan31.md", "feb01.md", "leap.md", "mar01.md"}),
        ("year:>=2022", {"dec31.md"}),
        ("quality:>=50", {"dec31.md", "ny-night.md"}),
        ("quality:[10 TO 20]", {"feb01.md", "leap.md"}),
    ],
)
def test_date_and_number_queries(dated: Path, text: str, expected: set[str]) -> None:
    assert names(dated, text) == expected

@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("published:2021-02-30", "not a date"),
        ("published:2021-13", "not a date"),
        ("published:yesterday", "not a date"),
        ("published:[yesterday TO garbage]", "not a date"),
        ("published:[2022 TO 2021]", "the start is after the end"),
        ("quality:high", "not a whole number"),
        ("quality:[1 TO x]", "not a whole number"),
        ("title:[a TO z]", "ranges work on published:, year: and quality:"),
    ],
)
def test_malformed_dates_and_numbers_name_the_problem(dated: Path, text: str,
                                                      problem: str) -> None:
    with pytest.raises(QueryError) as info:
        search.search(dated, text)
    assert problem in str(info.value)

NOW = dt.datetime(2021, 5, 8, 12, tzinfo=UTC)

@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (Filters(providers=("daily news",)), {"feb01.md", "mar01.md", "ny-night.md"}),
        (Filters(providers=("post.co.uk",), kinds=("clipping",)),
         {"jan31.md", "leap.md", "ny-morning.md", "dec31.md"}),
        (Filters(topics=("economy",), kinds=("clipping",)), {"jan31.md", "mar01.md", "dec31.md"}),
        (Filters(topics=("SPORT", "nothing")), {"feb01.md", "leap.md", "ny-morning.md",
                                                "ny-night.md"}),
        (Filters(kinds=("related",)), {"jan31.md#1"}),
        (Filters(since="2020-02", until="2020-02"), {"feb01.md", "leap.md"}),
        (Filters(since="2020-02-29", until="2020-03-01"), {"leap.md", "mar01.md"}),
        (Filters(since="7d"), {"ny-morning.md", "ny-night.md", "dec31.md"}),
        (Filters(since="15m", until="1y"), {"leap.md", "mar01.md"}),
        (Filters(min_quality=40, providers=("dailynews.com",)), {"ny-night.md"}),
    ],
)
def test_filters_with_an_empty_query(dated: Path, filters: Filters,
                                     expected: set[str]) -> None:
    assert names(dated, "", filters=filters, now=NOW) == expected

def test_filters_combine_with_a_query(dated: Path) -> None:
    assert names(dated, "story", filters=Filters(since="2021", kinds=("clipping",))) == {
        "ny-morning.md", "ny-night.md", "dec31.md"}

def test_bad_relative_span_is_an_error(dated: Path) -> None:
    with pytest.raises(QueryError, match="--since: not a date"):
        search.search(dated, "", filters=Filters(since="7 days"))
    with pytest.raises(QueryError, match="--since is after --until"):
        search.search(dated, "", filters=Filters(since="2021", until="2020"))
