"""``searchkit.indexer.writer``: the segment writer."""

from __future__ import annotations

import os
from pathlib import Path

from searchkit import indexer
from tests.conftest import Corpus


def test_index_is_not_compound(corpus: Corpus, index_dir: Path) -> None:
    corpus.add("a.md", title="Alpha")
    indexer.update(corpus.root, index_dir)
    names = os.listdir(index_dir)
    assert not [n for n in names if n.endswith(".seg")]
    assert [n for n in names if n.endswith(".trm")]
