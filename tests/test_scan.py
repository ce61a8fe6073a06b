"""``searchkit.scan``: listing a clippings folder."""

from __future__ import annotations

from pathlib import Path

from searchkit.scan import scan
from tests.conftest import Corpus


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
