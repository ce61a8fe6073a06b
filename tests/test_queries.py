"""Query features (issue #3) through the library and the real CLI."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from searchkit import QueryError, indexer, search
from searchkit.cli import app
from searchkit.results import Filters
from tests.conftest import Corpus

UTC = dt.timezone.utc

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


def test_empty_query_without_filters_is_an_error(dated: Path) -> None:
    with pytest.raises(QueryError, match="empty query"):
        search.search(dated, "  ")


def test_bad_relative_span_is_an_error(dated: Path) -> None:
    with pytest.raises(QueryError, match="--since: not a date"):
        search.search(dated, "", filters=Filters(since="7 days"))
    with pytest.raises(QueryError, match="--since is after --until"):
        search.search(dated, "", filters=Filters(since="2021", until="2020"))


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


def test_snippets_count(corpus: Corpus, index_dir: Path) -> None:
    filler = " ".join(["lorem"] * 60)
    corpus.add("a.md", title="t", excerpt=f"zebra one {filler} zebra two {filler} zebra three")
    indexer.update(corpus.root, index_dir)
    for n in (0, 1, 2):
        hit = search.search(index_dir, "zebra", snippets=n).hits[0]
        assert len(hit.snippets) == n


def test_suggestions_and_diagnosis(seeds_index: Path) -> None:
    results = search.search(seeds_index, "facal recogniton airports")
    assert results.suggestions == ("facial recognition airports",)
    assert [(w.word, w.count) for w in results.diagnosis] == [
        ("facal", 0), ("recogniton", 0), ("airports", 2)]
    assert results.partial  # airports alone still matches
    fine = search.search(seeds_index, "facial recognition")
    assert (fine.suggestions, fine.diagnosis) == ((), ())


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


def test_explain_breaks_the_score_down(seeds_index: Path) -> None:
    hit = search.search(seeds_index, "facial recognition airports", explain=True).hits[0]
    fields = {(t.field, t.term) for t in hit.explanation}
    assert ("text", "airport") in fields and ("text", "facial") in fields
    assert sum(t.score for t in hit.explanation) == pytest.approx(hit.score, rel=1e-3)


def test_entry_and_similar(seeds_index: Path) -> None:
    entry = search.entry(seeds_index, "004_97f99700f6cf9e75.txt#3")
    assert entry.kind == "related" and entry.parent == "004_97f99700f6cf9e75.txt"
    assert [loc.id for loc in entry.also_in] == ["004_97f99700f6cf9e75.txt#4"]
    similar = search.similar(seeds_index, "004_97f99700f6cf9e75.txt#3", limit=3)
    ids = [h.id for h in similar.hits]
    assert len(ids) == 3 and "004_97f99700f6cf9e75.txt#3" not in ids
    assert "004_97f99700f6cf9e75.txt#4" not in ids  # same article, other place
    assert "004_97f99700f6cf9e75.txt#1" in ids  # Maine limiting police use: same story


# ---------------------------------------------------------------- through the CLI


def cli(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def ix(seeds_index: Path) -> list[str]:
    return ["--index", str(seeds_index), "--seeds", str(seeds_index.parent / "seeds")]


def test_cli_fields() -> None:
    code, out, _ = cli("fields")
    assert code == 0
    for name in ("title", "excerpt", "provider", "domain", "topic", "type", "kind", "url",
                 "published", "year", "quality"):
        assert f"\n{name}:" in out
    assert json.loads(cli("fields", "-f", "json")[1])["quality"]["example"] == "quality:>50"


def test_cli_filters_sort_and_empty_query(ix: list[str]) -> None:
    code, out, _ = cli("search", "--provider", "biometric companies", "--kind", "clipping",
                       "-f", "paths", *ix)
    assert (code, out) == (0, "001_d337aeb0c984cb4a.txt\n")
    code, out, _ = cli("search", "", "--topic", "Natural Language Processing", "-f", "paths",
                       *ix)
    assert (code, out) == (0, "004_97f99700f6cf9e75.txt\n")
    code, out, _ = cli("search", "--kind", "clipping", "--since", "2021-01", "--until",
                       "2021-05-24", "-f", "paths", *ix)
    assert (code, out) == (0, "002_36246a49f00582d8.txt\n")
    code, out, _ = cli("search", "recognition", "--kind", "clipping", "--min-quality", "50",
                       "--sort", "-date", "-f", "paths", *ix)
    assert (code, out) == (0, "004_97f99700f6cf9e75.txt\n003_06c42d1ff0946df3.txt\n")
    code, out, err = cli("search", "", *ix)
    assert (code, out) == (2, "")
    assert err.startswith("Error: invalid query: empty query")
    code, _, err = cli("search", "x", "--since", "soon", *ix)
    assert code == 2 and "--since: not a date: 'soon'" in err


def test_cli_facets(ix: list[str]) -> None:
    code, out, _ = cli("search", "facial", "--facets", "topic,kind", "-f", "json", *ix)
    record = json.loads(out)
    assert code == 0 and record["facets"]["topic"] == {"AI": 5, "Computer Vision": 5,
                                                       "Natural Language Processing": 1}
    code, out, _ = cli("search", "facial", "--facets", "kind", "-f", "lines", "-n", "1", *ix)
    assert out.endswith("\nkind      count\nrelated      13\nclipping      5\n")
    code, _, err = cli("search", "facial", "--facets", "colour", *ix)
    assert code == 2 and "unknown facet 'colour'" in err
    code, _, err = cli("search", "facial", "--facets", "kind", "-f", "csv", *ix)
    assert code == 2 and "--facets needs --format pretty, lines or json" in err


def test_cli_explain(ix: list[str]) -> None:
    code, out, _ = cli("search", "airports", "--explain", "-f", "lines", *ix)
    lines = out.splitlines()
    assert code == 0 and lines[0] == "Parsed query: text:airport"
    assert lines[2].startswith("\tscore ") and "text:airport" in lines[2]
    record = json.loads(cli("search", "airports", "--explain", "-f", "json", *ix)[1])
    assert record["hits"][0]["explanation"][0]["term"] == "airport"


def test_cli_zero_results_say_what_to_try(ix: list[str]) -> None:
    code, out, err = cli("search", "facal recogniton", *ix)
    assert (code, out) == (1, "")
    assert err == ("Did you mean: facial recognition\n"
                   "Entries matching each word alone: facal: 0, recogniton: 0\n")
    code, out, _ = cli("search", "facal recogniton", "-f", "json", *ix)
    record = json.loads(out)
    assert code == 1 and record["suggestions"] == ["facial recognition"]
    assert record["diagnosis"] == {"facal": 0, "recogniton": 0}


def test_cli_batch(ix: list[str], tmp_path: Path) -> None:
    queries = tmp_path / "q.txt"
    queries.write_text("facial recognition airports\n\nzebra\nbad:field\n")
    code, out, _ = cli("search", "--batch", str(queries), "-n", "1", *ix)
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 2
    assert [r["query"] for r in rows] == ["facial recognition airports", "zebra", "bad:field"]
    assert rows[0]["total"] == 2 and len(rows[0]["hits"]) == 1
    assert rows[1]["total"] == 0
    assert rows[2]["error"].startswith("invalid query at position 0: unknown field 'bad:'")
    code, out, _ = cli("search", "--batch", "-", *ix, stdin="airports\nborder\n")
    assert code == 0 and [json.loads(x)["total"] for x in out.splitlines()] == [2, 8]
    code, _, err = cli("search", "--batch", str(tmp_path / "none.txt"), *ix)
    assert code == 2 and "cannot read --batch file" in err


def test_cli_show_and_similar(ix: list[str]) -> None:
    code, out, _ = cli("show", "000_d147ebc2d70e439b.txt", *ix)
    assert code == 0
    assert out.startswith("CBP plans broader use of facial recognition\nid:           "
                          "000_d147ebc2d70e439b.txt\n")
    assert "category:     news" in out and "heat:         -1" in out
    assert "  000_d147ebc2d70e439b.txt#2  Biometric ID systems in prisons" in out
    assert "secured" not in out and "qFa7Vn" not in out
    record = json.loads(cli("show", "004_97f99700f6cf9e75.txt#4", "-f", "json", *ix)[1])
    assert record["parent"] == {"id": "004_97f99700f6cf9e75.txt",
                                "title": "CBP expands use of facial recognition technology in "
                                         "New Mexico, West Texas"}
    assert record["also_in"] == [{"id": "004_97f99700f6cf9e75.txt#3", "kind": "related",
                                  "path": "004_97f99700f6cf9e75.txt"}]
    code, out, err = cli("show", "nope.txt", *ix)
    assert (code, out) == (1, "") and err.startswith("Error: no entry 'nope.txt' in the index")
    code, out, _ = cli("similar", "003_06c42d1ff0946df3.txt", "-n", "2", "-f", "paths", *ix)
    assert code == 0 and len(out.splitlines()) >= 1


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("searchkit search --sort ", ["relevance", "date", "-date", "quality"]),
        ("searchkit search --format ", ["auto", "pretty", "lines", "json", "jsonl", "csv", "tsv",
                                        "paths"]),
        ("searchkit search prov", ["provider:"]),
        ("searchkit search --facets provider,t", ["provider,topic"]),
        ("searchkit sim", ["similar"]),
    ],
)
def test_shell_completion(words: str, expected: list[str]) -> None:
    env = {"_SEARCHKIT_COMPLETE": "complete_bash", "COMP_WORDS": words,
           "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1))}
    result = CliRunner().invoke(app, [], prog_name="searchkit", env=env)
    assert result.stdout.split() == expected


def test_terminal_escapes_in_data_never_reach_output(corpus: Corpus, tmp_path: Path) -> None:
    corpus.add("evil.md", title="Evil \x1b[31mred\x1b[0m title", excerpt="bell \x07 \x9b2J",
               webUrl="https://x.com/\x1b]8;;evil")
    ix_args = ["--index", str(tmp_path / "ix"), "--seeds", str(corpus.root)]
    for fmt in ("pretty", "lines", "json", "jsonl", "csv", "tsv", "paths"):
        code, out, _ = cli("search", "evil", "-f", fmt, *ix_args)
        assert code == 0 and "\x1b" not in out and "\x9b" not in out and "\x07" not in out


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
