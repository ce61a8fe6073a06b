"""What the indexer tests share: searching an index they built, ageing folders."""

from __future__ import annotations

import os
from pathlib import Path

from searchkit import search


def titles(index_dir: Path, text: str = "", **kw: object) -> list[str]:
    results = search.search(index_dir, text, limit=100, **kw)  # type: ignore[arg-type]
    return sorted(h.title for h in results.hits)


def ids(index_dir: Path, text: str) -> list[str]:
    return sorted(h.id for h in search.search(index_dir, text, limit=100).hits)


def age_folders(root: Path, seconds: int = 60) -> None:
    """Set every folder's mtime into the past, as if the last change were a while ago."""
    past = os.stat(root).st_mtime - seconds
    for d in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        os.utime(d, (past, past))
