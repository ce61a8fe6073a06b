"""``searchkit watch``: a real background process keeping an index in step with real
files changing under it; searches from this process see what it committed.

Every wait polls with a bound (:func:`until`), never a fixed sleep: the machine is
shared, and a commit may take seconds under load.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from searchkit.errors import ExitCode
from searchkit.results import FileFailure
from searchkit.watch import Failures, relevant
from tests.conftest import Corpus, cli, clipping_text

WAIT = 30.0  # seconds: the bound of every wait


def until(predicate: Callable[[], bool], timeout: float = WAIT, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


class Watcher:
    """``searchkit watch`` in a subprocess; its stderr lines collected as they come."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def said(self, text: str) -> list[str]:
        return [line for line in list(self.lines) if text in line]

    def commits(self) -> list[str]:
        return [line for line in list(self.lines) if " indexed " in line]

    def wait_for_line(self, text: str, count: int = 1) -> None:
        assert until(lambda: len(self.said(text)) >= count or self.proc.poll() is not None), \
            f"no {text!r} line: {self.lines}"
        assert len(self.said(text)) >= count, f"watch exited {self.proc.returncode}: {self.lines}"

    def stop(self, signum: int) -> int:
        self.proc.send_signal(signum)
        code = self.proc.wait(timeout=WAIT)
        self._reader.join(timeout=WAIT)
        return code

    def close(self) -> None:
        self._reader.join(timeout=WAIT)
        assert self.proc.stderr is not None
        self.proc.stderr.close()


@contextmanager
def watching(folder: Path, index: Path, *extra: str, ready: str = " watching "
             ) -> Iterator[Watcher]:
    """``searchkit watch FOLDER --index INDEX``, once it says ``ready`` on stderr."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "searchkit", "watch", str(folder), "--index", str(index),
         *extra], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True)
    watcher = Watcher(proc)
    try:
        watcher.wait_for_line(ready)
        yield watcher
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        watcher.close()


def found(index: Path, query: str) -> list[str]:
    """The clipping paths a search finds (never refreshing: only watch writes)."""
    code, out, err = cli("search", query, "--index", str(index), "--no-refresh",
                         "-f", "paths", "--limit", "1000")
    assert code in (ExitCode.HITS, ExitCode.NO_HITS), err
    return sorted(line.rsplit("/", 1)[-1] for line in out.splitlines())


def appears(index: Path, query: str, names: list[str]) -> bool:
    return until(lambda: found(index, query) == sorted(names))


def status(index: Path) -> dict[str, object]:
    code, out, err = cli("status", "--index", str(index), "-f", "json")
    assert code == 0, err
    record: dict[str, object] = json.loads(out)
    return record


@pytest.mark.slow
def test_watch_follows_adds_editor_saves_renames_and_deletes(corpus: Corpus,
                                                              index_dir: Path) -> None:
    corpus.add("a.md", title="alpha harbour")
    with watching(corpus.root, index_dir) as w:
        assert found(index_dir, "harbour") == ["a.md"]  # the first update, before watching
        corpus.add("b.md", title="bravo lighthouse")
        assert appears(index_dir, "lighthouse", ["b.md"])

        # An editor's save: a temporary file beside it, renamed over it.
        tmp = corpus.root / ".b.md.swp"
        tmp.write_text(clipping_text(title="bravo windmill"), encoding="utf-8")
        os.replace(tmp, corpus.root / "b.md")
        assert appears(index_dir, "windmill", ["b.md"])
        assert found(index_dir, "lighthouse") == []

        # A sync tool's save (rsync, Syncthing): a hidden partial file, then a rename.
        partial = corpus.root / ".c.md.Xa81c2"
        partial.write_text(clipping_text(title="charlie pier"), encoding="utf-8")
        os.rename(partial, corpus.root / "c.md")
        assert appears(index_dir, "pier", ["c.md"])

        os.rename(corpus.root / "b.md", corpus.root / "renamed.md")
        assert appears(index_dir, "windmill", ["renamed.md"])

        corpus.delete("a.md")
        assert appears(index_dir, "harbour", [])

        # A folder moved in, with clippings the events do not name one by one.
        outside = corpus.root.parent / "incoming"
        Corpus(outside).add("d.md", title="delta quay")
        os.rename(outside, corpus.root / "incoming")
        assert appears(index_dir, "quay", ["d.md"])

        assert w.proc.poll() is None
        assert status(index_dir)["up_to_date"] is True
        assert not w.said("Error")
        assert all("(" in line and line.endswith("s)") for line in w.commits()), w.lines


@pytest.mark.slow
def test_watch_turns_a_burst_into_a_few_commits(corpus: Corpus, index_dir: Path) -> None:
    corpus.add("seed.md", title="seed")
    with watching(corpus.root, index_dir) as w:
        before = len(w.commits())
        for n in range(300):
            corpus.add(f"burst/{n:03}.md", title=f"burst item{n}")
        assert appears(index_dir, "burst", [f"{n:03}.md" for n in range(300)])
        assert until(lambda: status(index_dir)["up_to_date"] is True)
        commits = len(w.commits()) - before
        assert 1 <= commits <= 30, w.lines  # far fewer than one per file


@pytest.mark.slow
def test_watch_reports_a_broken_file_once_and_goes_on(corpus: Corpus,
                                                      index_dir: Path) -> None:
    corpus.add("good.md", title="good")
    with watching(corpus.root, index_dir) as w:
        corpus.write_raw("bad.md", "---\ntitle: [unclosed\n---\n")
        w.wait_for_line("bad.md:")
        corpus.add("later.md", title="later arrival")
        assert appears(index_dir, "arrival", ["later.md"])
        corpus.add("last.md", title="last arrival")
        assert appears(index_dir, "arrival", ["last.md", "later.md"])
        assert w.proc.poll() is None
        assert len(w.said("bad.md:")) == 1, w.lines
        # Fixed, then broken again: a new problem, said again.
        corpus.add("bad.md", title="mended")
        assert appears(index_dir, "mended", ["bad.md"])
        corpus.write_raw("bad.md", "---\ntitle: [broken again\n---\n")
        w.wait_for_line("bad.md:", count=2)


@pytest.mark.slow
def test_watch_reports_broken_files_at_start_like_index(corpus: Corpus,
                                                        index_dir: Path) -> None:
    corpus.write_raw("bad.md", "---\ntitle: [unclosed\n---\n")
    corpus.add("good.md", title="good")
    # Quiet: no "watching" line; the watcher is live before the first update says this.
    with watching(corpus.root, index_dir, "--quiet", ready="bad.md:") as w:
        assert found(index_dir, "good") == ["good.md"]
        corpus.add("otter.md", title="otter")
        assert appears(index_dir, "otter", ["otter.md"])
        assert [line for line in w.lines if line] == w.said("bad.md:")  # -q: errors only


@pytest.mark.slow
def test_watch_stopped_by_sigterm_exits_143_with_a_consistent_index(
        corpus: Corpus, index_dir: Path) -> None:
    corpus.add("first.md", title="first")
    with watching(corpus.root, index_dir) as w:
        for n in range(200):  # likely mid-update when the signal comes
            corpus.add(f"late/{n:03}.md", title=f"late{n}")
        until(lambda: len(w.commits()) >= 2, timeout=2.0)
        assert w.stop(signal.SIGTERM) == 143 == int(ExitCode.TERMINATED), w.lines
    assert w.said("Terminated; the index keeps its last commit."), w.lines
    record = status(index_dir)
    assert record["exists"] is True and record["clippings"] in range(1, 202), record
    assert found(index_dir, "first") == ["first.md"]
    # No lock left behind; the next run picks up where the last commit stood.
    code, _, err = cli("index", str(corpus.root), "--index", str(index_dir), "-q",
                       "--lock-timeout", "0")
    assert code == 0, err
    assert status(index_dir)["clippings"] == 201


@pytest.mark.slow
def test_watch_stopped_by_ctrl_c_exits_130(corpus: Corpus, index_dir: Path) -> None:
    corpus.add("a.md", title="a")
    with watching(corpus.root, index_dir) as w:
        assert w.stop(signal.SIGINT) == 130 == int(ExitCode.INTERRUPTED), w.lines
    assert w.said("Interrupted; the index keeps its last commit."), w.lines
    assert status(index_dir)["up_to_date"] is True


@pytest.mark.slow
def test_watch_refuses_an_index_inside_the_folder(corpus: Corpus) -> None:
    corpus.add("a.md", title="a")
    code, _, err = cli("watch", str(corpus.root), "--index", str(corpus.root / "ix"))
    assert code == ExitCode.USAGE
    assert "inside the clippings folder" in err


@pytest.mark.parametrize(("rel", "expected"), [
    ("a.md", True), ("sub/b.TXT", True), ("x.markdown", True),
    (".a.md.swp", False), ("sub/.hidden/a.md", False), (".syncthing.a.md.tmp", False),
    ("a.md~", False), ("notes.pdf", False), ("gone-folder", True),
    ("index/seg.md", False),
])
def test_relevant_events_are_clippings_and_folders(tmp_path: Path, rel: str,
                                                   expected: bool) -> None:
    root = tmp_path / "clips"
    (root / "sub").mkdir(parents=True)
    for name in ("a.md~", "notes.pdf"):
        (root / name).write_text("x")
    ignored = (str(root / "index"),)
    assert relevant(str(root / rel), str(root), ignored) is expected


def test_failures_are_new_once_then_again_when_touched_or_changed() -> None:
    failures = Failures()
    bad = FileFailure("bad.md", "bad.md: invalid YAML")
    assert failures.new([bad]) == (bad,)  # the first update says every failure
    assert failures.new([bad]) == ()
    assert failures.new([bad], touched=["other.md"]) == ()
    assert failures.new([bad], touched=["bad.md"]) == (bad,)  # saved again, still broken
    worse = FileFailure("bad.md", "bad.md: title: missing")
    assert failures.new([worse]) == (worse,)
    assert failures.new([]) == ()  # fixed: forgotten
    assert failures.new([worse]) == (worse,)
    nested = FileFailure("sub/c.md", "sub/c.md: bad")
    failures.new([nested])
    assert failures.new([nested], touched=["sub"]) == (nested,)  # its folder moved in


@pytest.mark.slow
def test_readme_watch_session(tmp_path: Path, seeds_copy: Path) -> None:
    """The README's session, step by step: its output lines, times masked."""
    from tests.test_docs import README

    block = re.search(r"<!-- watch session:.*?-->\s*```console\n(.*?)```", README, re.S)
    assert block
    steps: list[list[str]] = []  # each command's expected lines
    for line in block.group(1).splitlines():
        if line.startswith("$ "):
            steps.append([])
        else:
            steps[-1].append(line)
    assert len(steps) == 4

    def masked(lines: list[str]) -> list[str]:
        return [re.sub(r"\(\d+\.\d\ds\)", "(S)", re.sub(r"^\d\d:\d\d:\d\d ", "T ", line))
                for line in lines]

    new = seeds_copy / "new-story.md"
    proc = subprocess.Popen([sys.executable, "-m", "searchkit", "watch", "seeds"],
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    w = Watcher(proc)
    try:
        seen = 0
        actions: list[Callable[[], object]] = [
            lambda: None,
            lambda: new.write_text(clipping_text(title="A new story"), encoding="utf-8"),
            lambda: os.rename(new, seeds_copy / "2024-new-story.md"),
            lambda: w.stop(signal.SIGINT),
        ]
        for action, expected in zip(actions, steps, strict=True):
            action()
            assert until(lambda: len(w.lines) >= seen + len(expected)  # noqa: B023
                         or proc.poll() is not None), w.lines
            assert masked(w.lines[seen:seen + len(expected)]) == masked(expected), w.lines
            seen += len(expected)
        assert proc.wait(timeout=WAIT) == ExitCode.INTERRUPTED
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        w.close()
