"""The query features through the real CLI (`searchkit search`, `fields`, `show`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from searchkit.cli import app
from tests.conftest import Corpus, cli


@pytest.fixture
def ix(seeds_index: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Options for the seeds' index, run from inside the seeds folder (paths print bare)."""
    monkeypatch.chdir(seeds_index.parent / "seeds")
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
    assert err == ('No matches for "facal recogniton".\n'
                   "Did you mean: facial recognition\n"
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
    assert (code, out) == (2, "") and err.startswith("Error: no entry 'nope.txt' in the index")
    code, out, _ = cli("similar", "003_06c42d1ff0946df3.txt", "-n", "2", "-f", "paths", *ix)
    assert code == 0 and len(out.splitlines()) >= 1

@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("searchkit search --sort ", ["relevance", "date", "-date", "quality"]),
        ("searchkit search --format ", ["auto", "pretty", "lines", "json", "jsonl", "csv", "tsv",
                                        "paths", "atom", "markdown", "csl-json"]),
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


# ---------------------------------------------------------------- issue #11: --batch input


def test_batch_line_errors_carry_their_line_numbers(ix: list[str], tmp_path: Path) -> None:
    from searchkit.vocabulary import MAX_BATCH_LINE_BYTES

    queries = tmp_path / "q.txt"
    queries.write_bytes(b"caf\xe9 au lait\n" + b"x" * (MAX_BATCH_LINE_BYTES + 10) + b"\n"
                        b"airports\r\n")
    code, out, err = cli("search", "--batch", str(queries), "-n", "1", *ix)
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 2 and err == ""
    assert rows[0] == {"line": 1, "query": "caf\\xe9 au lait",
                       "error": "line 1 is not UTF-8 text (byte 0xe9 at byte 4): save the "
                                "file as UTF-8"}
    assert rows[1]["line"] == 2
    assert rows[1]["error"] == f"line 2 is longer than {MAX_BATCH_LINE_BYTES} bytes"
    # the long line is skipped to its end; the next line is answered (CRLF is fine)
    assert len(rows) == 3 and (rows[2]["query"], rows[2]["total"]) == ("airports", 2)


@pytest.mark.parametrize("special", ["/dev/zero", "/dev/urandom", "fifo"])
def test_batch_refuses_devices_and_fifos(ix: list[str], tmp_path: Path, special: str) -> None:
    import os

    if special == "fifo":
        special = str(tmp_path / "queries.fifo")
        os.mkfifo(special)  # nobody writes: opening it must not wait
    code, out, err = cli("search", "--batch", special, *ix)
    assert (code, out) == (2, "")
    assert err == f"Error: --batch {special} is not a regular file\n"


def test_batch_stdin_may_be_a_pipe_but_not_a_device(seeds_index: Path) -> None:
    import subprocess
    import sys

    args = [sys.executable, "-m", "searchkit", "search", "--batch", "-", "--no-refresh",
            "--index", str(seeds_index)]
    with open("/dev/zero", "rb") as zero:
        done = subprocess.run(args, stdin=zero, capture_output=True, timeout=120)
    assert done.returncode == 2 and done.stdout == b""
    assert done.stderr.decode().startswith("Error: --batch - reads standard input, which "
                                           "is a device here")
    done = subprocess.run(args, input=b"airports\n", capture_output=True, timeout=120)
    assert done.returncode == 0 and json.loads(done.stdout)["total"] == 2


def test_ctrl_c_stops_a_batch_mid_stream(seeds_index: Path) -> None:
    """A batch read from a pipe that never closes: the first answer comes out at once,
    and Ctrl-C ends the command with 130 while it waits for the next line."""
    import select
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "searchkit", "search", "--batch", "-", "--no-refresh",
         "--index", str(seeds_index)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(b"airports\n")
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], 120)  # bounded wait, no sleep
        assert ready, "no answer to the first line"
        first = proc.stdout.readline()
        assert json.loads(first)["query"] == "airports"
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=120)
        err = proc.stderr.read().decode() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdin.close()
        proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
    assert code == 130
    assert "Interrupted" in err and "Traceback" not in err


# ---------------------------------------------------------------- issue #11: bad values


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "-inf"])
def test_time_limits_must_be_finite_seconds(ix: list[str], value: str) -> None:
    code, out, err = cli("search", "airports", "--timeout", value, *ix)
    assert (code, out) == (2, "")
    assert "Invalid value for '--timeout'" in err and "Traceback" not in err
    code, out, err = cli("index", "--lock-timeout", value, *ix)
    assert (code, out) == (2, "")
    assert "Invalid value for '--lock-timeout'" in err


@pytest.mark.parametrize(("query", "problem"), [
    ("quality:>999999999999", "quality: 999999999999 is out of range: quality runs from 0 "
                              "to 100"),
    ("year:[1 TO 999999999999]", "year: 1 is out of range: year runs from 1800 to 2200"),
    ("quality:[-5 TO 5]", "quality: -5 is out of range"),
    ("year:99999999999999999999", "year: 99999999999999999999 is out of range"),
    ("published:1800-01-01T00:30+01:00",
     "published: '1800-01-01T00:30+01:00' is outside the years 1800-2200 (UTC)"),
    ("published:2200-12-31T23:59:59-14:00",
     "published: '2200-12-31T23:59:59-14:00' is outside the years 1800-2200 (UTC)"),
    ("published:[1799 TO 2000]", "published: '1799' is outside the years 1800-2200"),
])
def test_numbers_and_dates_out_of_range_are_query_errors(ix: list[str], query: str,
                                                         problem: str) -> None:
    code, out, err = cli("search", query, *ix)
    assert (code, out) == (2, "")
    assert err.startswith(f"Error: invalid query at position 0: {problem}")
    assert err.count("\n") == 1 and "internal error" not in err


def test_dates_at_the_edges_of_the_range_are_accepted(ix: list[str]) -> None:
    for query in ("published:[1800-01-01T00:00Z TO 2200-12-31T23:59:59Z]",
                  "published:2200-12-31T23:59:59+14:00", "year:[1800 TO 2200]",
                  "quality:[0 TO 100]"):
        code, _, err = cli("search", query, "-f", "paths", *ix)
        assert code in (0, 1) and not err.startswith("Error"), (query, err)


def test_show_an_id_that_is_not_utf8(ix: list[str]) -> None:
    # what Python makes of the shell's $'a\xff.md' in argv
    for command in ("show", "similar"):
        code, out, err = cli(command, "a\udcff.md", *ix)
        assert (code, out) == (2, "")
        assert err == ("Error: no entry 'a\\xff.md' in the index: ids are UTF-8 text, and "
                       "files whose names are not are skipped when indexing (rename them)\n")
