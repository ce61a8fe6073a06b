"""Issue #4, cases 28-37: index, crashes, concurrency.

Real processes, real signals, real files in ``tmp_path``. Every check compares whole
document sets: a snapshot of the index (``key -> title`` of every live entry) must
equal one committed state exactly, never a mix, never empty. Subprocesses run in
their own session and are always reaped (by their process group id) on the way out.

Counts are bounded so that this file runs in well under a minute on two cores;
``SEARCHKIT_SOAK_SECONDS=60`` runs the search-during-updates soak (case 31) for the
issue's full minute, ``SEARCHKIT_KILL_TRIALS`` sets the number of SIGKILL points.
"""

from __future__ import annotations

import errno
import fcntl
import gc
import os
import pickle
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from whoosh import index as whoosh_index
from whoosh import query as wq
from whoosh.filedb.filestore import FileStorage

from searchkit import indexer, search
from searchkit.errors import IndexWriteError, UnsafeIndexError
from searchkit.indexer import commit, guard, shards
from tests.conftest import cli, clipping_text

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="uses /proc, flock and POSIX signals")

State = frozenset[tuple[str, str]]
LOCK = "MAIN_WRITELOCK"
SOAK_SECONDS = float(os.environ.get("SEARCHKIT_SOAK_SECONDS", "10"))
KILL_TRIALS = int(os.environ.get("SEARCHKIT_KILL_TRIALS", "20"))
REBUILD_TRIALS = 5


# ---------------------------------------------------------------- helpers


def script(name: str) -> str:
    found = shutil.which(name, path=os.path.dirname(sys.executable)) or shutil.which(name)
    assert found, f"{name} is not installed"
    return found


def write_corpus(folder: Path, n: int, tag: str, *, start: int = 0) -> State:
    """``n`` clippings (each with one related article) whose titles carry ``tag``."""
    folder.mkdir(parents=True, exist_ok=True)
    state: set[tuple[str, str]] = set()
    for i in range(start, start + n):
        name = f"c{i:04d}.md"
        (folder / name).write_text(clipping_text(
            title=f"{tag} clipping {i}",
            excerpt=f"{tag} excerpt {i}: facial recognition at airports and border "
                    f"crossings, privacy rules and court rulings on camera data. " * 2,
            provider="GCN", topics=["AI", "Privacy"], quality=50,
            publishedDateTime="2021-05-05T10:00:00Z",
            related=[{"title": f"{tag} related {i}", "url": f"https://ex.com/{tag}/{i}"}],
        ), encoding="utf-8")
        state |= {(name, f"{tag} clipping {i}"), (f"{name}#1", f"{tag} related {i}")}
    return frozenset(state)


def snapshot(ix: Path) -> State:
    """key -> title of every live entry of the newest commit, read like a searcher does."""
    with indexer.open_index(ix).searcher() as s:
        return frozenset((f["key"], f["title"]) for f in s.all_stored_fields())


def search_state(ix: Path, word: str = "clipping") -> State:
    """The same through the public search API (what users see)."""
    hits = search.search(ix, f"{word} OR related", limit=100_000, snippets=0).hits
    return frozenset((h.id, h.title) for h in hits)


def live_files(ix: Path) -> set[str]:
    """The files the newest commit needs: its TOC, its segments' files, its story table,
    the lock file,
    the marker saying the folder is searchkit's, and the quick-check record of the
    folder (a hint, rewritten by every check); and the arrival table and saved searches
    (kept across commits and rebuilds)."""
    toc = whoosh_index.TOC.read(FileStorage(str(ix)), "MAIN")
    ids = {seg.segment_id() for seg in toc.segments}
    names = set(os.listdir(ix))
    return {n for n in names if n in (LOCK, indexer.STATE_FILE, guard.FAILED_FILE, guard.MARKER,
                                      guard.ARRIVALS_FILE, guard.SAVED_FILE)
            or n == f"_MAIN_{toc.generation}.toc" or n.split(".", 1)[0] in ids
            or n == f"searchkit-stories-{toc.generation}.sqlite"}


def orphans(ix: Path) -> set[str]:
    """Everything in the index folder that the newest commit does not need."""
    return set(os.listdir(ix)) - live_files(ix)


def lock_is_free(ix: Path) -> bool:
    fd = os.open(ix / LOCK, os.O_WRONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


def processes_mentioning(text: str) -> list[int]:
    """Live (non-zombie) processes whose command line contains ``text``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ")
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text.encode() in cmdline and state != "Z":
            found.append(int(entry))
    return found


def wait_until(predicate: Any, timeout: float, step: float = 0.005) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


@contextmanager
def spawned(*args: str, **kw: Any) -> Iterator[subprocess.Popen[bytes]]:
    """A subprocess in a session of its own; it and its children never outlive the test."""
    proc = subprocess.Popen(list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, **kw)
    try:
        yield proc
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.communicate()


def index_cmd(folder: Path, ix: Path, *extra: str) -> list[str]:
    return [script("searchkit"), "index", str(folder), "--index", str(ix), "-f", "json",
            *extra]


def run_index(folder: Path, ix: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(index_cmd(folder, ix, *extra), capture_output=True, text=True,
                          timeout=120)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def writer_active(ix: Path) -> bool:
    """A writer holds the lock: Whoosh makes MAIN.tmp right after taking it."""
    return (ix / "MAIN.tmp").exists()


# ---------------------------------------------------------------- 28: SIGKILL


@pytest.mark.slow
def test_28_sigkill_at_random_points_leaves_old_or_new_and_no_orphans(tmp_path: Path) -> None:
    """SIGKILL ``searchkit index`` (the main process only, as the OOM killer would) at
    random moments of a ~1 s run; the next run opens the index, finds exactly the old
    or the new commit, takes the lock at once, and leaves no file the commit does not
    use.

    The clippings live in ``clips/batch``, a folder swapped by rename between two
    pre-written trees ("old", "new"), so each tree keeps its files' stat. After a kill
    the tree the index holds is put back; on even trials one small file is also added
    or removed, so the next run commits (its commit cleans up after the killed run),
    on odd trials the next run has nothing to index (it cleans up all the same)."""
    rng = random.Random(28)
    folder, ix, store = tmp_path / "clips", tmp_path / "ix", tmp_path / "store"
    n = 500  # >= 400: the loader runs in worker processes (forked while holding the lock)
    trees = {tag: frozenset((f"batch/{k}", t) for k, t in write_corpus(store / tag, n, tag))
             for tag in ("old", "new")}
    extra_entries = write_corpus(tmp_path / "spare", 1, "extra", start=9999)
    folder.mkdir()

    def show(tag: str) -> None:  # make clips/batch the tree `tag`
        if (folder / "batch").exists():
            os.rename(folder / "batch", store / ("new" if tag == "old" else "old"))
        os.rename(store / tag, folder / "batch")

    def expected(tag: str) -> State:
        return trees[tag] | (extra_entries if (folder / "c9999.md").exists() else frozenset())

    def toggle_extra() -> None:
        if (folder / "c9999.md").exists():
            (folder / "c9999.md").unlink()
        else:
            shutil.copy(tmp_path / "spare" / "c9999.md", folder / "c9999.md")

    show("old")
    assert run_index(folder, ix).returncode == 0
    show("new")
    started = time.monotonic()
    assert run_index(folder, ix).returncode == 0
    duration = time.monotonic() - started  # a whole update run, start-up included
    assert snapshot(ix) == expected("new")
    current, outcomes, killed, commits = "new", {"old": 0, "new": 0}, 0, 0
    for trial in range(KILL_TRIALS):
        target = "new" if current == "old" else "old"
        show(target)
        # Anywhere in the run, or (odd trials) in its last third: merge, flush, commit.
        delay = rng.uniform(0.02 if trial % 2 == 0 else duration * 0.65, duration * 1.05)
        with spawned(*index_cmd(folder, ix)) as proc:
            t0 = time.monotonic()
            try:
                proc.wait(timeout=delay)
                duration = time.monotonic() - t0  # it finished first: aim within it next
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)  # the main process only
                proc.wait()
            killed += proc.returncode == -signal.SIGKILL
        # No worker outlives its parent (they would hold the lock forever).
        assert wait_until(lambda: not processes_mentioning(str(ix)), 3.0), \
            f"trial {trial}: stray processes {processes_mentioning(str(ix))}"
        seen = snapshot(ix)
        assert seen in (expected(current), expected(target)), \
            f"trial {trial} (kill after {delay:.2f}s): a mixed or empty index"
        if seen == expected(target):
            outcomes["new"] += 1
            current = target
        else:
            outcomes["old"] += 1
            show(current)
        if trial % 2 == 0:
            toggle_extra()
        again = run_index(folder, ix, "--lock-timeout", "0")  # the lock is free at once
        assert again.returncode == 0, f"trial {trial}: {again.stderr}"
        commits += '"committed": true' in again.stdout
        assert snapshot(ix) == expected(current)
        assert orphans(ix) == set(), f"trial {trial} (kill after {delay:.2f}s)"
        assert lock_is_free(ix)
    assert search_state(ix, "clipping") == expected(current)
    assert killed >= KILL_TRIALS // 2, "most trials must kill a run that was at work"
    assert commits >= KILL_TRIALS // 2
    print(f"\ncase 28: {KILL_TRIALS} kill points over {duration:.2f}s runs, {killed} killed "
          f"mid-run, outcomes {outcomes}, 0 mixed, 0 orphans, 0 lock errors")


def test_28_next_run_removes_leftovers_even_with_nothing_to_index(corpus_dir: Path,
                                                                   tmp_path: Path) -> None:
    """What a run killed between its commit and its clean-up leaves (old TOC and
    segments, a half-written TOC, MAIN.tmp with pool runs, a stray segment) is removed
    by the next run, although that run has nothing to index; the lock file stays."""
    ix = tmp_path / "ix"
    state = write_corpus(corpus_dir, 5, "a")
    indexer.update(corpus_dir, ix)
    live = set(os.listdir(ix))
    gen = whoosh_index.TOC.read(FileStorage(str(ix)), "MAIN").generation
    assert gen >= 1 and f"_MAIN_{gen}.toc" in live
    planted = {f"_MAIN_{gen - 1}.toc", f"_MAIN_{gen + 1}.toc.1732500000.123",
               "MAIN_zzzzzzzzzzzzzzzz.trm",
               "MAIN_zzzzzzzzzzzzzzzz._stored.col", "MAIN.tmp"}
    for name in planted - {"MAIN.tmp"}:
        (ix / name).write_bytes(b"left by a killed run")
    (ix / "MAIN.tmp").mkdir()
    (ix / "MAIN.tmp" / f"{'a' * 28}.run").write_bytes(b"pool run")  # Whoosh's random_name
    (ix / "notes.txt").write_text("not Whoosh's: never touched")
    report = indexer.update(corpus_dir, ix)
    assert not report.committed and report.unchanged == 5
    assert set(os.listdir(ix)) == live | {"notes.txt"}
    assert LOCK in os.listdir(ix)
    assert snapshot(ix) == state


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    return tmp_path / "clips"


# ---------------------------------------------------------------- 29: injected faults


def _boom(*args: Any, **kwargs: Any) -> None:
    raise OSError(errno.EIO, "Input/output error (injected)")


def _fail_rename_of_toc(real: Any) -> Any:
    def rename(src: Any, dst: Any, *a: Any, **kw: Any) -> None:
        if str(dst).endswith(".toc"):
            raise OSError(errno.EIO, "Input/output error (injected)")
        real(src, dst, *a, **kw)
    return rename


def _fail_fsync_of(kind: str) -> Any:
    real = os.fsync

    def fsync(fd: int) -> None:
        target = os.readlink(f"/proc/self/fd/{fd}")
        is_dir = os.path.isdir(target)
        if (kind == "dir" and is_dir) or (kind == "toc" and ".toc." in target) or (
                kind == "segment" and not is_dir and ".toc" not in target):
            raise OSError(errno.EIO, "Input/output error (injected)")
        real(fd)
    return fsync


# (name, where to patch, replacement factory, expected state, exception expected)
FAULTS: list[tuple[str, Any, str, Any, str, type[BaseException] | None]] = [
    ("flush postings", "searchkit.indexer.writer.IndexWriter", "_flush_segment",
     lambda real: _boom, "old", IndexWriteError),
    ("fsync segment", os, "fsync", lambda real: _fail_fsync_of("segment"), "old",
     IndexWriteError),
    ("TOC.write", whoosh_index.TOC, "write", lambda real: _boom, "old", IndexWriteError),
    ("fsync temp TOC", os, "fsync", lambda real: _fail_fsync_of("toc"), "old",
     IndexWriteError),
    ("rename temp TOC", os, "rename", _fail_rename_of_toc, "old", IndexWriteError),
    ("storage.rename_file", FileStorage, "rename_file", lambda real: _boom, "old",
     IndexWriteError),
    ("TOC.write bug", whoosh_index.TOC, "write",
     lambda real: lambda *a, **k: (_ for _ in ()).throw(RuntimeError("bug")), "old",
     RuntimeError),
    # after the commit point (the rename): the new commit is live
    ("fsync folder", os, "fsync", lambda real: _fail_fsync_of("dir"), "new",
     IndexWriteError),
    ("clean-up OSError", "searchkit.indexer.writer", "remove_files", lambda real: _boom,
     "new", None),
    ("clean-up bug", "searchkit.indexer.writer", "remove_files",
     lambda real: lambda *a, **k: (_ for _ in ()).throw(RuntimeError("bug")), "new",
     RuntimeError),
]


@pytest.mark.parametrize(("name", "target", "attr", "factory", "expect", "raises"), FAULTS,
                         ids=[f[0] for f in FAULTS])
def test_29_faults_before_and_after_the_commit_point(
        name: str, target: Any, attr: str, factory: Any, expect: str,
        raises: type[BaseException] | None, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    folder, ix = tmp_path / "clips", tmp_path / "ix"
    write_corpus(folder, 6, "old")
    with monkeypatch.context() as m:  # Whoosh's policy alone: five small segments,
        m.setattr(commit, "SMALL_SEGMENT_ENTRIES", 0)  # which the next commit merges
        for i in range(5):
            write_corpus(folder, 1, "old", start=6 + i)
            indexer.update(folder, ix)
    assert len(whoosh_index.TOC.read(FileStorage(str(ix)), "MAIN").segments) == 5
    old = snapshot(ix)
    (folder / "c0000.md").unlink()
    changed = {f"c{i:04d}" for i in (0, 3, 4, 5, 6)}
    new = write_corpus(folder, 4, "new", start=3) | {
        e for e in old if e[0].split(".")[0] not in changed}
    if isinstance(target, str):
        import importlib

        module, cls = target.rsplit(".", 1)
        target = getattr(importlib.import_module(module), cls)
    monkeypatch.setattr(target, attr, factory(getattr(target, attr)))
    if raises is None:
        assert indexer.update(folder, ix).committed
    else:
        with pytest.raises(raises) as info:
            indexer.update(folder, ix)
        gc.collect()  # a file left open by the failed commit would warn (an error) here
        if raises is IndexWriteError:
            assert str(ix) in str(info.value) and "Input/output error" in str(info.value)
            assert "[EIO]" in str(info.value)
    monkeypatch.undo()
    assert snapshot(ix) == {"old": old, "new": new}[expect]
    assert lock_is_free(ix)
    if expect == "old":  # the failed run removed its own files under the lock
        assert orphans(ix) == set()
    report = indexer.update(folder, ix)  # the next run finishes the job and tidies up
    assert report.committed == (expect == "old")
    assert snapshot(ix) == new and search_state(ix) == new
    assert orphans(ix) == set()
    assert len(whoosh_index.TOC.read(FileStorage(str(ix)), "MAIN").segments) == 1  # merged


def test_29_commit_syncs_segment_and_toc_before_the_rename_and_the_folder_after(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder, ix = tmp_path / "clips", tmp_path / "ix"
    write_corpus(folder, 3, "a")
    indexer.update(folder, ix)
    write_corpus(folder, 1, "b", start=3)
    events: list[tuple[str, str]] = []
    real_fsync, real_rename = os.fsync, os.rename

    def fsync(fd: int) -> None:
        events.append(("fsync", os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))))
        real_fsync(fd)

    def rename(src: Any, dst: Any) -> None:
        events.append(("rename", os.path.basename(str(dst))))
        real_rename(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "rename", rename)
    indexer.update(folder, ix)
    monkeypatch.undo()
    kinds = [(op, "toc-temp" if ".toc." in f else "toc" if f.endswith(".toc")
              else "dir" if f == "ix" else "segment") for op, f in events]
    first_toc = kinds.index(("fsync", "toc-temp"))
    assert set(kinds[:first_toc]) == {("fsync", "segment")}
    assert kinds[first_toc:] == [("fsync", "toc-temp"), ("rename", "toc"), ("fsync", "dir")]
    # (the story table is synced under its temporary name, then renamed: both before the TOC)
    segment_files = {re.sub(r"(\.sqlite)\.\d+\.tmp$", r"\1", f) for op, f in events
                     if op == "fsync" and ".toc" not in f and f != "ix"}
    assert segment_files <= live_files(ix) and any(f.endswith(".trm") for f in segment_files)


# ---------------------------------------------------------------- 30: --rebuild killed


@pytest.mark.slow
def test_30_killed_rebuild_keeps_the_old_results(tmp_path: Path) -> None:
    """``--rebuild`` killed at random points: searches during the run and after it
    return the old results until the rebuild's commit (a new TOC generation), and
    exactly the new ones after it; never an empty or half-built index."""
    rng = random.Random(30)
    folder, ix = tmp_path / "clips", tmp_path / "ix"
    n = 300
    states = {"old": write_corpus(folder, n, "old")}
    assert run_index(folder, ix).returncode == 0
    started = time.monotonic()
    assert run_index(folder, ix, "--rebuild").returncode == 0
    duration = time.monotonic() - started  # what a rebuild takes, start-up included
    extra = write_corpus(folder, 2, "extra", start=n)  # a second segment for CLEAR to drop
    assert run_index(folder, ix).returncode == 0
    assert len(whoosh_index.TOC.read(FileStorage(str(ix)), "MAIN").segments) == 2
    states["old"] |= extra
    assert snapshot(ix) == states["old"]

    def generation() -> int:
        return int(whoosh_index.TOC.read(FileStorage(str(ix)), "MAIN").generation)

    current, outcomes, searches = "old", {"old": 0, "new": 0}, 0
    for trial in range(REBUILD_TRIALS):
        target = "new" if current == "old" else "old"
        states[target] = write_corpus(folder, n, target) | extra
        # Anywhere in the run, or (odd trials) in its last third: flush and commit.
        before = generation()
        delay = rng.uniform(0.05 if trial % 2 == 0 else duration * 0.65, duration * 1.05)
        with spawned(*index_cmd(folder, ix, "--rebuild")) as proc:
            t0 = time.monotonic()
            while time.monotonic() - t0 < delay and proc.poll() is None:
                got = search_state(ix)
                searches += 1
                assert got in (states[current], states[target]), f"trial {trial}: mixed"
            if proc.poll() is not None:  # it finished first: aim within it next time
                duration = time.monotonic() - t0
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        assert wait_until(lambda: not processes_mentioning(str(ix)), 3.0)
        committed = generation() != before
        expect = target if committed else current
        assert snapshot(ix) == states[expect], f"trial {trial} (kill after {delay:.2f}s)"
        assert search_state(ix) == states[expect]
        outcomes["new" if committed else "old"] += 1
        current = expect
    assert outcomes["old"] >= 2, outcomes  # most kills land before the commit
    # Completed, the rebuild replaces everything in one commit: one segment, new data.
    target = "new" if current == "old" else "old"
    states[target] = write_corpus(folder, n, target) | extra
    done = run_index(folder, ix, "--rebuild")
    assert done.returncode == 0 and '"rebuilt": true' in done.stdout
    assert snapshot(ix) == states[target] and search_state(ix) == states[target]
    assert len(whoosh_index.TOC.read(FileStorage(str(ix)), "MAIN").segments) == 1
    assert orphans(ix) == set()
    print(f"\ncase 30: {REBUILD_TRIALS} rebuild kills, outcomes {outcomes}, {searches} "
          "searches during the runs, none mixed or empty")


def test_30_rebuild_commits_with_clear(corpus_dir: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from whoosh import writing

    from searchkit.indexer.commit import merge_policy
    from searchkit.indexer.writer import IndexWriter

    ix = tmp_path / "ix"
    write_corpus(corpus_dir, 3, "a")
    indexer.update(corpus_dir, ix)
    used: list[Any] = []
    real_commit = IndexWriter.commit

    def recording_commit(self: Any, mergetype: Any = None, **kw: Any) -> None:
        used.append(mergetype)
        real_commit(self, mergetype=mergetype, **kw)

    monkeypatch.setattr(IndexWriter, "commit", recording_commit)
    indexer.update(corpus_dir, ix, rebuild=True)
    write_corpus(corpus_dir, 1, "b", start=3)
    indexer.update(corpus_dir, ix)
    assert used == [writing.CLEAR, merge_policy]


# ---------------------------------------------------------------- 31: soak

SOAK_WRITER = r"""
import sys, time
from pathlib import Path
from searchkit import indexer
sys.path.insert(0, sys.argv[4])
from tests.test_crash_concurrency import soak_variant
folder, ix, seconds = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
deadline = time.monotonic() + seconds
k = commits = rebuilds = 0
while time.monotonic() < deadline:
    k += 1
    soak_variant(folder, k % 4)
    rebuild = k % 3 == 0
    report = indexer.update(folder, ix, rebuild=rebuild, lock_timeout=30)
    assert report.committed and not report.failed, report
    commits += 1
    rebuilds += rebuild
print(commits, rebuilds)
"""


def soak_variant(folder: Path, k: int) -> State:
    """Committed state number ``k`` of the soak: shared files retitled, and a set of
    files of its own (the others' deleted), so a half-applied commit is detectable."""
    folder.mkdir(parents=True, exist_ok=True)
    state = write_corpus(folder, 30, f"v{k}")
    for other in range(4):
        for j in range(8):
            path = folder / f"own{other}_{j}.md"
            if other == k:
                path.write_text(clipping_text(title=f"v{k} own clipping {j}"),
                                encoding="utf-8")
                state |= {(path.name, f"v{k} own clipping {j}")}
            elif path.exists():
                path.unlink()
    return state


@pytest.mark.slow
def test_31_searches_during_updates_and_rebuilds_see_only_committed_states(
        tmp_path: Path) -> None:
    folder, ix = tmp_path / "clips", tmp_path / "ix"
    states = [soak_variant(tmp_path / f"model{k}", k) for k in range(4)]
    soak_variant(folder, 0)
    indexer.update(folder, ix)
    counts = {"searches": 0, "cli": 0}
    errors: list[str] = []
    seen: set[int] = set()
    stop = threading.Event()

    def cli_reader() -> None:  # the installed `search` script, in its own processes
        while not stop.is_set():
            proc = subprocess.run(
                [script("search"), "clipping", "--index", str(ix), "--no-refresh", "-f",
                 "paths", "-n", "1000"], capture_output=True, text=True, timeout=60,
                cwd=folder)  # paths print relative to where the search runs
            paths = set(proc.stdout.split())
            if proc.returncode != 0 or proc.stderr or \
                    paths not in [{e[0] for e in s if "#" not in e[0]} for s in states]:
                errors.append(f"cli: exit {proc.returncode}, {proc.stderr!r}, {len(paths)}")
            counts["cli"] += 1

    with spawned(sys.executable, "-c", SOAK_WRITER, str(folder), str(ix), str(SOAK_SECONDS),
                 str(Path(__file__).resolve().parent.parent)) as writer:
        side = threading.Thread(target=cli_reader, daemon=True)
        side.start()
        try:
            while writer.poll() is None:
                try:
                    got = search_state(ix)
                except Exception as exc:  # any error at all is a failure
                    errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                counts["searches"] += 1
                if got in states:
                    seen.add(states.index(got))
                else:
                    errors.append(f"a snapshot that was never committed ({len(got)} entries)")
        finally:
            stop.set()
            side.join(60)
        out, err = writer.communicate()
    assert writer.returncode == 0, err.decode()
    commits, rebuilds = map(int, out.split())
    assert errors == [], errors[:5]
    assert commits >= 8 and rebuilds >= 2
    assert counts["searches"] >= 50 and counts["cli"] >= 5
    assert len(seen) >= 3  # the searches really did see the index change under them
    assert orphans(ix) == set()
    print(f"\ncase 31: {SOAK_SECONDS:g}s, {commits} commits ({rebuilds} rebuilds), "
          f"{counts['searches']} library + {counts['cli']} CLI searches, 0 errors")


# ---------------------------------------------------------------- 32, 33: the lock


@pytest.mark.slow
def test_32_second_indexer_waits_then_reports_busy_and_nothing_is_lost(tmp_path: Path) -> None:
    folder, ix = tmp_path / "clips", tmp_path / "ix"
    write_corpus(folder, 10, "old")
    assert run_index(folder, ix).returncode == 0
    new = write_corpus(folder, 1400, "new")  # a long run for the first indexer
    with spawned(*index_cmd(folder, ix)) as first:
        assert wait_until(lambda: writer_active(ix), 30), "the first indexer never started"
        late = write_corpus(folder, 1, "late", start=5000)  # after the first one's scan
        started = time.monotonic()
        busy = subprocess.run(index_cmd(folder, ix, "--lock-timeout", "0.4"),
                              capture_output=True, text=True, timeout=60)
        waited = time.monotonic() - started
        assert first.poll() is None, "the first indexer finished too soon to test anything"
        assert busy.returncode == 3
        assert busy.stderr == (f"Error: index busy: another process is writing {ix} "
                               "(waited 0.4s; retry later or raise --lock-timeout)\n")
        assert busy.stdout == "" and waited >= 0.4
        with spawned(*index_cmd(folder, ix, "--lock-timeout", "60")) as patient:
            out, err = patient.communicate(timeout=120)
            assert patient.returncode == 0, err
        first_out, first_err = first.communicate(timeout=120)
        assert first.returncode == 0, first_err
    assert b'"added": 1' in out  # the second indexer added what the first did not see
    assert snapshot(ix) == new | late  # no document lost
    assert orphans(ix) == set()


@pytest.mark.slow
def test_33_stopped_lock_holder_blocks_writers_but_keeps_its_lock(tmp_path: Path) -> None:
    folder, ix = tmp_path / "clips", tmp_path / "ix"
    old = write_corpus(folder, 10, "old")
    assert run_index(folder, ix).returncode == 0
    new = write_corpus(folder, 500, "new")
    with spawned(*index_cmd(folder, ix)) as holder:
        assert wait_until(lambda: writer_active(ix), 30)
        os.kill(holder.pid, signal.SIGSTOP)
        try:
            for timeout in ("0", "0.5"):
                started = time.monotonic()
                busy = subprocess.run(index_cmd(folder, ix, "--lock-timeout", timeout),
                                      capture_output=True, text=True, timeout=60)
                assert busy.returncode == 3 and time.monotonic() - started >= float(timeout)
                assert busy.stderr.startswith("Error: index busy: another process is writing")
                assert busy.stderr.count("\n") == 1
            # Searchers answer from the last commit; `search` says it could not refresh.
            assert search_state(ix) == old
            proc = subprocess.run([script("search"), "clipping", "--index", str(ix),
                                   "--seeds", str(folder), "-f", "paths", "-n", "100"],
                                  capture_output=True, text=True, timeout=60)
            assert proc.returncode == 0 and len(proc.stdout.split()) == 10
            assert "another process is updating the index" in proc.stderr
            # Nobody broke the lock: the file is there and still held.
            assert (ix / LOCK).exists() and not lock_is_free(ix)
        finally:
            os.kill(holder.pid, signal.SIGCONT)
        out, err = holder.communicate(timeout=120)
    assert holder.returncode == 0, err
    assert snapshot(ix) == new and lock_is_free(ix) and (ix / LOCK).exists()
    assert orphans(ix) == set()


# ---------------------------------------------------------------- 34: ENOSPC / EIO


class _FailingFile:
    """A real file whose writes fail once ``budget`` bytes have been written."""

    def __init__(self, inner: Any, budget: int, err: int) -> None:
        self._inner, self._budget, self._errno = inner, budget, err

    def write(self, data: Any) -> int:
        if len(data) > self._budget:
            raise OSError(self._errno, os.strerror(self._errno))
        self._budget -= len(data)
        return int(self._inner.write(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _disk_fault(monkeypatch: pytest.MonkeyPatch, which: str, err: int) -> None:
    """Files Whoosh creates whose name matches ``which`` fail with ``err`` when written."""
    from whoosh.filedb import filestore

    real_open = open

    def fake_open(path: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        f = real_open(path, mode, *args, **kwargs)
        if "w" in mode and re.search(which, os.path.basename(str(path))):
            return _FailingFile(f, 64, err)
        return f

    monkeypatch.setattr(filestore, "open", fake_open, raising=False)
    monkeypatch.setattr(commit, "open", fake_open, raising=False)  # WriteStorage.create_file


@pytest.mark.parametrize(("where", "which", "err"), [
    ("segment", r"^MAIN_[0-9a-z]+\.(trm|pst)$", errno.ENOSPC),
    ("toc", r"^_MAIN_\d+\.toc\.", errno.ENOSPC),
    ("toc", r"^_MAIN_\d+\.toc\.", errno.EIO),
    ("rename", "", errno.EIO),
    ("fsync", "", errno.EIO),
])
def test_34_disk_full_or_io_error_during_commit(where: str, which: str, err: int,
                                                 tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    folder, ix = tmp_path / "clips", tmp_path / "ix"
    old = write_corpus(folder, 5, "old")
    assert cli("index", str(folder), "--index", str(ix))[0] == 0
    new = write_corpus(folder, 5, "new")
    if where == "rename":
        monkeypatch.setattr(os, "rename", lambda *a, **k: _raise(err))
    elif where == "fsync":
        monkeypatch.setattr(os, "fsync", lambda fd: _raise(err))
    else:
        _disk_fault(monkeypatch, which, err)
    code, out, stderr = cli("index", str(folder), "--index", str(ix))
    monkeypatch.undo()
    gc.collect()  # a file left open by the failed commit would warn (an error) here
    assert code == 2 and out == ""
    assert stderr == (f"Error: cannot write the index at {ix}: {os.strerror(err)} "
                      f"[{errno.errorcode[err]}]; the index keeps its last complete commit\n")
    assert snapshot(ix) == old and search_state(ix) == old
    assert orphans(ix) == set() and lock_is_free(ix)
    assert cli("index", str(folder), "--index", str(ix))[0] == 0  # space is back
    assert snapshot(ix) == new and orphans(ix) == set()


def _raise(err: int) -> None:
    raise OSError(err, os.strerror(err))


# ---------------------------------------------------------------- 35: Ctrl-C


@pytest.mark.slow
@pytest.mark.parametrize("whole_group", [True, False], ids=["terminal-ctrl-c", "kill-int"])
@pytest.mark.parametrize("files", [800, shards.SHARD_THRESHOLD + 200],
                         ids=["parse-workers", "shard-processes"])
def test_35_ctrl_c_cancels_the_writer_exits_130_and_keeps_the_last_commit(
        whole_group: bool, files: int, tmp_path: Path) -> None:
    """Ctrl-C at a terminal signals the whole process group (workers included);
    ``kill -INT`` only the main process. Either way: exit 130, one line on stderr,
    the previous commit, no leftovers, the lock free at once. With 800 files the
    parsing is shared with worker processes; from SHARD_THRESHOLD files on, shard
    processes write segments of their own."""
    rng = random.Random(35)
    folder, ix = tmp_path / "clips", tmp_path / "ix"
    old = write_corpus(folder, 10, "old")
    assert run_index(folder, ix).returncode == 0
    write_corpus(folder, files, "new")
    for _ in range(2):
        with spawned(*index_cmd(folder, ix)) as proc:
            assert wait_until(lambda: writer_active(ix), 30)
            time.sleep(rng.uniform(0.0, 0.25))
            interrupted = time.monotonic()
            if whole_group:
                os.killpg(proc.pid, signal.SIGINT)
            else:
                proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)
            took = time.monotonic() - interrupted
        assert proc.returncode == 130, err
        assert err == b"Interrupted; the index keeps its last commit.\n"
        assert out == b"" and took < 5
        assert wait_until(lambda: not processes_mentioning(str(ix)), 3.0)
        assert lock_is_free(ix)
        assert snapshot(ix) == old
        assert orphans(ix) == set() and not writer_active(ix)


def test_35_interrupt_inside_the_library_cancels_and_releases(
        corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from searchkit.indexer.writer import IndexWriter

    ix = tmp_path / "ix"
    old = write_corpus(corpus_dir, 4, "old")
    indexer.update(corpus_dir, ix)
    write_corpus(corpus_dir, 4, "new")
    for method in ("add_document", "_flush_segment"):
        with monkeypatch.context() as m:
            def interrupt(*a: Any, **k: Any) -> None:
                raise KeyboardInterrupt
            m.setattr(IndexWriter, method, interrupt)
            code, out, err = cli("index", str(corpus_dir), "--index", str(ix))
        assert (code, out, err) == (130, "", "Interrupted; the index keeps its last commit.\n")
        assert snapshot(ix) == old and lock_is_free(ix) and orphans(ix) == set()


# ---------------------------------------------------------------- 36: permissions


class _Planted:
    """Unpickling this runs ``os.mkdir(marker)``: what a planted TOC could do."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.mkdir, (self.marker,))


def test_36_new_index_folder_is_private(tmp_path: Path) -> None:
    folder = tmp_path / "clips"
    write_corpus(folder, 2, "a")
    ix = tmp_path / "deep" / "ix"
    old_umask = os.umask(0)  # even with a permissive umask
    try:
        assert cli("index", str(folder), "--index", str(ix))[0] == 0
    finally:
        os.umask(old_umask)
    assert ix.stat().st_mode & 0o777 == 0o700


def test_36_world_writable_index_is_refused_and_never_unpickled(tmp_path: Path) -> None:
    folder, ix = tmp_path / "clips", tmp_path / "ix"
    state = write_corpus(folder, 2, "a")
    indexer.update(folder, ix)
    os.chmod(ix, 0o777)
    # Someone else drops a newer table of contents whose pickle runs code.
    marker = tmp_path / "pwned"
    toc = ix / "_MAIN_99.toc"
    toc.write_bytes((ix / next(n for n in os.listdir(ix) if n.endswith(".toc"))).read_bytes())
    header = toc.read_bytes()[:16]
    toc.write_bytes(header + pickle.dumps(_Planted(str(marker)), 2))
    with pytest.raises(UnsafeIndexError, match="writable by every user"):
        search.search(ix, "clipping")
    with pytest.raises(UnsafeIndexError):
        indexer.update(folder, ix)
    with pytest.raises(UnsafeIndexError):
        indexer.diff_index(folder, ix)
    for args in (["index", str(folder)], ["search", "clipping"], ["search", "x", "--no-refresh"],
                 ["status"]):
        code, out, err = cli(*args, "--index", str(ix), "--seeds", str(folder))
        assert code == 2 and out == "", args
        assert err == (f"Error: refusing to use the index at {ix}: the folder is writable "
                       "by every user (mode 0777); an index holds pickled data that runs as "
                       f"code when read — run `chmod go-w {ix}` if its contents are yours, "
                       "or rebuild it elsewhere\n"), args
    assert not marker.exists()
    # Control: such a payload is live -- plain Whoosh, reading a copy, runs it.
    control = tmp_path / "control"
    shutil.copytree(ix, control)
    toc.unlink()
    ran = tmp_path / "ran"
    (control / "_MAIN_99.toc").write_bytes(header + pickle.dumps(_Planted(str(ran)), 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # Whoosh leaks the bad TOC's handle
        with pytest.raises(Exception, match="not a Schema"):
            whoosh_index.open_dir(str(control))
        gc.collect()
    assert ran.is_dir() and not marker.exists()
    os.chmod(ix, 0o700)
    assert snapshot(ix) == state


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="needs root to give the folder to another user")
def test_36_index_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    folder, ix = tmp_path / "clips", tmp_path / "ix"
    state = write_corpus(folder, 2, "a")
    indexer.update(folder, ix)
    os.chown(ix, 65534, 65534)
    for call in (lambda: search.search(ix, "clipping"), lambda: indexer.update(folder, ix),
                 lambda: indexer.open_index(ix)):
        with pytest.raises(UnsafeIndexError, match=r"belongs to another user \(uid 65534"):
            call()
    code, out, err = cli("search", "clipping", "--index", str(ix), "--seeds", str(folder))
    assert code == 2 and err.startswith(f"Error: refusing to use the index at {ix}: the "
                                        "folder belongs to another user (uid 65534, you are "
                                        "uid 0)") and err.count("\n") == 1
    os.chown(ix, 0, 0)
    assert snapshot(ix) == state


# ---------------------------------------------------------------- 37: merges


def test_37_long_lived_searcher_keeps_its_snapshot_across_merging_commits(
        corpus_dir: Path, tmp_path: Path) -> None:
    ix = tmp_path / "ix"
    for i in range(4):  # four small commits: four segments
        write_corpus(corpus_dir, 1, "old", start=i)
        indexer.update(corpus_dir, ix)
    old = snapshot(ix)
    long_lived = indexer.open_index(ix).searcher()
    try:
        old_segments = {s.segment_id() for s in
                        whoosh_index.TOC.read(FileStorage(str(ix)), "MAIN").segments}
        merged = False
        for i in range(4, 16):  # more commits, until a merge replaces the old segments
            write_corpus(corpus_dir, 1, "new", start=i)
            if i % 3 == 0:
                (corpus_dir / f"c{i - 4:04d}.md").unlink()
            indexer.update(corpus_dir, ix)
            live = {s.segment_id() for s in
                    whoosh_index.TOC.read(FileStorage(str(ix)), "MAIN").segments}
            if not old_segments & live:
                merged = True
                break
        assert merged, "no commit merged the old segments away"
        assert not [n for n in os.listdir(ix) if n.split(".")[0] in old_segments], \
            "the merged segments' files are deleted"
        new = snapshot(ix)
        assert new != old
        # The long-lived searcher still reads its own snapshot, in full, without errors.
        assert frozenset((f["key"], f["title"]) for f in long_lived.all_stored_fields()) == old
        hits = long_lived.search(wq.Term("kind", "clipping"), limit=None)
        assert sorted(h["key"] for h in hits) == sorted(k for k, _ in old if "#" not in k)
        assert len(long_lived.search(wq.Every(), limit=None)) == len(old)
        # A fresh searcher, and the long-lived one refreshed, see the new commit.
        with indexer.open_index(ix).searcher() as fresh:
            assert frozenset((f["key"], f["title"]) for f in fresh.all_stored_fields()) == new
        long_lived = long_lived.refresh()  # closes the old reader
        assert frozenset((f["key"], f["title"]) for f in long_lived.all_stored_fields()) \
            == new
        assert search_state(ix) == new
    finally:
        long_lived.close()
    assert orphans(ix) == set()
