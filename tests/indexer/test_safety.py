"""Issue #11, items 1, 3 and 8 (killed --rebuild leftovers): searchkit deletes only
what it wrote, and reads no index file that someone else could have written.

Every case goes through the real CLI where it is CLI behaviour. Tests run as root:
the trust check decides from owners and mode bits, so root sees what a user would.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage

from searchkit import indexer, search
from searchkit.errors import ForeignIndexFolderError, OverlappingFoldersError, UnsafeIndexError
from searchkit.indexer import commit, guard
from tests.conftest import cli, clipping_text
from tests.test_crash_concurrency import orphans, script, snapshot, write_corpus

SEG = "MAIN_" + "k" * 16  # a segment id as Whoosh makes them: 16 of [0-9a-z]
RUN = "r" * 28  # a pool file name as Whoosh makes them: random_name(28)


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative path -> content)."""
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def add_clip(folder: Path, name: str, title: str) -> None:
    (folder / name).write_text(clipping_text(title=title, excerpt=f"About {title}."),
                               encoding="utf-8")


@pytest.fixture
def clips(tmp_path: Path) -> Path:
    folder = tmp_path / "clips"
    write_corpus(folder, 3, "a")
    return folder


# ---------------------------------------------------------------- 1: what is deleted


def test_the_clippings_folder_as_index_is_refused_and_nothing_is_touched(
        clips: Path, tmp_path: Path) -> None:
    """The reported case: `searchkit index clips --index clips` deleted MAIN_notes.md and
    _MAIN_7.toc.md, and a later run a folder MAIN.tmpx/ with a clipping inside."""
    (clips / "MAIN_notes.md").write_text("my notes")
    (clips / "_MAIN_7.toc.md").write_text("my table of contents")
    (clips / "MAIN.tmpx").mkdir()
    add_clip(clips / "MAIN.tmpx", "inside.md", "Inside")
    before = tree(clips)
    for _ in range(2):
        code, out, err = cli("index", str(clips), "--index", str(clips))
        assert (code, out) == (2, "")
        assert err == (f"Error: the index folder {clips} is the clippings folder; use a "
                       "separate folder, outside the clippings, for --index\n")
    assert tree(clips) == before and sorted(os.listdir(clips)) == sorted(
        {p.split("/")[0] for p in before})


@pytest.mark.parametrize("layout", ["index inside clippings", "clippings inside index"])
def test_nested_folders_are_refused_by_index_and_search(layout: str, tmp_path: Path) -> None:
    if layout == "index inside clippings":
        folder, ix = tmp_path / "clips", tmp_path / "clips" / "ix"
        where = f"the index folder {ix} is inside the clippings folder {folder}"
    else:
        folder, ix = tmp_path / "ix" / "clips", tmp_path / "ix"
        where = f"the clippings folder {folder} is inside the index folder {ix}"
    write_corpus(folder, 2, "a")
    before = tree(tmp_path)
    message = f"Error: {where}; use a separate folder, outside the clippings, for --index\n"
    for args in (["index", str(folder)], ["index", str(folder), "--rebuild"],
                 ["search", "clipping", "--seeds", str(folder)]):
        code, out, err = cli(*args, "--index", str(ix))
        assert (code, out, err) == (2, "", message), args
    assert tree(tmp_path) == before
    with pytest.raises(OverlappingFoldersError):
        indexer.refresh(folder, ix)
    # the same folder reached through a link is the same folder
    (tmp_path / "alias").symlink_to(folder)
    with pytest.raises(OverlappingFoldersError):
        indexer.update(tmp_path / "alias", folder)


def test_a_folder_of_the_users_files_is_refused(clips: Path, tmp_path: Path) -> None:
    """The reported case: with --index at a folder holding MAIN_report.pdf and
    MAIN_budget.xlsx, two runs deleted them."""
    other = tmp_path / "other"
    other.mkdir()
    (other / "MAIN_report.pdf").write_bytes(b"%PDF-1.4 report")
    (other / "MAIN_budget.xlsx").write_bytes(b"PK budget")
    before = tree(other)
    for _ in range(2):
        code, out, err = cli("index", str(clips), "--index", str(other))
        assert (code, out) == (2, "")
        assert err == (f"Error: index folder {other} is not searchkit's (it holds files "
                       "searchkit did not write: MAIN_budget.xlsx, MAIN_report.pdf); use an "
                       "empty or new folder for --index\n")
        add_clip(clips, "new.md", "Something new")  # a change: the run would commit
    code, _, err = cli("search", "clipping", "--index", str(other), "--seeds", str(clips))
    assert code == 2 and "is not searchkit's" in err
    assert tree(other) == before
    # many names: the first three and a count
    for i in range(3):
        (other / f"doc{i}.txt").write_text("mine")
    with pytest.raises(ForeignIndexFolderError, match=r"did not write: MAIN_budget.xlsx, "
                       r"MAIN_report.pdf, doc0.txt and 2 more\)"):
        indexer.update(clips, other)


def test_new_and_empty_folders_are_marked_and_used(clips: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    for ix in (tmp_path / "new" / "ix", empty):
        code, _, err = cli("index", str(clips), "--index", str(ix))
        assert (code, err) == (0, "")
        marker = json.loads((ix / guard.MARKER).read_text())
        assert marker == {"format": "searchkit-index", "version": 1}
        assert not [n for n in os.listdir(ix) if n.endswith(".tmp")]  # written atomically
        assert cli("search", "clipping", "--index", str(ix), "-f", "paths")[0] == 0


def test_an_index_of_the_previous_release_is_adopted_only_if_all_its_names_are_ours(
        clips: Path, tmp_path: Path) -> None:
    ix = tmp_path / "ix"
    indexer.update(clips, ix)
    (ix / guard.MARKER).unlink()  # as the previous release left it: no marker
    state = snapshot(ix)
    # reading it needs no marker, and writes none
    assert cli("search", "clipping", "--index", str(ix), "--no-refresh")[0] == 0
    assert not (ix / guard.MARKER).exists()
    # a stray file of the user's: refused, nothing deleted
    (ix / "MAIN_notes.md").write_text("mine")
    add_clip(clips, "new.md", "Something new")
    code, _, err = cli("index", str(clips), "--index", str(ix))
    assert code == 2 and err.startswith(f"Error: index folder {ix} is not searchkit's (it "
                                        "holds files searchkit did not write: MAIN_notes.md)")
    assert (ix / "MAIN_notes.md").read_text() == "mine" and snapshot(ix) == state
    # only searchkit's names (a killed run's leftovers included): adopted, marked
    (ix / "MAIN_notes.md").unlink()
    (ix / f"{SEG}.trm").write_bytes(b"")
    (ix / "MAIN.tmp").mkdir()
    (ix / "MAIN.tmp" / f"{RUN}.run").write_bytes(b"run")
    code, out, err = cli("index", str(clips), "--index", str(ix))
    assert (code, err) == (0, "") and "1 added" in out
    assert (ix / guard.MARKER).exists() and orphans(ix) == set()


def test_a_marker_that_is_not_searchkits_is_refused(clips: Path, tmp_path: Path) -> None:
    ix = tmp_path / "ix"
    ix.mkdir()
    (ix / guard.MARKER).write_text("my own json")
    code, _, err = cli("index", str(clips), "--index", str(ix))
    assert (code, err) == (2, f"Error: index folder {ix} is not searchkit's (its marker is "
                              "not searchkit's); use an empty or new folder for --index\n")
    assert (ix / guard.MARKER).read_text() == "my own json"


def test_clean_up_in_a_marked_folder_spares_every_file_it_did_not_write(
        clips: Path, tmp_path: Path) -> None:
    """Files the user drops into an index folder later, named like Whoosh's, survive
    changing runs, unchanged runs (which tidy up) and --rebuild."""
    ix = tmp_path / "ix"
    indexer.update(clips, ix)
    mine = {"MAIN_notes.md": b"notes", "_MAIN_7.toc.md": b"toc", "MAIN_report.pdf": b"pdf",
            "_MAIN_3.tocx": b"x", "MAIN_WRITELOCK.bak": b"b", f"{SEG}.trm.orig": b"o",
            "MAIN_short.trm": b"s", "MAIN.tmpx/inside.md": b"clip",
            f"MAIN.tmp.{SEG}/notes.md": b"in a temp folder's name",
            f"MAIN.tmp.{SEG}/{RUN}.run": b"beside it: the folder is left whole",
            "MAIN.tmp/keep.md": b"in the writer's own temp folder"}
    for rel, data in mine.items():
        (ix / rel).parent.mkdir(exist_ok=True)
        (ix / rel).write_bytes(data)
    for i, args in enumerate(([], [], ["--rebuild"])):
        if i != 1:
            add_clip(clips, f"new{i}.md", f"New {i}")
        code, _, err = cli("index", str(clips), "--index", str(ix), *args)
        assert (code, err) == (0, ""), args
        assert {rel: (ix / rel).read_bytes() for rel in mine} == mine, args
    found = cli("search", "new", "--index", str(ix), "-f", "paths")[1].split()
    assert [os.path.basename(p) for p in found] == ["new0.md", "new2.md"]


def test_leftovers_lists_only_strict_names() -> None:
    user = ["MAIN_notes.md", "_MAIN_7.toc.md", "MAIN.tmpx", "MAIN_report.pdf",
            "MAIN_budget.xlsx", "MAIN_WRITELOCK", "searchkit-index.json",
            "searchkit-folders.json", f"{SEG}.trm.bak", f"{SEG}x.trm", "_MAIN_2.toc.bak",
            "MAIN.tmp.notes", f"MAIN.tmp.{SEG}.old", "MAIN_ABCDEFGHIJKLMNOP.trm"]
    ours = [f"{SEG}.trm", f"{SEG}.pst", f"{SEG}._stored.col", f"{SEG}.path.col",
            "_MAIN_1.toc", "_MAIN_3.toc.1732500000.123", "searchkit-folders.json.77.tmp",
            f"MAIN.tmp.{SEG}"]
    assert commit.leftovers(user + ours, 2, []) == sorted(ours)
    assert commit.leftovers(["MAIN.tmp", f"MAIN.tmp.{SEG}"], 2, [], temp=False) == [
        f"MAIN.tmp.{SEG}"]


def test_nothing_is_removed_from_a_folder_without_the_marker(tmp_path: Path) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / f"{SEG}.trm").write_bytes(b"looks like ours")
    commit.remove_files(str(folder), [f"{SEG}.trm"])
    assert (folder / f"{SEG}.trm").exists()


# ---------------------------------------------------------------- 8: killed --rebuild


def _plant_killed_rebuild(ix: Path) -> list[str]:
    """What a --rebuild killed while its shard processes wrote leaves: the shards'
    temporary folders with their pool runs, the writer's MAIN.tmp with column buffers,
    and half-written segment files."""
    other = "MAIN_" + "q" * 16
    planted = [f"MAIN.tmp.{SEG}", f"MAIN.tmp.{other}", f"{SEG}.trm", f"{SEG}.pst"]
    for name in planted[:2]:
        (ix / name).mkdir(mode=0o700)
        for i in range(3):
            (ix / name / f"{str(i) * 28}.run").write_bytes(b"\0" * 100_000)
    (ix / "MAIN.tmp").mkdir(mode=0o700, exist_ok=True)
    (ix / "MAIN.tmp" / f"{'c' * 28}.ctmp").write_bytes(b"\0" * 1000)
    for name in planted[2:]:
        (ix / name).write_bytes(b"")
    return planted + ["MAIN.tmp"]


@pytest.mark.parametrize("change", [True, False])
def test_a_killed_rebuilds_leftovers_go_at_the_next_run(change: bool, clips: Path,
                                                        tmp_path: Path) -> None:
    ix = tmp_path / "ix"
    indexer.update(clips, ix)
    planted = _plant_killed_rebuild(ix)
    if change:
        add_clip(clips, "new.md", "Something new")
    code, out, err = cli("index", str(clips), "--index", str(ix), "-f", "json")
    assert (code, err) == (0, "") and json.loads(out)["committed"] is change
    assert not set(planted) & set(os.listdir(ix))
    assert orphans(ix) == set()


def test_a_user_file_inside_a_temporary_folder_name_is_never_deleted(
        clips: Path, tmp_path: Path) -> None:
    ix = tmp_path / "ix"
    indexer.update(clips, ix)
    planted = _plant_killed_rebuild(ix)
    (ix / planted[0] / "letter.md").write_text("mine")
    (ix / "MAIN.tmp" / "draft.md").write_text("mine too")
    for i in range(2):
        add_clip(clips, f"new{i}.md", f"New {i}")
        assert cli("index", str(clips), "--index", str(ix), *(["--rebuild"] * i))[0] == 0
    assert (ix / planted[0] / "letter.md").read_text() == "mine"
    assert (ix / "MAIN.tmp" / "draft.md").read_text() == "mine too"
    assert not (ix / planted[1]).exists()  # the other shard folder held only pool runs


def _wait(cond: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


@pytest.mark.slow
def test_a_really_killed_sharded_rebuild_is_cleaned_up_by_the_next_changing_run(
        tmp_path: Path) -> None:
    folder, ix = tmp_path / "clips", tmp_path / "ix"
    write_corpus(folder, 1_200, "a")  # past SHARD_THRESHOLD: shard processes write
    cmd = [script("searchkit"), "index", str(folder), "--index", str(ix)]
    assert subprocess.run(cmd, capture_output=True, timeout=300).returncode == 0
    state = snapshot(ix)
    proc = subprocess.Popen([*cmd, "--rebuild"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        seen = _wait(lambda: any(n.startswith("MAIN.tmp.") for n in os.listdir(ix)), 120)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the parent and its shard processes
        proc.wait()
    assert seen, "the rebuild never started its shard processes"
    assert snapshot(ix) == state  # the old commit is still live
    add_clip(folder, "new.md", "Something new")
    proc2 = subprocess.run(cmd, capture_output=True, timeout=300)
    assert proc2.returncode == 0, proc2.stderr
    assert not [n for n in os.listdir(ix) if n.startswith("MAIN.tmp")]
    assert orphans(ix) == set()


# ---------------------------------------------------------------- 3: what is trusted


class _Planted:
    """Unpickling this runs ``os.mkdir(path)``: what a planted TOC could do."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.mkdir, (self.path,))


def _plant_toc(ix: Path, ran: Path) -> Path:
    """A newer table of contents whose pickle runs code, as a group member could write."""
    toc = ix / "_MAIN_99.toc"
    header = (ix / next(n for n in os.listdir(ix) if n.endswith(".toc"))).read_bytes()[:16]
    toc.write_bytes(header + pickle.dumps(_Planted(str(ran)), 2))
    return toc


def _commands(clips: Path, ix: Path) -> list[list[str]]:
    common = ["--index", str(ix), "--seeds", str(clips)]
    return [["index", str(clips), *common], ["index", str(clips), "--rebuild", *common],
            ["search", "clipping", *common], ["search", "clipping", "--no-refresh", *common],
            ["status", *common], ["show", "c0000.md", *common],
            ["similar", "c0000.md", *common]]


@pytest.mark.parametrize("mode", [0o770, 0o775, 0o730])
def test_a_group_writable_index_folder_is_refused_before_any_unpickling(
        mode: int, clips: Path, tmp_path: Path) -> None:
    ix = tmp_path / "ix"
    indexer.update(clips, ix)
    os.chmod(ix, mode)
    ran = tmp_path / "ran"
    _plant_toc(ix, ran)
    for args in _commands(clips, ix):
        code, out, err = cli(*args)
        assert (code, out) == (2, ""), args
        assert err == (f"Error: refusing to use the index at {ix}: the folder is writable "
                       f"by its group (mode {mode:04o}); an index holds pickled data that "
                       f"runs as code when read — run `chmod go-w {ix}` if its contents are "
                       "yours, or rebuild it elsewhere\n"), args
    for call in (lambda: search.search(ix, "clipping"), lambda: indexer.diff_index(clips, ix),
                 lambda: indexer.update(clips, ix, rebuild=True)):
        with pytest.raises(UnsafeIndexError):
            call()
    assert not ran.exists()


@pytest.mark.parametrize(("which", "mode"), [("toc", 0o664), ("toc", 0o666),
                                             ("stored", 0o664), ("lock", 0o775)])
def test_a_group_or_world_writable_index_file_is_refused(which: str, mode: int, clips: Path,
                                                         tmp_path: Path) -> None:
    ix = tmp_path / "ix"
    indexer.update(clips, ix)
    ran = tmp_path / "ran"
    if which == "toc":
        path = _plant_toc(ix, ran)
    else:
        suffix = "._stored.col" if which == "stored" else "_WRITELOCK"
        path = ix / next(n for n in sorted(os.listdir(ix)) if n.endswith(suffix))
    os.chmod(path, mode)
    who = "every user" if mode & 0o002 else "its group"
    for args in _commands(clips, ix):
        code, out, err = cli(*args)
        assert (code, out) == (2, ""), args
        assert err == (f"Error: refusing to use the index at {ix}: {path} is writable by "
                       f"{who} (mode {mode:04o}); an index holds pickled data that runs as "
                       f"code when read — run `chmod go-w {path}` if the file is yours, or "
                       "rebuild the index elsewhere\n"), args
    assert not ran.exists()
    os.chmod(path, 0o644)  # the fix the message names
    if which == "toc":
        path.unlink()
    assert cli("search", "clipping", "--index", str(ix), "--no-refresh", "-f", "paths")[0] == 0


def test_several_writable_files_get_one_line_and_a_recursive_fix(clips: Path,
                                                                 tmp_path: Path) -> None:
    ix = tmp_path / "ix"
    indexer.update(clips, ix)
    names = sorted(n for n in os.listdir(ix) if n.endswith(".col"))
    for name in names:
        os.chmod(ix / name, 0o664)
    code, _, err = cli("search", "clipping", "--index", str(ix), "--no-refresh")
    assert code == 2 and err.count("\n") == 1
    assert f"{ix / names[0]} is writable by its group (mode 0664) (and {len(names) - 1} " \
           f"more)" in err and f"run `chmod -R go-w {ix}`" in err


def test_a_writable_temporary_folder_is_refused(clips: Path, tmp_path: Path) -> None:
    ix = tmp_path / "ix"
    indexer.update(clips, ix)
    (ix / "MAIN.tmp").mkdir(mode=0o700)
    os.chmod(ix / "MAIN.tmp", 0o777)  # a writer would take its pool files from there
    code, _, err = cli("index", str(clips), "--index", str(ix), "--rebuild")
    assert code == 2 and f"{ix / 'MAIN.tmp'} is writable by every user (mode 0777)" in err


def test_an_unmarked_folder_with_an_unreadable_toc_is_refused_and_kept(
        clips: Path, tmp_path: Path) -> None:
    """The reported case: an unmarked folder of Whoosh-like names was adopted, its
    unreadable TOC triggered a rebuild, and both of the user's files were deleted."""
    ix = tmp_path / "ix"
    ix.mkdir(mode=0o700)
    (ix / "_MAIN_1.toc").write_text("not a pickle\n")
    (ix / "MAIN_0123456789abcdef.seg").write_text("mine\n")
    before = tree(ix)
    for args in (["index", str(clips)], ["index", str(clips), "--rebuild"]):
        code, out, err = cli(*args, "--index", str(ix))
        assert (code, out) == (2, ""), args
        assert err == (f"Error: index folder {ix} is not searchkit's (it is not marked and "
                       "holds no table of contents readable as a searchkit index); use an "
                       "empty or new folder for --index\n"), args
        assert tree(ix) == before and not (ix / guard.MARKER).exists(), args
    # names of ours without any table of contents: refused too
    (ix / "_MAIN_1.toc").unlink()
    code, _, err = cli("index", str(clips), "--index", str(ix))
    assert code == 2 and "is not searchkit's" in err
    assert tree(ix) == {"MAIN_0123456789abcdef.seg": b"mine\n"}


def test_a_symlink_in_the_index_folder_is_refused_before_any_unpickling(
        clips: Path, tmp_path: Path) -> None:
    """The reported case: the trust check followed links, so a TOC linked to a file
    in a world-writable folder was accepted and unpickled."""
    ix = tmp_path / "ix"
    indexer.update(clips, ix)
    ran = tmp_path / "ran"
    planted = _plant_toc(ix, ran)
    public = tmp_path / "public"
    public.mkdir()
    os.chmod(public, 0o1777)
    target = public / "evil.toc"
    planted.rename(target)
    os.chmod(target, 0o644)  # the file itself looks safe; its folder is not
    planted.symlink_to(target)
    for args in _commands(clips, ix):
        code, out, err = cli(*args)
        assert (code, out) == (2, ""), args
        assert err == (f"Error: refusing to use the index at {ix}: {planted} is a symbolic "
                       "link; an index holds pickled data that runs as code when read — "
                       "remove it (an index folder holds only regular files searchkit "
                       "writes), or rebuild the index in a new folder (--index)\n"), args
    assert not ran.exists() and target.exists()
    planted.unlink()  # the fix the message names
    assert cli("search", "clipping", "--index", str(ix), "--no-refresh")[0] == 0
    # a link inside a temporary folder is refused as well
    (ix / "MAIN.tmp").mkdir(mode=0o700)
    (ix / "MAIN.tmp" / f"{RUN}.run").symlink_to(target)
    code, _, err = cli("index", str(clips), "--index", str(ix), "--rebuild")
    assert code == 2 and f"{ix / 'MAIN.tmp' / (RUN + '.run')} is a symbolic link" in err
    (ix / "MAIN.tmp" / f"{RUN}.run").unlink()
    # the index folder itself may be a link, to a folder that passes the same checks
    link = tmp_path / "link"
    link.symlink_to(ix)
    assert cli("search", "clipping", "--index", str(link), "--no-refresh")[0] == 0
    os.chmod(ix, 0o777)
    code, _, err = cli("search", "clipping", "--index", str(link), "--no-refresh")
    assert code == 2 and "the folder is writable by every user (mode 0777)" in err
    os.chmod(ix, 0o700)


def test_a_named_pipe_in_the_index_folder_is_refused_not_waited_on(
        clips: Path, tmp_path: Path) -> None:
    """The reported case: a .pst replaced by a named pipe hung every reading command."""
    ix = tmp_path / "ix"
    indexer.update(clips, ix)
    pst = ix / next(n for n in sorted(os.listdir(ix)) if n.endswith(".pst"))
    pst.unlink()
    os.mkfifo(pst, 0o600)
    for args in _commands(clips, ix):
        code, out, err = cli(*args)  # the check refuses before anything opens the pipe
        assert (code, out) == (2, ""), args
        assert err.startswith(f"Error: refusing to use the index at {ix}: {pst} is a named "
                              "pipe, not a regular file; "), args
        assert "remove it" in err and err.count("\n") == 1, args


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="needs root to give a file to another user")
@pytest.mark.parametrize("which", ["planted toc", "segment", "folder"])
def test_an_index_file_owned_by_another_user_is_refused(which: str, clips: Path,
                                                        tmp_path: Path) -> None:
    ix = tmp_path / "ix"
    indexer.update(clips, ix)
    ran = tmp_path / "ran"
    if which == "planted toc":
        path = _plant_toc(ix, ran)
    elif which == "segment":
        path = ix / next(n for n in sorted(os.listdir(ix)) if n.endswith(".trm"))
    else:
        path = ix
    os.chown(path, 12345, -1)  # mode 0644: only the owner differs
    for args in _commands(clips, ix):
        code, out, err = cli(*args)
        assert (code, out) == (2, "") and err.count("\n") == 1, args
        what = "the folder" if path == ix else str(path)
        assert err.startswith(f"Error: refusing to use the index at {ix}: {what} belongs to "
                              "another user (uid 12345, you are uid 0)"), args
    assert not ran.exists()


def test_files_searchkit_writes_are_never_group_writable(clips: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    """With umask 002 (common for user-private groups) every file and folder searchkit
    writes is still writable by its owner only, so its own index passes its check."""
    old = os.umask(0o002)
    try:
        seen: list[tuple[str, int]] = []
        real_commit = commit.WriteStorage.rename_file

        def spy(self: Any, oldname: str, newname: str, safe: bool = False) -> None:
            # just before the commit point: the temporary folders still exist
            for root, dirs, files in os.walk(ix):
                for name in dirs + files:
                    path = os.path.join(root, name)
                    seen.append((path, os.stat(path).st_mode & 0o777))
            real_commit(self, oldname, newname, safe=safe)

        monkeypatch.setattr(commit.WriteStorage, "rename_file", spy)
        ix = tmp_path / "ix"
        assert cli("index", str(clips), "--index", str(ix))[0] == 0
        add_clip(clips, "new.md", "Something new")
        assert cli("index", str(clips), "--index", str(ix), "--rebuild")[0] == 0
        monkeypatch.undo()
        code, out, err = cli("search", "clipping OR something", "--index", str(ix),
                             "-f", "paths")
        assert (code, err) == (0, "") and len(out.split()) == 4
    finally:
        os.umask(old)
    assert any(path.endswith(".toc." + path.rsplit(".", 1)[-1]) or "MAIN.tmp" in path
               for path, _ in seen)
    final = [(str(p), p.stat().st_mode & 0o777) for p in [ix, *ix.iterdir()]]
    assert not [(p, f"{m:o}") for p, m in seen + final if m & 0o022]
    assert {m for p, m in final if p != str(ix)} == {0o644}


def test_toc_layout_assumptions_hold() -> None:
    """The strict names follow Whoosh: a segment id is 16 of [0-9a-z], a TOC's
    temporary name is the TOC's plus a time."""
    storage = FileStorage("/nonexistent")
    from whoosh.codec import default_codec

    seg = default_codec().new_segment(storage, "MAIN")
    assert guard.SEGMENT_FILE.match(seg.make_filename(".trm"))
    assert guard.TOC.match(whoosh_index.TOC._filename("MAIN", 12))
    assert guard.TOC_TEMP.match(f"{whoosh_index.TOC._filename('MAIN', 12)}.{time.time()}")
