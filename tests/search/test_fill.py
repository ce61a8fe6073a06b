"""Whole matches first, then the page filled with partial ones (issue #13, item 8).

A news headline rarely has every word of a query: on the HuffPost folder, "George Floyd
protests Minneapolis" had one whole match and a page of nine empty lines. The corpus
here reproduces that: one clipping has all three words, several have two, one has one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from searchkit import search
from searchkit.output import PARTIAL_RULE
from tests.conftest import Corpus, cli

QUERY = "floyd protests minneapolis"
WHOLE = "Floyd protests reach Minneapolis suburbs"
TWO_WORDS = {  # file -> title, each with two of the three words
    "p1.md": "Floyd protests spread to Portland",
    "p2.md": "Minneapolis protests enter a fourth night",
    "p3.md": "Floyd memorial draws crowds in Minneapolis",
}


@pytest.fixture
def news(tmp_path: Path) -> list[str]:
    corpus = Corpus(tmp_path / "clips")
    corpus.add("whole.md", title=WHOLE, excerpt="Marches in the city.",
               webUrl="https://news.example/whole")
    for name, title in TWO_WORDS.items():
        corpus.add(name, title=title, excerpt="Coverage of the week.",
                   webUrl=f"https://news.example/{name}")
    corpus.add("one.md", title="Minneapolis weather turns cold", excerpt="Snow.",
               webUrl="https://news.example/one")
    corpus.add("none.md", title="Garden show opens", excerpt="Tulips.",
               webUrl="https://news.example/none")
    opts = ["--index", str(tmp_path / "index"), "--seeds", str(corpus.root)]
    assert cli("index", "-q", *opts)[0] == 0
    return opts


def test_the_page_shows_the_whole_match_then_the_partial_ones_marked(
        news: list[str]) -> None:
    code, out, err = cli("search", QUERY, "-f", "pretty", "--snippets", "0", *news)
    assert (code, err) == (0, "")
    titles = [line.split(". ", 1)[1].replace("**", "") for line in out.splitlines()
              if line[:3].strip().rstrip(".").isdigit()]
    assert titles[0] == WHOLE
    assert set(titles[1:4]) == set(TWO_WORDS.values())  # two words before one
    assert titles[4] == "Minneapolis weather turns cold" and len(titles) == 5
    plain = out.replace("**", "")
    assert plain.count(PARTIAL_RULE) == 1
    assert plain.index(WHOLE) < plain.index(PARTIAL_RULE) < min(
        plain.index(t) for t in TWO_WORDS.values())


def test_json_with_fallback_counts_and_marks_the_fill(news: list[str]) -> None:
    code, out, _ = cli("search", QUERY, "-f", "json", "--fallback", *news)
    record = json.loads(out)
    assert code == 0
    assert (record["total"], record["partial_total"], record["partial"]) == (1, 4, False)
    marks = [(h["id"], h.get("partial_match", False)) for h in record["hits"]]
    assert marks[0] == ("whole.md", False)
    assert {m for _, m in marks[1:]} == {True} and len(marks) == 5
    # lines: a partial match has a seventh field
    code, out, _ = cli("search", QUERY, "-f", "lines", "--fallback", *news)
    rows = [line.split("\t") for line in out.splitlines()]
    assert code == 0 and rows[0][0] == "whole.md" and len(rows[0]) == 6
    assert all(len(r) == 7 and r[6] == "partial" for r in rows[1:]) and len(rows) == 5


@pytest.mark.parametrize("how", [["-f", "json"], ["-f", "lines"], ["-f", "pretty", "--strict"],
                                 ["-f", "paths"], ["--count"]])
def test_scripts_and_strict_get_the_whole_match_only(news: list[str], how: list[str]) -> None:
    code, out, err = cli("search", QUERY, *how, *news)
    assert code == 0 and err == ""
    if "json" in how:
        record = json.loads(out)
        assert record["total"] == 1 and "partial_total" not in record
        assert [h["id"] for h in record["hits"]] == ["whole.md"]
        assert "partial_match" not in record["hits"][0]
    elif "--count" in how:
        assert out == "1\n"
    else:
        assert "whole.md" in out or WHOLE in out
        assert not any(t in out for t in TWO_WORDS.values()) and PARTIAL_RULE not in out


def test_a_partial_match_never_ranks_above_a_whole_one(tmp_path: Path) -> None:
    """A short entry saying "floyd protests" three times scores higher than a long one
    with every word once; it still comes after it: the tiers are ranked apart."""
    corpus = Corpus(tmp_path / "clips")
    corpus.add("whole.md", title="A long day of marches and speeches as crowds gather "
               "downtown in Minneapolis", excerpt="The Floyd protests went on late into "
               "the evening with many speakers, songs, banners and candles in the square.",
               webUrl="https://news.example/whole")
    corpus.add("loud.md", title="Floyd protests", excerpt="Floyd protests, Floyd protests.",
               webUrl="https://news.example/loud")
    for n in range(12):
        corpus.add(f"g{n}.md", title=f"Garden show day {n}", webUrl=f"https://g.example/{n}")
    opts = ["--index", str(tmp_path / "index"), "--seeds", str(corpus.root)]
    record = json.loads(cli("search", QUERY, "-f", "json", "--fallback", *opts)[1])
    hits = record["hits"]
    assert [(h["id"], h.get("partial_match", False)) for h in hits] == [
        ("whole.md", False), ("loud.md", True)]
    assert hits[1]["score"] > hits[0]["score"]  # higher, and still second
    strict = json.loads(cli("search", "floyd protests", "-f", "json", *opts)[1])
    assert [h["id"] for h in strict["hits"]] == ["loud.md", "whole.md"]  # ranked by score


def test_an_article_with_a_whole_entry_is_no_partial_match(tmp_path: Path) -> None:
    """Two clippings of one article (the same URL) are one hit: when one of them has
    every word, the other is not listed among the partial matches."""
    corpus = Corpus(tmp_path / "clips")
    corpus.add("a.md", title=WHOLE, webUrl="https://news.example/same")
    corpus.add("b.md", title="Floyd protests in the city", webUrl="https://news.example/same")
    corpus.add("c.md", title="Minneapolis protests", webUrl="https://news.example/other")
    opts = ["--index", str(tmp_path / "index"), "--seeds", str(corpus.root)]
    record = json.loads(cli("search", QUERY, "-f", "json", "--fallback", *opts)[1])
    assert [h["id"] for h in record["hits"]] == ["a.md", "c.md"]
    assert (record["total"], record["partial_total"]) == (1, 1)


def test_paging_continues_into_the_partial_matches(news: list[str]) -> None:
    page = json.loads(cli("search", QUERY, "-f", "json", "--fallback", "-n", "2",
                          "--offset", "1", *news)[1])
    assert [h["rank"] for h in page["hits"]] == [2, 3]
    assert all(h["partial_match"] for h in page["hits"]) and page["total"] == 1
    # a page the whole matches fill needs no partial ones
    one = json.loads(cli("search", QUERY, "-f", "json", "--fallback", "-n", "1", *news)[1])
    assert [h["id"] for h in one["hits"]] == ["whole.md"] and "partial_total" not in one


@pytest.mark.parametrize("how", [["--all"], ["--sort", "date"], ["--by-story"]])
def test_every_match_and_other_orders_are_whole_matches(news: list[str],
                                                        how: list[str]) -> None:
    """The fill completes a ranked page: --all (every match), --sort date and
    --by-story list whole matches only, as before."""
    code, out, _ = cli("search", QUERY, "-f", "json", "--fallback", *how, *news)
    record = json.loads(out)
    assert code == 0 and [h["id"] for h in record["hits"]] == ["whole.md"]


def test_nothing_whole_is_all_partial_and_still_says_so(news: list[str]) -> None:
    code, out, _ = cli("search", "floyd protests tulips", "-f", "json", "--fallback", *news)
    record = json.loads(out)
    assert code == 0 and record["partial"] and record["total"] == 0
    assert record["partial_total"] == 5 and len(record["hits"]) == 5  # 4 floyd/protests, 1 tulips
    assert all(h["partial_match"] for h in record["hits"])
    assert cli("search", "floyd protests tulips", "--count", "--fallback", *news)[:2] == (
        0, "5\n")
    assert cli("search", "floyd protests tulips", "--count", *news)[:2] == (1, "0\n")


def test_the_library_fills_only_when_asked(news: list[str], tmp_path: Path) -> None:
    index = tmp_path / "index"
    plain = search.search(index, QUERY)
    filled = search.search(index, QUERY, fill=True)
    assert [h.id for h in plain.hits] == ["whole.md"] and plain.partial_total == 0
    assert [h.partial for h in filled.hits] == [False, True, True, True, True]
    assert (filled.total, filled.partial_total) == (1, 4)
