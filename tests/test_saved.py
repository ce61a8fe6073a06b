"""Saved searches and ``searchkit new``, through the real CLI on tmp corpora: arrival
times survive --rebuild, renames and edits that keep an article's content; checkpoints
move only after the output was written in full."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import feedparser

from searchkit.indexer import guard
from tests.conftest import REPO, SEEDS, Corpus, cli


def _setup(corpus: Corpus, index_dir: Path) -> list[str]:
    corpus.add("a.md", title="Harbour strike", excerpt="Dock workers stop.",
               url="https://example.com/a", topics=["labour"])
    corpus.add("b.md", title="Harbour fees", excerpt="Port raises fees.",
               url="https://example.com/b")
    corpus.add("c.md", title="Budget vote", excerpt="Parliament votes.",
               url="https://example.com/c")
    code, _, err = cli("index", str(corpus.root), "--index", str(index_dir))
    assert code == 0, err
    return ["--index", str(index_dir), "--seeds", str(corpus.root)]


def _paths(out: str) -> list[str]:
    return sorted(os.path.basename(line) for line in out.splitlines())


def _saved(where: list[str]) -> dict[str, dict[str, object]]:
    code, out, err = cli("saved", "-f", "json", *where)
    assert code in (0, 1), err
    return {r["name"]: r for r in json.loads(out)}


def test_save_saved_unsave(corpus: Corpus, index_dir: Path) -> None:
    where = _setup(corpus, index_dir)
    code, out, err = cli("save", "harbour", "harbour", "--topic", "labour", *where)
    assert (code, out) == (0, "")
    assert "Saved 'harbour' (1 matching now)" in err
    assert cli("save", "fees", "fees", "--sort", "-date", *where)[0] == 0
    code, out, _ = cli("saved", "-f", "lines", *where)
    assert code == 0
    assert out.splitlines() == ["fees\tfees\t1 matching\tnever run",
                                "harbour\tharbour --topic labour\t1 matching\tnever run"]
    rows = _saved(where)
    assert rows["fees"]["sort"] == "-date" and rows["fees"]["last_run"] is None
    # a name already saved, a bad name, a query that cannot run: exit 2, nothing saved
    code, _, err = cli("save", "fees", "tariff", *where)
    assert code == 2 and "already saved; use --replace" in err
    code, _, err = cli("save", "no/slash", "x", *where)
    assert code == 2 and "cannot name a saved search" in err
    code, _, err = cli("save", "broken", '"unclosed', *where)
    assert code == 2 and "invalid query" in err
    assert sorted(_saved(where)) == ["fees", "harbour"]
    # unsave: gone; unknown: exit 2
    assert cli("unsave", "fees", *where)[0] == 0
    assert sorted(_saved(where)) == ["harbour"]
    code, _, err = cli("unsave", "fees", *where)
    assert code == 2 and "no saved search named 'fees'" in err
    # the saved-searches file is searchkit's own: the folder stays usable and tidy
    assert guard.is_own_file(guard.SAVED_FILE) and not guard.deletable(guard.SAVED_FILE)
    assert guard.is_own_file(guard.ARRIVALS_FILE) and not guard.deletable(guard.ARRIVALS_FILE)
    assert cli("index", str(corpus.root), "--index", str(index_dir))[0] == 0
    assert (index_dir / guard.SAVED_FILE).stat().st_mode & 0o022 == 0


def test_new_exit_codes_checkpoint_and_peek(corpus: Corpus, index_dir: Path) -> None:
    where = _setup(corpus, index_dir)
    cli("save", "harbour", "harbour", *where)
    # first run: everything matching is new
    code, out, _ = cli("new", "harbour", "-f", "paths", "--peek", *where)
    assert (code, _paths(out)) == (0, ["a.md", "b.md"])
    assert _saved(where)["harbour"]["last_run"] is None  # --peek moved nothing
    code, out, _ = cli("new", "harbour", "-f", "paths", *where)
    assert (code, _paths(out)) == (0, ["a.md", "b.md"])
    row = _saved(where)["harbour"]
    assert row["last_new"] == 2 and row["checkpoint"] is not None
    code, out, _ = cli("new", "harbour", "-f", "paths", *where)
    assert (code, out) == (1, "")
    assert _saved(where)["harbour"]["last_new"] == 0
    # a new file that matches is new; one that does not match is not
    corpus.add("d.md", title="Harbour crane", excerpt="New crane.", url="https://example.com/d")
    corpus.add("e.md", title="Tax cut", excerpt="Parliament again.", url="https://example.com/e")
    code, out, _ = cli("new", "harbour", "-f", "paths", "--peek", *where)
    assert (code, _paths(out)) == (0, ["d.md"])
    code, out, _ = cli("new", "harbour", "-f", "json", *where)
    record = json.loads(out)
    assert (code, record["name"], record["new"]) == (0, "harbour", 1)
    assert [h["path"] for h in record["hits"]] == ["d.md"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", record["hits"][0]["arrived"])
    assert cli("new", "harbour", *where)[0] == 1
    code, _, err = cli("new", "nope", *where)
    assert code == 2 and "no saved search named 'nope'" in err


def test_new_across_rebuild_rename_and_edits(corpus: Corpus, index_dir: Path) -> None:
    where = _setup(corpus, index_dir)
    cli("save", "harbour", "harbour", *where)
    cli("save", "all", "", "--kind", "clipping", *where)
    assert cli("new", "--all", *where)[0] == 0
    # a rebuild: nothing is new
    assert cli("index", str(corpus.root), "--index", str(index_dir), "--rebuild")[0] == 0
    assert cli("new", "--all", *where)[:2] == (1, "")
    # a rename: nothing is new
    os.rename(corpus.root / "a.md", corpus.root / "a-renamed.md")
    assert cli("new", "--all", *where)[:2] == (1, "")
    # an edit that keeps title and excerpt (topics, quality): nothing is new
    corpus.add("b.md", title="Harbour fees", excerpt="Port raises fees.",
               url="https://example.com/b", topics=["ports"], quality=50)
    assert cli("new", "--all", *where)[:2] == (1, "")
    # an edit of a title: that entry is new
    corpus.add("c.md", title="Budget vote delayed", excerpt="Parliament votes.",
               url="https://example.com/c")
    code, out, _ = cli("new", "all", "-f", "paths", *where)
    assert (code, _paths(out)) == (0, ["c.md"])
    assert cli("new", "harbour", *where)[0] == 1
    # after all that, a rebuild still makes nothing new
    assert cli("index", str(corpus.root), "--index", str(index_dir), "--rebuild")[0] == 0
    assert cli("new", "--all", *where)[:2] == (1, "")


def test_save_since_now(corpus: Corpus, index_dir: Path) -> None:
    where = _setup(corpus, index_dir)
    code, _, err = cli("save", "harbour", "harbour", "--since-now", *where)
    assert code == 0 and "shows from now on" in err
    assert cli("new", "harbour", *where)[:2] == (1, "")
    corpus.add("d.md", title="Harbour crane", excerpt="New crane.")  # no URL
    code, out, _ = cli("new", "harbour", "-f", "paths", *where)
    assert (code, _paths(out)) == (0, ["d.md"])
    os.rename(corpus.root / "d.md", corpus.root / "d2.md")  # no URL: the content keys it
    assert cli("new", "harbour", *where)[:2] == (1, "")


def test_new_all_groups_per_search(corpus: Corpus, index_dir: Path) -> None:
    where = _setup(corpus, index_dir)
    cli("save", "budget", "budget", *where)
    cli("save", "harbour", "harbour", *where)
    code, out, _ = cli("new", "--all", "--peek", "-f", "lines", *where)
    assert code == 0
    heads = [line for line in out.splitlines() if line.startswith("==")]
    assert heads == ["== budget: 1 new ==", "== harbour: 2 new =="]
    code, out, _ = cli("new", "--all", "-f", "json", *where)
    records = json.loads(out)
    assert code == 0
    assert [(r["name"], r["new"]) for r in records] == [("budget", 1), ("harbour", 2)]
    code, out, _ = cli("new", "--all", "-f", "json", *where)
    assert code == 1
    assert [(r["name"], r["new"]) for r in json.loads(out)] == [("budget", 0), ("harbour", 0)]
    code, _, err = cli("new", "--all", "-f", "atom", *where)
    assert code == 2 and "give a NAME instead of --all" in err
    assert cli("new", *where)[0] == 2  # neither NAME nor --all


def test_new_as_atom_has_a_stable_feed_id(corpus: Corpus, index_dir: Path) -> None:
    where = _setup(corpus, index_dir)
    cli("save", "harbour", "harbour", *where)
    code, out, _ = cli("new", "harbour", "-f", "atom", *where)
    feed = feedparser.parse(out)
    assert code == 0 and not feed.bozo
    assert feed.feed.id == "tag:searchkit,2026:saved:harbour"
    assert sorted(e.title for e in feed.entries) == ["Harbour fees", "Harbour strike"]
    corpus.add("d.md", title="Harbour crane", excerpt="New crane.", url="https://example.com/d")
    code, out, _ = cli("new", "harbour", "-f", "atom", *where)
    again = feedparser.parse(out)
    assert code == 0 and again.feed.id == feed.feed.id
    assert [e.title for e in again.entries] == ["Harbour crane"]
    code, out, _ = cli("new", "harbour", "-f", "markdown", "--peek", *where)
    assert code == 1


def test_checkpoint_stays_when_stdout_is_closed(corpus: Corpus, index_dir: Path) -> None:
    """The reader went away before anything was written (``| head -c 0``): exit 2,
    and the same entries show next time."""
    where = _setup(corpus, index_dir)
    cli("save", "harbour", "harbour", *where)
    proc = subprocess.Popen([sys.executable, "-m", "searchkit", "new", "harbour",
                             "-f", "lines", *where],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the child (still starting Python) can write
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 2, err
    assert "could not write the new entries" in err and "Traceback" not in err
    assert _saved(where)["harbour"]["last_run"] is None
    code, out, _ = cli("new", "harbour", "-f", "paths", *where)
    assert (code, _paths(out)) == (0, ["a.md", "b.md"])


def _readme_block() -> list[tuple[str, str]]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- saved searches: .*?-->\s*```console\n(.*?)```", readme, re.S)
    assert block, "README.md lost its saved-searches example"
    steps = []
    for chunk in re.split(r"^\$ ", block.group(1), flags=re.M)[1:]:
        command, _, expected = chunk.partition("\n")
        steps.append((command, expected))
    return steps


def test_readme_saved_search_example_runs_in_order(tmp_path: Path) -> None:
    """The README's example, step by step on a copy of the seeds: each `$ searchkit`
    line's output as shown; lines that change files run as shell commands."""
    shutil.copytree(SEEDS, tmp_path / "seeds")
    steps = _readme_block()
    assert any(c.startswith("searchkit new") for c, _ in steps)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert cli("index", "seeds", "--index", "index", "-q")[0] == 0
        for command, expected in steps:
            args = shlex.split(command)
            if args[0] != "searchkit":
                subprocess.run(command, shell=True, check=True, cwd=tmp_path)
                continue
            code, out, err = cli(*args[1:], "--index", "index")
            assert err + out == expected, command
            wanted = (0 if out or args[1] == "save" else 2 if err.startswith("Error")
                      else 1)
            assert code == wanted, command
    finally:
        os.chdir(cwd)
