"""``searchkit.scan``: listing a clippings folder."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from searchkit.scan import Scan, diff_folder, scan
from tests.conftest import Corpus
from tests.unprivileged import chmodded, require_binding_modes, run


def test_scan_follows_links_inside_and_skips_hidden(corpus: Corpus, tmp_path: Path) -> None:
    corpus.add("a.md", title="A")
    corpus.add(".hidden.md", title="H")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.md").write_text("---\ntitle: x\n---\n")
    (corpus.root / "out").symlink_to(outside)
    (corpus.root / "loop").symlink_to(corpus.root)
    (corpus.root / "alias.md").symlink_to(corpus.root / "a.md")
    assert sorted(scan(corpus.root)) == ["a.md"]


# ---------------------------------------------------------------- what the scan cannot see


SCAN_JSON = ("import json, sys; from searchkit.scan import scan; s = scan(sys.argv[1]); "
             "print(json.dumps({'files': sorted(s), 'unseen': sorted(s.unseen), "
             "'failed': [[f.path, f.message] for f in s.failed], 'dirs': len(s.dirs)}))")


def test_scan_records_folders_it_cannot_list(corpus: Corpus, tmp_path: Path) -> None:
    require_binding_modes(tmp_path)
    corpus.add("a.md")
    corpus.add("locked/b.md")
    corpus.add("listable/c.md")  # readable, not searchable: names but no stat
    corpus.add("blind/d.md")  # searchable, not readable: no names
    (corpus.root / "via.md").symlink_to("locked/b.md")  # a link into a locked folder
    with chmodded(corpus.root / "locked", 0), chmodded(corpus.root / "listable", 0o600), \
            chmodded(corpus.root / "blind", 0o311):
        proc = run(sys.executable, "-c", SCAN_JSON, str(corpus.root))
    denied = "Permission denied"
    assert json.loads(proc.stdout) == {
        "files": ["a.md"],
        "unseen": ["blind/", "listable/", "locked/", "via.md", "via.md/"],
        "failed": [["via.md", f"via.md: cannot read: {denied}"],
                   ["locked", f"locked: cannot list: {denied}"],
                   ["listable", f"listable: cannot list: {denied}"],
                   ["blind", f"blind: cannot list: {denied}"]],
        "dirs": 1,  # only the root: the quick check must not trust the others
    }
    # readable again: everything is there (locked/b.md through the link, listed first)
    assert sorted(scan(corpus.root)) == ["a.md", "blind/d.md", "listable/c.md", "via.md"]


def test_scan_names_a_locked_folder_by_itself_whatever_link_reaches_it(
        corpus: Corpus, tmp_path: Path) -> None:
    require_binding_modes(tmp_path)
    corpus.add("a.md")
    corpus.add("sub/b.md")
    for link in ("alink", "zlink"):  # listed before and after the folder
        (corpus.root / link).symlink_to("sub")
    with chmodded(corpus.root / "sub", 0):
        proc = run(sys.executable, "-c", SCAN_JSON, str(corpus.root))
    assert json.loads(proc.stdout) == {
        "files": ["a.md"],
        "unseen": ["alink/", "sub/", "zlink/"],
        "failed": [["sub", "sub: cannot list: Permission denied"]],
        "dirs": 1,
    }


def test_diff_keeps_what_the_scan_could_not_see() -> None:
    files = Scan()
    files["a.md"] = os.stat(__file__)
    files.unseen = ["sub/", "x.md", "x.md/"]
    manifest = dict.fromkeys(("a.md", "sub/b.md", "sub/deep/c.md", "subway.md", "x.md",
                              "x.md.bak.md", "gone.md"), "1:2:3:sha")
    diff = diff_folder(files, manifest)
    assert diff.deleted == ("gone.md", "subway.md", "x.md.bak.md")
    assert (diff.modified, diff.unchanged) == (("a.md",), 3)  # sub/b.md, sub/deep/c.md, x.md
    files.unseen = [""]  # the whole folder could not be listed
    assert diff_folder(files, manifest).deleted == ()


def test_diff_says_why_skipped_entries_leave(corpus: Corpus, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.md").write_text("---\ntitle: x\n---\n")
    corpus.add("a.md")
    os.mkfifo(corpus.root / "fifo.md")
    (corpus.root / "dangling.md").symlink_to("nowhere.md")
    (corpus.root / "loop.md").symlink_to("loop.md")
    (corpus.root / "out.md").symlink_to(outside / "x.md")
    (corpus.root / "feeds").symlink_to(outside)
    (corpus.root / "folder.md").mkdir()
    os.link(corpus.root / "a.md", corpus.root / "b.md")
    manifest = dict.fromkeys((
        "a.md", "b.md", "fifo.md", "dangling.md", "loop.md", "out.md", "feeds/x.md",
        "feeds/sub/y.md", "folder.md", "plain-delete.md"), "1:2:3:sha")
    diff = diff_folder(scan(corpus.root), manifest)
    assert diff.notes == (
        "b.md: left the index: it is the same file as a.md",
        "dangling.md: left the index: the link now points to nothing",
        "fifo.md: left the index: it is no longer a regular file",
        "folder.md: left the index: it is now a folder",
        "loop.md: left the index: the link now loops",
        "out.md: left the index: the link now points outside the folder",
        "feeds/ (2 clippings): left the index: the link now points outside the folder",
    )
    assert "plain-delete.md" in diff.deleted and diff.failed == ()
