"""News views through the real CLI: ``url:`` of any length, ``cites:``, ``searchkit
cited``, ``show``'s cited-by, ``search --timeline`` and ``searchkit has``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from searchkit import indexer
from searchkit.documents import url_problem
from searchkit.results import Timeline
from searchkit.search import columns
from searchkit.timeline import Bucket, bars, build, choose
from searchkit.vocabulary import MAX_QUERY_CHARS, MAX_TOKEN_CHARS
from tests.conftest import Corpus, cli

# URLs longer than a word may be: a seed clipping's AMP cache URL, and one of a related
# article (as the seeds list them).
LONG_AMP = ("https://www-borderreport-com.cdn.ampproject.org/c/s/www.borderreport.com/"
            "hot-topics/border-crime/cbp-expands-use-of-facial-recognition-technology-in-"
            "new-mexico-west-texas/amp/")
SOCIABLE = ("https://sociable-co.cdn.ampproject.org/c/s/sociable.co/technology/cbp-doesnt-"
            "consistently-notify-air-travelers-about-facial-recognition-tech-use-privacy-"
            "gao/amp/")


@pytest.fixture
def ix(seeds_index: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.chdir(seeds_index.parent / "seeds")
    return ["--index", str(seeds_index), "--seeds", str(seeds_index.parent / "seeds")]


def _options(corpus: Corpus, index_dir: Path) -> list[str]:
    indexer.update(corpus.root, index_dir)
    return ["--index", str(index_dir), "--seeds", str(corpus.root)]


def _related(url: str, title: str, when: str = "2021-03-01T10:00:00Z",
             outlet: str = "Wire") -> dict[str, object]:
    return {"title": title, "webUrl": url, "publishedDateTime": when,
            "provider": {"name": outlet, "domain": "wire.example"}}


@pytest.fixture
def news(corpus: Corpus, index_dir: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Three clippings citing overlapping articles under different URL variants, and an
    undated one (run from inside the folder: paths print bare)."""
    monkeypatch.chdir(corpus.root)
    shared = "https://wire.example/2021/03/big-story"
    corpus.add("a.md", title="Alpha harbour report", publishedDateTime="2021-03-02T09:00:00Z",
               originalUrl="https://a.example/alpha",
               related=[_related(shared, "The big story"),
                        _related("https://wire.example/other", "Other story",
                                 "2021-02-01T00:00:00Z")])
    corpus.add("b.md", title="Beta harbour report", publishedDateTime="2021-03-20T09:00:00Z",
               originalUrl="https://b.example/beta",
               related=[_related("http://www.wire.example/2021/03/big-story/?utm_source=tw",
                                 "The big story (again)"),
                        _related("https://a.example/alpha", "Alpha harbour report")])
    corpus.add("c.md", title="Gamma harbour report", publishedDateTime="2021-05-01T09:00:00Z",
               originalUrl="https://c.example/gamma",
               related=[_related("https://amp.wire.example/amp/2021/03/big-story",
                                 "The big story, AMP"),
                        _related("https://wire.example/2021/03/big-story", "Twice listed")])
    corpus.add("d.md", title="Undated harbour note", originalUrl="https://d.example/undated")
    return _options(corpus, index_dir)


# ---------------------------------------------------------------- url: and cites:


def test_url_of_any_length_finds_the_seeds_long_related_urls(ix: list[str]) -> None:
    assert len(LONG_AMP) > MAX_TOKEN_CHARS and len(SOCIABLE) > MAX_TOKEN_CHARS
    code, out, err = cli("search", f"url:{LONG_AMP}", "-f", "lines", *ix)
    assert (code, err) == (0, "")
    # the clipping 004 is that article too (its own URL): one hit per article
    assert out.startswith("004_97f99700f6cf9e75.txt\t2021-05-25\tBorderReport\t")
    assert out.count("\n") == 1
    code, out, _ = cli("search", f"url:{SOCIABLE}", "-f", "lines", *ix)
    assert code == 0 and out.startswith("001_d337aeb0c984cb4a.txt#1\t")
    # in a group, negated, quoted: still the URL
    code, out, _ = cli("search", f'(url:"{SOCIABLE}" OR zebra) kind:related', "--count",
                       *ix)
    assert (code, out) == (0, "1\n")


def test_long_words_stay_capped_and_urls_up_to_the_query_cap(ix: list[str]) -> None:
    code, _, err = cli("search", "x" * (MAX_TOKEN_CHARS + 1), *ix)
    assert code == 2 and f"longer than {MAX_TOKEN_CHARS}" in err
    long_url = "https://example.com/" + "a" * (MAX_QUERY_CHARS - 40)
    code, out, err = cli("search", f"url:{long_url}", "--count", *ix)
    assert (code, out, err) == (1, "0\n", 'No matches for "' + f"url:{long_url}" + '".\n')
    code, _, err = cli("search", f"url:{long_url}" + "a" * 40, *ix)
    assert code == 2 and f"longer than {MAX_QUERY_CHARS} characters" in err


def test_url_with_parentheses_inside_a_group(news: list[str], corpus: Corpus) -> None:
    corpus.add("e.md", title="Wiki harbour", publishedDateTime="2021-01-01T00:00:00Z",
               originalUrl="https://en.wikipedia.org/wiki/Harbour_(port)")
    code, out, _ = cli("search", "(url:https://en.wikipedia.org/wiki/Harbour_(port))",
                       "-f", "paths", *news)
    assert (code, out) == (0, "e.md\n")


@pytest.mark.parametrize("variant", [
    "https://wire.example/2021/03/big-story",
    "http://www.wire.example/2021/03/big-story/",
    "https://amp.wire.example/2021/03/big-story/amp?utm_campaign=x&fbclid=y",
])
def test_cites_finds_the_clippings_whose_related_list_has_the_article(
        news: list[str], variant: str) -> None:
    code, out, _ = cli("search", f"cites:{variant}", "-f", "paths", "--sort", "date", *news)
    assert (code, out) == (0, "a.md\nb.md\nc.md\n")


def test_cites_on_the_seeds(ix: list[str]) -> None:
    code, out, _ = cli("search", f"cites:{SOCIABLE}", "-f", "paths", *ix)
    assert (code, out) == (0, "001_d337aeb0c984cb4a.txt\n")
    code, out, err = cli("search", "cites:https://nowhere.example/x", "--count", *ix)
    assert (code, out) == (1, "0\n")


# ---------------------------------------------------------------- cited


def test_cited_counts_each_citing_clipping_once(news: list[str]) -> None:
    code, out, err = cli("cited", "-f", "lines", *news)
    assert (code, err) == (0, "")
    rows = [line.split("\t") for line in out.splitlines()]
    # c.md lists the big story twice (two variants): still one citation from c.md
    assert rows[0] == ["3", "2021-03-01", "Wire", "The big story",
                       "https://wire.example/2021/03/big-story"]
    assert [r[0] for r in rows] == ["3", "1", "1"]
    assert {r[3] for r in rows[1:]} == {"Alpha harbour report", "Other story"}


def test_cited_among_matching_clippings_and_filters(news: list[str]) -> None:
    code, out, _ = cli("cited", "beta OR gamma", "-f", "json", *news)
    record = json.loads(out)
    assert code == 0 and record["clippings"] == 2 and record["distinct"] == 2
    top = record["articles"][0]
    assert (top["count"], top["canonical_url"]) == (2, "https://wire.example/2021/03/big-story")
    assert sorted(top["ids"]) == ["a.md#1", "b.md#1", "c.md#1", "c.md#2"]
    assert top["provider"] == {"name": "Wire", "domain": "wire.example"}
    code, out, _ = cli("cited", "--since", "2021-04", "-f", "lines", "-n", "1", *news)
    assert (code, out.split("\t")[0]) == (0, "1")
    code, out, err = cli("cited", "undated", "-f", "lines", *news)
    assert (code, out, err) == (1, "", 'No related articles cited by "undated".\n')
    code, out, err = cli("cited", "zebra", *news)
    assert (code, err) == (1, "No clipping matches.\n")
    code, _, err = cli("cited", "-f", "csv", *news)
    assert code == 2 and "cited writes --format pretty, lines or json" in err


def test_cited_pretty_and_on_the_seeds(ix: list[str]) -> None:
    code, out, _ = cli("cited", "-n", "2", "-f", "pretty", "--color", "never", *ix)
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["cited", "date", "outlet", "title"]
    assert lines[-1] == "13 articles cited by 5 clippings"
    assert len(lines) == 1 + 2 * 2 + 1


# ---------------------------------------------------------------- show


def test_show_lists_the_clippings_that_cite_an_entry(news: list[str]) -> None:
    code, out, _ = cli("show", "a.md", "-f", "json", *news)
    record = json.loads(out)
    assert code == 0 and [r["id"] for r in record["cited_by"]] == ["b.md"]
    assert "story" in record  # the slot story grouping fills
    code, out, _ = cli("show", "c.md#2", "-f", "pretty", "--color", "never", *news)
    assert "\nCited by (3)\n  a.md  Alpha harbour report  [2021-03-02]\n" in out
    code, out, _ = cli("show", "d.md", "-f", "json", *news)
    assert json.loads(out)["cited_by"] == []


# ---------------------------------------------------------------- timeline


def test_timeline_counts_every_match_per_period(news: list[str]) -> None:
    code, out, _ = cli("search", "harbour", "--timeline", "month", "-f", "json", "-n", "1",
                       *news)
    record = json.loads(out)
    assert code == 0 and len(record["hits"]) == 1
    # Four clippings and b.md's related copy of a.md (one article: a.md): one undated
    assert record["timeline"] == [{"period": "2021-03", "count": 2},
                                  {"period": "2021-04", "count": 0},
                                  {"period": "2021-05", "count": 1}]
    assert (record["timeline_bucket"], record["timeline_undated"]) == ("month", 1)
    assert sum(p["count"] for p in record["timeline"]) + 1 == record["total"]


def test_timeline_combines_with_filters_and_defaults_to_10_to_60_bars(
        news: list[str]) -> None:
    code, out, _ = cli("search", "", "--kind", "related", "--timeline", "-f", "json",
                       "-n", "0", *news)
    record = json.loads(out)
    periods = [p["period"] for p in record["timeline"]]
    # 2021-02-01 .. 2021-03-01: 29 days, between 10 and 60 bars
    assert record["timeline_bucket"] == "day" and len(periods) == 29
    assert (periods[0], periods[-1]) == ("2021-02-01", "2021-03-01")
    assert sum(p["count"] for p in record["timeline"]) == record["total"]


def test_timeline_chart_after_the_hits_sized_to_the_width(news: list[str]) -> None:
    code, out, _ = cli("search", "harbour", "--timeline", "month", "-f", "lines", *news)
    chart = out.split("\n\n", 1)[1]
    assert chart == ("Timeline by month: 3 dated matches, 1 undated\n"
                     f"2021-03  2  {'#' * 68}\n"
                     "2021-04  0\n"
                     f"2021-05  1  {'#' * 34}\n"
                     "undated: 1\n")
    code, out, _ = cli("search", "harbour", "--timeline", "--count", *news)
    # 2021-03-02 .. 2021-05-01: 61 days, 9 weeks: the fewest bars past 60 days
    assert out.startswith("4\n\nTimeline by week: 3 dated matches, 1 undated\n2021-W09  1")
    code, _, err = cli("search", "harbour", "--timeline", "-f", "csv", *news)
    assert code == 2 and "--timeline needs --format pretty, lines or json" in err
    code, _, err = cli("search", "harbour", "--timeline", "fortnight", *news)
    assert code == 2  # not a bucket: taken as a second query argument


def test_timeline_on_the_seeds_months(ix: list[str]) -> None:
    code, out, _ = cli("search", "facial", "--timeline", "-f", "json", "-n", "0", *ix)
    record = json.loads(out)
    assert record["timeline_bucket"] == "month" and len(record["timeline"]) == 18
    assert record["timeline"][0] == {"period": "2019-12", "count": 2}
    assert sum(p["count"] for p in record["timeline"]) == record["total"] == 18


def test_timeline_reads_the_dates_column_not_stored_fields(news: list[str],
                                                           index_dir: Path) -> None:
    from searchkit.indexer import open_index

    with open_index(index_dir).searcher() as s:
        (sub, _), = s.leaf_searchers()
        dates = columns.published(sub.reader())
        stored = [f.get("published", columns.UNDATED) for f in s.all_stored_fields()]
        assert sorted(dates) == sorted(stored) and columns.UNDATED in dates


def test_buckets_and_periods() -> None:
    day = (dt.date(2021, 3, 1) - dt.date(1970, 1, 1)).days
    t = build({day: 2, day + 9: 1}, undated=3, bucket=Bucket.day)
    assert t == Timeline("day", tuple([("2021-03-01", 2)] + [
        (f"2021-03-{n:02d}", 0) for n in range(2, 10)] + [("2021-03-10", 1)]), 3)
    assert build({day: 1, day + 370: 1}).bucket == "week"  # 53 weeks
    assert build({day: 1, day + 3 * 365: 1}).bucket == "month"  # 36 months
    assert build({day: 1, day + 2: 1}).bucket == "day"  # too short for 10 of anything
    assert build({day: 1, day + 365 * 100: 1}).bucket == "year"
    assert build({}, undated=2) == Timeline("day", (), 2)
    assert build({day: 1}, bucket=Bucket.week).periods == (("2021-W09", 1),)
    first, last = dt.date(2020, 12, 31), dt.date(2021, 1, 1)
    assert [bars(first, last, b) for b in (Bucket.day, Bucket.month, Bucket.year)] == [2, 2, 2]
    assert choose(dt.date(2020, 1, 1), dt.date(2020, 1, 5)) is Bucket.day
    assert choose(dt.date(2020, 1, 1), dt.date(2020, 3, 1)) is Bucket.week


# ---------------------------------------------------------------- has


def test_has_finds_every_variant(news: list[str]) -> None:
    code, out, err = cli("has", "http://www.a.example/alpha/?utm_source=x",
                         "https://amp.wire.example/2021/03/big-story/amp/", *news)
    assert (code, err) == (0, "")
    # oldest first: b.md's related copy is dated the day before a.md
    assert out == ("http://www.a.example/alpha/?utm_source=x\tb.md#2\ta.md\n"
                   "https://amp.wire.example/2021/03/big-story/amp/\ta.md#1\tb.md#1\tc.md#1"
                   "\tc.md#2\n")


def test_has_not_found_malformed_and_stdin(news: list[str]) -> None:
    code, out, err = cli("has", "https://a.example/alpha", "https://nope.example/", *news)
    assert (code, out, err) == (1, "https://a.example/alpha\tb.md#2\ta.md\n"
                                   "https://nope.example/\tnot found\n", "")
    code, out, err = cli("has", "a.example/alpha", "https://a.example/alpha", *news)
    assert code == 2 and out == "https://a.example/alpha\tb.md#2\ta.md\n"
    assert err == ("Error: malformed URL 'a.example/alpha': it has no scheme: write it as "
                   "https://a.example/alpha\n")
    code, out, _ = cli("has", "-", "-f", "json", *news,
                       stdin="https://c.example/gamma\n\nftp://x.example/f\n")
    record = json.loads(out)["urls"]
    assert code == 2 and record[0]["ids"] == ["c.md"] and record[0]["found"] is True
    assert record[0]["entries"][0]["title"] == "Gamma harbour report"
    assert record[1] == {"url": "ftp://x.example/f", "found": False,
                         "error": "its scheme is ftp:, not http: or https:"}


def test_has_on_the_seeds(ix: list[str]) -> None:
    code, out, _ = cli("has", SOCIABLE, *ix)
    assert (code, out) == (0, f"{SOCIABLE}\t001_d337aeb0c984cb4a.txt#1\n")


@pytest.mark.parametrize(("url", "why"), [
    ("", "it is empty"),
    ("https://a b.example/", "it holds spaces or control characters (quote each URL whole)"),
    ("example.com/x", "it has no scheme: write it as https://example.com/x"),
    ("mailto:me@example.com", "its scheme is mailto:, not http: or https:"),
    ("https:///path", "it has no host (the part after https://)"),
])
def test_url_problems_say_which_and_why(url: str, why: str) -> None:
    assert url_problem(url) == why
    assert url_problem("HTTP://Example.COM:8080/x?y=1") is None
