"""searchkit.output (and searchkit.wrap, its line filling) through the real CLI: the
terminal display wrapped to the width, bold titles, snippet fragments, --explain
feedback labels, facets, --color, bidi controls; and the progress bar of `index`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from searchkit import output, wrap
from searchkit.cli import _common, _progress, search_app
from tests.conftest import Corpus, cli, invoke

ANSI = re.compile(r"\x1b\[[0-9;]*m")
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"
LONG_URL = ("https://www.example-news.com/2021/05/25/legislature-may-limit-use-of-facial-"
            "recognition-software-by-police-in-maine/?utm_source=feed&id=67525963")
EXCERPT = ("Lawmakers in Augusta voted on Tuesday to limit how the police may use facial "
           "recognition software, allowing it only in the investigation of serious crimes "
           "such as murder and rape, after a year of hearings about privacy and errors.")


@pytest.fixture
def clips(corpus: Corpus, tmp_path: Path) -> Iterator[list[str]]:
    corpus.add("maine.md", title="Maine lawmakers limit facial recognition use by police",
               excerpt=EXCERPT, webUrl=LONG_URL, publishedDateTime="2021-05-25T10:00:00Z",
               provider={"name": "Press Herald"})
    yield ["--index", str(tmp_path / "ix"), "--seeds", str(corpus.root)]


def _words(text: str) -> list[str]:
    return ANSI.sub("", text).replace("**", "").split()


# ---------------------------------------------------------------- wrapping (item 1)


@pytest.mark.parametrize("columns", [40, 60, 100])
def test_pretty_wraps_snippets_to_the_terminal_width_without_breaking_words(
        clips: list[str], columns: int) -> None:
    code, out, _ = cli("search", "facial", "-f", "pretty", *clips,
                       env={"COLUMNS": str(columns)})
    assert code == 0
    lines = out.splitlines()
    assert all(len(line) <= columns for line in lines), out
    assert all(line.startswith("   ") for line in lines[1:] if line)
    # the snippet: the lines after the URL's, each word whole, in the excerpt's order
    url_end = max(i for i, line in enumerate(lines) if line.strip() and line.strip()
                  in LONG_URL)
    snippet = " ".join(_words(" ".join(lines[url_end + 1:])))
    assert len(snippet.split()) > 5 and f" {snippet} " in f" {EXCERPT} "


def test_a_long_url_is_broken_between_its_parts_only(clips: list[str]) -> None:
    code, out, _ = cli("search", "facial", "-f", "pretty", *clips, env={"COLUMNS": "60"})
    lines = [line.strip() for line in out.splitlines()]
    start = next(i for i, line in enumerate(lines) if line.startswith("https://"))
    url_lines = []
    for line in lines[start:]:
        url_lines.append(line)
        if "".join(url_lines) == LONG_URL:
            break
    assert "".join(url_lines) == LONG_URL  # nothing lost, nothing added
    assert len(url_lines) > 1
    for line in url_lines[:-1]:  # each break after a "/", "-" or before "?", "&"
        following = LONG_URL[len("".join(url_lines[:url_lines.index(line) + 1])):]
        assert line.endswith(("/", "-")) or following.startswith(("?", "&")), url_lines
    # wide enough: the URL stays whole on its own line
    out = cli("search", "facial", "-f", "pretty", *clips, env={"COLUMNS": "200"})[1]
    assert f"   {LONG_URL}\n" in out


def test_fill_and_url_lines() -> None:
    items = wrap.words([wrap.plain("one two three four five")])
    assert wrap.fill(items, 9) == ["one two", "three", "four five"]
    assert wrap.fill(wrap.words([wrap.plain("unbreakable words")]), 5) == [
        "unbreakable", "words"]  # a word wider than the line keeps a line of its own
    assert wrap.fill(items, 0) == ["one two three four five"]
    assert wrap.cells("日本") == 4 and wrap.cells("\x1b[1mab\x1b[0m") == 2
    assert wrap.url_lines("https://a.com/b/c?d=1&e=2", 12) == [
        "https://", "a.com/b/c", "?d=1&e=2"]
    assert wrap.url_lines("https://a.com/" + "x" * 30, 12)[-1] == "x" * 6


# ---------------------------------------------------------------- title, snippets (2, 3)


def test_the_title_stays_bold_after_a_highlighted_word(clips: list[str]) -> None:
    code, out, _ = cli("search", "facial", "-f", "pretty", "--color", "always", *clips,
                       env={"COLUMNS": "200"})
    title = out.splitlines()[0]
    assert title == ("1. \x1b[1mMaine lawmakers limit \x1b[33mfacial\x1b[39m recognition "
                     "use by police\x1b[0m")


def test_snippet_fragments_are_separated_by_an_ellipsis(corpus: Corpus,
                                                        tmp_path: Path) -> None:
    filler = " ".join(f"word{i}" for i in range(80))
    corpus.add("z.md", title="t", excerpt=f"zebra one {filler} zebra two")
    args = ["--index", str(tmp_path / "ix"), "--seeds", str(corpus.root), "-f", "pretty",
            "--snippets", "2"]
    out = cli("search", "zebra", *args, env={"COLUMNS": "1000"})[1]
    snippet = out.splitlines()[2].strip()
    assert re.fullmatch(r"\*\*zebra\*\* one .* … .* \*\*zebra\*\* two", snippet), snippet
    record = json.loads(cli("search", "zebra", *args[:4], "--snippets", "2", "-f", "json")[1])
    assert len(record["hits"][0]["snippets"]) == 2  # JSON keeps the fragments apart


# ---------------------------------------------------------------- explain (4)


def test_explain_labels_feedback_terms(seeds_index: Path) -> None:
    ix = ["--index", str(seeds_index), "--seeds", str(seeds_index.parent / "seeds")]
    out = cli("search", "airports", "--explain", "-f", "lines", *ix)[1]
    explained = out.splitlines()[2]
    assert explained.startswith("\tscore ") and "= text:airport " in explained
    assert "+ feedback:text:custom " in explained and " text:custom" not in explained
    pretty = cli("search", "airports", "--explain", "-f", "pretty", *ix,
                 env={"COLUMNS": "300"})[1]
    assert "+ feedback:text:custom " in pretty
    narrow = cli("search", "airports", "--explain", "-f", "pretty", *ix,
                 env={"COLUMNS": "50"})[1].split("\n\n")[0].splitlines()
    start = next(i for i, line in enumerate(narrow) if line.strip().startswith("score "))
    shares = [line.strip() for line in narrow[start:]]
    assert len(shares) > 2 and " ".join(shares) == explained.strip()
    assert all(re.search(r"\d$", line) for line in shares)  # never a term without its share
    record = json.loads(cli("search", "airports", "--explain", "-f", "json", *ix)[1])
    explanation = record["hits"][0]["explanation"]
    assert {"field": "text", "term": "airport", "score": explanation[0]["score"],
            "feedback": False} == explanation[0]
    custom = next(t for t in explanation if t["term"] == "custom")
    assert custom["feedback"] is True
    assert sum(t["score"] for t in explanation) == pytest.approx(record["hits"][0]["score"],
                                                                 rel=1e-3)


# ---------------------------------------------------------------- facets (5, 6)


@pytest.fixture
def years(corpus: Corpus, tmp_path: Path) -> list[str]:
    for name, year, provider in (("a", 2019, "Zeta"), ("b", 2020, "Alpha"), ("c", 2020, "Zeta"),
                                 ("d", 2020, "Zeta"), ("e", 2022, "Alpha"),
                                 ("f", 2022, "Zeta"), ("g", 2018, "Beta")):
        corpus.add(f"{name}.md", title=f"budget {name}", provider={"name": provider},
                   publishedDateTime=f"{year}-03-01T00:00:00Z")
    return ["--index", str(tmp_path / "ix"), "--seeds", str(corpus.root)]


def test_the_year_facet_is_in_year_order_and_the_others_by_count(years: list[str]) -> None:
    code, out, _ = cli("search", "budget", "--facets", "year,provider", "-f", "json", *years)
    facets = json.loads(out)["facets"]
    assert list(facets["year"].items()) == [("2018", 1), ("2019", 1), ("2020", 3),
                                            ("2022", 2)]
    assert list(facets["provider"].items()) == [("Zeta", 4), ("Alpha", 2), ("Beta", 1)]


def test_facets_work_with_count(years: list[str]) -> None:
    cli("index", *years)
    code, out, err = cli("search", "budget", "--count", "--facets", "year", *years)
    assert (code, err) == (0, "")
    assert out == "7\n\nyear  count\n2018      1\n2019      1\n2020      3\n2022      2\n"


# ---------------------------------------------------------------- --color (7)


def test_color_always_never_and_auto(clips: list[str]) -> None:
    def run(*args: str, env: dict[str, str] | None = None) -> str:
        return invoke("search", "facial", "-f", "pretty", *args, *clips,
                      env={"COLUMNS": "200", **(env or {})}).stdout

    assert "\x1b[1;33m" in run("--color", "always")  # piped, and still coloured
    assert "\x1b[1;33m" in run("--color", "always", env={"NO_COLOR": "1"})  # asked for
    assert "\x1b" not in run("--color", "never")
    assert "\x1b" not in run()  # auto, and stdout is not a terminal
    assert "**facial**" in run("--color", "never")
    shown = invoke("show", "maine.md", "--color", "always", *clips).stdout
    assert shown.startswith("\x1b[1mMaine lawmakers")
    assert "\x1b" not in invoke("show", "maine.md", *clips).stdout
    code, _, err = cli("search", "facial", "--color", "sometimes", *clips)
    assert code == 2 and "--color" in err


# ---------------------------------------------------------------- the search script (8)


def test_search_script_version_and_completion() -> None:
    code, out, _ = cli("--version", script=search_app)
    assert code == 0 and out == cli("--version")[1]
    assert re.fullmatch(r"searchkit \d+\.\d+\.\d+\n", out)
    env = {"_SEARCH_COMPLETE": "complete_bash", "COMP_WORDS": "search --sort ",
           "COMP_CWORD": "2"}
    result = CliRunner().invoke(search_app, [], prog_name="search", env=env)
    assert result.stdout.split() == ["relevance", "date", "-date", "quality"]
    env = {"_SEARCH_COMPLETE": "complete_bash", "COMP_WORDS": "search prov",
           "COMP_CWORD": "1"}
    result = CliRunner().invoke(search_app, [], prog_name="search", env=env)
    assert result.stdout.split() == ["provider:"]
    assert "--install-completion" in cli("--help", script=search_app)[1]


# ---------------------------------------------------------------- progress (9)


class FakeClock:
    """Two seconds pass between any two readings."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        self.t += 2.0
        return self.t


@pytest.fixture
def terminal_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_common, "stderr_is_terminal", lambda: True)
    monkeypatch.setattr(_progress, "MIN_FILES", 1)
    monkeypatch.setattr(_progress, "now", FakeClock())


def test_the_progress_bar_shows_an_eta_then_committing_then_done(
        terminal_bar: None, corpus: Corpus, tmp_path: Path) -> None:
    for n in range(8):
        corpus.add(f"c{n}.md", title=f"clipping {n}")
    code, out, err = cli("index", str(corpus.root), "--index", str(tmp_path / "ix"))
    assert code == 0 and out.startswith("Indexed ")
    frames = err.split("\r")[1:]
    assert frames[0].startswith("indexing [")
    assert any(re.search(r"ETA \d+:\d\d$", f.rstrip()) for f in frames), frames
    committing = [f for f in frames if "committing…" in f]
    assert committing and "8/8 100%" in committing[0]
    assert re.fullmatch(r"indexing \[#+\] 8/8 100%  done in \d+\.\ds\n", frames[-1])
    assert frames.index(committing[0]) == len(frames) - 2  # committing comes last


def test_the_progress_line_ends_before_an_error(terminal_bar: None, corpus: Corpus,
                                                tmp_path: Path) -> None:
    corpus.add("good.md", title="Good")
    corpus.write_raw("bad.md", "---\nquality: high\n---\n")
    code, _, err = cli("index", str(corpus.root), "--index", str(tmp_path / "ix"))
    assert code == 4
    bar_line, message = err.split("\n")[:2]
    assert "2/2 100%" in bar_line and "done in" in bar_line
    assert message.startswith("bad.md: quality:")


class Recorder:
    """A progress callable with phases, as the CLI's bar is."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int, int] | str] = []

    def __call__(self, done: int, total: int) -> None:
        self.events.append(("count", done, total))

    def phase(self, name: str) -> None:
        self.events.append(name)


def test_a_sharded_run_reports_every_file_before_writing_and_committing(
        corpus: Corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from searchkit import indexer
    from searchkit.indexer import shards

    monkeypatch.setattr(shards, "SHARD_THRESHOLD", 4)
    monkeypatch.setattr(shards, "EARLY_FLUSH_ENTRIES", 1)
    for n in range(40):
        corpus.add(f"c{n:02}.md", title=f"clipping {n}")
    rec = Recorder()
    indexer.update(corpus.root, tmp_path / "ix", progress=rec, workers=2)
    phases = [e for e in rec.events if isinstance(e, str)]
    assert phases == ["writing", "committing"]
    counts = [e for e in rec.events if not isinstance(e, str)]
    assert counts[-1] == ("count", 40, 40)
    assert all(done <= total == 40 for _, done, total in counts)
    last_count = max(i for i, e in enumerate(rec.events) if not isinstance(e, str))
    assert rec.events.index("committing") > last_count  # nothing left to read by then
    # a plain callable still works: counts only
    seen: list[int] = []
    indexer.update(corpus.root, tmp_path / "ix2", progress=lambda d, t: seen.append(d))
    assert seen[-1] == 40


# ---------------------------------------------------------------- rebuild (10)


def test_rebuild_says_how_many_files_it_rebuilt(corpus: Corpus, tmp_path: Path) -> None:
    ix = ["--index", str(tmp_path / "ix")]
    corpus.add("a.md", title="Alpha")
    corpus.add("b.md", title="Beta")
    cli("index", str(corpus.root), *ix)
    code, out, _ = cli("index", "--rebuild", *ix)
    assert code == 0
    assert re.fullmatch(rf"Rebuilt {re.escape(str(corpus.root.resolve()))} into "
                        rf"{re.escape(ix[1])}: 2 rebuilt, 0 deleted, 0 failed in \d+\.\d\ds\n",
                        out)
    corpus.add("c.md", title="Gamma")
    corpus.delete("a.md")
    out = cli("index", "--rebuild", *ix)[1]
    assert ": 2 rebuilt (1 added), 1 deleted, 0 failed in " in out


# ---------------------------------------------------------------- bidi controls (11)


def test_bidi_controls_never_reach_the_output(corpus: Corpus, tmp_path: Path) -> None:
    name = "invoice.md"  # a bidi control in a file name is refused (test_filesystem_hardening)
    corpus.add(name, title="Budget \u202ereversed\u202c \u2066isolated\u2069 \u200ftitle",
               excerpt="budget \u202aembedded\u202c text", webUrl="https://x.com/\u202eevil")
    ix = ["--index", str(tmp_path / "ix"), "--seeds", str(corpus.root)]
    outputs = [cli("index", str(corpus.root), *ix[:2])]
    for fmt in ("pretty", "lines", "json", "jsonl", "csv", "tsv", "paths"):
        outputs.append(cli("search", "budget", "-f", fmt, "--explain", *ix))
    outputs.append(cli("search", "budget", "-f", "pretty", "--color", "always", *ix))
    outputs.append(cli("search", "budget", "-0", *ix))
    outputs.append(cli("status", *ix))
    outputs.append(cli("show", name, *ix))
    outputs.append(cli("show", name, "-f", "json", *ix))
    for code, out, err in outputs:
        assert code == 0, (out, err)
        assert not set(out + err) & set(BIDI), (out + err)
    pretty = outputs[1][1]
    assert "**Budget** reversed isolated title" in pretty and "invoice.md" in pretty


def test_safe_drops_controls_and_bidi_but_keeps_text() -> None:
    assert output.safe("a\u202eb\u2066c\u2069d\u200e\u200fe\x1b[31mf\tg\nh") == \
        "ab" + "cde[31mf\tg\nh"
    assert output.safe("العربية עברית") == "العربية עברית"  # right-to-left text stays
