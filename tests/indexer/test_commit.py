"""``searchkit.indexer.commit``: creating and re-creating the index, the merge policy."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from searchkit import indexer, search
from searchkit.indexer import commit, schema
from tests.conftest import Corpus
from tests.indexer.helpers import titles


def test_rebuild_leaves_no_empty_window_and_one_segment(corpus: Corpus, index_dir: Path) -> None:
    for i in range(5):
        corpus.add(f"{i}.md", title=f"Doc {i} common")
        indexer.update(corpus.root, index_dir)
    report = indexer.update(corpus.root, index_dir, rebuild=True)
    assert report.rebuilt and report.unchanged == 5
    assert search.stats(index_dir)["segments"] == 1
    assert len(search.search(index_dir, "common", limit=10).hits) == 5


def test_index_dir_is_private(corpus: Corpus, index_dir: Path) -> None:
    corpus.add("a.md", title="Alpha")
    indexer.update(corpus.root, index_dir)
    assert index_dir.stat().st_mode & 0o777 == 0o700


def test_other_schema_version_is_rebuilt_with_a_reason(corpus: Corpus, index_dir: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    corpus.add("a.md", title="Alpha")
    monkeypatch.setattr(schema, "SCHEMA_VERSION", schema.SCHEMA_VERSION - 1)
    indexer.update(corpus.root, index_dir)
    monkeypatch.undo()
    assert not indexer.diff_index(corpus.root, index_dir).is_empty
    report = indexer.update(corpus.root, index_dir)
    assert report.rebuilt and "schema version" in report.rebuild_reason
    assert search.stats(index_dir)["schema_version"] == schema.SCHEMA_VERSION
    assert titles(index_dir, "alpha") == ["Alpha"]


def test_unreadable_index_is_rebuilt(corpus: Corpus, index_dir: Path) -> None:
    corpus.add("a.md", title="Alpha")
    indexer.update(corpus.root, index_dir)
    toc = next(p for p in index_dir.iterdir() if p.name.endswith(".toc"))
    toc.write_bytes(pickle.dumps("garbage"))
    report = indexer.update(corpus.root, index_dir)
    assert report.rebuilt and "could not be read" in report.rebuild_reason
    assert titles(index_dir, "alpha") == ["Alpha"]


def test_one_file_updates_leave_one_small_segment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each commit merges the small segments into its own: a run of one-file updates
    keeps the big segment plus one small one (Whoosh's policy alone lets 5+ pile up)."""
    from tests.test_crash_concurrency import search_state, snapshot, write_corpus

    monkeypatch.setattr(commit, "SMALL_SEGMENT_ENTRIES", 100)
    folder, ix = tmp_path / "clips", tmp_path / "ix"
    expected = write_corpus(folder, 60, "base")  # 120 entries: a big segment
    indexer.update(folder, ix)
    counts = []
    for i in range(12):
        expected |= write_corpus(folder, 1, "more", start=60 + i)
        assert indexer.update(folder, ix).added == 1
        counts.append(search.stats(ix)["segments"])
    assert counts == [2] * 12
    assert snapshot(ix) == expected and search_state(ix) == expected
    # Without it, the same updates leave more segments (what the policy is for).
    monkeypatch.setattr(commit, "SMALL_SEGMENT_ENTRIES", 0)
    for i in range(4):
        write_corpus(folder, 1, "more", start=80 + i)
        indexer.update(folder, ix)
    assert search.stats(ix)["segments"] == 6


def test_a_segment_whose_entries_were_all_replaced_is_dropped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_crash_concurrency import snapshot, write_corpus

    monkeypatch.setattr(commit, "SMALL_SEGMENT_ENTRIES", 10)
    folder, ix = tmp_path / "clips", tmp_path / "ix"
    write_corpus(folder, 30, "base")
    indexer.update(folder, ix)
    write_corpus(folder, 10, "mid", start=30)  # 20 entries: a segment that is not small
    indexer.update(folder, ix)
    assert search.stats(ix)["segments"] == 2
    expected = write_corpus(folder, 10, "new", start=30) | {
        e for e in snapshot(ix) if "base" in e[1]}
    indexer.update(folder, ix)  # replaces every entry of the second segment
    write_corpus(folder, 1, "last", start=50)
    indexer.update(folder, ix)  # the emptied segment has no live entries: merged away
    assert search.stats(ix)["segments"] == 3
    assert snapshot(ix) >= expected
