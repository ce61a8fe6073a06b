"""``searchkit.indexer.shards``: large batches are split between processes, each writing
a segment of its own.

Run with a low ``SHARD_THRESHOLD`` so that small corpora take the sharded path; every
result is compared with the single-process path on the same files.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from searchkit import indexer, search
from searchkit.errors import IndexWriteError
from searchkit.indexer import commit, shards
from searchkit.indexer.writer import IndexWriter
from tests.conftest import clipping_text
from tests.test_crash_concurrency import (
    lock_is_free,
    orphans,
    search_state,
    snapshot,
    write_corpus,
)


@pytest.fixture(autouse=True)
def _low_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shards, "SHARD_THRESHOLD", 4)


def segments(ix: Path) -> int:
    return int(search.stats(ix)["segments"])


def report_counts(r: Any) -> tuple[int, ...]:
    return (r.added, r.updated, r.deleted, r.renamed, r.unchanged, len(r.failed))


def test_sharded_build_equals_single_process_build(tmp_path: Path) -> None:
    folder = tmp_path / "clips"
    write_corpus(folder, 30, "alpha")
    (folder / "c0020.md").write_bytes(b"\xff\xfe broken")  # in the second half
    one = indexer.update(folder, tmp_path / "ix1", workers=1)
    two = indexer.update(folder, tmp_path / "ix2", workers=2)
    assert report_counts(one) == report_counts(two) == (29, 0, 0, 0, 0, 1)
    assert [f.path for f in two.failed] == ["c0020.md"]
    assert snapshot(tmp_path / "ix2") == snapshot(tmp_path / "ix1")
    assert search_state(tmp_path / "ix2") == search_state(tmp_path / "ix1")
    assert (segments(tmp_path / "ix1"), segments(tmp_path / "ix2")) == (1, 2)
    assert orphans(tmp_path / "ix2") == set()  # no temporary folders left either
    assert lock_is_free(tmp_path / "ix2")
    # Totals, collapsing and ranking see both segments as one index.
    q1 = search.search(tmp_path / "ix1", "alpha clipping", limit=5)
    q2 = search.search(tmp_path / "ix2", "alpha clipping", limit=5)
    assert q2.total == q1.total == 29
    assert [h.id for h in q2.hits] == [h.id for h in q1.hits]


def test_sharded_incremental_update_equals_single_process(tmp_path: Path) -> None:
    base = tmp_path / "base"
    write_corpus(base, 20, "old")
    results = []
    for workers in (1, 2):
        folder, ix = tmp_path / f"clips{workers}", tmp_path / f"ix{workers}"
        shutil.copytree(base, folder)
        indexer.update(folder, ix, workers=1)
        write_corpus(folder, 6, "new", start=2)  # c0002..c0007 rewritten
        write_corpus(folder, 6, "more", start=20)  # six new files
        (folder / "c0010.md").unlink()
        os.rename(folder / "c0011.md", folder / "moved.md")
        (folder / "c0012.md").write_text((folder / "c0012.md").read_text())  # same bytes
        os.utime(folder / "c0012.md", ns=(1, 1))
        report = indexer.update(folder, ix, workers=workers)
        results.append((report_counts(report), snapshot(ix), search_state(ix),
                        search_state(ix, "new")))
    assert results[1] == results[0]
    assert results[0][0] == (6, 6, 1, 1, 12, 0)  # c0012: touched, same bytes
    # No entry twice: the old versions of the rewritten files are gone.
    ids = [h.id for h in search.search(tmp_path / "ix2", "clipping OR related",
                                       limit=1000, snippets=0).hits]
    assert len(ids) == len(set(ids)) == 2 * 25


def test_sharded_rebuild_keeps_the_last_good_version_of_a_file_failing_in_a_shard(
        tmp_path: Path) -> None:
    folder, ix = tmp_path / "clips", tmp_path / "ix"
    write_corpus(folder, 12, "alpha")
    indexer.update(folder, ix, workers=1)
    (folder / "c0011.md").write_bytes(b"\xff\xfe broken")  # the shard process's half
    (folder / "c0001.md").write_bytes(b"\xff\xfe broken")  # this process's half
    report = indexer.update(folder, ix, rebuild=True, workers=2)
    assert sorted(f.path for f in report.failed) == ["c0001.md", "c0011.md"]
    titles = {t for _, t in snapshot(ix)}
    assert {"alpha clipping 1", "alpha clipping 11", "alpha related 11"} <= titles
    diff = indexer.diff_index(folder, ix)  # known to fail until they change
    assert sorted(f.path for f in diff.failing) == ["c0001.md", "c0011.md"]
    assert not (diff.added or diff.modified)


def _fail_in_shard(how: str) -> Any:
    parent = os.getpid()

    def finish_shard(self: Any) -> Any:
        if os.getpid() == parent:
            raise AssertionError("finish_shard runs in shard processes only")
        if how == "die":
            os._exit(3)
        if how == "killed":  # as the OOM killer does
            os.kill(os.getpid(), 9)
        raise OSError(errno.ENOSPC, "No space left on device")
    return finish_shard


@pytest.mark.parametrize("how", ["disk full", "die", "killed"])
def test_a_failing_shard_process_leaves_the_last_commit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    folder, ix = tmp_path / "clips", tmp_path / "ix"
    old = write_corpus(folder, 10, "old")
    indexer.update(folder, ix, workers=1)
    write_corpus(folder, 10, "new")
    monkeypatch.setattr(IndexWriter, "finish_shard", _fail_in_shard(how))
    with pytest.raises(IndexWriteError) as info:
        indexer.update(folder, ix, workers=2)
    message = str(info.value)
    assert {"disk full": "No space left on device",
            "die": "an indexing process died (exit code 3)",
            "killed": "an indexing process died (killed by signal 9)"}[how] in message
    assert "keeps its last complete commit" in message
    assert snapshot(ix) == old
    assert orphans(ix) == set()
    assert lock_is_free(ix)
    monkeypatch.undo()
    monkeypatch.setattr(shards, "SHARD_THRESHOLD", 4)
    assert indexer.update(folder, ix, workers=2).updated == 10
    assert {t for _, t in snapshot(ix)} == {t.replace("old", "new") for _, t in old}


def test_a_batch_under_the_threshold_stays_in_one_segment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shards, "SHARD_THRESHOLD", 100)
    folder, ix = tmp_path / "clips", tmp_path / "ix"
    write_corpus(folder, 30, "alpha")
    indexer.update(folder, ix, workers=2)
    assert segments(ix) == 1


def test_progress_counts_every_file_once(tmp_path: Path) -> None:
    folder = tmp_path / "clips"
    for i in range(80):
        (folder / f"{i:03d}.md").parent.mkdir(exist_ok=True)
        (folder / f"{i:03d}.md").write_text(clipping_text(title=f"T {i}"))
    seen: list[tuple[int, int]] = []
    indexer.update(folder, tmp_path / "ix", workers=2,
                   progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (80, 80)
    assert all(total == 80 for _, total in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_sharded_runs_with_few_changes_still_merge_small_segments(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A sharded run whose halves add little (here: a touched folder, re-stamped, and
    one changed file) must still merge small segments: an early flush would skip it."""
    monkeypatch.setattr(commit, "SMALL_SEGMENT_ENTRIES", 100)
    folder, ix = tmp_path / "clips", tmp_path / "ix"
    expected = write_corpus(folder, 20, "base")
    indexer.update(folder, ix, workers=1)
    counts = []
    for i in range(6):
        for n, path in enumerate(sorted(folder.iterdir())):
            os.utime(path, ns=(10**18 + i * 10**9 + n, 10**18 + i * 10**9 + n))
        changed = write_corpus(folder, 1, f"v{i}", start=(7 * i) % 20)
        expected = {e for e in expected if e[0].split(".")[0] not in
                    {k.split(".")[0] for k, _ in changed}} | changed
        report = indexer.update(folder, ix, workers=2)
        assert (report.updated, report.unchanged) == (1, 19)
        counts.append(segments(ix))
    assert max(counts) <= 3, counts
    assert snapshot(ix) == expected and search_state(ix) == expected


def test_a_bug_in_a_shard_process_is_one_line_without_debug(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from searchkit.cli import app

    folder, ix = tmp_path / "clips", tmp_path / "ix"
    old = write_corpus(folder, 10, "old")
    indexer.update(folder, ix, workers=1)
    write_corpus(folder, 10, "new")

    def finish_shard(self: Any) -> Any:
        raise ValueError("boom")

    monkeypatch.setattr(IndexWriter, "finish_shard", finish_shard)
    args = ["index", str(folder), "--index", str(ix)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 70  # ExitCode.INTERNAL_ERROR: a bug, not a usage error
    assert result.stderr == ("Error: internal error: RuntimeError: an indexing process "
                             "failed (ValueError: boom) (run again with --debug for the "
                             "traceback)\n")
    assert snapshot(ix) == old and orphans(ix) == set() and lock_is_free(ix)
    # --debug prints the traceback, with the shard's own traceback attached as a note.
    result = CliRunner().invoke(app, [*args, "--debug"])
    assert result.exit_code == 70
    assert result.stderr.startswith("Traceback (most recent call last):\n")
    assert "in the indexing process:" in result.stderr and "ValueError: boom" in result.stderr
    assert snapshot(ix) == old and orphans(ix) == set() and lock_is_free(ix)
