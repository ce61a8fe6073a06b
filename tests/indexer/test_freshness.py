"""``searchkit.indexer.freshness``: the quick check's record of folder mtimes, and who
may write it (``update`` and ``refresh``; never ``diff_index`` or ``searchkit status``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from searchkit import indexer
from tests.conftest import Corpus
from tests.indexer.helpers import age_folders, titles


def _no_file_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(folder: object) -> None:
        raise AssertionError("the quick check must not scan the files")

    monkeypatch.setattr(indexer, "scan", refuse)


def test_quick_check_answers_from_folder_mtimes(corpus: Corpus, index_dir: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    corpus.add("a.md", title="Alpha")
    corpus.add("sub/b.md", title="Beta")
    age_folders(corpus.root)
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
    age_folders(corpus.root)
    assert indexer.refresh(corpus.root, index_dir, quick_check_files=1).action == "fresh"
    corpus.delete("a.md")
    assert indexer.refresh(corpus.root, index_dir, quick_check_files=1).action == "updated"
    age_folders(corpus.root)
    assert indexer.refresh(corpus.root, index_dir, quick_check_files=1).action == "fresh"
    corpus.add("sub/b.md.tmp-save", title="Beta renamed").rename(corpus.root / "sub/b.md")
    assert indexer.refresh(corpus.root, index_dir, quick_check_files=1).action == "updated"
    assert titles(index_dir, "beta") == ["Beta renamed"]


def test_quick_check_misses_in_place_rewrites_which_full_check_finds(
        corpus: Corpus, index_dir: Path) -> None:
    corpus.add("a.md", title="Alpha")
    age_folders(corpus.root)
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
    age_folders(corpus.root)
    assert indexer.diff_index(corpus.root, index_dir).is_empty
    assert not (index_dir / indexer.STATE_FILE).exists()  # diff_index never writes
    assert not indexer.update(corpus.root, index_dir).committed  # records the state
    state = (index_dir / indexer.STATE_FILE).read_bytes()
    assert indexer.folder_unchanged(corpus.root, index_dir, min_files=1)
    # a record left from an older commit is ignored
    corpus.add("b.md", title="Beta")
    age_folders(corpus.root)
    indexer.update(corpus.root, index_dir)
    (index_dir / indexer.STATE_FILE).write_bytes(state)
    assert not indexer.folder_unchanged(corpus.root, index_dir, min_files=1)
    # so is one for another folder, or a damaged one
    assert indexer.diff_index(corpus.root, index_dir).is_empty
    assert indexer.refresh(corpus.root, index_dir, quick_check_files=None).action == "fresh"
    assert indexer.folder_unchanged(corpus.root, index_dir, min_files=1)
    assert not indexer.folder_unchanged(corpus.root / "elsewhere", index_dir, min_files=1)
    for junk in (b"", b"[]", b'{"version": 1}', b"\xff{"):
        (index_dir / indexer.STATE_FILE).write_bytes(junk)
        assert not indexer.folder_unchanged(corpus.root, index_dir, min_files=1)


def test_a_failing_file_keeps_the_full_check(corpus: Corpus, index_dir: Path) -> None:
    corpus.add("a.md", title="Alpha")
    corpus.write_raw("bad.md", "---\ntitle: [unclosed\n---\n")
    age_folders(corpus.root)
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


def _listing(folder: Path) -> dict[str, tuple[int, int]]:
    """name -> (size, mtime_ns) of every file in ``folder``, and the folder's own mtime."""
    out = {name: (st.st_size, st.st_mtime_ns)
           for name in os.listdir(folder) for st in [os.stat(folder / name)]}
    out["."] = (0, os.stat(folder).st_mtime_ns)
    return out


def test_diff_index_and_status_never_write_into_the_index_folder(
        corpus: Corpus, index_dir: Path) -> None:
    """``searchkit status`` is read-only, so it works on an index folder the user
    cannot write. Tests run as root, who can write anyway: what is checked is that
    nothing in the folder is created, removed or modified."""
    from tests.conftest import cli

    corpus.add("a.md", title="Alpha")
    indexer.update(corpus.root, index_dir)  # the folder changed just now: no record
    age_folders(corpus.root)  # now a full check would find folder and index agreeing
    assert not (index_dir / indexer.STATE_FILE).exists()
    before = _listing(index_dir)
    os.chmod(index_dir, 0o500)
    try:
        assert indexer.diff_index(corpus.root, index_dir).is_empty
        code, out, err = cli("status", "--index", str(index_dir), "--seeds", str(corpus.root))
        assert (code, err) == (0, "") and "entries:      1 (1 clippings" in out
        code, out, err = cli("status", "-f", "json", "--index", str(index_dir),
                             "--seeds", str(corpus.root))
        assert code == 0 and '"up_to_date": true' in out
        assert _listing(index_dir) == before
    finally:
        os.chmod(index_dir, 0o700)
    # A search's refresh may record the state (it is allowed to write).
    assert indexer.refresh(corpus.root, index_dir, quick_check_files=None).action == "fresh"
    assert (index_dir / indexer.STATE_FILE).exists()
