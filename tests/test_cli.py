"""The real CLI: exit codes, stdout and stderr, golden output, the installed scripts."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from searchkit.cli import search_app
from tests.conftest import SEEDS, Corpus, cli

GOLDEN = Path(__file__).parent / "golden"
QUERY = "facial recognition airports"


def golden(name: str, actual: str) -> None:
    """Compare with tests/golden/NAME; UPDATE_GOLDEN=1 rewrites the file."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8")


@pytest.fixture
def seeded(seeds_copy: Path, tmp_path: Path) -> list[str]:
    """Options pointing the CLI at a private copy of the seeds and a fresh index."""
    return ["--index", str(tmp_path / "index"), "--seeds", str(seeds_copy)]


def test_first_search_builds_the_index_and_answers(seeded: list[str]) -> None:
    code, out, err = cli("search", QUERY, *seeded)
    assert code == 0
    assert err == f"Note: built the index from {seeded[3]} (5 clippings).\n"
    lines = sorted(out.splitlines())
    assert len(lines) == 2
    assert lines[0].startswith("001_d337aeb0c984cb4a.txt#1\t2020-09-08\tThe Sociable\t")
    assert lines[1].startswith("003_06c42d1ff0946df3.txt\t2019-12-05\tABC\t")
    code, _, err = cli("search", QUERY, *seeded)
    assert (code, err) == (0, "")  # fresh: no note, no rebuild


def test_lines_output_golden(seeded: list[str]) -> None:
    cli("index", *seeded)
    code, out, err = cli("search", "facial recognition", "-n", "4", *seeded)
    assert (code, err) == (0, "")
    golden("search_lines.txt", out)


def test_pretty_output_golden_without_colour(seeded: list[str]) -> None:
    cli("index", *seeded)
    code, out, _ = cli("search", QUERY, "--format", "pretty", *seeded, env={"COLUMNS": "80"})
    assert code == 0 and "\x1b" not in out
    golden("search_pretty.txt", out)


def test_json_output_golden(seeded: list[str]) -> None:
    cli("index", *seeded)
    code, out, _ = cli("search", QUERY, "-f", "json", *seeded)
    assert code == 0
    record = json.loads(out)
    assert record["seconds"] >= 0
    record["seconds"] = 0
    golden("search.json", json.dumps(record, indent=2, ensure_ascii=False) + "\n")


def test_jsonl_csv_tsv_paths_and_count(seeded: list[str]) -> None:
    cli("index", *seeded)
    _, out, _ = cli("search", QUERY, "-f", "jsonl", *seeded)
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["rank"] for r in rows] == [1, 2]
    _, out, _ = cli("search", QUERY, "-f", "csv", *seeded)
    assert out.splitlines()[0] == ("rank,score,id,kind,path,title,provider,domain,published,"
                                   "url,quality,topics,story")
    assert len(out.splitlines()) == 3
    _, out, _ = cli("search", QUERY, "-f", "tsv", *seeded)
    assert [len(line.split("\t")) for line in out.splitlines()] == [13, 13, 13]
    folder = seeded[3]  # outside the current directory: absolute paths
    _, out, _ = cli("search", QUERY, "-f", "paths", *seeded)
    assert out == f"{folder}/003_06c42d1ff0946df3.txt\n{folder}/001_d337aeb0c984cb4a.txt\n"
    _, out, _ = cli("search", QUERY, "-0", *seeded)
    assert out == f"{folder}/003_06c42d1ff0946df3.txt\x00{folder}/001_d337aeb0c984cb4a.txt\x00"
    assert cli("search", QUERY, "--count", *seeded)[:2] == (0, "2\n")


def test_exit_codes(seeded: list[str]) -> None:
    cli("index", *seeded)
    assert cli("search", "zebra", *seeded) == (1, "", 'No matches for "zebra".\n')
    code, out, err = cli("search", "bogus:field", *seeded)
    assert (code, out) == (2, "")
    assert err.startswith("Error: invalid query at position 0: unknown field 'bogus:'")
    assert "Traceback" not in err
    code, _, err = cli("search", "airports zebra", "-f", "pretty", *seeded)
    assert code == 0
    assert err == ('Note: no entry has "zebra"; showing matches for the other words.\n'
                   "Entries matching each word alone: airports: 2, zebra: 0\n")
    code, out, err = cli("search", "airports zebra", *seeded)  # piped: whole matches only
    assert (code, out) == (1, "") and err.startswith('No matches for "airports zebra".\n')


def test_missing_index_and_folder_name_the_fix(tmp_path: Path) -> None:
    code, out, err = cli("search", "x", "--index", str(tmp_path / "ix"),
                         "--seeds", str(tmp_path / "none"))
    assert (code, out) == (2, "")
    assert err == (f"Error: no index at {tmp_path / 'ix'} — run `searchkit index FOLDER` "
                   f"(there is no clippings folder at {tmp_path / 'none'})\n")
    code, _, err = cli("search", "x", "--no-refresh", "--index", str(tmp_path / "ix"))
    assert code == 2 and err.startswith("Error: no index at")


def test_debug_shows_traceback(tmp_path: Path) -> None:
    code, _, err = cli("search", "x", "--debug", "--index", str(tmp_path / "ix"),
                       "--seeds", str(tmp_path / "none"))
    assert code == 2 and "Traceback" in err and "IndexMissingError" in err


def test_every_command_goes_through_the_one_error_boundary() -> None:
    from searchkit.cli import app

    commands = [*app.registered_commands, *search_app.registered_commands]
    # every command of `searchkit` (more as issues add them) and the `search` script
    assert {"index", "search", "show", "story"} <= {c.name for c in app.registered_commands}
    assert len(search_app.registered_commands) == 1
    for command in commands:
        assert command.callback is not None and hasattr(command.callback, "__wrapped__"), \
            command.name


def test_a_bug_exits_70_in_one_line_and_shows_its_traceback_only_on_debug(
        seeded: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from searchkit import records

    def boom(*args: object, **kwargs: object) -> str:
        raise ValueError("boom")

    monkeypatch.setattr(records, "render_fields", boom)
    assert cli("fields") == (70, "", "Error: internal error: ValueError: boom (run again "
                                     "with --debug for the traceback)\n")
    monkeypatch.setattr(records, "status_record", boom)
    code, out, err = cli("status", *seeded)
    assert (code, out) == (70, "") and "Traceback" not in err
    code, out, err = cli("status", "--debug", *seeded)
    assert (code, out) == (70, "")
    assert err.startswith("Traceback (most recent call last):\n")
    assert 'raise ValueError("boom")' in err
    assert err.endswith("\nError: internal error: ValueError: boom\n")


def test_ctrl_c_exits_130(seeded: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from searchkit import records

    def interrupted(*args: object, **kwargs: object) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(records, "status_record", interrupted)
    assert cli("status", *seeded) == (130, "", "Interrupted; the index keeps its last commit.\n")


def test_an_unknown_entry_id_is_a_usage_error(seeds_index: Path) -> None:
    ix = ["--index", str(seeds_index), "--seeds", str(seeds_index.parent / "seeds")]
    code, out, err = cli("show", "nope.txt", *ix)
    assert (code, out) == (2, "")
    assert err == ("Error: no entry 'nope.txt' in the index — ids are shown by `search` "
                   "(a clipping's path, or PATH#N for a related article)\n")
    assert cli("similar", "nope.txt", *ix) == (2, "", "Error: no entry 'nope.txt' in the index\n")


def test_batch_errors_are_lines_and_a_bug_stops_at_the_boundary(
        seeds_index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from searchkit import output

    ix = ["--index", str(seeds_index), "--seeds", str(seeds_index.parent / "seeds")]
    code, out, err = cli("search", "--batch", "-", *ix, stdin="bogus:x\nairports\n")
    first, second = (json.loads(line) for line in out.splitlines())
    assert (code, err) == (2, "")
    assert first == {"line": 1, "query": "bogus:x", "error": first["error"]}
    assert first["error"].startswith("invalid query at position 0: unknown field 'bogus:'")
    assert second["query"] == "airports" and second["total"] == 2

    def boom(*args: object, **kwargs: object) -> str:
        raise RuntimeError("boom")

    monkeypatch.setattr(output, "results_record", boom)
    code, out, err = cli("search", "--batch", "-", *ix, stdin="bogus:x\nairports\n")
    assert (code, json.loads(out)["query"]) == (70, "bogus:x")
    assert err == ("Error: internal error: RuntimeError: boom (run again with --debug for "
                   "the traceback)\n")


def test_index_summary_failures_and_exit_code(corpus: Corpus, tmp_path: Path) -> None:
    corpus.add("good.md", title="Good")
    corpus.write_raw("bad.md", "---\nquality: high\n---\n")
    ix = str(tmp_path / "ix")
    code, out, err = cli("index", str(corpus.root), "--index", ix)
    assert code == 4
    assert err == "bad.md: quality: must be a whole number from 0 to 100, not text 'high'\n"
    assert re.fullmatch(rf"Indexed {re.escape(str(corpus.root))} into {re.escape(ix)}: "
                        r"1 added, 0 updated, 0 deleted, 0 unchanged, 1 failed in \d+\.\d\ds\n",
                        out)
    code, out, _ = cli("index", str(corpus.root), "--index", ix, "-f", "json")
    record = json.loads(out)
    assert code == 4 and record["unchanged"] == 1 and record["failed"][0]["path"] == "bad.md"


def test_update_after_changes_and_rebuild(corpus: Corpus, tmp_path: Path) -> None:
    ix = ["--index", str(tmp_path / "ix")]
    corpus.add("a.md", title="Alpha")
    assert cli("index", str(corpus.root), *ix)[0] == 0
    corpus.add("b.md", title="Beta")
    # search refreshes from the folder recorded in the index
    code, out, _ = cli("search", "beta", *ix)  # the last column: the story id
    assert (code, out.rsplit("\t", 1)[0]) == (0, "b.md\t\t\tBeta\t")
    code, out, _ = cli("index", "--rebuild", *ix)
    assert code == 0 and out.startswith(f"Rebuilt {corpus.root.resolve()} ")
    assert ": 2 rebuilt, 0 deleted, 0 failed in " in out


def test_no_refresh_answers_from_the_index_as_it_is(corpus: Corpus, tmp_path: Path) -> None:
    ix = ["--index", str(tmp_path / "ix")]
    corpus.add("a.md", title="Alpha")
    cli("index", str(corpus.root), *ix)
    corpus.add("b.md", title="Beta")
    assert cli("search", "beta", "--no-refresh", *ix)[0] == 1
    assert cli("search", "beta", *ix)[0] == 0


def test_status(seeded: list[str], seeds_copy: Path) -> None:
    code, out, _ = cli("status", *seeded)
    assert code == 0 and "entries:      none" in out
    cli("index", *seeded)
    (seeds_copy / "new.md").write_text("---\ntitle: New\n---\n")
    code, out, _ = cli("status", *seeded)
    assert "entries:      19 (5 clippings, 14 related articles)" in out
    assert "added:        1: new.md" in out
    code, out, _ = cli("status", "-f", "json", *seeded)
    record = json.loads(out)
    assert record["stale"]["added"] == ["new.md"] and record["up_to_date"] is False


def test_environment_variables_configure_paths(seeds_copy: Path, tmp_path: Path) -> None:
    env = {"SEARCHKIT_INDEX": str(tmp_path / "envix"), "SEARCHKIT_SEEDS": str(seeds_copy)}
    code, out, _ = cli("search", QUERY, "--count", env=env)
    assert (code, out) == (0, "2\n")
    assert (tmp_path / "envix").is_dir()


def test_search_app_is_the_search_command(seeded: list[str]) -> None:
    assert cli(QUERY, "--count", *seeded, script=search_app)[:2] == (0, "2\n")


def test_version_and_help() -> None:
    code, out, _ = cli("--version")
    assert code == 0 and re.fullmatch(r"searchkit \d+\.\d+\.\d+\n", out)
    code, out, _ = cli("search", "--help")
    assert code == 0 and "--no-refresh" in out and "--format" in out


def _script(name: str) -> str:
    found = shutil.which(name, path=os.path.dirname(sys.executable)) or shutil.which(name)
    if not found:
        pytest.skip(f"console script {name!r} is not installed")
    return found


@pytest.mark.slow
def test_installed_search_script_in_a_subprocess(seeds_copy: Path, tmp_path: Path) -> None:
    env = {**os.environ, "SEARCHKIT_INDEX": str(tmp_path / "ix"),
           "SEARCHKIT_SEEDS": str(seeds_copy)}
    env.pop("NO_COLOR", None)
    proc = subprocess.run([_script("search"), QUERY, "-f", "paths"], capture_output=True,
                          text=True, env=env, timeout=60, cwd=tmp_path)
    assert proc.returncode == 0  # paths open from the current directory
    assert proc.stdout == "seeds/003_06c42d1ff0946df3.txt\nseeds/001_d337aeb0c984cb4a.txt\n"
    proc = subprocess.run([_script("searchkit"), "search", "zebra"], capture_output=True,
                          text=True, env=env, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (1, "", 'No matches for "zebra".\n')
    proc = subprocess.run([sys.executable, "-m", "searchkit", "search", "x:y"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2 and proc.stderr.startswith("Error: invalid query")


@pytest.mark.slow
def test_colour_only_on_a_terminal_and_never_with_no_color(seeds_copy: Path,
                                                          tmp_path: Path) -> None:
    import pty

    env = {**os.environ, "SEARCHKIT_INDEX": str(tmp_path / "ix"),
           "SEARCHKIT_SEEDS": str(seeds_copy), "TERM": "xterm"}
    env.pop("NO_COLOR", None)

    def on_tty(extra_env: dict[str, str]) -> str:
        leader, follower = pty.openpty()
        proc = subprocess.run([_script("search"), QUERY], stdout=follower,
                              stderr=subprocess.DEVNULL, env={**env, **extra_env}, timeout=60)
        os.close(follower)
        chunks = []
        try:
            while chunk := os.read(leader, 65536):
                chunks.append(chunk)
        except OSError:
            pass
        os.close(leader)
        assert proc.returncode == 0
        return b"".join(chunks).decode()

    coloured = on_tty({})
    assert "\x1b[1;33mairports\x1b[0m" in coloured
    plain = on_tty({"NO_COLOR": "1"})
    assert "\x1b" not in plain and "**airports**" in plain


def test_seeds_folder_is_the_bundled_sample() -> None:
    assert sorted(p.name for p in SEEDS.iterdir()) == [
        "000_d147ebc2d70e439b.txt", "001_d337aeb0c984cb4a.txt", "002_36246a49f00582d8.txt",
        "003_06c42d1ff0946df3.txt", "004_97f99700f6cf9e75.txt"]


def test_search_answers_from_snapshot_while_another_process_writes(
        corpus: Corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from whoosh import index as whoosh_index

    monkeypatch.chdir(corpus.root)  # paths print as they open from here

    ix = ["--index", str(tmp_path / "ix")]
    corpus.add("a.md", title="Alpha")
    cli("index", str(corpus.root), *ix)
    corpus.add("b.md", title="Alpha beta")
    writer = whoosh_index.open_dir(str(tmp_path / "ix")).writer()  # another writer
    try:
        code, out, err = cli("search", "alpha", "-f", "paths", *ix)
    finally:
        writer.cancel()
    assert (code, out) == (0, "a.md\n")
    assert err == ("Note: another process is updating the index; answering from the "
                   "current snapshot.\n")
    assert cli("search", "alpha", "-f", "paths", *ix)[:2] == (0, "a.md\nb.md\n")


def test_search_quick_check_and_full_check(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = Corpus(tmp_path / "clips")
    corpus.add("a.md", title="Heron sighting")
    monkeypatch.chdir(corpus.root)  # paths print as they open from here
    past = os.stat(corpus.root).st_mtime - 60
    os.utime(corpus.root, (past, past))
    opts = ["--index", str(tmp_path / "index"), "--seeds", str(corpus.root), "-f", "paths"]
    quick = {"SEARCHKIT_QUICK_CHECK_FILES": "1"}
    assert cli("index", str(corpus.root), "--index", str(tmp_path / "index"))[0] == 0
    corpus.add("a.md", title="Egret sighting")  # rewritten in place: the folder is unchanged
    os.utime(corpus.root, (past, past))
    assert cli("search", "egret", *opts, env=quick)[0] == 1  # the quick check misses it
    code, out, _ = cli("search", "egret", "--full-check", *opts, env=quick)
    assert (code, out) == (0, "a.md\n")
    corpus.add("b.md", title="Egret nest")  # a new file changes the folder: noticed
    code, out, _ = cli("search", "egret", *opts, env=quick)
    assert (code, sorted(out.split())) == (0, ["a.md", "b.md"])
    assert cli("search", "nest", "--quick-check-files", "-1", *opts)[0] == 2
