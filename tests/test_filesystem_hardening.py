"""Issue #4, filesystem cases 21-27: links, special files, races and odd names.

Every test uses real files in ``tmp_path``; anything that could block (FIFOs,
devices, link loops) runs under a timeout, in a thread or a subprocess.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from searchkit import documents, indexer
from searchkit.errors import ClippingError
from tests import unprivileged
from tests.conftest import cli

T = TypeVar("T")
FORMATS = ["pretty", "lines", "json", "jsonl", "csv", "tsv", "paths"]


def clip(title: str) -> bytes:
    return f"---\ntitle: {title}\nexcerpt: About {title}.\n---\nbody\n".encode()


def herons(clips: Path, *rels: str) -> None:
    """A clipping titled ``Heron <rel>`` at each of ``rels``, folders made as needed."""
    for rel in rels:
        (clips / rel).parent.mkdir(parents=True, exist_ok=True)
        (clips / rel).write_bytes(clip(f"Heron {rel}"))


def paths_for(word: str, ix: Path) -> list[str]:
    """The files matching ``word``, as printed from inside the indexed folder (paths
    print relative to the current directory); -q: no "No matches" note."""
    from searchkit.engine import open_engine

    folder = open_engine(ix).recorded_folder()
    with contextlib.chdir(folder if folder and os.path.isdir(folder) else "."):
        code, out, err = cli("search", word, "--index", str(ix), "--no-refresh", "-q",
                             "-f", "paths")
    assert err == "" and code in (0, 1)
    return out.splitlines()


def script(name: str) -> str:
    found = shutil.which(name, path=os.path.dirname(sys.executable)) or shutil.which(name)
    assert found, f"{name} is not installed"
    return found


def within(seconds: float, fn: Callable[[], T]) -> T:
    """Run ``fn`` in a daemon thread; fail (instead of hanging) if it blocks."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # re-raised in the test thread
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"blocked for more than {seconds}s"
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def index_subprocess(folder: Path, ix: Path) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run([script("searchkit"), "index", str(folder), "--index", str(ix)],
                          capture_output=True, timeout=60)
    assert proc.returncode >= 0, "killed by a signal"
    assert b"Traceback" not in proc.stderr
    return proc


@pytest.fixture
def clips(tmp_path: Path) -> Path:
    folder = tmp_path / "clips"
    folder.mkdir()
    return folder


# ---------------------------------------------------------------- 21 links


@pytest.mark.slow
def test_21_link_loops_and_links_out_of_the_folder(clips: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.md").write_bytes(clip("Secret narwhal"))
    (clips / "a.md").write_bytes(clip("Alpha heron"))
    (clips / "sub" / "deeper").mkdir(parents=True)
    (clips / "sub" / "b.md").write_bytes(clip("Beta heron"))
    (clips / "sub" / "loop").symlink_to("..")            # back to the root
    (clips / "sub" / "self").symlink_to(".")             # to itself
    (clips / "sub" / "deeper" / "up").symlink_to("../..")
    (clips / "alias").symlink_to("sub")                  # the same folder twice
    (clips / "out").symlink_to(outside)                  # a folder outside
    (clips / "leak.md").symlink_to(outside / "secret.md")
    (clips / "rel-leak.md").symlink_to("../outside/secret.md")
    (clips / "root").symlink_to("/")
    assert sorted(within(10, lambda: indexer.scan(clips))) == ["a.md", "sub/b.md"]
    ix = tmp_path / "ix"
    proc = index_subprocess(clips, ix)
    assert (proc.returncode, proc.stderr) == (0, b"")
    assert b": 2 added, 0 updated, 0 deleted, 0 unchanged, 0 failed in " in proc.stdout
    assert sorted(paths_for("heron", ix)) == ["a.md", "sub/b.md"]
    assert paths_for("narwhal", ix) == []


def test_21_a_link_retargeted_outside_after_the_scan_is_not_read(clips: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch
                                                                  ) -> None:
    (tmp_path / "secret.md").write_bytes(clip("Secret narwhal"))
    (clips / "real.md").write_bytes(clip("Inside heron"))
    (clips / "link.md").symlink_to("real.md")
    real_scan = indexer.scan

    def scan_then_retarget(folder: str | os.PathLike[str]) -> dict[str, os.stat_result]:
        found = real_scan(folder)
        (clips / "real.md").unlink()
        (clips / "link.md").unlink()
        (clips / "link.md").symlink_to(tmp_path / "secret.md")
        return found

    monkeypatch.setattr(indexer, "scan", scan_then_retarget)
    report = indexer.update(clips, tmp_path / "ix")
    assert [(f.path, f.message) for f in report.failed] == [
        ("link.md", "link.md: now a link to outside the folder; skipped")]
    assert paths_for("narwhal", tmp_path / "ix") == []


# ---------------------------------------------------------------- 22 special files


def test_22_special_files_are_skipped_without_blocking(clips: Path, tmp_path: Path) -> None:
    (clips / "good.md").write_bytes(clip("Plain heron"))
    os.mkfifo(clips / "fifo.md")
    (clips / "zero.md").symlink_to("/dev/zero")
    (clips / "x.md").mkdir()
    (clips / "x.md" / "inside.md").write_bytes(clip("Nested heron"))
    (clips / "dangling.md").symlink_to("nowhere.md")
    (clips / "self.md").symlink_to("self.md")
    assert sorted(within(10, lambda: indexer.scan(clips))) == ["good.md", "x.md/inside.md"]
    report = within(30, lambda: indexer.update(clips, tmp_path / "ix"))
    assert (report.added, report.failed) == (2, ())
    # reading them directly never blocks either: refused before any read
    for name, target in [("fifo.md", clips / "fifo.md"), ("zero.md", Path("/dev/zero"))]:
        with pytest.raises(ClippingError) as info:
            within(5, lambda t=target, n=name: documents.read_file(t, n))  # type: ignore[misc]
        assert str(info.value) == f"{name}: not a regular file"


@pytest.mark.slow
def test_22_special_files_in_a_subprocess(clips: Path, tmp_path: Path) -> None:
    (clips / "good.md").write_bytes(clip("Plain heron"))
    os.mkfifo(clips / "fifo.md")
    (clips / "zero.md").symlink_to("/dev/zero")
    (clips / "x.md").mkdir()
    (clips / "dangling.md").symlink_to("nowhere.md")
    proc = index_subprocess(clips, tmp_path / "ix")
    assert (proc.returncode, proc.stderr) == (0, b"")
    assert b": 1 added, 0 updated, 0 deleted, 0 unchanged, 0 failed in " in proc.stdout


def test_22_file_replaced_by_a_fifo_after_the_scan(clips: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    (clips / "race.md").write_bytes(clip("Racing heron"))
    (clips / "other.md").write_bytes(clip("Calm heron"))
    ix = tmp_path / "ix"
    indexer.update(clips, ix)
    (clips / "race.md").write_bytes(clip("Racing heron v2"))
    real_scan = indexer.scan

    def scan_then_fifo(folder: str | os.PathLike[str]) -> dict[str, os.stat_result]:
        found = real_scan(folder)
        (clips / "race.md").unlink()
        os.mkfifo(clips / "race.md")
        return found

    monkeypatch.setattr(indexer, "scan", scan_then_fifo)
    report = within(30, lambda: indexer.update(clips, ix))
    assert [f.message for f in report.failed] == ["race.md: not a regular file"]
    assert sorted(paths_for("heron", ix)) == ["other.md", "race.md"]  # old version kept


# ---------------------------------------------------------------- 23-24 races


def test_23_file_deleted_between_listing_and_reading_is_treated_as_deleted(
        clips: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (clips / "keep.md").write_bytes(clip("Kept heron"))
    (clips / "gone.md").write_bytes(clip("Vanishing walrus"))
    ix = tmp_path / "ix"
    indexer.update(clips, ix)
    (clips / "gone.md").write_bytes(clip("Vanishing walrus, edited"))
    (clips / "brief.md").write_bytes(clip("Brief walrus"))
    real_scan = indexer.scan

    def scan_then_delete(folder: str | os.PathLike[str]) -> dict[str, os.stat_result]:
        found = real_scan(folder)
        assert {"gone.md", "brief.md"} <= set(found)
        (clips / "gone.md").unlink()
        (clips / "brief.md").unlink()
        return found

    monkeypatch.setattr(indexer, "scan", scan_then_delete)
    report = indexer.update(clips, ix)
    assert report.failed == ()  # not an error: the file is simply gone
    assert (report.added, report.updated, report.deleted) == (0, 0, 1)
    assert paths_for("walrus", ix) == []
    assert paths_for("heron", ix) == ["keep.md"]
    monkeypatch.undo()
    again = indexer.update(clips, ix)
    assert (again.failed, again.added, again.updated) == ((), 0, 0)
    assert indexer.diff_index(clips, ix).is_empty


def test_24_file_truncated_while_read_keeps_old_version_and_is_retried(
        clips: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = clips / "story.md"
    target.write_bytes(clip("Original walrus"))
    (clips / "other.md").write_bytes(clip("Calm heron"))
    ix = tmp_path / "ix"
    indexer.update(clips, ix)
    target.write_bytes(clip("Rewritten walrus with a much longer title than before"))
    real_read = os.read
    truncated: list[str] = []

    def read_while_truncated(fd: int, n: int) -> bytes:
        if not truncated and os.path.realpath(f"/proc/self/fd/{fd}") == str(target):
            os.truncate(target, 20)  # a writer truncates the file as we read it
            truncated.append("yes")
        return real_read(fd, n)

    monkeypatch.setattr(os, "read", read_while_truncated)
    report = indexer.update(clips, ix)
    monkeypatch.undo()
    assert truncated == ["yes"]
    assert [(f.path, f.message) for f in report.failed] == [(
        "story.md", "story.md: file changed while it was being read (truncated or "
                    "rewritten); it is read again on the next run")]
    assert paths_for("original", ix) == ["story.md"]  # the old version is kept
    target.write_bytes(clip("Finished walrus"))  # the writer finishes
    again = indexer.update(clips, ix)
    assert (again.failed, again.updated) == ((), 1)
    assert paths_for("finished", ix) == ["story.md"] and paths_for("original", ix) == []


# ---------------------------------------------------------------- 25 file names


BAD_NAMES = [b"bad\xff.md", b"esc\x1b[31m.md", b"new\nline.md", b"dir\xfe/inner.md"]
SHOWN = ["bad\\xff.md", "dir\\xfe/inner.md", "esc\\x1b[31m.md", "new\\x0aline.md"]
NAME_PROBLEM = ("file name has control characters or bytes that are not UTF-8 (shown as "
                "\\xNN); rename the file")


def _bad_name_corpus(clips: Path) -> None:
    (clips / "good.md").write_bytes(clip("Good walrus"))
    root = os.fsencode(clips)
    for name in BAD_NAMES:
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(clip("Oddly named walrus"))


def test_25_undecodable_and_control_names_are_skipped_with_a_message(
        clips: Path, tmp_path: Path) -> None:
    _bad_name_corpus(clips)
    assert sorted(indexer.scan(clips)) == sorted(["good.md", *SHOWN])
    ix = str(tmp_path / "ix")
    code, out, err = cli("index", str(clips), "--index", ix)
    assert code == 4
    assert err == "".join(f"{name}: {NAME_PROBLEM}\n" for name in SHOWN)
    assert ": 1 added, 0 updated, 0 deleted, 0 unchanged, 4 failed in " in out
    for fmt in FORMATS:  # `index` reported them; a search does not again
        code, out, err = cli("search", "walrus", "--index", ix, "-f", fmt)
        assert code == 0, (fmt, out, err)
        assert "good.md" in out and "\\x" not in out and "\udcff" not in out
        assert err == ""
    code, out, err = cli("status", "--index", ix, "--seeds", str(clips), "-f", "json")
    assert (code, err) == (0, "")
    assert sorted(f["path"] for f in json.loads(out)["failed"]) == sorted(SHOWN)
    assert json.loads(out)["stale"]["added"] == []
    code, out, err = cli("status", "--index", ix, "--seeds", str(clips))
    assert (code, err) == (0, "") and "bad\\xff.md" in out and "\x1b" not in out


BIDI = ["\u202e", "\u202a", "\u2066", "\u2069", "\u200e", "\u200f", "\u061c"]


def test_25_bidi_controls_in_names_are_skipped_with_a_message(clips: Path,
                                                              tmp_path: Path) -> None:
    """A name with a bidi control would print (controls stripped) as another file."""
    (clips / "good.md").write_bytes(clip("Good walrus"))
    (clips / "evilcode.md").write_bytes(clip("Other walrus"))  # what a stripped name reads
    for ch in BIDI:
        (clips / f"evil{ch}code.md").write_bytes(clip("Oddly named walrus"))
    (clips / "d\u202eir").mkdir()
    (clips / "d\u202eir" / "inner.md").write_bytes(clip("Inner walrus"))

    def escaped(ch: str) -> str:
        return "".join(f"\\x{b:02x}" for b in ch.encode())

    shown = sorted([f"evil{escaped(ch)}code.md" for ch in BIDI]
                   + ["d\\xe2\\x80\\xaeir/inner.md"])
    ix = str(tmp_path / "ix")
    code, out, err = cli("index", str(clips), "--index", ix)
    assert code == 4
    assert sorted(err.splitlines()) == [f"{name}: {NAME_PROBLEM}" for name in shown]
    assert ": 2 added, 0 updated, 0 deleted, 0 unchanged, 8 failed in " in out
    for args in (["-f", "paths"], ["-0"]):
        code, out, err = cli("search", "walrus", "--index", ix, *args)
        assert (code, err) == (0, "")
        printed = [p for p in re.split("[\n\0]", out) if p]
        assert sorted(os.path.basename(p) for p in printed) == ["evilcode.md", "good.md"]
        assert all(os.path.exists(p) for p in printed), printed


@pytest.mark.slow
def test_25_odd_names_in_a_subprocess(clips: Path, tmp_path: Path) -> None:
    _bad_name_corpus(clips)
    ix = tmp_path / "ix"
    proc = index_subprocess(clips, ix)
    assert proc.returncode == 4
    assert proc.stderr.decode() == "".join(f"{name}: {NAME_PROBLEM}\n" for name in SHOWN)
    for args in (["search", "walrus", "-f", "json"], ["search", "walrus", "-f", "paths"],
                 ["status"], ["status", "-f", "json"]):
        proc = subprocess.run([script("searchkit"), *args, "--index", str(ix), "--seeds",
                               str(clips)], capture_output=True, timeout=60,
                              env={**os.environ, "LC_ALL": "C", "PYTHONIOENCODING": "utf-8"})
        assert proc.returncode == 0, (args, proc.stderr)
        assert b"Traceback" not in proc.stderr and b"\x1b" not in proc.stdout
        proc.stdout.decode("utf-8")  # valid UTF-8, no surrogate-escaped bytes


# ---------------------------------------------------------------- 26-27 identity, changes


def test_26_same_file_reached_twice_is_one_entry(clips: Path, tmp_path: Path) -> None:
    (clips / "a.md").write_bytes(clip("Twin walrus"))
    os.link(clips / "a.md", clips / "hard.md")
    (clips / "sym.md").symlink_to("a.md")
    (clips / "sub").mkdir()
    (clips / "sub" / "up.md").symlink_to("../a.md")
    assert list(indexer.scan(clips)) == ["a.md"]
    ix = tmp_path / "ix"
    report = indexer.update(clips, ix)
    assert (report.added, report.failed) == (1, ())
    code, out, _ = cli("search", "walrus", "--index", str(ix), "--no-refresh", "-f", "json")
    hits = json.loads(out)["hits"]
    assert code == 0 and [(h["path"], h["also_in"]) for h in hits] == [("a.md", [])]


def _tick() -> None:
    time.sleep(0.05)  # past the file system's ctime granularity


def test_27_replaced_by_an_older_copy_is_reindexed(clips: Path, tmp_path: Path) -> None:
    path = clips / "story.md"
    path.write_bytes(clip("Older walrus"))
    older = tmp_path / "older-copy.md"
    shutil.copy2(path, older)  # keeps the old mtime
    _tick()
    path.write_bytes(clip("Newer walrus"))
    ix = tmp_path / "ix"
    indexer.update(clips, ix)
    assert paths_for("newer", ix) == ["story.md"]
    _tick()
    os.replace(older, path)  # restore the backup: mtime goes back in time
    report = indexer.update(clips, ix)
    assert (report.updated, report.failed) == (1, ())
    assert paths_for("older", ix) == ["story.md"] and paths_for("newer", ix) == []


def test_27_same_size_rewrite_keeping_mtime_is_reindexed(clips: Path, tmp_path: Path) -> None:
    path = clips / "story.md"
    path.write_bytes(clip("Walrus AAAA"))
    ix = tmp_path / "ix"
    indexer.update(clips, ix)
    before = os.stat(path)
    _tick()
    path.write_bytes(clip("Walrus BBBB"))  # same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # same mtime
    after = os.stat(path)
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert after.st_ctime_ns != before.st_ctime_ns
    report = indexer.update(clips, ix)
    assert (report.updated, report.failed) == (1, ())
    assert paths_for("bbbb", ix) == ["story.md"] and paths_for("aaaa", ix) == []
    # a metadata-only change (ctime) re-reads the file but finds the same content
    _tick()
    os.chmod(path, 0o644)
    report = indexer.update(clips, ix)
    assert (report.updated, report.unchanged, report.failed) == (0, 1, ())


def test_printable_path_escapes_only_unusable_names() -> None:
    assert documents.printable_path("plain/é.md") == "plain/é.md"
    assert documents.printable_path(os.fsdecode(b"bad\xff.md")) == "bad\\xff.md"
    assert documents.printable_path("tab\there\x7f.md") == "tab\\x09here\\x7f.md"
    assert re.fullmatch(r"[ -~]+", documents.printable_path(os.fsdecode(b"\x80\x1b\n")))


# ---------------------------------------------------------------- unreadable folders (#11)
# A folder the scan cannot list is a failure (exit 4) and what the index holds under it
# stays as it was. Mode bits bind for the subprocesses (see tests/unprivileged.py).


def unprivileged_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return unprivileged.run(script("searchkit"), *args)


def hit_paths(out: str) -> list[str]:
    """The files of the hits of ``search -f json`` output, sorted."""
    return sorted({hit["path"] for hit in json.loads(out)["hits"]})


def indexed(ix: Path, word: str = "heron") -> list[str]:
    """The files in the index at ``ix`` matching ``word`` (no refresh)."""
    code, out, _ = cli("search", word, "--index", str(ix), "--no-refresh", "-f", "json",
                       "-n", "1000")
    assert code in (0, 1)
    return hit_paths(out)


@pytest.mark.parametrize("mode", [0o000, 0o311])
def test_unreadable_clippings_folder_is_a_failure_and_keeps_the_index(
        clips: Path, tmp_path: Path, mode: int) -> None:
    unprivileged.require_binding_modes(tmp_path)
    herons(clips, "a.md", "b.md", "sub/c.md")
    ix = tmp_path / "ix"
    assert cli("index", str(clips), "--index", str(ix))[0] == 0
    line = f"{clips}: cannot list: Permission denied\n"
    with unprivileged.chmodded(clips, mode):
        # a refreshing search says it (once) and answers from what the index holds
        proc = unprivileged_cli("search", "heron", "--index", str(ix), "--seeds", str(clips),
                                "-f", "json")
        assert (proc.returncode, proc.stderr) == (0, line)
        assert hit_paths(proc.stdout) == ["a.md", "b.md", "sub/c.md"]
        proc = unprivileged_cli("index", str(clips), "--index", str(ix))
        assert (proc.returncode, proc.stderr) == (4, line)
        assert ": 0 added, 0 updated, 0 deleted, 3 unchanged, 1 failed in " in proc.stdout
        proc = unprivileged_cli("index", str(clips), "--index", str(ix), "--rebuild",
                                "-f", "json")
        assert (proc.returncode, proc.stderr) == (4, line)
        report = json.loads(proc.stdout)
        assert (report["rebuilt"], report["added"], report["deleted"], report["unchanged"],
                len(report["failed"])) == (True, 0, 0, 3, 1)
        proc = unprivileged_cli("status", "--index", str(ix), "--seeds", str(clips))
        assert proc.returncode == 0
        assert f"unreadable:   {line}" in proc.stdout
        assert "stale files:  none found, but some folders could not be read\n" in proc.stdout
    assert indexed(ix) == ["a.md", "b.md", "sub/c.md"]
    code, out, err = cli("index", str(clips), "--index", str(ix))
    assert (code, err) == (0, "")
    assert ": 0 added, 0 updated, 0 deleted, 3 unchanged, 0 failed in " in out


@pytest.mark.parametrize("mode", [0o000, 0o311, 0o600])  # 0600: names, but no stat
def test_unreadable_subfolder_is_a_failure_and_keeps_its_clippings(
        clips: Path, tmp_path: Path, mode: int) -> None:
    unprivileged.require_binding_modes(tmp_path)
    herons(clips, "a.md", "sub/b.md", "sub/c.md", "sub/deeper/d.md")
    ix = tmp_path / "ix"
    assert cli("index", str(clips), "--index", str(ix))[0] == 0
    (clips / "new.md").write_bytes(clip("New heron"))
    with unprivileged.chmodded(clips / "sub", mode):
        proc = unprivileged_cli("index", str(clips), "--index", str(ix))
        assert (proc.returncode, proc.stderr) == (4, "sub: cannot list: Permission denied\n")
        assert ": 1 added, 0 updated, 0 deleted, 4 unchanged, 1 failed in " in proc.stdout
        proc = unprivileged_cli("index", str(clips), "--index", str(ix), "-f", "json")
        assert proc.returncode == 4
        assert json.loads(proc.stdout)["failed"] == [
            {"path": "sub", "error": "sub: cannot list: Permission denied"}]
    assert indexed(ix) == ["a.md", "new.md", "sub/b.md", "sub/c.md", "sub/deeper/d.md"]


@pytest.mark.parametrize("link", ["alink", "zlink"])  # sorts before or after the folder
def test_unreadable_subfolder_reached_by_a_link_keeps_its_clippings(
        clips: Path, tmp_path: Path, link: str) -> None:
    """Whichever name reaches a folder that cannot be listed first, the failure names
    the folder itself and nothing under it (by either name) is taken for deleted."""
    unprivileged.require_binding_modes(tmp_path)
    herons(clips, "a.md", "sub/s1.md", "sub/s2.md")
    ix = tmp_path / "ix"
    assert cli("index", str(clips), "--index", str(ix))[0] == 0
    (clips / link).symlink_to("sub")
    with unprivileged.chmodded(clips / "sub", 0):
        proc = unprivileged_cli("index", str(clips), "--index", str(ix))
        assert (proc.returncode, proc.stderr) == (4, "sub: cannot list: Permission denied\n")
        assert ": 0 added, 0 updated, 0 deleted, 3 unchanged, 1 failed in " in proc.stdout
    assert indexed(ix) == ["a.md", "sub/s1.md", "sub/s2.md"]


def test_paths_longer_than_path_max_are_reported_not_skipped(clips: Path,
                                                              tmp_path: Path) -> None:
    (clips / "top.md").write_bytes(clip("Top heron"))
    created: list[str] = []  # relative paths of the clippings, shallow to deep
    fd = os.open(clips, os.O_RDONLY | os.O_DIRECTORY)
    rel = ""
    try:
        while len(os.fsencode(f"{clips}/{rel}")) <= 4400:  # well past PATH_MAX (4096)
            name = f"level{len(created):02d}-" + "x" * 192
            os.mkdir(name, dir_fd=fd)  # relative to fd: no path is ever too long
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd, rel = inner, f"{rel}{name}/"
            out = os.open("c.md", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
            os.write(out, clip(f"Deep heron {len(created)}"))
            os.close(out)
            created.append(f"{rel}c.md")
    finally:
        os.close(fd)
    reachable = [r for r in created if len(os.fsencode(f"{clips}/{r}")) < 4096]
    assert 0 < len(reachable) < len(created)
    ix = tmp_path / "ix"
    code, out, err = cli("index", str(clips), "--index", str(ix))
    assert code == 4
    [failure] = indexer.scan(clips).failed
    assert all(r.startswith(failure.path) for r in created if r not in reachable)
    assert err == f"{failure.message}\n"
    assert re.fullmatch(r"level.*: cannot (list|read): the path is too long \(\d+ bytes, "
                        r"more than the system allows\); move it to a shorter path",
                        failure.message)
    assert f": {len(reachable) + 1} added, 0 updated, 0 deleted, 0 unchanged, 1 failed" in out
    assert indexed(ix) == sorted(["top.md", *reachable])


def test_a_link_swapped_to_outside_leaves_the_index_with_a_note(clips: Path,
                                                                 tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.md").write_bytes(clip("Secret narwhal heron"))
    (clips / ".store" / "feeds").mkdir(parents=True)
    (clips / ".store" / "kept.md").write_bytes(clip("Stored heron"))
    for name in ("f1.md", "f2.md"):
        (clips / ".store" / "feeds" / name).write_bytes(clip(f"Feed heron {name}"))
    (clips / "notes").mkdir()
    (clips / "notes" / "a.md").symlink_to("../.store/kept.md")
    (clips / "feeds").symlink_to(".store/feeds")
    (clips / "b.md").write_bytes(clip("Plain heron"))
    ix = tmp_path / "ix"
    assert cli("index", str(clips), "--index", str(ix))[0] == 0
    assert indexed(ix) == ["b.md", "feeds/f1.md", "feeds/f2.md", "notes/a.md"]
    (clips / "notes" / "a.md").unlink()
    (clips / "notes" / "a.md").symlink_to(outside / "secret.md")
    code, out, err = cli("search", "heron", "--index", str(ix), "--seeds", str(clips),
                         "-f", "json")  # a refreshing search says it
    assert (code, hit_paths(out)) == (0, ["b.md", "feeds/f1.md", "feeds/f2.md"])
    assert err == "Note: notes/a.md: left the index: the link now points outside the folder\n"
    (clips / "feeds").unlink()
    (clips / "feeds").symlink_to(outside)
    code, out, err = cli("index", str(clips), "--index", str(ix), "-f", "json")
    note = "feeds/ (2 clippings): left the index: the link now points outside the folder"
    assert (code, err) == (0, f"Note: {note}\n")
    assert (json.loads(out)["deleted"], json.loads(out)["notes"]) == (2, [note])
    assert indexed(ix) == ["b.md"]  # the secret is a heron too
