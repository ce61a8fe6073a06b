"""From the shell and from scripts (issue #13): paths that open from where the user
stands, every match for file lists, whole matches for programs, quiet runs for cron,
and a broken clipping reported once."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Corpus, cli

BROKEN = b"\xff\xfe not text"


@pytest.fixture
def herons(tmp_path: Path) -> Corpus:
    """15 clippings about herons (more than the default -n 10), two about egrets."""
    corpus = Corpus(tmp_path / "work" / "clips")
    for n in range(15):
        corpus.add(f"h{n:02}.md", title=f"Heron sighting number {n}", excerpt="Grey heron.")
    corpus.add("e1.md", title="Egret colony", excerpt="Little egret.")
    corpus.add("sub/e2.md", title="Egret flight", excerpt="Great egret.")
    return corpus


def opts(corpus: Corpus) -> list[str]:
    return ["--index", str(corpus.root.parent / "index"), "--seeds", str(corpus.root)]


# ---------------------------------------------------------------- 1. paths for other tools


def test_paths_open_from_the_current_directory(herons: Corpus,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    root = herons.root
    monkeypatch.chdir(root.parent)  # the folder is below: relative, as ripgrep prints
    code, out, _ = cli("search", "egret", "-f", "paths", "--sort", "date", *opts(herons))
    assert code == 0 and sorted(out.splitlines()) == ["clips/e1.md", "clips/sub/e2.md"]
    assert all(os.path.isfile(p) for p in out.splitlines())
    monkeypatch.chdir(root)  # the folder itself: bare names
    assert sorted(cli("search", "egret", "-f", "paths", *opts(herons))[1].splitlines()) == [
        "e1.md", "sub/e2.md"]
    monkeypatch.chdir(root / "sub")  # inside the folder, not above it: absolute
    out = cli("search", "egret", "-0", *opts(herons))[1]
    assert sorted(out.split("\0")[:-1]) == [f"{root}/e1.md", f"{root}/sub/e2.md"]
    assert out.endswith("\0")


def test_file_lists_and_count_cover_every_match_unless_n_is_given(
        herons: Corpus, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(herons.root.parent)
    o = opts(herons)
    every = sorted(f"clips/h{n:02}.md" for n in range(15))
    assert sorted(cli("search", "heron", "-f", "paths", *o)[1].splitlines()) == every
    assert sorted(cli("search", "heron", "-0", *o)[1].split("\0")[:-1]) == every
    assert cli("search", "heron", "--count", *o)[:2] == (0, "15\n")
    assert len(cli("search", "heron", "-f", "paths", "-n", "3", *o)[1].splitlines()) == 3
    assert len(cli("search", "heron", "-f", "lines", *o)[1].splitlines()) == 10  # default
    assert len(cli("search", "heron", "-f", "lines", "--all", *o)[1].splitlines()) == 15
    record = json.loads(cli("search", "heron", "-f", "json", "--all", *o)[1])
    assert (record["total"], len(record["hits"])) == (15, 15)
    code, out, err = cli("search", "heron", "--all", "-n", "3", *o)
    assert (code, out) == (2, "") and err.startswith("Error: --all shows every match")


def test_paths_feed_xargs_grep_from_the_parent_folder(herons: Corpus) -> None:
    """The issue's pipeline, with the installed script, from above the folder."""
    search = shutil.which("search", path=os.path.dirname(sys.executable))
    assert search and shutil.which("grep") and shutil.which("xargs")
    herons.add("e3.md", title="Egret GAO report", excerpt="GAO on egrets.")
    pipeline = f"{search} egret -0 {' '.join(opts(herons))} | xargs -0 grep -l GAO"
    proc = subprocess.run(pipeline, shell=True, cwd=herons.root.parent, capture_output=True,
                          text=True, timeout=60)
    assert (proc.returncode, proc.stdout) == (0, "clips/e3.md\n"), proc.stderr


# ---------------------------------------------------------------- 2. match or fallback


def test_programs_get_whole_matches_people_get_the_fallback(herons: Corpus) -> None:
    o = opts(herons)
    cli("index", "-q", *o)
    # On the terminal display: the best partial matches, said so, exit 0 (as before).
    code, out, err = cli("search", "heron zebra", "-f", "pretty", *o)
    assert code == 0 and "sighting number 9" in out
    assert err.startswith("Note: no entry")
    # For programs (lines when piped, paths, -0, json, --count): nothing, exit 1.
    for fmt in (["-f", "lines"], ["-f", "paths"], ["-0"], ["--count"], ["-f", "json"]):
        code, out, err = cli("search", "heron zebra", *fmt, *o)
        assert code == 1, fmt
        assert out in ("", "0\n") or json.loads(out)["total"] == 0, fmt
        assert err == ('No matches for "heron zebra".\n'
                       "Entries matching each word alone: heron: 15, zebra: 0\n"
                       "Note: no entry matches every word; --fallback shows the best partial "
                       "matches of plain words.\n"), fmt
    # Either way on request.
    code, out, _ = cli("search", "heron zebra", "-f", "lines", "--fallback", *o)
    assert code == 0 and len(out.splitlines()) == 10
    code, out, err = cli("search", "heron zebra", "-f", "pretty", "--strict", *o)
    assert (code, out) == (1, "") and err.startswith('No matches for "heron zebra".\n')
    assert "--fallback shows" not in err  # asked for: no hint
    # Whole matches are unaffected, and -q keeps stderr empty.
    assert cli("search", "egret", "--count", *o)[:2] == (0, "2\n")
    assert cli("search", "heron zebra", "-q", *o) == (1, "", "")


def test_no_hits_say_so_on_stderr(herons: Corpus) -> None:
    o = opts(herons)
    cli("index", "-q", *o)
    assert cli("search", "walrus", "-f", "pretty", *o) == (1, "", 'No matches for "walrus".\n')
    assert cli("search", "--kind", "related", "-f", "pretty", *o) == (
        1, "", "No matches for these filters.\n")
    assert cli("search", "walrus", "-f", "pretty", "--quiet", *o) == (1, "", "")


# ---------------------------------------------------------------- 3. quiet, failures once


def test_quiet_index_and_search_print_nothing_when_all_is_well(herons: Corpus) -> None:
    o = opts(herons)
    assert cli("search", "egret", "-q", "-f", "paths", "--count", *o) == (0, "2\n", "")
    assert cli("index", "-q", *o) == (0, "", "")  # no summary, no note
    code, out, _ = cli("index", "-q", "-f", "json", *o)  # data asked for is still data
    assert code == 0 and json.loads(out)["unchanged"] == 17


def test_a_broken_clipping_is_reported_once_and_listed_as_failed(herons: Corpus) -> None:
    o = opts(herons)
    herons.write_raw("bad.md", BROKEN)
    code, out, err = cli("search", "egret", "-q", "--count", *o)  # builds: finds it
    assert (code, out) == (0, "2\n")
    assert err.startswith("bad.md: ") and err.count("\n") == 1  # errors print under -q
    message = err
    assert cli("search", "egret", "--count", *o) == (0, "2\n", "")  # known: quiet
    herons.add("e4.md", title="Egret again")  # an update runs; bad.md fails again
    assert cli("search", "egret", "--count", *o) == (0, "3\n", "")
    # status: failed, not added.
    code, out, err = cli("status", "-f", "json", *o)
    record = json.loads(out)
    assert (code, err) == (0, "") and record["stale"]["added"] == []
    assert record["failed"] == [{"path": "bad.md", "error": message.rstrip("\n")}]
    code, out, _ = cli("status", *o)
    assert f"failed:       {message}" in out and "added:" not in out
    # `searchkit index` always says which files fail (exit 4), even with -q.
    assert cli("index", "-q", *o) == (4, "", message)
    # Changed and still broken: reported again, once.
    herons.write_raw("bad.md", BROKEN + b" more")
    assert cli("search", "egret", "--count", *o)[2].startswith("bad.md: ")
    assert cli("search", "egret", "--count", *o)[2] == ""
    # Fixed: indexed, and no longer failed.
    herons.add("bad.md", title="Egret repaired")
    assert cli("search", "egret", "--count", *o) == (0, "4\n", "")
    assert json.loads(cli("status", "-f", "json", *o)[1])["failed"] == []
