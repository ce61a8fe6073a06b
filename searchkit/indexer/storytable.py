"""The Whoosh side of stories (:mod:`searchkit.stories`): hand a commit's new entries
to the grouping, before the commit's table of contents is written, and find a reader's
story table.

A commit's story table is ``searchkit-stories-<generation>.sqlite``: written (and
synced) just before ``_MAIN_<generation>.toc``, removed with that TOC when a later
commit replaces it. A reader takes the table of the generation it reads, so a search
always sees the stories of the entries it searches.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from .. import stories
from .guard import FILE_MODE
from .snapshot import newest_generation


def _item(f: dict[str, Any]) -> stories.Item:
    canonical = f.get("canonical") or ""
    return stories.Item(
        key=f.get("key", ""), path=f.get("path", ""), title=f.get("title") or "",
        excerpt=f.get("excerpt") or "", published=f.get("published"),
        provider=f.get("provider") or f.get("domain") or "",
        canonical="" if canonical.startswith("entry:") else canonical)


def write(storage: Any, schema: Any, segments: list[Any], generation: int,
          touched: Iterable[str] | None) -> None:
    """Write commit ``generation``'s story table from its ``segments``: the entries of
    the ``touched`` paths (added, changed or removed) regrouped with the stories they
    touch, or (``touched`` None, or no table for the previous commit) every entry."""
    from whoosh.reading import MultiReader, SegmentReader

    folder = storage.folder
    previous = os.path.join(folder, stories.table_name(generation - 1))
    if not os.path.exists(previous):
        previous_path: str | None = None
        touched = None
    else:
        previous_path = previous
    readers = [SegmentReader(storage, schema, seg) for seg in segments]
    try:
        reader = MultiReader(readers) if len(readers) != 1 else readers[0]
        if not readers:
            items: list[stories.Item] = []
        elif touched is None:
            items = [_item(f) for _, f in reader.iter_docs()]
        else:
            paths = set(touched)
            items = []
            for path in sorted(paths):
                if ("path", path) not in reader:  # the file left the index
                    continue
                docnums = list(reader.postings("path", path).all_ids())
                items += [_item(reader.stored_fields(d)) for d in docnums
                          if not reader.is_deleted(d)]
        stories.write_table(folder, generation, items=items,
                            removed_paths=None if touched is None else set(touched),
                            previous=previous_path, file_mode=FILE_MODE)
    finally:
        for r in readers:
            r.close()


def table_path(index_dir: str | os.PathLike[str], generation: int | None) -> str | None:
    """The story table of commit ``generation``; None when that commit has none (an
    index written before stories). FileNotFoundError when a newer commit replaced it
    meanwhile (open the new commit)."""
    if generation is None or generation < 0:  # an empty commit's reader knows none
        return None
    path = os.path.join(os.fspath(index_dir), stories.table_name(generation))
    if os.path.exists(path):
        return path
    if newest_generation(index_dir) != generation:
        raise FileNotFoundError(path)
    return None


def open_table(index_dir: str | os.PathLike[str], generation: int | None
               ) -> stories.Table | None:
    path = table_path(index_dir, generation)
    return None if path is None else stories.Table(path)

