"""Incremental indexing through the public API, on real files in tmp dirs."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from searchkit import indexer, search
from searchkit.indexer import schema
from tests.conftest import Corpus


def titles(index_dir: Path, text: str = "", **kw: object) -> list[str]:
    results = search.search(index_dir, text, limit=100, **kw)  # type: ignore[arg-type]
    return sorted(h.title for h in results.hits)


def ids(index_dir: Path, text: str) -> list[str]:
    return sorted(h.id for h in search.search(index_dir, text, limit=100).hits)


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
    assert indexer.check(corpus.root, index_dir).modified == ()
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
    # Its manifest entry came along too: the broken file is "modified", not new.
    diff = indexer.check(corpus.root, index_dir)
    assert (diff.modified, diff.added) == (("a.md",), ())


def test_rebuild_leaves_no_empty_window_and_one_segment(corpus: Corpus, index_dir: Path) -> None:
    for i in range(5):
        corpus.add(f"{i}.md", title=f"Doc {i} common")
        indexer.update(corpus.root, index_dir)
    report = indexer.update(corpus.root, index_dir, rebuild=True)
    assert report.rebuilt and report.unchanged == 5
    assert search.stats(index_dir)["segments"] == 1
    assert len(search.search(index_dir, "common", limit=10).hits) == 5


def test_index_is_not_compound(corpus: Corpus, index_dir: Path) -> None:
    corpus.add("a.md", title="Alpha")
    indexer.update(corpus.root, index_dir)
    names = os.listdir(index_dir)
    assert not [n for n in names if n.endswith(".seg")]
    assert [n for n in names if n.endswith(".trm")]


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
    assert not indexer.check(corpus.root, index_dir).is_empty
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


def test_check_reports_stale_files(corpus: Corpus, index_dir: Path) -> None:
    corpus.add("a.md", title="Alpha")
    corpus.add("b.md", title="Beta")
    indexer.update(corpus.root, index_dir)
    corpus.add("a.md", title="Alpha changed")
    corpus.delete("b.md")
    corpus.add("c.md", title="Gamma")
    diff = indexer.check(corpus.root, index_dir)
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


def test_scan_follows_links_inside_and_skips_hidden(corpus: Corpus, tmp_path: Path) -> None:
    corpus.add("a.md", title="A")
    corpus.add(".hidden.md", title="H")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.md").write_text("---\ntitle: x\n---\n")
    (corpus.root / "out").symlink_to(outside)
    (corpus.root / "loop").symlink_to(corpus.root)
    (corpus.root / "alias.md").symlink_to(corpus.root / "a.md")
    assert sorted(indexer.scan(corpus.root)) == ["a.md"]


# ---------------------------------------------------------------- quick freshness check


def _age_folders(root: Path, seconds: int = 60) -> None:
    """Set every folder's mtime into the past, as if the last change were a while ago."""
    past = os.stat(root).st_mtime - seconds
    for d in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        os.utime(d, (past, past))


def _no_file_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(folder: object) -> None:
        raise AssertionError("the quick check must not scan the files")

    monkeypatch.setattr(indexer, "scan", refuse)


def test_quick_check_answers_from_folder_mtimes(corpus: Corpus, index_dir: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    corpus.add("a.md", title="Alpha")
    corpus.add("sub/b.md", title="Beta")
    _age_folders(corpus.root)
    indexer.update(corpus.root, index_dir)
    assert (index_dir / indexer.STATE_FILE).exists()
    with monkeypatch.context() as m:
        _no_file_scan(m)
        assert indexer.folder_unchanged(corpus.root, index_dir, min_files=1)
        assert indexer.refresh(corpus.root, index_dir, quick_check_files=1).action == "fresh"
        # below the threshold the full check runs (and here, the scan is refused)
        with pytest.raises(AssertionError, match="must not scan"):
            indexer.refresh(corpus.root, index_dir, quick_check_files=3)
    # a file added in a subfolder changes that folder's mtime: noticed
    corpus.add("sub/c.md", title="Gamma")
    assert not indexer.folder_unchanged(corpus.root, index_dir, min_files=1)
    fresh = indexer.refresh(corpus.root, index_dir, quick_check_files=1)
    assert fresh.action == "updated" and fresh.report and fresh.report.added == 1
    # a deletion, and a save by rename (what editors and sed -i do), are noticed too
    _age_folders(corpus.root)
    assert indexer.refresh(corpus.root, index_dir, quick_check_files=1).action == "fresh"
    corpus.delete("a.md")
    assert indexer.refresh(corpus.root, index_dir, quick_check_files=1).action == "updated"
    _age_folders(corpus.root)
    assert indexer.refresh(corpus.root, index_dir, quick_check_files=1).action == "fresh"
    corpus.add("sub/b.md.tmp-save", title="Beta renamed").rename(corpus.root / "sub/b.md")
    assert indexer.refresh(corpus.root, index_dir, quick_check_files=1).action == "updated"
    assert titles(index_dir, "beta") == ["Beta renamed"]


def test_quick_check_misses_in_place_rewrites_which_full_check_finds(
        corpus: Corpus, index_dir: Path) -> None:
    corpus.add("a.md", title="Alpha")
    _age_folders(corpus.root)
    indexer.update(corpus.root, index_dir)
    folder_mtime = os.stat(corpus.root).st_mtime_ns
    corpus.add("a.md", title="Alpha rewritten in place")  # same inode: folder unchanged
    assert os.stat(corpus.root).st_mtime_ns == folder_mtime
    assert indexer.refresh(corpus.root, index_dir, quick_check_files=1).action == "fresh"
    assert indexer.refresh(corpus.root, index_dir, quick_check_files=None).action == "updated"
    assert titles(index_dir, "rewritten") == ["Alpha rewritten in place"]


def test_quick_check_distrusts_recent_folders_and_other_commits(
        corpus: Corpus, index_dir: Path) -> None:
    corpus.add("a.md", title="Alpha")
    indexer.update(corpus.root, index_dir)  # the folder changed just now: racy
    assert not (index_dir / indexer.STATE_FILE).exists()
    assert not indexer.folder_unchanged(corpus.root, index_dir, min_files=1)
    _age_folders(corpus.root)
    assert indexer.check(corpus.root, index_dir).is_empty  # records the state
    state = (index_dir / indexer.STATE_FILE).read_bytes()
    assert indexer.folder_unchanged(corpus.root, index_dir, min_files=1)
    # a record left from an older commit is ignored
    corpus.add("b.md", title="Beta")
    _age_folders(corpus.root)
    indexer.update(corpus.root, index_dir)
    (index_dir / indexer.STATE_FILE).write_bytes(state)
    assert not indexer.folder_unchanged(corpus.root, index_dir, min_files=1)
    # so is one for another folder, or a damaged one
    assert indexer.check(corpus.root, index_dir).is_empty
    assert indexer.folder_unchanged(corpus.root, index_dir, min_files=1)
    assert not indexer.folder_unchanged(corpus.root / "elsewhere", index_dir, min_files=1)
    for junk in (b"", b"[]", b'{"version": 1}', b"\xff{"):
        (index_dir / indexer.STATE_FILE).write_bytes(junk)
        assert not indexer.folder_unchanged(corpus.root, index_dir, min_files=1)


def test_a_failing_file_keeps_the_full_check(corpus: Corpus, index_dir: Path) -> None:
    corpus.add("a.md", title="Alpha")
    corpus.write_raw("bad.md", "---\ntitle: [unclosed\n---\n")
    _age_folders(corpus.root)
    report = indexer.update(corpus.root, index_dir)
    assert report.failed
    assert not indexer.folder_unchanged(corpus.root, index_dir, min_files=1)
    corpus.write_raw("bad.md", "---\ntitle: Fixed in place\n---\n")
    assert indexer.refresh(corpus.root, index_dir, quick_check_files=1).action == "updated"
    assert titles(index_dir, "fixed") == ["Fixed in place"]


def test_a_record_left_half_written_is_swept_by_the_next_commit(corpus: Corpus,
                                                                  index_dir: Path) -> None:
    corpus.add("a.md", title="Alpha")
    indexer.update(corpus.root, index_dir)
    stray = index_dir / f"{indexer.STATE_FILE}.4242.tmp"  # its writer was killed
    stray.write_text("{")
    corpus.add("b.md", title="Beta")
    indexer.update(corpus.root, index_dir)
    assert not stray.exists()
    assert titles(index_dir, "beta") == ["Beta"]


def test_only_the_four_engine_modules_import_whoosh() -> None:
    """House rule: schema, indexer, query and search own Whoosh; the loader and folder
    stages, results, output and the CLI's start-up do not pull it in."""
    import subprocess
    import sys

    code = ("import sys, searchkit.folder, searchkit.documents, searchkit.results, "
            "searchkit.output, searchkit.config, searchkit.cli; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'whoosh'))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert proc.stdout.strip() == "[]"


def test_one_file_updates_leave_one_small_segment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each commit merges the small segments into its own: a run of one-file updates
    keeps the big segment plus one small one (Whoosh's policy alone lets 5+ pile up)."""
    from tests.test_crash_concurrency import search_state, snapshot, write_corpus

    monkeypatch.setattr(indexer, "SMALL_SEGMENT_ENTRIES", 100)
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
    monkeypatch.setattr(indexer, "SMALL_SEGMENT_ENTRIES", 0)
    for i in range(4):
        write_corpus(folder, 1, "more", start=80 + i)
        indexer.update(folder, ix)
    assert search.stats(ix)["segments"] == 6


def test_a_segment_whose_entries_were_all_replaced_is_dropped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_crash_concurrency import snapshot, write_corpus

    monkeypatch.setattr(indexer, "SMALL_SEGMENT_ENTRIES", 10)
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
