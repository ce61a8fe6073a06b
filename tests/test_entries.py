"""``searchkit.entries``: the one builder of an entry's layout."""

from __future__ import annotations

from pathlib import Path

from searchkit.documents import parse_bytes
from searchkit.entries import entries_for, entry_from_stored, group_of, text_of
from tests.conftest import clipping_text

STORED = ("key", "kind", "path", "parent", "title", "excerpt", "provider", "domain", "type",
          "source_id", "url", "canonical", "cites", "published", "year", "quality",
          "topic_list")


def test_a_clipping_and_its_related_articles(tmp_path: Path) -> None:
    clip = parse_bytes(clipping_text(title="Alpha", topics=["Economy", "A, B"],
                                     related=[{"title": "Alpha rel"}]).encode(), "a.md")
    main, rel = entries_for(clip, "1:2:3:sha")
    assert (main["key"], main["kind"], main["parent"], main["stamp"]) == (
        "a.md", "clipping", "", "1:2:3:sha")
    assert (rel["key"], rel["kind"], rel["parent"], rel["stamp"]) == (
        "a.md#1", "related", "a.md", "")
    assert main["topic"] == "economy,a  b" and main["topic_label"] == "Economy,A  B"
    assert main["text"] == text_of("Alpha", main["excerpt"], main.get("provider") or "",
                                   ["Economy", "A, B"])
    assert main["group"] == group_of(main["canonical"]) != 0


def test_entries_rebuilt_from_stored_fields_are_the_same(tmp_path: Path) -> None:
    """What a rebuild keeps for a file that fails: its entries, read back from the
    stored fields and the stamp, are the entries that were written."""
    from tests.conftest import SEEDS

    for path in sorted(SEEDS.iterdir()):
        clip = parse_bytes(path.read_bytes(), path.name)
        for entry in entries_for(clip, "1:2:3:sha"):
            stored = {k: entry.get(k) for k in (*STORED, "stamp")}
            assert entry_from_stored(stored) == entry
