"""``searchkit.indexer``'s orchestration: update, diff_index, refresh, recorded_folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from searchkit import indexer, search
from tests.conftest import Corpus
from tests.indexer.helpers import ids, titles


def test_first_run_adds_every_file_and_related_entries(corpus: Corpus, index_dir: Path) -> None:
    corpus.add("a.md", title="Alpha story", related=[{"title": "Alpha follow-up"}])
    corpus.add("sub/b.txt", title="Beta story")
    corpus.write_raw("notes.json", "{}")  # not a clipping suffix
    report = indexer.update(corpus.root, index_dir)
    assert (report.added, report.updated, report.deleted, report.unchanged) == (2, 0, 0, 0)
    assert report.committed and not report.failed
    assert ids(index_dir, "story") == ["a.md", "sub/b.txt"]
    # a related article's words find the related entry, not its clipping
    assert ids(index_dir, "follow") == ["a.md#1"]
    stats = search.stats(index_dir)
    assert (stats["clippings"], stats["related"]) == (2, 1)


def test_unchanged_run_writes_nothing(corpus: Corpus, index_dir: Path) -> None:
    corpus.add("a.md", title="Alpha")
    indexer.update(corpus.root, index_dir)
    before = sorted(os.listdir(index_dir))
    report = indexer.update(corpus.root, index_dir)
    assert (report.added, report.updated, report.unchanged, report.committed) == (0, 0, 1, False)
    assert sorted(os.listdir(index_dir)) == before


def test_modify_delete_and_add(corpus: Corpus, index_dir: Path) -> None:
    corpus.add("a.md", title="Alpha old", related=[{"title": "Rel one"}, {"title": "Rel two"}])
    corpus.add("b.md", title="Beta")
    indexer.update(corpus.root, index_dir)
    corpus.add("a.md", title="Alpha new", related=[{"title": "Rel three"}])
    corpus.delete("b.md")
    corpus.add("c.md", title="Gamma")
    report = indexer.update(corpus.root, index_dir)
    assert (report.added, report.updated, report.deleted) == (1, 1, 1)
    assert titles(index_dir, "alpha") == ["Alpha new"]
    assert ids(index_dir, "rel") == ["a.md#1"]  # old related entries are gone
    assert ids(index_dir, "two") == []
    assert titles(index_dir, "beta") == []
    assert titles(index_dir, "gamma") == ["Gamma"]


def test_touched_file_with_same_content_is_unchanged(corpus: Corpus, index_dir: Path) -> None:
    path = corpus.add("a.md", title="Alpha")
    indexer.update(corpus.root, index_dir)
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    report = indexer.update(corpus.root, index_dir)
    assert (report.updated, report.unchanged) == (0, 1)
    # Its new stamp was committed: the next run does not read it again.
    assert indexer.diff_index(corpus.root, index_dir).modified == ()
    assert titles(index_dir, "alpha") == ["Alpha"]


def test_same_size_rewrite_with_old_mtime_is_reindexed(corpus: Corpus, index_dir: Path) -> None:
    path = corpus.add("a.md", title="Alpha")
    indexer.update(corpus.root, index_dir)
    st = path.stat()
    corpus.add("a.md", title="Omega")  # same length
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    report = indexer.update(corpus.root, index_dir)
    assert report.updated == 1
    assert titles(index_dir, "omega") == ["Omega"]


def test_rename_is_reported(corpus: Corpus, index_dir: Path) -> None:
    corpus.add("a.md", title="Alpha")
    indexer.update(corpus.root, index_dir)
    (corpus.root / "a.md").rename(corpus.root / "renamed.md")
    report = indexer.update(corpus.root, index_dir)
    assert (report.renamed, report.added, report.deleted) == (1, 0, 0)
    assert ids(index_dir, "alpha") == ["renamed.md"]


def test_bad_file_is_reported_skipped_and_old_version_kept(corpus: Corpus,
                                                           index_dir: Path) -> None:
    corpus.add("good.md", title="Good one")
    corpus.add("flaky.md", title="Flaky original")
    indexer.update(corpus.root, index_dir)
    corpus.write_raw("flaky.md", "---\ntitle: [unclosed\n---\n")
    corpus.write_raw("new-bad.md", "---\nquality: high\n---\n")
    corpus.add("new-good.md", title="Good two")
    report = indexer.update(corpus.root, index_dir)
    assert sorted(f.path for f in report.failed) == ["flaky.md", "new-bad.md"]
    assert "new-bad.md: quality: must be a whole number" in report.failed[1].message
    assert report.added == 1
    assert titles(index_dir, "good") == ["Good one", "Good two"]
    assert titles(index_dir, "flaky") == ["Flaky original"]
    # Fixed on disk: picked up on the next run.
    corpus.add("flaky.md", title="Flaky fixed")
    assert indexer.update(corpus.root, index_dir).updated == 1
    assert titles(index_dir, "flaky") == ["Flaky fixed"]


def test_rebuild_keeps_last_good_version_of_failing_files(corpus: Corpus,
                                                          index_dir: Path) -> None:
    corpus.add("a.md", title="Alpha", topics=["Economy"], related=[{"title": "Alpha rel"}])
    corpus.add("b.md", title="Beta")
    indexer.update(corpus.root, index_dir)
    corpus.write_raw("a.md", b"\xff\xfe not text")
    report = indexer.update(corpus.root, index_dir, rebuild=True)
    assert report.rebuilt and [f.path for f in report.failed] == ["a.md"]
    assert ids(index_dir, "alpha") == ["a.md", "a.md#1"]
    assert ids(index_dir, "topic:economy") == ["a.md"]
    assert titles(index_dir, "beta") == ["Beta"]
    # Until it changes, the broken file is known to fail: not stale, failing.
    diff = indexer.diff_index(corpus.root, index_dir)
    assert (diff.modified, diff.added, [f.path for f in diff.failing]) == ((), (), ["a.md"])
    # Its manifest entry came along too: without that record it is "modified", not new.
    (index_dir / "searchkit-failed.json").unlink()
    diff = indexer.diff_index(corpus.root, index_dir)
    assert (diff.modified, diff.added) == (("a.md",), ())


def test_check_reports_stale_files(corpus: Corpus, index_dir: Path) -> None:
    corpus.add("a.md", title="Alpha")
    corpus.add("b.md", title="Beta")
    indexer.update(corpus.root, index_dir)
    corpus.add("a.md", title="Alpha changed")
    corpus.delete("b.md")
    corpus.add("c.md", title="Gamma")
    diff = indexer.diff_index(corpus.root, index_dir)
    assert (diff.added, diff.modified, diff.deleted) == (("c.md",), ("a.md",), ("b.md",))


def test_refresh_builds_then_updates_then_is_fresh(corpus: Corpus, index_dir: Path) -> None:
    corpus.add("a.md", title="Alpha")
    assert indexer.refresh(corpus.root, index_dir).action == "built"
    assert indexer.refresh(corpus.root, index_dir).action == "fresh"
    corpus.add("b.md", title="Beta")
    fresh = indexer.refresh(corpus.root, index_dir)
    assert fresh.action == "updated" and fresh.report and fresh.report.added == 1


def test_refresh_answers_from_snapshot_while_another_writer_holds_the_lock(
        corpus: Corpus, index_dir: Path) -> None:
    from whoosh import index as whoosh_index

    corpus.add("a.md", title="Alpha")
    indexer.update(corpus.root, index_dir)
    corpus.add("b.md", title="Beta")
    writer = whoosh_index.open_dir(str(index_dir)).writer()
    try:
        assert indexer.refresh(corpus.root, index_dir).action == "busy"
        with pytest.raises(indexer.IndexBusyError):
            indexer.update(corpus.root, index_dir, lock_timeout=0.2)
    finally:
        writer.cancel()
    assert titles(index_dir, "alpha") == ["Alpha"]


def test_folder_is_recorded_in_the_index(corpus: Corpus, index_dir: Path) -> None:
    corpus.add("a.md", title="Alpha")
    indexer.update(corpus.root, index_dir)
    assert indexer.recorded_folder(index_dir) == str(corpus.root.resolve())
